"""ctrl+q with a job running asks first: finish the image then quit, quit now (the job comes back
paused, NovelAI may have charged it), or cancel. Against the loopback NovelAI emulator, whose
generate answer is held back long enough for the keys to arrive while the job runs."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Button

from peropix_tui.core import paths
from peropix_tui.core.config import load_config
from peropix_tui.core.jobs import QUEUE_FILE, JobQueue, JobState
from peropix_tui.core.nai.backend import NaiBackend, client_from_config
from peropix_tui.core.slots import Slot
from peropix_tui.screens.quit_confirm import QuitConfirm
from tests.tui_app.conftest import settle

pytestmark = pytest.mark.usefixtures("nai_emulator")
HOLD = 4.0  # seconds the emulator holds the first generate answer


def _app(make_app: Any) -> Any:
    app = make_app(backends={"nai": NaiBackend(client_from_config(load_config()))})
    base = app.workspace.base
    base.width, base.height, base.steps, base.prompt = 512, 512, 12, "1girl"
    app.workspace.slots = [Slot("a", "smile"), Slot("b", "angry")]
    return app


async def _start_two_jobs(app: Any, pilot: Any, nai_emulator: Any) -> None:
    await settle(app, pilot)
    nai_emulator.inject("delay", delay=HOLD)  # the next request: the first job's generate
    await pilot.press("f3", "ctrl+g")
    await pilot.pause()
    assert [j.state for j in app.queue] == [JobState.RUNNING, JobState.PENDING]


async def test_nothing_running_quits_at_once(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.return_code == 0 and not isinstance(app.screen, QuitConfirm)


async def test_cancel_keeps_running(make_app: Any, nai_emulator: Any) -> None:
    app = _app(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start_two_jobs(app, pilot, nai_emulator)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitConfirm)
        text = str(app.screen.query_one("#quit-question").render())
        assert "a #1 is still generating" in text and "NovelAI may already have charged it" in text
        labels = [str(b.label) for b in app.screen.query(Button)]
        assert labels[0].startswith("Finish this image, then quit") and labels[1].startswith("Quit now")
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.return_code is None
        assert [j.state for j in app.queue] == [JobState.DONE, JobState.DONE]  # both ran, once each
        assert len(nai_emulator.generations()) == 2


async def test_finish_this_image_then_quit(make_app: Any, nai_emulator: Any) -> None:
    app = _app(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start_two_jobs(app, pilot, nai_emulator)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        assert app.return_code is None and app.quit_after_job  # still running: waits for the image
        await settle(app, pilot)
        assert app.return_code == 0
    queue = JobQueue.load(paths.state_dir() / QUEUE_FILE)
    done, waiting = list(queue)
    assert done.state is JobState.DONE and len(done.images) == 1
    assert waiting.state is JobState.PAUSED and not waiting.images
    assert len(nai_emulator.generations()) == 1  # the waiting job was never sent


async def test_quit_now_brings_the_job_back_paused(make_app: Any, nai_emulator: Any) -> None:
    app = _app(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        await _start_two_jobs(app, pilot, nai_emulator)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.click("#now")
        await pilot.pause()
        assert app.return_code == 0
    queue = JobQueue.load(paths.state_dir() / QUEUE_FILE)
    assert [j.state for j in queue] == [JobState.PAUSED, JobState.PAUSED]
    assert not any(j.images for j in queue)


async def test_finish_then_changing_ones_mind(make_app: Any, nai_emulator: Any) -> None:
    app = _app(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        await _start_two_jobs(app, pilot, nai_emulator)
        await pilot.press("ctrl+q")
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
        assert app.quit_after_job
        await pilot.press("ctrl+q")  # asked again: cancel means stay
        await pilot.pause()
        assert isinstance(app.screen, QuitConfirm)
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.return_code is None and not app.quit_after_job
        assert [j.state for j in app.queue] == [JobState.DONE, JobState.PAUSED]
