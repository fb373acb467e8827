"""Failures end in one clear error (or a clean cancel) in bounded time; only our own prompt is touched."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from peropix_tui.core.backend import BackendError, CancelToken, GenerationCancelled, Progress
from peropix_tui.core.comfyui.backend import ComfyUIBackend
from peropix_tui.core.comfyui.client import Timeouts
from peropix_tui.core.comfyui.config import ComfyServer
from peropix_tui.core.comfyui.errors import ServerUnavailable
from tests.comfyui.helpers import backend, dead_url, png_size, settings
from tests.comfyui_emulator import ComfyEmulator


def _other_graph(steps: int) -> dict[str, object]:
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "noobai-vpred-1.0.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "someone else", "clip": ["1", 1]}},
        "3": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "4": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "seed": 9, "steps": steps, "cfg": 7.0,
                                                   "sampler_name": "euler", "scheduler": "normal",
                                                   "positive": ["2", 0], "negative": ["2", 0],
                                                   "latent_image": ["3", 0], "denoise": 1.0}},
        "5": {"class_type": "VAEDecode", "inputs": {"samples": ["4", 0], "vae": ["1", 2]}},
        "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "other"}},
    }


async def _wait_done(emu: ComfyEmulator, pid: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=emu.url) as c:
        for _ in range(400):
            entry = (await c.get(f"/history/{pid}")).json()
            if entry:
                return dict(entry[pid])
            await asyncio.sleep(0.05)
    raise AssertionError(f"{pid} never finished")


async def test_node_errors_become_one_line_naming_node_and_input(comfy_emulator: ComfyEmulator) -> None:
    comfy_emulator.inject("node_errors")
    b = backend(comfy_emulator)
    with pytest.raises(BackendError) as e:
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    msg = str(e.value)
    assert "\n" not in msg and e.value.status == 400
    assert not e.value.retryable and not isinstance(e.value, ServerUnavailable)
    assert "rejected the graph: node" in msg and "(KSampler) input sampler_name: Value not in list" in msg


async def test_real_validation_error_is_reported_with_its_input(comfy_emulator: ComfyEmulator) -> None:
    b = backend(comfy_emulator)
    with pytest.raises(BackendError, match=r"node \d+ \(EmptyLatentImage\) input width: Value 8 smaller than min"):
        await b.generate(settings(width=8), lambda p: None, CancelToken())
    await b.aclose()


async def test_execution_error_names_node_and_exception(comfy_emulator: ComfyEmulator) -> None:
    comfy_emulator.inject("execution_error", at_step=2)
    b = backend(comfy_emulator)
    with pytest.raises(BackendError) as e:
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    msg = str(e.value)
    assert "\n" not in msg and not isinstance(e.value, ServerUnavailable)
    assert "(KSampler) failed: torch.OutOfMemoryError: Allocation on device 0 would exceed" in msg


async def test_cancel_while_running_interrupts_only_our_prompt(comfy_pool: object) -> None:
    (emu,) = comfy_pool(1, step_delay=0.02)  # type: ignore[operator]
    b = backend(emu)
    cancel = CancelToken()

    def on_progress(p: Progress) -> None:
        if p.step >= 2:
            cancel.cancel()

    with pytest.raises(GenerationCancelled):
        await b.generate(settings(steps=200), on_progress, cancel)
    await b.aclose()
    (sent,) = [c.body for c in emu.calls("/prompt", "POST")]
    interrupts = emu.calls("/interrupt", "POST")
    assert [c.body for c in interrupts] == [{"prompt_id": sent["prompt_id"]}]
    entry = await _wait_done(emu, sent["prompt_id"])
    assert entry["status"]["status_str"] == "error"  # type: ignore[index]


async def test_cancel_while_queued_deletes_only_our_prompt(comfy_pool: object) -> None:
    (emu,) = comfy_pool(1, step_delay=0.02)  # type: ignore[operator]
    other = emu.queue_external(_other_graph(40), client_id="someone-else")
    b = backend(emu)
    cancel = CancelToken()

    def on_progress(p: Progress) -> None:
        if p.message.startswith("queued on gpu1"):
            cancel.cancel()

    with pytest.raises(GenerationCancelled):
        await b.generate(settings(), on_progress, cancel)
    await b.aclose()
    (sent,) = [c.body for c in emu.calls("/prompt", "POST")]
    deletes = [c.body for c in emu.calls("/queue", "POST")]
    assert deletes and all(d == {"delete": [sent["prompt_id"]]} for d in deletes)
    assert not emu.calls("/interrupt")
    entry = await _wait_done(emu, other)
    assert entry["status"]["status_str"] == "success"  # type: ignore[index]
    assert sent["prompt_id"] not in emu.executed_prompts


async def test_someone_else_interrupting_is_an_error_not_a_cancel(comfy_emulator: ComfyEmulator) -> None:
    comfy_emulator.inject("interrupt", at_step=2)
    b = backend(comfy_emulator)
    with pytest.raises(BackendError, match="interrupted on the server"):
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()


async def test_disconnect_mid_job_reconnects_and_still_gets_the_image(comfy_pool: object) -> None:
    (emu,) = comfy_pool(1, step_delay=0.01)  # type: ignore[operator]
    emu.inject("disconnect", at_step=3)
    b = backend(emu)
    images = await b.generate(settings(steps=8), lambda p: None, CancelToken())
    await b.aclose()
    assert len(images) == 1 and png_size(images[0].data) == (512, 768)
    assert len(emu.calls("/ws")) >= 2
    assert len(emu.calls("/prompt", "POST")) == 1  # nothing submitted twice


async def test_disconnect_at_the_last_step_finds_the_finished_prompt_in_history(comfy_pool: object) -> None:
    (emu,) = comfy_pool(1)  # type: ignore[operator]
    emu.inject("disconnect", at_step=4)
    b = backend(emu)
    images = await b.generate(settings(steps=4), lambda p: None, CancelToken())
    await b.aclose()
    assert len(images) == 1 and png_size(images[0].data) == (512, 768)
    assert len(emu.calls("/prompt", "POST")) == 1


async def test_lost_prompt_answer_is_looked_up_not_resubmitted(comfy_emulator: ComfyEmulator) -> None:
    comfy_emulator.inject("lost_answer")
    b = backend(comfy_emulator)
    images = await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    assert len(images) == 1
    assert len(comfy_emulator.calls("/prompt", "POST")) == 1 and len(comfy_emulator.executed_prompts) == 1


async def test_restart_mid_job_is_a_retryable_error(comfy_pool: object) -> None:
    (emu,) = comfy_pool(1)  # type: ignore[operator]
    emu.inject("restart", at_step=2, seconds=0.3)
    b = backend(emu)
    with pytest.raises(BackendError) as e:
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    assert isinstance(e.value, ServerUnavailable) and e.value.retryable
    assert "gone from its queue and history (the server restarted mid-job?)" in str(e.value)


async def test_restart_that_never_comes_back_ends_in_a_clear_error(comfy_pool: object) -> None:
    (emu,) = comfy_pool(1)  # type: ignore[operator]
    emu.inject("restart", at_step=2, seconds=30)
    b = backend(emu)
    with pytest.raises(ServerUnavailable, match="connection lost mid-job and not back within 2 s") as e:
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    assert e.value.retryable


async def test_stuck_prompt_ends_in_an_error_and_is_interrupted(comfy_emulator: ComfyEmulator) -> None:
    comfy_emulator.inject("stall", at_step=2)
    b = backend(comfy_emulator)
    with pytest.raises(ServerUnavailable, match=r"prompt stuck: no progress for 1 s"):
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    (sent,) = [c.body for c in comfy_emulator.calls("/prompt", "POST")]
    assert [c.body for c in comfy_emulator.calls("/interrupt")] == [{"prompt_id": sent["prompt_id"]}]


async def test_unreachable_server_is_a_retryable_error() -> None:
    url = dead_url()
    b = ComfyUIBackend(ComfyServer(url, name="off"), timeouts=Timeouts(connect=1, request=1))
    with pytest.raises(ServerUnavailable, match=rf"ComfyUI server off \({re.escape(url)}\) unreachable") as e:
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    assert e.value.retryable


async def test_slow_http_answer_hits_the_request_deadline(comfy_emulator: ComfyEmulator) -> None:
    comfy_emulator.inject("http_delay", times=1, seconds=3)
    b = backend(comfy_emulator, timeouts=Timeouts(connect=1, request=0.5))
    with pytest.raises(ServerUnavailable, match="timed out") as e:
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    assert e.value.retryable


async def test_proxy_bad_gateway_means_the_server_is_unavailable(comfy_emulator: ComfyEmulator) -> None:
    comfy_emulator.inject("bad_gateway")
    b = backend(comfy_emulator)
    with pytest.raises(ServerUnavailable, match=r"answered 502 \(the server behind the proxy is down\?\)"):
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()


async def test_job_deadline_bounds_a_long_queue_wait(comfy_pool: object) -> None:
    (emu,) = comfy_pool(1, step_delay=0.05)  # type: ignore[operator]
    other = emu.queue_external(_other_graph(60), client_id="someone-else")
    b = backend(emu, timeouts=Timeouts(connect=2, request=5, stall=10, job=0.5, idle_poll=0.2))
    with pytest.raises(BackendError, match="did not finish within 0.5 s"):
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    (sent,) = [c.body for c in emu.calls("/prompt", "POST")]
    assert {"delete": [sent["prompt_id"]]} in [c.body for c in emu.calls("/queue", "POST")]
    assert other not in [c.body.get("delete", [None])[0] for c in emu.calls("/queue", "POST")]


@pytest.mark.parametrize("metadata", [True, False])
async def test_other_clients_progress_and_previews_are_not_ours(comfy_pool: object, metadata: bool) -> None:
    (emu,) = comfy_pool(1, step_delay=0.01, preview_metadata=metadata)  # type: ignore[operator]
    emu.queue_external(_other_graph(7))  # no client_id: ComfyUI broadcasts its progress and previews
    b = backend(emu)
    progress: list[Progress] = []
    images = await b.generate(settings(steps=4), progress.append, CancelToken())
    await b.aclose()
    assert len(images) == 1
    assert [p.step for p in progress if p.total and p.preview is None] == [1, 2, 3, 4]
    assert all(p.total == 4 for p in progress if p.preview)
    assert len([p for p in progress if p.preview]) == 4
