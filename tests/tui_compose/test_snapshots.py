"""SVG snapshots of the Compose screen and the mask editor (120×40 and 80×24, half-cell images, no blink)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from textual.widgets import Input, TextArea

from peropix_tui.core.settings import CharacterPrompt, GenerationSettings
from peropix_tui.core.slots import Slot, SlotSet
from peropix_tui.messages import BalanceUpdated, ImageSaved
from peropix_tui.screens.mask_editor import MaskEditorScreen

SIZES = pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])


def gradient(path: Path, w: int, h: int) -> Path:
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    arr[..., 0] = np.linspace(30, 230, w, dtype=np.uint8)[None, :]
    arr[..., 1] = 90
    arr[..., 2] = np.linspace(230, 30, h, dtype=np.uint8)[:, None]
    Image.fromarray(arr).save(path)
    return path


async def no_blink(pilot: Any) -> None:
    for widget in pilot.app.screen.query("TextArea, Input"):
        assert isinstance(widget, TextArea | Input)
        widget.cursor_blink = False
    await pilot.pause()


@SIZES
def test_compose_screen(snap_compare: Any, make_app: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    base = GenerationSettings(
        prompt="1girl, {{cat ears}}, [[hat]], 1.3::red eyes::, __outfit__ | smile, {unclosed",
        uc="lowres, bad hands",
        characters=[CharacterPrompt("girl, silver hair", "glasses", "B2")],
        seed=1234,
    )
    workspace = SlotSet(base=base, slots=[Slot("smile", "smile"), Slot("sad", "sad", locked=True)], repeats=2)
    app = make_app(workspace=workspace, balance=BalanceUpdated(anlas=940, tier=1, active=True))
    image = gradient(tmp_path / "latest.png", 128, 192)

    async def run_before(pilot: Any) -> None:
        screen = pilot.app.screen
        screen.post_message(ImageSaved("job-1", image, 1234))
        await pilot.pause()
        while getattr(screen.query_one("#preview"), "image", None) is None:
            await pilot.pause(0.05)
        await pilot.app.workers.wait_for_complete()
        await no_blink(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@SIZES
def test_mask_editor(snap_compare: Any, make_app: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    src = gradient(tmp_path / "base.png", 256, 384)
    app = make_app()
    app.workspace.base.image = str(src)

    async def run_before(pilot: Any) -> None:
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert isinstance(pilot.app.screen, MaskEditorScreen)
        await pilot.press("right_square_bracket", "right_square_bracket", "space", "up", "up", "space")
        await pilot.press("left", "left", "left", "left")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@SIZES
def test_compose_parameters(snap_compare: Any, make_app: Any, size: tuple[int, int]) -> None:
    """The Parameters tab: jump letters underlined, the seed on a row of its own (all ten digits)."""
    app = make_app(workspace=SlotSet(base=GenerationSettings(prompt="1girl", seed=4294967295)))

    async def run_before(pilot: Any) -> None:
        await pilot.press("alt+d")
        await pilot.app.workers.wait_for_complete()
        await no_blink(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
