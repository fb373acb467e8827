"""Mask editor driven from the keyboard: the saved mask is binary and at the source's full resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from peropix_tui.core.mask import CellGrid, Mask
from peropix_tui.messages import MaskEdited
from peropix_tui.screens.mask_editor import MaskCanvas, MaskEditorScreen, fit_cells

SIZE = (120, 40)


def make_source(path: Path, w: int = 320, h: int = 200) -> Path:
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    arr[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
    arr[..., 2] = np.linspace(0, 255, h, dtype=np.uint8)[:, None]
    Image.fromarray(arr).save(path)
    return path


def test_fit_cells_keeps_the_aspect_with_half_cells() -> None:
    assert fit_cells(320, 200, 72, 28) == (72, 22)  # 22 rows = 44 half-cell pixel rows
    assert fit_cells(200, 320, 72, 28) == (35, 28)
    assert fit_cells(1000, 100, 72, 28) == (72, 4)


async def test_keyboard_painting_saves_full_resolution_binary_mask(make_app: Any, tmp_path: Path) -> None:
    src = make_source(tmp_path / "base.png")
    app = make_app()
    app.workspace.base.image = str(src)
    async with app.run_test(size=SIZE, message_hook=app.record) as pilot:
        await pilot.press("ctrl+b")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, MaskEditorScreen)
        canvas = editor.query_one(MaskCanvas)
        cols, rows = canvas.grid.cols, canvas.grid.rows
        start = canvas.cursor
        assert start == (cols // 2, rows // 2)
        await pilot.press("left", "left", "left", "up", "right_square_bracket", "space")
        await pilot.press("shift+right", "e", "space", "e")  # erase mode: nothing painted there stays empty
        await pilot.press("enter")
        await pilot.pause()
        saved = app.workspace.base.mask
        assert saved is not None and app.workspace.base.action == "infill"
        with Image.open(saved) as im:
            assert im.size == (320, 200) and im.mode == "L"
            got = np.asarray(im)
        assert set(np.unique(got)) == {0, 255}
        expected = Mask(320, 200)
        grid = CellGrid(cols, rows, 320, 200)
        cx, cy = grid.cell_to_pixel(start[0] - 3, start[1] - 1)
        expected.paint(cx, cy, grid.brush_radius(4))
        assert np.array_equal(got, expected.data)
        assert got[int(cy), int(cx)] == 255 and got[0, 0] == 0 and got[199, 319] == 0
        edited = app.of_type(MaskEdited)
        assert len(edited) == 1 and edited[0].source == src and edited[0].path == Path(saved)


async def test_invert_clear_and_cancel(make_app: Any, tmp_path: Path) -> None:
    src = make_source(tmp_path / "base.png", 128, 128)
    app = make_app()
    app.workspace.base.image = str(src)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+b")
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, MaskEditorScreen)
        await pilot.press("space", "i")
        painted = editor.mask.coverage()
        assert 0.5 < painted < 1.0  # inverted: everything but the brush
        await pilot.press("c")
        assert editor.mask.coverage() == 0.0
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MaskEditorScreen)
        assert app.workspace.base.mask is None and app.workspace.base.action == "generate"


async def test_mouse_paints_at_the_clicked_cell(tmp_path: Path) -> None:
    from textual.app import App

    src = make_source(tmp_path / "m.png", 160, 160)

    class One(App[None]):
        def on_mount(self) -> None:
            self.push_screen(MaskEditorScreen(src, out_dir=tmp_path / "out"))

    app = One()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        editor = app.screen
        assert isinstance(editor, MaskEditorScreen)
        await pilot.click(MaskCanvas, offset=(2, 2))
        grid = editor.query_one(MaskCanvas).grid
        cx, cy = grid.cell_to_pixel(2, 2)
        assert editor.mask.data[int(cy), int(cx)] == 255
        assert editor.mask.data[159, 159] == 0
