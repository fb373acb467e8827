"""SVG snapshots of Settings (first run), F1 help, the quit dialog, Compose, Slots/Queue and Gallery
in Korean and Japanese at 120x40 and 80x24: double-width text must not be cut, overlap or push the
layout out of line."""

from __future__ import annotations

from typing import Any

import pytest

from peropix_tui.core.config import load_config
from tests.tui_app.conftest import tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)

SIZES = pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
LANGUAGES = pytest.mark.parametrize("language", ["ko", "ja"])


def _app(monkeypatch: pytest.MonkeyPatch, language: str) -> Any:
    from peropix_tui.app import PeroPixApp

    monkeypatch.setenv("PEROPIX_LANG", language)
    return PeroPixApp(load_config())


async def _calm(pilot: Any) -> None:
    from tests.tui_app.conftest import settle

    app = pilot.app
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    app.clear_notifications()
    await settle(app, pilot)


@SIZES
@LANGUAGES
def test_settings_first_run(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                            size: tuple[int, int]) -> None:
    async def before(pilot: Any) -> None:
        pilot.app.screen.query_one("#output_dir").value = "~/PeroPix/outputs"
        await _calm(pilot)

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_help_on_settings(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                          size: tuple[int, int]) -> None:
    async def before(pilot: Any) -> None:
        await _calm(pilot)
        await pilot.press("f1")
        await _calm(pilot)

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_quit_dialog(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                     size: tuple[int, int]) -> None:
    from peropix_tui.screens.quit_confirm import QuitConfirm

    async def before(pilot: Any) -> None:
        await _calm(pilot)
        await pilot.app.push_screen(QuitConfirm(["smile #1"], nai=True))
        await pilot.pause()

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_compose(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str, size: tuple[int, int]) -> None:
    app = _app(monkeypatch, language)
    app.workspace.base.prompt = "1girl, 웃는 얼굴, 笑顔, {smile}"

    async def before(pilot: Any) -> None:
        await pilot.press("f2")
        await _calm(pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_slots_and_queue(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                         size: tuple[int, int]) -> None:
    from peropix_tui.core import paths
    from peropix_tui.core.jobs import QUEUE_FILE, JobQueue
    from peropix_tui.core.settings import GenerationSettings
    from peropix_tui.core.slots import Slot

    q = JobQueue(paths.state_dir() / QUEUE_FILE)
    jobs = q.add((GenerationSettings(prompt="1girl", seed=100 + i, width=832, height=1216), i, n, 0)
                 for i, n in enumerate(["smile", "미소", "泣き"]))
    q.start(jobs[0].id)
    q.fail(jobs[0].id, "not enough Anlas (402)")
    app = _app(monkeypatch, language)
    app.workspace.base.prompt = "1girl, [hat], school uniform, upper body"
    app.workspace.slots = [Slot("smile", "smile, open mouth"), Slot("미소", "angry", locked=True),
                           Slot("泣き", "crying, tears", width=1024, height=1024)]
    app.workspace.repeats = 2

    async def before(pilot: Any) -> None:
        await pilot.press("f3")
        await _calm(pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_gallery(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str, size: tuple[int, int]) -> None:
    from PIL import Image

    from peropix_tui.core.metadata import write_novelai_png
    from peropix_tui.core.settings import GenerationSettings
    from peropix_tui.core.store import GalleryStore

    store = GalleryStore(load_config().output_dir)
    for i, colour in enumerate([(220, 80, 80), (80, 200, 120), (70, 110, 230)]):
        im = Image.new("RGB", (64, 96), colour)
        im.paste((255, 255, 255), (16, 24, 48, 72))
        data = write_novelai_png(im, GenerationSettings(prompt=f"1girl, 笑顔, pose {i}", steps=28, width=64, height=96),
                                 seed=42 + i)
        store.save_image(data, folder="表情", slot_index=i, slot_name=f"pose{i}")
    store.close()

    async def before(pilot: Any) -> None:
        await pilot.press("f4")
        await _calm(pilot)

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)
