"""Slots / Queue screen: editing slots, presets, the persisted queue coming back paused."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Input

from peropix_tui.core import paths
from peropix_tui.core.jobs import QUEUE_FILE, JobQueue, JobState
from peropix_tui.core.presets import list_presets, workspace_path
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.screens.modals import ChoicePrompt
from peropix_tui.screens.queue import QueueScreen, parse_size
from peropix_tui.widgets.job_list import JobList, JobRow


async def test_edit_slots_lock_repeats_and_presets(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        for name, prompt in (("smile", "smile"), ("angry", "angry, frown"), ("cry", "crying")):
            await pilot.press("ctrl+n")  # the new slot's name field has focus
            screen.query_one("#slot-name", Input).value = name
            screen.query_one("#slot-prompt", Input).value = prompt
            await pilot.pause()
        screen.query_one("#slot-table", DataTable).focus()
        await pilot.press("ctrl+l")  # lock the highlighted (last) slot
        screen.query_one("#repeats", Input).value = "2"
        await pilot.pause()
        ws = app.workspace
        assert [(s.name, s.prompt, s.locked) for s in ws.slots] == [
            ("smile", "smile", False), ("angry", "angry, frown", False), ("cry", "crying", True)]
        assert ws.repeats == 2
        assert "2 unlocked × 2 = 4 image(s)" in str(screen.query_one("#base-prompt").render())
        await pilot.press("ctrl+s")
        await pilot.press(*"emotions", "enter")
        await pilot.pause()
        assert list_presets() == ["emotions"]
        await pilot.press("ctrl+d", "ctrl+d", "ctrl+d")
        assert ws.slots == []
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert isinstance(app.screen, ChoicePrompt)
        await pilot.press("enter")
        await pilot.pause()
        assert [s.name for s in ws.slots] == ["smile", "angry", "cry"] and ws.slots[2].locked
        await pilot.press("ctrl+q")
    assert workspace_path().exists()  # the workspace is saved on quit
    again = make_app()
    assert [s.name for s in again.workspace.slots] == ["smile", "angry", "cry"]


def test_parse_size() -> None:
    assert parse_size("832x1216") == (832, 1216)
    assert parse_size(" ") == (None, None)
    for bad in ("832", "100x100", "axb"):
        try:
            parse_size(bad)
        except ValueError as e:
            assert repr(bad) in str(e)
        else:
            raise AssertionError(bad)


async def test_restart_with_pending_jobs_restores_them_paused(make_app: Any) -> None:
    q = JobQueue(paths.state_dir() / QUEUE_FILE)
    jobs = q.add((GenerationSettings(prompt=f"p{i}", seed=i), i, f"s{i}", 0) for i in range(3))
    q.start(jobs[0].id)  # the app died while this ran
    app = make_app()
    assert {j.state for j in app.queue} == {JobState.PAUSED}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await app.workers.wait_for_complete()
        await pilot.pause()
        rows = list(app.screen.query(JobRow))
        assert [r.job.id for r in rows] == [j.id for j in jobs]
        assert "paused" in str(rows[0].query_one(".job-text").render())
        assert app.runner.busy == {}  # nothing started by itself
        job_list = app.screen.query_one(JobList)
        job_list.focus()
        job_list.index = 1
        await pilot.press("shift+up")  # reorder: second job first
        assert [j.id for j in app.queue][0] == jobs[1].id
        await pilot.press("X")  # cancel all
        assert {j.state for j in app.queue} == {JobState.CANCELLED}
        await pilot.press("r")  # retry: the first runs and fails (no token), the rest wait paused
        await app.workers.wait_for_complete()
        await pilot.pause()
        states = [j.state for j in app.queue]
        assert states == [JobState.FAILED, JobState.PAUSED, JobState.PAUSED]
        assert "No NovelAI token" in app.queue.jobs[0].error


async def test_slot_character_override_reaches_the_jobs(make_app: Any) -> None:
    from textual.widgets import TextArea

    from peropix_tui.core.slots import Slot
    from peropix_tui.screens.queue import parse_characters

    app = make_app()
    app.workspace.base.prompt = "2girls"
    app.workspace.slots = [Slot("duo", "hug"), Slot("solo", "wave")]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3", "ctrl+k")
        await pilot.pause()
        area = app.screen.query_one("#lines", TextArea)
        area.text = "girl, red hair ; ; B3\ngirl, blue hair ; hat ; d3"
        await pilot.press("ctrl+s")
        await pilot.pause()
    slot = app.workspace.slots[0]
    assert slot.characters is not None and [(c.prompt, c.uc, c.position) for c in slot.characters] == [
        ("girl, red hair", "", "B3"), ("girl, blue hair", "hat", "D3")]
    assert app.workspace.slots[1].characters is None
    runs = app.workspace.expand()
    assert [len(r.settings.characters) for r in runs] == [2, 0]
    try:
        parse_characters("a ; b ; Z9")
    except ValueError as e:
        assert "character line 1" in str(e)
    else:
        raise AssertionError("Z9 accepted")


async def test_a_slot_name_typed_longer_widens_its_column(make_app: Any) -> None:
    from peropix_tui.textwidth import cell_width

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        screen = app.screen
        await pilot.press("ctrl+n")
        await pilot.pause()
        screen.query_one("#slot-name", Input).value = "미소 えがお 웃는얼굴"  # longer than the proposed name
        await pilot.pause()
        table = screen.query_one("#slot-table", DataTable)
        assert table.get_cell_at((0, 1)).plain == "미소 えがお 웃는얼굴"
        assert table.ordered_columns[1].get_render_width(table) >= cell_width("미소 えがお 웃는얼굴")
