"""NaiClient against the loopback NovelAI emulator, over real sockets (no patched HTTP)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
import time

import pytest
from PIL import Image

from peropix_tui.core.backend import BackendError, CancelToken, GenerationCancelled, Progress
from peropix_tui.core.config import Secret
from peropix_tui.core.nai.client import NaiClient, RetryPolicy, Subscription
from tests.nai_emulator import ENCODE, GENERATE, STREAM, SUBSCRIPTION, NaiEmulator
from tests.nai_emulator.bodies import png_b64, v45_body

FAST = RetryPolicy(busy_base=0.02, busy_cap=0.08, busy_tries=20, error_base=0.01, error_tries=3, cancel_poll=0.01)


def make_client(emu: NaiEmulator, **kw: object) -> NaiClient:
    kw.setdefault("retry", FAST)
    return NaiClient(emu.url, Secret(emu.token), **kw)  # type: ignore[arg-type]


def comment(png: bytes) -> dict:
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    return json.loads(img.text["Comment"])


async def test_stream_reports_every_step_with_jpeg_preview_then_final_png(nai_emulator: NaiEmulator) -> None:
    seen: list[Progress] = []
    images = await make_client(nai_emulator).generate(v45_body(steps=5, seed=77), seen.append)
    assert [p.step for p in seen] == [1, 2, 3, 4, 5]
    assert all(p.total == 5 and p.preview and p.preview[:2] == b"\xff\xd8" for p in seen)
    assert len(images) == 1
    img = Image.open(io.BytesIO(images[0]))
    assert img.size == (64, 64)
    assert img.text["Software"] == "NovelAI" and img.text["Source"].startswith("NovelAI Diffusion V4.5")
    assert comment(images[0])["seed"] == 77
    (call,) = nai_emulator.calls()
    assert call.path == STREAM and call.body["parameters"]["stream"] == "msgpack"
    assert call.headers["user-agent"].startswith("PeroPix-TUI/")
    assert call.headers["authorization"] == f"Bearer {nai_emulator.token}"


async def test_zip_endpoint_when_streaming_is_off(nai_emulator: NaiEmulator) -> None:
    images = await make_client(nai_emulator, stream=False).generate(v45_body(n_samples=2, seed=10))
    assert [comment(i)["seed"] for i in images] == [10, 11]
    (call,) = nai_emulator.calls()
    assert call.path == GENERATE and "stream" not in call.body["parameters"]


async def test_falls_back_to_zip_when_stream_endpoint_is_missing(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("404", endpoint=STREAM)
    images = await make_client(nai_emulator).generate(v45_body())
    assert len(images) == 1
    assert [c.path for c in nai_emulator.calls()] == [STREAM, GENERATE]


async def test_multi_sample_stream_returns_images_in_sample_order(nai_emulator: NaiEmulator) -> None:
    seen: list[Progress] = []
    images = await make_client(nai_emulator).generate(v45_body(n_samples=3, steps=2, seed=5), seen.append)
    assert [comment(i)["seed"] for i in images] == [5, 6, 7]
    assert [p.sample for p in seen] == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    ("kind", "status", "words"),
    [
        ("401", 401, "token rejected"),
        ("402", 402, "not enough Anlas"),
        ("400", 400, "refused the request"),
        ("413", 413, "downscale"),
    ],
)
async def test_client_errors_are_not_retried_and_say_what_to_do(
    nai_emulator: NaiEmulator, kind: str, status: int, words: str
) -> None:
    nai_emulator.inject(kind, times=5)
    with pytest.raises(BackendError) as info:
        await make_client(nai_emulator).generate(v45_body())
    assert info.value.status == status and words in str(info.value)
    assert len(nai_emulator.calls()) == 1


async def test_wrong_token_is_rejected_by_the_emulator_itself(nai_emulator: NaiEmulator) -> None:
    client = NaiClient(nai_emulator.url, Secret("pst-wrong"), retry=FAST)
    with pytest.raises(BackendError, match="token rejected") as info:
        await client.generate(v45_body())
    assert info.value.status == 401


async def test_invalid_body_gets_the_emulators_field_message(nai_emulator: NaiEmulator) -> None:
    body = v45_body()
    body["parameters"]["steps"] = 51
    with pytest.raises(BackendError, match="parameters.steps") as info:
        await make_client(nai_emulator).generate(body)
    assert info.value.status == 400


@pytest.mark.parametrize(("kind", "free"), [("500", False), ("503", False), ("reset", True), ("truncated_zip", True)])
async def test_transient_failures_are_retried_and_complete(nai_emulator: NaiEmulator, kind: str, free: bool) -> None:
    nai_emulator.inject(kind, times=2, endpoint=GENERATE)
    messages: list[str] = []
    images = await make_client(nai_emulator, stream=False).generate(v45_body(), lambda p: messages.append(p.message),
                                                                    free=free)
    assert len(images) == 1
    assert len(nai_emulator.calls()) == 3
    assert sum("retrying" in m for m in messages) == 2


async def test_transient_failures_give_up_after_limited_tries(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("503", times=10)
    with pytest.raises(BackendError, match="503") as info:
        await make_client(nai_emulator, stream=False).generate(v45_body())
    assert info.value.retryable
    calls = nai_emulator.calls()
    assert len(calls) == FAST.error_tries
    ids = [c.headers["x-correlation-id"] for c in calls]
    assert all(len(i) == 6 and i.isalnum() for i in ids) and len(set(ids)) == len(ids)
    assert f"(correlation id {ids[-1]})" in str(info.value)


@pytest.mark.parametrize(
    ("kind", "words"),
    [("zip_bomb", "refused"), ("too_many_entries", "entries"), ("html", "HTML page")],
)
async def test_hostile_or_foreign_bodies_are_refused_clearly(nai_emulator: NaiEmulator, kind: str, words: str) -> None:
    nai_emulator.inject(kind, endpoint=GENERATE)
    with pytest.raises(BackendError, match=words):
        await make_client(nai_emulator, stream=False).generate(v45_body())
    assert len(nai_emulator.calls()) == 1


async def test_raw_png_body_is_accepted(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("raw_png", endpoint=GENERATE)
    (png,) = await make_client(nai_emulator, stream=False).generate(v45_body(seed=3))
    assert comment(png)["seed"] == 3


@pytest.mark.parametrize("kind", ["truncated_stream", "bad_frame_length", "reset"])
async def test_broken_free_stream_falls_back_to_zip_endpoint(nai_emulator: NaiEmulator, kind: str) -> None:
    nai_emulator.inject(kind, endpoint=STREAM)
    images = await make_client(nai_emulator).generate(v45_body(), free=True)
    assert len(images) == 1
    assert [c.path for c in nai_emulator.calls()] == [STREAM, GENERATE]


async def test_error_frame_mid_stream_is_a_clear_error(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("error_frame", endpoint=STREAM)
    seen: list[Progress] = []
    with pytest.raises(BackendError, match="stream error: Internal error in sampler"):
        await make_client(nai_emulator).generate(v45_body(), seen.append)
    assert [p.step for p in seen] == [1]


async def test_429_backs_off_and_keeps_the_job(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("429", times=3)
    messages: list[str] = []
    images = await make_client(nai_emulator).generate(v45_body(), lambda p: messages.append(p.message))
    assert len(images) == 1
    busy = [m for m in messages if m.startswith("account busy")]
    assert len(busy) == 3 and "retrying in 0.02 s" in busy[0] and "retrying in 0.08 s" in busy[2]
    assert len(nai_emulator.calls()) == 4


async def test_account_busy_on_the_website_is_waited_out(nai_emulator: NaiEmulator) -> None:
    nai_emulator.occupy(60)  # the website is generating on this account
    task = asyncio.create_task(make_client(nai_emulator).generate(v45_body()))
    while not any(c.status == 429 for c in nai_emulator.calls()):
        await asyncio.sleep(0.01)
    assert not task.done()
    nai_emulator.occupy(0)  # ... and now it is done
    assert len(await asyncio.wait_for(task, 10)) == 1
    statuses = [c.status for c in nai_emulator.calls()]
    assert statuses[-1] == 200 and set(statuses[:-1]) == {429}


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy()
    assert [policy.busy_delay(n) for n in range(1, 7)] == [3, 6, 12, 24, 30, 30]


def _no_overlap(emu: NaiEmulator) -> None:
    spans = sorted((c.arrival, c.finish) for c in emu.calls())
    for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
        assert start >= end, "two requests were on the wire at the same time"


async def test_generations_started_together_never_overlap_on_the_wire(nai_emulator: NaiEmulator) -> None:
    nai_emulator.step_delay = 0.01
    client = make_client(nai_emulator)
    other = make_client(nai_emulator)  # a second client object with the same token shares the gate
    results = await asyncio.gather(*(c.generate(v45_body(seed=i)) for i, c in enumerate([client, other] * 2)))
    assert len(results) == 4
    assert len(nai_emulator.generations()) == 4
    assert all(c.status == 200 for c in nai_emulator.calls())
    _no_overlap(nai_emulator)


def test_generations_from_threads_with_their_own_loops_never_overlap(nai_emulator: NaiEmulator) -> None:
    nai_emulator.step_delay = 0.01
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        try:
            asyncio.run(make_client(nai_emulator).generate(v45_body(seed=seed)))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert [c.status for c in nai_emulator.calls()] == [200, 200, 200]
    _no_overlap(nai_emulator)


async def test_cancel_token_stops_a_stream_mid_way_and_frees_the_gate(nai_emulator: NaiEmulator) -> None:
    nai_emulator.step_delay = 0.05
    cancel = CancelToken()
    seen: list[Progress] = []

    def on_progress(p: Progress) -> None:
        seen.append(p)
        cancel.cancel()

    client = make_client(nai_emulator)
    start = time.monotonic()
    with pytest.raises(GenerationCancelled):
        await client.generate(v45_body(steps=50), on_progress, cancel)
    assert time.monotonic() - start < 2.0  # 50 steps take 2.5 s
    assert 1 <= len(seen) < 50
    nai_emulator.step_delay = 0.0
    assert len(await asyncio.wait_for(client.generate(v45_body()), 10)) == 1


async def test_task_cancellation_is_honoured(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("delay", delay=0.4)
    client = make_client(nai_emulator)
    task = asyncio.create_task(client.generate(v45_body()))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    images = await asyncio.wait_for(client.generate(v45_body()), 10)  # gate released; 429s until the server is done
    assert len(images) == 1


async def test_slow_answer_within_timeout_succeeds_and_beyond_it_is_a_clear_error(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("delay", delay=0.3, endpoint=GENERATE)
    assert len(await make_client(nai_emulator, stream=False, timeout=5).generate(v45_body())) == 1
    nai_emulator.inject("delay", delay=1.0, endpoint=GENERATE)
    with pytest.raises(BackendError, match="did not answer within 0.3 s"):
        await make_client(nai_emulator, stream=False, timeout=0.3).generate(v45_body())


async def test_token_never_leaks_into_errors_logs_or_reprs(
    nai_emulator: NaiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = nai_emulator.token
    client = make_client(nai_emulator)
    texts = [repr(client), str(client), repr(Secret(token)), f"{Secret(token)}"]
    for kind in ("401", "402", "413", "503", "html"):
        nai_emulator.inject(kind, times=5)
        with pytest.raises(BackendError) as info:
            await client.generate(v45_body())
        texts += [str(info.value), repr(info.value), repr(info.value.__cause__), repr(info.value.__context__)]
        nai_emulator.clear_faults()
    nai_emulator.inject("429", times=2)
    await client.generate(v45_body())
    texts.append(caplog.text)
    assert "account busy" in caplog.text
    assert all(token not in t for t in texts)
    assert all(token[4:] not in t for t in texts)


async def test_subscription_reads_tier_and_anlas_from_the_image_host(nai_emulator: NaiEmulator) -> None:
    nai_emulator.account.fixed, nai_emulator.account.purchased, nai_emulator.account.tier = 1000, 234, 2
    sub = await make_client(nai_emulator).subscription()
    assert (sub.tier, sub.active, sub.anlas, sub.fixed, sub.purchased) == (2, True, 1234, 1000, 234)
    assert sub.raw["trainingStepsLeft"]["purchasedTrainingSteps"] == 234
    assert [c.path for c in nai_emulator.calls()] == [SUBSCRIPTION]


def test_subscription_accepts_the_old_bare_number_shape() -> None:
    sub = Subscription.from_json({"tier": 3, "active": False, "trainingStepsLeft": 77})
    assert (sub.tier, sub.active, sub.anlas, sub.usage_negative) == (3, False, 77, False)
    sub = Subscription.from_json({"tier": 3, "active": True, "usage": {"percent": 0, "isNegative": True}})
    assert sub.usage_negative and sub.anlas == 0


async def test_generation_is_billed_by_the_emulator(nai_emulator: NaiEmulator) -> None:
    nai_emulator.account.tier = 1
    before = nai_emulator.account.anlas
    await make_client(nai_emulator).generate(v45_body(width=832, height=1216, steps=28))
    assert before - nai_emulator.account.anlas == 20  # spec §10.4: 832x1216, 28 steps
    nai_emulator.account.fixed, nai_emulator.account.purchased = 3, 0
    with pytest.raises(BackendError, match="not enough Anlas"):
        await make_client(nai_emulator).generate(v45_body(width=832, height=1216, steps=28))


async def test_encode_vibe_returns_raw_bytes_and_sends_the_exact_payload(nai_emulator: NaiEmulator) -> None:
    image = png_b64(64, 64)
    data = await make_client(nai_emulator).encode_vibe(image, 1.0, "nai-diffusion-4-5-full")
    assert data.startswith(b"EMUVIBE1v4.5-full")
    (call,) = nai_emulator.calls()
    assert call.path == ENCODE
    assert call.body == {"image": image, "information_extracted": 1, "model": "nai-diffusion-4-5-full"}
    assert isinstance(call.body["information_extracted"], int)


def test_client_refuses_to_start_without_a_token(nai_emulator: NaiEmulator) -> None:
    with pytest.raises(BackendError, match="no NovelAI token"):
        NaiClient(nai_emulator.url, Secret(""))


async def test_cancel_while_waiting_for_the_gate_leaves_the_other_job_alone(nai_emulator: NaiEmulator) -> None:
    nai_emulator.step_delay = 0.02
    client = make_client(nai_emulator)
    first = asyncio.create_task(client.generate(v45_body(steps=50, seed=1)))
    while not nai_emulator.calls():
        await asyncio.sleep(0.005)
    cancel = CancelToken()
    waiting = asyncio.create_task(client.generate(v45_body(seed=2), None, cancel))
    await asyncio.sleep(0.05)
    cancel.cancel()
    with pytest.raises(GenerationCancelled):
        await waiting
    assert not first.done()  # cancelled while queued: never sent
    assert len(await first) == 1
    assert [c.body["parameters"]["seed"] for c in nai_emulator.calls()] == [1]
    await client.generate(v45_body(seed=3))
    assert [c.status for c in nai_emulator.calls()] == [200, 200]


async def test_unreachable_host_is_retried_then_a_clear_network_error() -> None:
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = NaiClient(f"http://127.0.0.1:{port}", Secret("pst-x"), retry=FAST)
    with pytest.raises(BackendError, match=r"network error talking to NovelAI at 127\.0\.0\.1 \(ConnectError\)") as e:
        await client.generate(v45_body())
    assert e.value.retryable


async def test_webp_answers_are_passed_through(nai_emulator: NaiEmulator) -> None:
    from peropix_tui.core.nai.backend import image_extension

    body = v45_body()
    body["parameters"]["image_format"] = "webp"
    for stream in (True, False):
        (data,) = await make_client(nai_emulator, stream=stream).generate(body)
        assert image_extension(data) == "webp"
        assert Image.open(io.BytesIO(data)).size == (64, 64)


async def test_requests_reuse_one_kept_alive_connection(nai_emulator: NaiEmulator) -> None:
    async with make_client(nai_emulator) as client:
        await client.subscription()
        await client.generate(v45_body(steps=2))
        await client.subscription()
        assert len(client.clients) == 1
    calls = nai_emulator.calls()
    assert len(calls) == 3 and all(c.client_port for c in calls)
    assert len({c.client_port for c in calls}) == 1, [c.client_port for c in calls]  # one TCP connection
    assert len(client.clients) == 0  # closed on exit; using it again reconnects
    await client.subscription()
    assert nai_emulator.calls()[-1].client_port != calls[0].client_port
    await client.aclose()


def test_each_event_loop_has_its_own_connection(nai_emulator: NaiEmulator) -> None:
    client = make_client(nai_emulator)
    errors: list[BaseException] = []

    async def twice() -> None:
        try:
            await client.subscription()
            await client.subscription()
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
        finally:
            await client.aclose()

    threads = [threading.Thread(target=lambda: asyncio.run(twice())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not errors
    ports = [c.client_port for c in nai_emulator.calls()]
    assert len(ports) == 4 and len(set(ports)) == 2 and all(ports.count(p) == 2 for p in ports)


def test_a_loop_closed_without_aclose_does_not_break_the_next_one(nai_emulator: NaiEmulator) -> None:
    client = make_client(nai_emulator)  # as a CLI command does: asyncio.run per call, never closed
    assert asyncio.run(client.subscription()).anlas == asyncio.run(client.subscription()).anlas
    assert len(client.clients) <= 1  # the first loop's client was dropped
    assert len(nai_emulator.calls()) == 2
