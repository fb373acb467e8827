"""Emotion sets and Director Tools from the gallery, the preview and the slot set, under Pilot against
the loopback NovelAI emulator: the dialog shows the cost first, the jobs go through the queue,
results land next to the source named by mood, the balance is refreshed; queue-end notices."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from textual import events
from textual.widgets import Input, Static

from peropix_tui.core.config import Secret, load_config
from peropix_tui.core.jobs import TOOL, JobState
from peropix_tui.core.metadata import png as pngmeta
from peropix_tui.core.nai.backend import NaiBackend
from peropix_tui.core.nai.client import RetryPolicy
from peropix_tui.core.nai.tools_client import NaiToolsClient
from peropix_tui.core.slots import Slot
from peropix_tui.messages import BalanceUpdated, GenerationRequested, ImageSaved
from peropix_tui.screens.tool_dialog import ToolDialog
from peropix_tui.widgets.thumb_grid import ThumbGrid
from tests.tui_app.conftest import settle

pytestmark = pytest.mark.usefixtures("nai_emulator")
FAST = RetryPolicy(busy_base=0.01, busy_cap=0.05, busy_tries=100_000, error_base=0.01, cancel_poll=0.01)
AUGMENT = "/ai/augment-image"


def _app(make_app: Any, emu: Any) -> Any:
    client = NaiToolsClient(load_config().nai.base_url, Secret(emu.token), retry=FAST)
    return make_app(backends={"nai": NaiBackend(client)})


def _png(name: str, w: int, h: int, folder: str = "set") -> Path:
    path = Path(os.environ["PEROPIX_OUTPUT_DIR"]) / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.linear_gradient("L").resize((w, h)).convert("RGB").save(path)
    return path


def _peropix(path: Path) -> dict[str, Any]:
    return dict(json.loads(pngmeta.read_text(path.read_bytes())["Comment"])["peropix"])


def _cost(dialog: ToolDialog) -> str:
    return str(dialog.query_one("#cost", Static).render())


async def _drain(app: Any, pilot: Any) -> None:
    """Settle until no job is pending or running (jobs start one after another as each ends)."""
    for _ in range(500):
        await settle(app, pilot, rounds=1)
        if not app.queue.in_state(JobState.PENDING, JobState.RUNNING) and not app.workers:
            return
    raise AssertionError("the queue did not drain")


async def _gallery(app: Any, pilot: Any) -> None:
    await settle(app, pilot)
    await pilot.press("f4")
    await settle(app, pilot)


async def test_emotion_set_of_five_moods_from_a_gallery_image(make_app: Any, nai_emulator: Any) -> None:
    src = _png("000_base_0000001.png", 1024, 1536)  # over 1 MP: 30 Anlas a mood even on Opus
    app = _app(make_app, nai_emulator)
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await _gallery(app, pilot)
        assert app.balance is not None and app.balance.anlas == 10_500
        assert app.screen.current is not None and app.screen.current.file == src
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ToolDialog) and dialog.tool == "emotion"
        dialog.query_one("#typed-moods", Input).focus()
        await pilot.press(*"happy, sad angry shy smug", "enter")
        await pilot.pause()
        assert dialog.chosen_moods() == ("happy", "sad", "angry", "shy", "smug")
        assert _cost(dialog).startswith("Cost: 150 Anlas for 5 request(s)")  # shown before anything is sent
        assert "balance 10500" in _cost(dialog)
        assert nai_emulator.calls(AUGMENT) == []
        await pilot.press("ctrl+s")
        await _drain(app, pilot)
        jobs = [j for j in app.queue if j.kind == TOOL]
        assert len(jobs) == 5 and all(j.state is JobState.DONE for j in jobs)
        assert len(nai_emulator.calls(AUGMENT)) == 5
        made = sorted(p for p in src.parent.glob("*.png") if p != src)
        assert [p.name.rsplit("_", 1)[0] for p in made] == ["001_happy", "002_sad", "003_angry", "011_shy",
                                                             "013_smug"]
        for job in jobs:
            (image,) = job.images
            obj = _peropix(Path(image))
            assert obj["job"] == job.id and obj["queue"] == app.queue.uid and obj["tool"]["name"] == "emotion"
        # the balance was refreshed after the jobs, and the results are in the gallery
        balances = [m.anlas for m in seen if isinstance(m, BalanceUpdated) and m.anlas is not None]
        assert balances[-1] == nai_emulator.account.anlas == 10_500 - 150
        assert app.store.count() == 6
        assert app.screen.query_one(ThumbGrid).count == 6
        assert app.last_image in made  # the preview shows the newest result
        assert {m.path for m in seen if isinstance(m, ImageSaved)} == set(made)
        await pilot.press("f3")  # the queue lists them by tool, mood and source
        await settle(app, pilot)
        texts = [str(label.render()) for label in app.screen.query(".job-text")]
        assert any(t.startswith("emotion smug") and "000_base_0000001.png" in t for t in texts), texts


async def test_background_removal_of_marked_images(make_app: Any, nai_emulator: Any) -> None:
    a = _png("001_happy_0000001.png", 832, 1216)
    b = _png("002_sad_0000002.png", 832, 1216)
    app = _app(make_app, nai_emulator)
    async with app.run_test(size=(120, 40)) as pilot:
        await _gallery(app, pilot)
        grid = app.screen.query_one(ThumbGrid)
        grid.focus()
        await pilot.press("space", "right", "space")
        await pilot.pause()
        assert grid.marked == {a, b}
        await pilot.press("t")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ToolDialog) and dialog.tool == "bg-removal"
        assert set(dialog.sources) == {a, b}
        assert _cost(dialog).startswith("Cost: 130 Anlas for 2 request(s)")  # 3 x base + 5 each, never free
        await pilot.press("ctrl+s")
        await _drain(app, pilot)
        assert len(nai_emulator.calls(AUGMENT)) == 2
        made = sorted(p.name.rsplit("_", 1)[0] for p in a.parent.glob("*_bg-*.png"))
        assert made == sorted(f"{stem}_bg-{part}" for stem in ("001_happy", "002_sad")
                              for part in ("masked", "generated", "blend"))
        assert nai_emulator.account.anlas == 10_500 - 130


async def test_over_balance_with_the_queue_is_refused_and_nothing_sent(make_app: Any, nai_emulator: Any) -> None:
    _png("000_base_0000001.png", 1024, 1536)
    nai_emulator.account.fixed, nai_emulator.account.purchased = 100, 0  # 30 a mood: 4 moods are over it
    app = _app(make_app, nai_emulator)
    async with app.run_test(size=(120, 40)) as pilot:
        await _gallery(app, pilot)
        assert app.balance.anlas == 100
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        dialog.query_one("#typed-moods", Input).focus()
        await pilot.press(*"happy sad angry shy", "enter", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ToolDialog)  # refused in the dialog, with the reason
        assert "balance is 100" in str(dialog.query_one("#refusal", Static).render())
        await pilot.press("escape")
        await settle(app, pilot)
    assert nai_emulator.calls(AUGMENT) == [] and not [j for j in app.queue if j.kind == TOOL]


async def test_slot_set_finished_as_emotion_set_from_the_palette_action(make_app: Any, nai_emulator: Any) -> None:
    app = _app(make_app, nai_emulator)
    app.workspace.base.width, app.workspace.base.height, app.workspace.base.steps = 512, 512, 12
    app.workspace.slots = [Slot("smile", "smile"), Slot("wink", "wink")]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.post_message(GenerationRequested(all_slots=True))
        await _drain(app, pilot)
        slot_images = {j.slot_name: Path(j.images[-1]) for j in app.queue if j.state is JobState.DONE}
        assert set(slot_images) == {"smile", "wink"}
        app.action_tools_slot_set()
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ToolDialog) and set(dialog.sources) == set(slot_images.values())
        await pilot.press("ctrl+a")  # all 24 moods
        await pilot.pause()
        assert "for 48 request(s)" in _cost(dialog)
        dialog.query_one("#typed-moods", Input).focus()
        await pilot.press(*"love hurt", "enter", "ctrl+s")
        await _drain(app, pilot)
    tools = [j for j in app.queue if j.kind == TOOL]
    assert len(tools) == 4 and all(j.state is JobState.DONE for j in tools)
    assert sorted((Path(j.tool["source"]).name.split("_")[1], j.tool["mood"]) for j in tools) == [
        ("smile", "hurt"), ("smile", "love"), ("wink", "hurt"), ("wink", "love")]


async def test_queue_end_rings_only_when_the_terminal_is_not_focused(make_app: Any, nai_emulator: Any) -> None:
    src = _png("000_base_0000001.png", 832, 1216)
    app = _app(make_app, nai_emulator)
    async with app.run_test(size=(120, 40)) as pilot:
        await _gallery(app, pilot)
        app.post_message(events.AppFocus())
        await pilot.pause()
        app.open_tools([src], "lineart")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await _drain(app, pilot)
        assert len(nai_emulator.calls(AUGMENT)) == 1 and app.queue_notices.sent == []  # focused: quiet
        app.post_message(events.AppBlur())
        await pilot.pause()
        app.open_tools([src], "sketch")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await _drain(app, pilot)
        assert len(nai_emulator.calls(AUGMENT)) == 2
        assert app.queue_notices.sent == [("PeroPix: queue finished", "1 image(s) done")]


async def test_a_failure_that_pauses_the_queue_rings_with_paused(make_app: Any, nai_emulator: Any) -> None:
    src = _png("000_base_0000001.png", 832, 1216)
    nai_emulator.inject("402", endpoint=AUGMENT)  # no Anlas: the rest of the queue is held
    app = _app(make_app, nai_emulator)
    async with app.run_test(size=(120, 40)) as pilot:
        await _gallery(app, pilot)
        app.post_message(events.AppBlur())
        app.open_tools([src], "emotion")
        await pilot.pause()
        app.screen.query_one("#typed-moods", Input).focus()
        await pilot.press(*"happy sad", "enter", "ctrl+s")
        await _drain(app, pilot)
        first, second = [j for j in app.queue if j.kind == TOOL]
        assert first.state is JobState.FAILED and second.state is JobState.PAUSED
        assert first.label == "emotion happy ← 000_base_0000001.png"
        assert app.queue_notices.sent == [("PeroPix: queue paused",
                                           "0 done, 1 failed; the queue is waiting for you")]
    assert len(nai_emulator.calls(AUGMENT)) == 1


def test_queue_notices_count_and_respect_the_mode() -> None:
    from peropix_tui.tool_actions import QueueNotices

    quiet = QueueNotices("off", focused=False)
    quiet.ended("done")
    assert quiet.queue_quiet(False) is None and quiet.sent == []
    unknown = QueueNotices("bell", focused=None)  # the terminal never said: not known to be focused
    assert unknown.queue_quiet(False) is None  # nothing ran: no notice
    unknown.ended("done")
    unknown.ended("failed")
    unknown.ended("cancelled")
    assert unknown.queue_quiet(False) == ("PeroPix: queue finished with errors", "1 done, 1 failed")
    assert unknown.done == unknown.failed == 0


async def test_upscale_from_the_tools_menu(make_app: Any, nai_emulator: Any) -> None:
    src = _png("000_base_0000001.png", 832, 1216)
    big = _png("001_big_0000002.png", 2048, 2048)
    app = _app(make_app, nai_emulator)
    async with app.run_test(size=(120, 40)) as pilot:
        await _gallery(app, pilot)
        app.open_tools([big], "upscale")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ToolDialog)
        assert "too large to upscale" in str(dialog.query_one("#refusal", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        app.open_tools([src], "upscale")
        await pilot.pause()
        assert _cost(app.screen).startswith("Cost: 1 Anlas for 1 request(s)")  # never free, 1-4 Anlas
        await pilot.press("ctrl+s")
        await _drain(app, pilot)
    (job,) = [j for j in app.queue if j.kind == TOOL]
    assert job.state is JobState.DONE and job.label == "upscale ← 000_base_0000001.png"
    (out,) = [Path(p) for p in job.images]
    assert out.name.startswith("000_base_2x_") and out.parent == src.parent
    with Image.open(out) as im:
        assert im.size == (1664, 2432)
    assert len(nai_emulator.calls("/ai/upscale")) == 1 and nai_emulator.account.anlas == 10_500 - 1


async def test_export_the_set_as_a_zip_named_by_mood(make_app: Any, tmp_path: Path) -> None:
    import zipfile

    for i, name in enumerate(["001_happy_0000002.png", "002_sad_0000003.png", "003_angry_0000004.png"]):
        _png(name, 64 + i, 96)
    app = make_app()
    target = tmp_path / "exports" / "set.zip"
    async with app.run_test(size=(120, 40)) as pilot:
        await _gallery(app, pilot)
        await pilot.press("E")
        await pilot.pause()
        answer = app.screen.query_one("#answer", Input)
        assert answer.value.endswith("set.zip")  # the default names the folder
        answer.value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")  # by slot / mood, no sequence numbers
        await pilot.pause()
        await pilot.press("enter")  # keep the metadata
        await pilot.pause()
        await pilot.press("enter")  # keep each image's format
        await settle(app, pilot)
        assert zipfile.ZipFile(target).namelist() == ["001_happy.png", "002_sad.png", "003_angry.png"]
        await pilot.press("E")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert "already exists" in str(app.screen.query_one("Label").render())  # asked before replacing
        await pilot.press("escape")
        await settle(app, pilot)
    assert len(zipfile.ZipFile(target).namelist()) == 3


async def test_export_the_set_as_jpeg_with_a_quality(make_app: Any, tmp_path: Path) -> None:
    import zipfile

    for i, name in enumerate(["001_happy_0000002.png", "002_sad_0000003.png"]):
        _png(name, 64 + i, 96)
    app = make_app()
    target = tmp_path / "exports" / "set.zip"
    async with app.run_test(size=(120, 40)) as pilot:
        await _gallery(app, pilot)
        await pilot.press("E")
        await pilot.pause()
        app.screen.query_one("#answer", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")  # by slot / mood
        await pilot.pause()
        await pilot.press("enter")  # keep the metadata
        await pilot.pause()
        await pilot.press("down", "down", "down", "enter")  # JPEG
        await pilot.pause()
        quality = app.screen.query_one("#answer", Input)
        assert quality.value == "95"
        quality.value = "80"
        await pilot.press("enter")
        await settle(app, pilot)
    with zipfile.ZipFile(target) as z:
        assert z.namelist() == ["001_happy.jpg", "002_sad.jpg"]
        with Image.open(io.BytesIO(z.read("001_happy.jpg"))) as im:
            assert im.format == "JPEG" and im.size == (64, 96)


async def test_24_mood_set_then_a_background_removed_copy_of_each(make_app: Any, nai_emulator: Any) -> None:
    from peropix_tui.core.nai.tools import MOODS

    src = _png("000_base_0000001.png", 832, 1216)  # Opus-free for emotion at this size
    app = _app(make_app, nai_emulator)
    async with app.run_test(size=(120, 40)) as pilot:
        await _gallery(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert _cost(app.screen).startswith("Cost: 0 Anlas for 24 request(s)")
        await pilot.press("ctrl+s")
        await _drain(app, pilot)
        moods = sorted(p for p in src.parent.glob("*.png") if p != src)
        assert [p.name.split("_")[1] for p in moods] == list(MOODS)
        grid = app.screen.query_one(ThumbGrid)
        grid.focus()
        await pilot.press("A")
        await pilot.pause()
        assert len(grid.marked) == 25
        grid.marked.discard(src)  # the source itself keeps its background
        await pilot.press("t")
        await pilot.pause()
        assert _cost(app.screen).startswith("Cost: 1560 Anlas for 24 request(s)")  # 24 x 65, before sending
        assert len(nai_emulator.calls(AUGMENT)) == 24
        await pilot.press("ctrl+s")
        await _drain(app, pilot)
    assert len(nai_emulator.calls(AUGMENT)) == 48
    assert len(list(src.parent.glob("*_bg-blend_*.png"))) == 24
    assert nai_emulator.account.anlas == 10_500 - 1560
