"""The NovelAI emulator fixture and small image makers for the tools tests."""

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
