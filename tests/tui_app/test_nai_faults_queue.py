"""The app's queue under NovelAI faults: a billed answer that breaks fails its job once (retryable with
`r`), a dripping server cannot stall the queue past nai.timeout."""

from __future__ import annotations

from typing import Any

import pytest

from peropix_tui.core.config import load_config
from peropix_tui.core.jobs import JobState
from peropix_tui.core.nai.backend import NaiBackend, client_from_config
from peropix_tui.core.nai.client import RetryPolicy
from peropix_tui.core.slots import Slot
from peropix_tui.messages import JobFailed
from tests.nai_emulator import STREAM
from tests.tui_app.conftest import settle

pytestmark = pytest.mark.usefixtures("nai_emulator")
FAST = RetryPolicy(busy_base=0.05, busy_cap=0.2, error_base=0.05)


def _app(make_app: Any) -> Any:
    app = make_app(backends={"nai": NaiBackend(client_from_config(load_config(), retry=FAST))})
    base = app.workspace.base
    base.prompt, base.width, base.height, base.steps = "1girl", 1088, 1024, 4  # over 1 MP: billed
    return app


async def test_answer_cut_off_fails_the_job_once_and_r_sends_it_again(make_app: Any, nai_emulator: Any) -> None:
    app = _app(make_app)
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await settle(app, pilot)
        nai_emulator.inject("reset_mid_body", endpoint=STREAM)
        await pilot.press("ctrl+g")
        await settle(app, pilot)
        (failed,) = {m.job_id: m for m in seen if isinstance(m, JobFailed)}.values()
        assert "cut off after" in failed.error and "may have been charged" in failed.error
        assert failed.retryable
        assert [j.state for j in app.queue] == [JobState.FAILED]
        assert len(nai_emulator.calls(STREAM)) == 1  # not resent behind the user's back
        await pilot.press("f3", "r")
        await settle(app, pilot)
        assert [j.state for j in app.queue] == [JobState.DONE]
        assert len(nai_emulator.calls(STREAM)) == 2


async def test_dripping_server_fails_one_job_and_the_queue_goes_on(make_app: Any, nai_emulator: Any,
                                                                   monkeypatch: Any) -> None:
    monkeypatch.setenv("PEROPIX_NAI_TIMEOUT", "1")
    app = _app(make_app)
    app.workspace.slots = [Slot("a", "smile"), Slot("b", "angry")]
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await settle(app, pilot)
        nai_emulator.inject("drip", endpoint=STREAM, delay=0.5)
        await pilot.press("f3", "ctrl+g")  # all slots
        for _ in range(40):  # each round waits for the workers; bounded, no wall-clock assertion
            await settle(app, pilot)
            if all(j.state in (JobState.DONE, JobState.FAILED) for j in app.queue):
                break
        states = sorted(j.state.value for j in app.queue)
        assert states == ["done", "failed"], states
        (failed,) = {m.job_id: m for m in seen if isinstance(m, JobFailed)}.values()
        assert "no complete frame within 1 s (nai.timeout)" in failed.error and failed.retryable
