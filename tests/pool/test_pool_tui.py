"""The app with two emulated ComfyUI servers: a slot set runs on both at once, and the queue screen
shows each job's worker and each worker's state (loopback sockets, Textual pilot)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from peropix_tui.core import paths
from peropix_tui.core.config import load_config
from peropix_tui.core.jobs import JobState
from peropix_tui.core.slots import Slot
from peropix_tui.messages import JobStarted
from tests.comfyui_emulator import ComfyEmulator
from tests.tui_app.conftest import settle, tui_env  # noqa: F401  (autouse fixture)


@pytest.fixture
def two_servers() -> Iterator[list[ComfyEmulator]]:
    emus = [ComfyEmulator(step_delay=0.05).start() for _ in range(2)]
    paths.config_file().write_text(
        "[comfyui]\nservers = [" + ", ".join(f'{{ url = "{e.url}", name = "gpu{i}" }}' for i, e in enumerate(emus))
        + "]\n", encoding="utf-8")
    yield emus
    for e in emus:
        if not getattr(e, "stopped", False):
            e.stop()


async def test_slot_set_runs_on_both_servers_and_the_queue_shows_workers(two_servers: list[ComfyEmulator]) -> None:
    from peropix_tui.app import PeroPixApp

    app = PeroPixApp(load_config())
    base = app.workspace.base
    base.provider, base.checkpoint, base.prompt = "comfyui", "illustrious-xl-v1", "1girl"
    base.width, base.height, base.steps = 512, 512, 6
    app.workspace.slots = [Slot("a", "red hair"), Slot("b", "blue hair")]
    app.workspace.repeats = 2
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await pilot.pause()
        jobs = app.runner.request(True)
        assert len(jobs) == 4
        # both servers got a job at once
        assert {app.queue.get(j.id).worker for j in jobs if app.queue.get(j.id).state is JobState.RUNNING} == {
            "comfyui:gpu0", "comfyui:gpu1"}
        await settle(app, pilot, rounds=6)
        final = [app.queue.get(j.id) for j in jobs]
        assert [j.state for j in final] == [JobState.DONE] * 4, [(j.state, j.error) for j in final]
        assert {j.worker for j in final} == {"comfyui:gpu0", "comfyui:gpu1"}
        assert sum(len(e.executed_prompts) for e in two_servers) == 4
        assert any(isinstance(m, JobStarted) for m in seen)
        app.action_show("queue")
        await pilot.pause()
        await settle(app, pilot)
        screen = app.screen
        states = str(screen.query_one("#worker-states").render())
        assert "comfyui:gpu0 idle" in states and "comfyui:gpu1 idle" in states
        texts = " ".join(str(w.render()) for w in screen.query(".job-text"))
        assert "on comfyui:gpu0" in texts and "on comfyui:gpu1" in texts


async def test_a_dead_server_gives_its_jobs_to_the_other_and_shows_down(two_servers: list[ComfyEmulator]) -> None:
    from peropix_tui.app import PeroPixApp
    from peropix_tui.messages import JobFailed, WorkerLost

    two_servers[1].stop()  # gpu1 is gone before the batch; the app does not know yet
    two_servers[1].stopped = True  # type: ignore[attr-defined]
    app = PeroPixApp(load_config())
    base = app.workspace.base
    base.provider, base.checkpoint, base.prompt = "comfyui", "illustrious-xl-v1", "1girl"
    base.width, base.height, base.steps = 512, 512, 4
    app.workspace.slots = [Slot("a", "red hair"), Slot("b", "blue hair")]
    app.workspace.repeats = 2
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await pilot.pause()
        jobs = app.runner.request(True)
        await settle(app, pilot, rounds=8)
        final = [app.queue.get(j.id) for j in jobs]
        assert [j.state for j in final] == [JobState.DONE] * 4, [(j.state, j.error, j.notice) for j in final]
        assert {j.worker for j in final} == {"comfyui:gpu0"}
        assert [len(j.images) for j in final] == [1, 1, 1, 1]
        lost = {m.job_id: m for m in seen if isinstance(m, WorkerLost)}
        assert lost and {m.worker for m in lost.values()} == {"comfyui:gpu1"}
        assert not any(isinstance(m, JobFailed) for m in seen)
        assert len(two_servers[0].executed_prompts) == 4
        app.action_show("queue")
        await pilot.pause()
        await settle(app, pilot)
        states = str(app.screen.query_one("#worker-states").render())
        assert "comfyui:gpu1 down" in states and "comfyui:gpu0 idle" in states
