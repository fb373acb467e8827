"""The app with the local engine on a tiny real SDXL-shaped checkpoint (CPU): a slot run saves
named images in a thread worker; cancel stops a job mid-way and the queue moves on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from peropix_tui.core.jobs import JobState
from peropix_tui.core.slots import Slot
from peropix_tui.messages import ImageSaved, JobCancelled, JobProgressed
from tests.tui_app.conftest import settle

pytest.importorskip("torch", reason="torch (the [local] extra) is not installed")


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.engine.tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("tui-ckpt") / "tiny.safetensors", seed=5)


def _local(app: Any, ckpt: Path, steps: int) -> None:
    base = app.workspace.base
    base.provider, base.checkpoint, base.device, base.dtype = "local", str(ckpt), "cpu", "fp32"
    base.width, base.height, base.steps, base.sampler = 64, 64, steps, "k_euler"
    base.prompt = "1girl"


async def test_local_slots_make_named_images(make_app: Any, tiny_ckpt: Path) -> None:
    app = make_app()
    _local(app, tiny_ckpt, 2)
    app.workspace.slots = [Slot("smile", "smile"), Slot("cry", "crying")]
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await pilot.press("f3", "ctrl+g")
        for _ in range(100):
            await settle(app, pilot, 1)
            if all(j.state is JobState.DONE for j in app.queue) and len(app.queue) == 2:
                break
        saved = sorted({m.path for m in seen if isinstance(m, ImageSaved)})
        assert [p.name[:9] for p in saved] == ["000_smile", "001_cry_0"]
        assert all(p.read_bytes().startswith(b"\x89PNG") for p in saved)
        assert any(isinstance(m, JobProgressed) for m in seen)


async def test_cancel_local_job_mid_way(make_app: Any, tiny_ckpt: Path) -> None:
    app = make_app()
    _local(app, tiny_ckpt, 400)
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await pilot.press("f3", "ctrl+g")
        for _ in range(400):
            await pilot.pause(0.05)
            if any(isinstance(m, JobProgressed) and m.step >= 1 for m in seen):
                break
        await pilot.press("x")
        for _ in range(200):
            await settle(app, pilot, 1)
            if app.queue.jobs[0].state is JobState.CANCELLED:
                break
        assert app.queue.jobs[0].state is JobState.CANCELLED
        assert any(isinstance(m, JobCancelled) for m in seen)
        assert app.queue.jobs[0].step < 400 and app.runner.busy == {}
        assert not [m for m in seen if isinstance(m, ImageSaved)]
