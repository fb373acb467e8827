"""SVG snapshots, in Korean and Japanese at 120x40 and 80x24, of the Director Tools dialog opened from
the Gallery (emotion set: mood grid, cost line), the mask editor, the restore picker (80x24 only),
the command palette and F1 help on Gallery and on Slots / Queue: double-width text must not be cut,
overlap or push the layout out of line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from peropix_tui.core.config import load_config
from tests.tui_app.conftest import tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)

SIZES = pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
LANGUAGES = pytest.mark.parametrize("language", ["ko", "ja"])
QUERY = {"ko": "갤러리", "ja": "ギャラリー"}  # typed into the command palette


def _app(monkeypatch: pytest.MonkeyPatch, language: str) -> Any:
    from peropix_tui.app import PeroPixApp

    monkeypatch.setenv("PEROPIX_LANG", language)
    return PeroPixApp(load_config())


def _gallery_images() -> None:
    from PIL import Image

    from peropix_tui.core.metadata import write_novelai_png
    from peropix_tui.core.settings import GenerationSettings
    from peropix_tui.core.store import GalleryStore

    store = GalleryStore(load_config().output_dir)
    for i, colour in enumerate([(220, 80, 80), (80, 200, 120)]):
        im = Image.new("RGB", (64, 96), colour)
        im.paste((255, 255, 255), (16, 24, 48, 72))
        data = write_novelai_png(im, GenerationSettings(prompt=f"1girl, 笑顔, pose {i}", steps=28, width=64, height=96),
                                 seed=42 + i)
        store.save_image(data, folder="表情", slot_index=i, slot_name=f"pose{i}")
    store.close()


async def _calm(pilot: Any) -> None:
    from tests.tui_app.conftest import settle

    app = pilot.app
    await settle(app, pilot)
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    app.clear_notifications()
    await settle(app, pilot)


@SIZES
@LANGUAGES
def test_emotion_dialog_from_the_gallery(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                                         size: tuple[int, int]) -> None:
    _gallery_images()

    async def before(pilot: Any) -> None:
        await pilot.press("f4")
        await _calm(pilot)
        await pilot.press("e")
        await pilot.pause()
        pilot.app.screen.query_one("#typed-moods").focus()
        await pilot.press(*"happy sad embarrassed", "enter")
        await _calm(pilot)

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(80, 24)], ids=["80x24"])  # a 60-column dialog: 120x40 only centres it
@LANGUAGES
def test_restore_picker(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                        size: tuple[int, int]) -> None:
    _gallery_images()

    async def before(pilot: Any) -> None:
        await pilot.press("f4")
        await _calm(pilot)
        await pilot.press("r")
        for _ in range(3):  # not _calm: the restore worker waits on the picker shown
            await pilot.pause()

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_mask_editor(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, language: str,
                     size: tuple[int, int]) -> None:
    from PIL import Image

    src = tmp_path / "base.png"
    Image.new("RGB", (256, 384), (70, 110, 230)).save(src)
    app = _app(monkeypatch, language)
    app.workspace.base.image = str(src)

    async def before(pilot: Any) -> None:
        await pilot.press("f2")
        await _calm(pilot)
        await pilot.press("ctrl+b")
        await pilot.pause()
        await pilot.press("right_square_bracket", "space", "e")
        await _calm(pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_command_palette_on_the_gallery(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                                        size: tuple[int, int]) -> None:
    _gallery_images()

    async def before(pilot: Any) -> None:
        from textual.command import CommandInput

        await pilot.press("f4")
        await _calm(pilot)
        await pilot.press("ctrl+p")
        await _calm(pilot)
        # A query: listed unfiltered, Textual's own commands and ours arrive in either order.
        pilot.app.screen.query_one(CommandInput).value = QUERY[language]
        await _calm(pilot)
        await pilot.pause(0.3)  # the palette lists its hits a moment after the query
        await _calm(pilot)

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
@pytest.mark.parametrize("screen", ["f4", "f3"], ids=["gallery", "queue"])
def test_help(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str, size: tuple[int, int],
              screen: str) -> None:
    async def before(pilot: Any) -> None:
        await pilot.press(screen)
        await _calm(pilot)
        await pilot.press("f1")
        await _calm(pilot)

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)
