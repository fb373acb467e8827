"""SVG snapshots of the emotion-set dialog opened from the gallery (5 moods ticked, cost shown) and of
the gallery with marked images, at 120x40 and 80x24."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from peropix_tui.core.config import load_config
from peropix_tui.core.metadata import write_novelai_png
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.core.store import GalleryStore

SIZES = pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])


def _gallery_app() -> Any:
    from peropix_tui.app import PeroPixApp

    store = GalleryStore(load_config().output_dir)
    for i, colour in enumerate([(220, 80, 80), (80, 200, 120), (70, 110, 230)]):
        im = Image.new("RGB", (832, 1216), colour)
        im.paste((255, 255, 255), (200, 300, 600, 900))
        data = write_novelai_png(im, GenerationSettings(prompt=f"1girl, pose {i}", steps=28, width=832, height=1216),
                                 seed=42 + i)
        store.save_image(data, folder="set", slot_index=i, slot_name=f"pose{i}")
    store.close()
    return PeroPixApp(load_config())


async def _calm(pilot: Any) -> None:
    from tests.tui_app.conftest import settle

    app = pilot.app
    await settle(app, pilot)
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    app.clear_notifications()
    await settle(app, pilot)


@SIZES
def test_emotion_dialog_from_the_gallery(snap_compare: Any, size: tuple[int, int]) -> None:
    async def before(pilot: Any) -> None:
        await pilot.press("f4")
        await _calm(pilot)
        await pilot.press("e")
        await pilot.pause()
        pilot.app.screen.query_one("#typed-moods").focus()
        await pilot.press(*"happy sad angry shy smug", "enter")
        await _calm(pilot)

    assert snap_compare(_gallery_app(), terminal_size=size, run_before=before)


@SIZES
def test_gallery_with_marked_images(snap_compare: Any, size: tuple[int, int]) -> None:
    async def before(pilot: Any) -> None:
        await pilot.press("f4")
        await _calm(pilot)
        await pilot.press("space", "right", "space")
        await _calm(pilot)

    assert snap_compare(_gallery_app(), terminal_size=size, run_before=before)
