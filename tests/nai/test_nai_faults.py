"""Server faults that may have cost Anlas: bounded time, one-line errors, never a silent second request."""

from __future__ import annotations

import asyncio

import pytest

from peropix_tui.core.backend import BackendError
from peropix_tui.core.config import Secret
from peropix_tui.core.nai.client import NaiClient, RetryPolicy
from tests.nai_emulator import GENERATE, STREAM, NaiEmulator
from tests.nai_emulator.bodies import v45_body

FAST = RetryPolicy(busy_base=0.02, busy_cap=0.08, busy_tries=20, error_base=0.01, error_tries=3, cancel_poll=0.01)
GUARD = 60.0
"""Outer bound so a hanging client fails the test instead of stalling the run."""


def client(emu: NaiEmulator, **kw: object) -> NaiClient:
    kw.setdefault("retry", FAST)
    return NaiClient(emu.url, Secret(emu.token), **kw)  # type: ignore[arg-type]


async def fails(coro: object) -> BackendError:
    with pytest.raises(BackendError) as info:
        await asyncio.wait_for(coro, GUARD)  # type: ignore[arg-type]
    return info.value


async def test_dripping_zip_answer_ends_at_the_timeout_and_says_so(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("drip", endpoint=GENERATE, delay=0.5)
    before = nai_emulator.account.anlas
    error = await fails(client(nai_emulator, stream=False, timeout=1.5).generate(v45_body(steps=28)))
    message = str(error)
    assert "NovelAI's answer stalled" in message and "1.5 s (nai.timeout)" in message
    assert "may have been charged" in message and error.retryable
    assert len(nai_emulator.calls()) == 1
    assert nai_emulator.account.anlas <= before  # billed (or free) once, never again behind the user's back


async def test_dripping_stream_ends_when_no_frame_completes_within_the_timeout(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("drip", endpoint=STREAM, delay=0.5)
    error = await fails(client(nai_emulator, timeout=1.5).generate(v45_body()))
    assert "no complete frame within 1.5 s (nai.timeout)" in str(error)
    assert error.retryable and "may have been charged" in str(error)
    assert [c.path for c in nai_emulator.calls()] == [STREAM]  # no ZIP "fallback" that would bill again


async def test_slow_but_steady_stream_is_not_cut_by_the_timeout(nai_emulator: NaiEmulator) -> None:
    nai_emulator.step_delay = 0.4  # each frame comes well within the timeout; the whole (3.2 s) takes longer
    images = await asyncio.wait_for(client(nai_emulator, timeout=2.0).generate(v45_body(steps=8)), GUARD)
    assert len(images) == 1


@pytest.mark.parametrize("endpoint", [GENERATE, STREAM])
async def test_reset_mid_body_is_not_retried_and_names_the_bytes_received(nai_emulator: NaiEmulator,
                                                                          endpoint: str) -> None:
    nai_emulator.inject("reset_mid_body", endpoint=endpoint, times=5)
    error = await fails(client(nai_emulator, stream=endpoint == STREAM).generate(v45_body()))
    message = str(error)
    assert message.startswith("NovelAI's answer was cut off after ") and " bytes" in message
    assert int(message.split("after ")[1].split(" bytes")[0]) > 0
    assert message.endswith("(the image may have been charged)")
    assert "ReadError" not in message and "RemoteProtocolError" not in message
    assert error.retryable  # the queue's `r` may send it again, on the user's say-so
    assert len(nai_emulator.calls()) == 1


@pytest.mark.parametrize(("endpoint", "kind"), [(GENERATE, "truncated_zip"), (STREAM, "truncated_stream"),
                                                (STREAM, "bad_frame_length"), (GENERATE, "reset")])
async def test_damaged_billed_answers_fail_once_with_a_retryable_error(nai_emulator: NaiEmulator, endpoint: str,
                                                                       kind: str) -> None:
    nai_emulator.inject(kind, endpoint=endpoint, times=5)
    error = await fails(client(nai_emulator, stream=endpoint == STREAM).generate(v45_body()))
    assert "may have been charged" in str(error) and error.retryable
    assert len(nai_emulator.calls()) == 1


async def test_free_request_cut_off_mid_body_is_retried(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("reset_mid_body", endpoint=GENERATE)
    images = await asyncio.wait_for(client(nai_emulator, stream=False).generate(v45_body(), free=True), GUARD)
    assert len(images) == 1
    assert len(nai_emulator.calls()) == 2


async def test_upload_over_the_limit_is_refused_before_sending_as_inputs_too_large(nai_emulator: NaiEmulator) -> None:
    body = v45_body()
    body["parameters"]["reference_image_multiple"] = ["A" * (17 * 1024 * 1024)]  # over the server's body limit
    error = await fails(client(nai_emulator).generate(body))
    assert error.status == 413 and str(error).startswith("inputs too large (17.0 MB to upload")
    assert "nothing was sent" in str(error)
    assert nai_emulator.calls() == []


@pytest.mark.parametrize("endpoint", [GENERATE, STREAM])
async def test_server_413_is_never_retried_and_says_inputs_too_large(nai_emulator: NaiEmulator, endpoint: str) -> None:
    nai_emulator.inject("413", endpoint=endpoint, times=5)
    error = await fails(client(nai_emulator, stream=endpoint == STREAM).generate(v45_body()))
    assert error.status == 413 and "inputs too large" in str(error) and not error.retryable
    assert len(nai_emulator.calls()) == 1


@pytest.mark.parametrize("token", ["pst-abc\u00e9def", "pst-\u201cquoted\u201d", "pst-a\u00a0b"])
def test_token_with_a_non_ascii_character_is_named_before_any_request(token: str) -> None:
    with pytest.raises(BackendError, match=r"NovelAI token \(PEROPIX_NAI_TOKEN or the token file\) has") as e:
        NaiClient("http://127.0.0.1:9", Secret(token))
    assert token not in str(e.value)


def test_url_with_an_impossible_port_names_the_setting() -> None:
    with pytest.raises(BackendError, match=r"PEROPIX_NAI_URL: 'http://127\.0\.0\.1:99999' is not a usable URL"):
        NaiClient("http://127.0.0.1:99999", Secret("pst-x"))


@pytest.mark.parametrize("stream", ["true", "false"])
def test_generate_cli_against_a_dripping_server_ends_with_one_line(nai_emulator: NaiEmulator, tmp_path: object,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   stream: str) -> None:
    import subprocess
    import sys

    nai_emulator.inject("drip", delay=0.5, times=3)
    monkeypatch.setenv("PEROPIX_NAI_TIMEOUT", "2")
    monkeypatch.setenv("PEROPIX_NAI_STREAM", stream)
    proc = subprocess.run([sys.executable, "-m", "peropix_tui", "generate", "--prompt", "1girl", "--width", "1088",
                           "--height", "1024", "--steps", "4", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=GUARD, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("peropix: error: NovelAI's ") and "stall" in line and "2 s (nai.timeout)" in line
    assert "may have been charged" in line
    assert len(nai_emulator.calls()) == 1
