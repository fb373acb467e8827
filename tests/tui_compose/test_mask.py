"""Mask raster ops at full resolution: brush, erase, invert, clear, cell mapping, binary PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peropix_tui.core.mask import CellGrid, Mask, overlay


def test_brush_paints_a_disc_at_full_resolution() -> None:
    m = Mask(832, 1216)
    m.paint(100, 200, 10)
    assert m.data.shape == (1216, 832)
    ys, xs = np.nonzero(m.data)
    assert xs.min() >= 90 and xs.max() <= 110 and ys.min() >= 190 and ys.max() <= 210
    assert m.data[200, 100] == 255 and m.data[200, 111] == 0
    area = np.count_nonzero(m.data)
    assert abs(area - np.pi * 100) < 40  # a disc, not a square
    m.erase(100, 200, 5)
    assert m.data[200, 100] == 0 and m.data[200, 108] == 255


def test_brush_clips_at_the_edges() -> None:
    m = Mask(64, 32)
    m.paint(0, 0, 8)
    m.paint(70, 40, 3)  # entirely outside: no error, nothing painted
    assert m.data[0, 0] == 255 and m.data[31, 63] == 0


def test_invert_and_clear_keep_it_binary() -> None:
    m = Mask(40, 30)
    m.paint(20, 15, 6)
    painted = np.count_nonzero(m.data)
    m.invert()
    assert np.count_nonzero(m.data) == 40 * 30 - painted
    assert set(np.unique(m.data)) <= {0, 255}
    m.clear()
    assert m.coverage() == 0.0


def test_cell_grid_maps_cells_to_pixels_and_back() -> None:
    g = CellGrid(cols=40, rows=30, width=832, height=1216)
    x, y = g.cell_to_pixel(0, 0)
    assert (x, y) == pytest.approx((10.4, 20.2667), rel=1e-3)
    assert g.pixel_to_cell(*g.cell_to_pixel(39, 29)) == (39, 29)
    assert g.pixel_to_cell(-5, 99999) == (0, 29)
    assert g.brush_radius(2) == pytest.approx(20.8)


def test_save_writes_pure_black_and_white_png(tmp_path: Path) -> None:
    src = tmp_path / "src.png"
    Image.new("RGB", (96, 64), (10, 120, 200)).save(src)
    m = Mask.for_image(src)
    m.paint(48, 32, 12)
    out = m.save(tmp_path / "masks" / "m.png")
    with Image.open(out) as im:
        assert im.size == (96, 64) and im.mode == "L"
        arr = np.asarray(im)
    assert set(np.unique(arr)) == {0, 255}
    assert np.array_equal(arr, m.data)
    again = Mask.load(out, 96, 64)
    assert np.array_equal(again.data, m.data)
    assert overlay(Image.open(src), m).size == (96, 64)


def test_bad_source_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "not-an-image.png"
    bad.write_text("hello", encoding="utf-8")
    with pytest.raises(ValueError, match="not-an-image.png"):
        Mask.for_image(bad)
