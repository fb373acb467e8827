"""Inpaint masks: brush raster operations at the source image's full resolution (no Textual).

A mask is a ``uint8`` array of the source's height × width holding only 0 (keep) and 255 (repaint).
The editor shows the image in a grid of terminal cells; :class:`CellGrid` maps a cell to the pixel
rectangle it covers and back, so a brush placed on cell (col, row) paints the right full-size pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from ..i18n import _
from .fsutil import atomic_write

KEEP = 0
REPAINT = 255


@dataclass(frozen=True)
class CellGrid:
    """A ``width`` × ``height`` pixel image shown in ``cols`` × ``rows`` terminal cells."""

    cols: int
    rows: int
    width: int
    height: int

    @property
    def cell_w(self) -> float:
        return self.width / self.cols

    @property
    def cell_h(self) -> float:
        return self.height / self.rows

    def cell_to_pixel(self, col: int, row: int) -> tuple[float, float]:
        """Centre of a cell in pixel coordinates."""
        return ((col + 0.5) * self.cell_w, (row + 0.5) * self.cell_h)

    def pixel_to_cell(self, x: float, y: float) -> tuple[int, int]:
        col = int(x / self.cell_w)
        row = int(y / self.cell_h)
        return (min(max(col, 0), self.cols - 1), min(max(row, 0), self.rows - 1))

    def brush_radius(self, size_cells: int) -> float:
        """A brush ``size_cells`` cells wide, as a radius in pixels."""
        return size_cells * self.cell_w / 2


class Mask:
    """A binary mask at full resolution; every operation keeps it pure 0/255."""

    def __init__(self, width: int, height: int, data: NDArray[np.uint8] | None = None) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(_("mask size must be positive, got {width}x{height}").format(width=width, height=height))
        self.width, self.height = width, height
        self.data: NDArray[np.uint8] = (
            np.zeros((height, width), dtype=np.uint8) if data is None else data
        )

    @classmethod
    def for_image(cls, path: Path) -> Mask:
        """An empty mask the size of the image at ``path`` (clear error naming the file)."""
        try:
            with Image.open(path) as im:
                width, height = im.size
        except (OSError, ValueError) as e:
            raise ValueError(_("{file}: cannot open as an image ({error})").format(file=path, error=e)) from None
        return cls(width, height)

    @classmethod
    def load(cls, path: Path, width: int, height: int) -> Mask:
        """Read an existing mask, resized (nearest) to ``width`` × ``height`` and binarised at 50 %."""
        try:
            with Image.open(path) as im:
                grey = im.convert("L").resize((width, height), Image.Resampling.NEAREST)
        except (OSError, ValueError) as e:
            raise ValueError(_("{file}: cannot open as a mask ({error})").format(file=path, error=e)) from None
        arr = np.asarray(grey)
        return cls(width, height, np.where(arr >= 128, REPAINT, KEEP).astype(np.uint8))

    # ------------------------------------------------------------- brush ops
    def stroke(self, cx: float, cy: float, radius: float, value: int = REPAINT) -> None:
        """Set every pixel whose centre lies within ``radius`` of (cx, cy) to ``value`` (0 or 255)."""
        value = REPAINT if value else KEEP
        r = max(radius, 0.5)
        x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 1, self.width)
        y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 1, self.height)
        if x0 >= x1 or y0 >= y1:
            return
        ys, xs = np.ogrid[y0:y1, x0:x1]
        inside = (xs + 0.5 - cx) ** 2 + (ys + 0.5 - cy) ** 2 <= r * r
        self.data[y0:y1, x0:x1][inside] = value

    def paint(self, cx: float, cy: float, radius: float) -> None:
        self.stroke(cx, cy, radius, REPAINT)

    def erase(self, cx: float, cy: float, radius: float) -> None:
        self.stroke(cx, cy, radius, KEEP)

    def invert(self) -> None:
        self.data = (REPAINT - self.data).astype(np.uint8)

    def clear(self) -> None:
        self.data[:] = KEEP

    # ---------------------------------------------------------------- output
    def coverage(self) -> float:
        """Fraction of pixels marked for repaint."""
        return float(np.count_nonzero(self.data)) / self.data.size

    def to_image(self) -> Image.Image:
        return Image.fromarray(self.data, mode="L")

    def to_png(self) -> bytes:
        buf = io.BytesIO()
        self.to_image().save(buf, format="PNG")
        return buf.getvalue()

    def save(self, path: Path) -> Path:
        """Write the mask as a greyscale PNG of pure 0/255, atomically."""
        return atomic_write(path, self.to_png())

    def preview(self, cols: int, rows: int) -> NDArray[np.bool_]:
        """Which of ``cols`` × ``rows`` display cells are (at least half) painted: for the overlay."""
        small = self.to_image().resize((cols, rows), Image.Resampling.BOX)
        return np.asarray(small) >= 128


def overlay(source: Image.Image, mask: Mask, tint: tuple[int, int, int] = (255, 64, 96)) -> Image.Image:
    """The source with the painted area tinted (50 %), for display at any size."""
    base = source.convert("RGB").resize((mask.width, mask.height))
    colour = Image.new("RGB", base.size, tint)
    alpha = Image.fromarray((mask.data // 2).astype(np.uint8), mode="L")
    return Image.composite(colour, base, alpha)
