"""Helpers for the NovelAI core tests: real image files written with Pillow."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """Write a real image file: ``make_image("a.png", 300, 200, mode="RGB", color=(r, g, b))``."""

    def make(name: str, width: int, height: int, *, mode: str = "RGB", color: object = (200, 100, 50)) -> Path:
        path = tmp_path / name
        im = Image.new(mode, (width, height), color)  # type: ignore[arg-type]
        # a gradient so resizing is observable
        px = im.load()
        assert px is not None
        if mode == "RGB":
            for x in range(0, width, max(1, width // 16)):
                for y in range(height):
                    px[x, y] = (x % 256, y % 256, 0)
        im.save(path)
        return path

    return make
