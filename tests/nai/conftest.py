"""The NovelAI emulator fixture and small image makers (real files written with Pillow)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from tests.nai_emulator.fixtures import nai_emulator  # noqa: F401  (pytest fixture)

MakePng = Callable[..., Path]


@pytest.fixture
def make_png(tmp_path: Path) -> MakePng:
    """Write an RGB PNG of the given size (a gradient, so resizes are visible) and return its path."""

    def make(name: str, width: int, height: int, *, folder: Path | None = None, mode: str = "RGB") -> Path:
        d = folder or tmp_path
        d.mkdir(parents=True, exist_ok=True)
        img = Image.linear_gradient("L").resize((width, height)).convert(mode)
        path = d / name
        img.save(path)
        return path

    return make


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
