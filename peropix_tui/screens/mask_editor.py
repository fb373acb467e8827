"""Inpaint mask editor (modal): paint on a half-cell view of the source, by mouse or keyboard.

The view is drawn with ``▀`` half blocks (two image rows per terminal row) so it looks the same in
every terminal and in snapshots; painted areas are tinted. Strokes go to a :class:`Mask` at the
source's full resolution through :class:`CellGrid`, so the saved PNG is exact and pure 0/255.

Keys: arrows move the brush (shift+arrows: 5 cells), ``[``/``]`` brush size, space paints (or erases
in erase mode), ``e`` toggles erase, ``i`` inverts, ``c`` clears, enter saves, escape cancels.
Saving writes ``<cache>/masks/<source stem>.mask.png``, posts :class:`MaskEdited` to the app and
dismisses with the mask path (None when cancelled).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
from PIL import Image
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from ..core import paths
from ..core.mask import CellGrid, Mask
from ..i18n import N_, _
from ..messages import MaskEdited

TINT = np.array([255, 40, 90], dtype=np.float32)
CURSOR = np.array([255, 230, 0], dtype=np.float32)
MAX_BRUSH = 25
STATUS_ROWS = 3
"""Rows kept for the status under the canvas: its two lines, the key hints wrapping onto a third."""


def fit_cells(width: int, height: int, max_cols: int, max_rows: int) -> tuple[int, int]:
    """Largest cols × rows showing a width × height image with square half-cell pixels."""
    cols = max_cols
    rows = round(cols * height / width / 2)
    if rows > max_rows:
        rows = max_rows
        cols = round(rows * 2 * width / height)
    return max(cols, 1), max(rows, 1)


class MaskCanvas(Widget, can_focus=True):
    """The source image with the mask overlaid and the brush cursor, one cell per grid cell."""

    DEFAULT_CSS = "MaskCanvas { width: auto; height: auto; }"

    cursor: reactive[tuple[int, int]] = reactive((0, 0))
    brush: reactive[int] = reactive(3)
    erasing: reactive[bool] = reactive(False)

    def __init__(self, source: Image.Image, mask: Mask, cols: int, rows: int, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.mask = mask
        self.grid = CellGrid(cols, rows, mask.width, mask.height)
        small = source.convert("RGB").resize((cols, rows * 2), Image.Resampling.BOX)
        self._pixels = np.asarray(small, dtype=np.float32)
        self.cursor = (cols // 2, rows // 2)
        self._dragging = False
        self._cached = self._frame()

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.grid.cols

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.grid.rows

    # ------------------------------------------------------------- painting
    def apply(self, col: int, row: int) -> None:
        """Paint (or erase) a brush-sized disc centred on cell (col, row)."""
        cx, cy = self.grid.cell_to_pixel(col, row)
        self.mask.stroke(cx, cy, self.grid.brush_radius(self.brush), 0 if self.erasing else 255)
        self.refresh()

    def move(self, dx: int, dy: int) -> None:
        col, row = self.cursor
        self.cursor = (min(max(col + dx, 0), self.grid.cols - 1), min(max(row + dy, 0), self.grid.rows - 1))

    def watch_cursor(self) -> None:
        self.refresh()

    def watch_brush(self) -> None:
        self.refresh()

    def watch_erasing(self) -> None:
        self.refresh()

    # -------------------------------------------------------------- drawing
    def _frame(self) -> np.ndarray:
        g = self.grid
        coverage = np.asarray(
            self.mask.to_image().resize((g.cols, g.rows * 2), Image.Resampling.BOX), dtype=np.float32
        )[..., None] / 255.0
        frame = self._pixels * (1 - 0.55 * coverage) + TINT * (0.55 * coverage)
        ys, xs = np.mgrid[0 : g.rows * 2, 0 : g.cols]
        ccol, crow = self.cursor
        # brush outline in half-cell pixels (square: one column wide, half a row tall)
        radius = self.brush / 2
        dist = np.sqrt((xs - ccol) ** 2 + (ys + 0.5 - (2 * crow + 1)) ** 2)
        ring = (dist <= radius) & (dist > radius - 0.75)
        frame[ring] = frame[ring] * 0.3 + CURSOR * 0.7
        return frame.clip(0, 255).astype(np.uint8)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._cached = self._frame()  # one frame per repaint, shared by its lines
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if y >= self.grid.rows:
            return Strip.blank(self.size.width)
        top, bottom = self._cached[2 * y], self._cached[2 * y + 1]
        ccol, crow = self.cursor
        segments = []
        for x in range(self.grid.cols):
            fg, bg = top[x], bottom[x]
            style = Style(color=f"rgb({fg[0]},{fg[1]},{fg[2]})", bgcolor=f"rgb({bg[0]},{bg[1]},{bg[2]})")
            if (x, y) == (ccol, crow):
                segments.append(Segment("┼", Style(color="black" if not self.erasing else "white", bgcolor="rgb(255,230,0)")))
            else:
                segments.append(Segment("▀", style))
        return Strip(segments, self.grid.cols)

    # ---------------------------------------------------------------- mouse
    def on_mouse_down(self, event: events.MouseDown) -> None:
        self._dragging = True
        self.capture_mouse()
        self._mouse_paint(event.x, event.y)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._dragging:
            self._mouse_paint(event.x, event.y)

    def on_mouse_up(self, event: events.MouseUp) -> None:
        self._dragging = False
        self.release_mouse()

    def _mouse_paint(self, x: int, y: int) -> None:
        if 0 <= x < self.grid.cols and 0 <= y < self.grid.rows:
            self.cursor = (x, y)
            self.apply(x, y)


class MaskEditorScreen(ModalScreen[Path | None]):
    """Paint the inpaint mask of ``source``; dismisses with the saved mask path or None."""

    DEFAULT_CSS = """
    MaskEditorScreen { align: center middle; }
    MaskEditorScreen > Vertical { width: auto; min-width: 64; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    MaskEditorScreen #mask-status { width: 100%; color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1, 0)", N_("Left"), show=False, id="mask_left"),
        Binding("right", "move(1, 0)", N_("Right"), show=False, id="mask_right"),
        Binding("up", "move(0, -1)", N_("Up"), show=False, id="mask_up"),
        Binding("down", "move(0, 1)", N_("Down"), show=False, id="mask_down"),
        Binding("shift+left", "move(-5, 0)", N_("Left 5"), show=False, id="mask_left_fast"),
        Binding("shift+right", "move(5, 0)", N_("Right 5"), show=False, id="mask_right_fast"),
        Binding("shift+up", "move(0, -5)", N_("Up 5"), show=False, id="mask_up_fast"),
        Binding("shift+down", "move(0, 5)", N_("Down 5"), show=False, id="mask_down_fast"),
        Binding("left_square_bracket", "brush(-1)", N_("Smaller"), id="mask_brush_smaller"),
        Binding("right_square_bracket", "brush(1)", N_("Bigger"), id="mask_brush_bigger"),
        Binding("space", "paint", N_("Paint"), id="mask_paint"),
        Binding("e", "toggle_erase", N_("Erase mode"), id="mask_erase"),
        Binding("i", "invert", N_("Invert"), id="mask_invert"),
        Binding("c", "clear", N_("Clear"), id="mask_clear"),
        Binding("enter", "save", N_("Save"), id="mask_save"),
        Binding("escape", "cancel", N_("Cancel"), id="mask_cancel"),
    ]

    def __init__(
        self,
        source: Path,
        mask: Path | None = None,
        *,
        max_cols: int = 72,
        max_rows: int = 28,
        out_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.source = Path(source)
        with Image.open(self.source) as im:
            self._image = im.convert("RGB")
        w, h = self._image.size
        self.mask = Mask.load(mask, w, h) if mask and Path(mask).is_file() else Mask(w, h)
        self.max_cols, self.max_rows = max_cols, max_rows
        self._cols, self._rows = fit_cells(w, h, max_cols, max_rows)
        self.out_dir = out_dir or paths.cache_dir() / "masks"

    def compose(self) -> ComposeResult:
        try:
            screen = self.app.size
        except RuntimeError:  # built outside a running app: the bounds given
            pass
        else:  # the dialog fits the terminal: border and padding, title, status (2 lines, 3 when wrapped)
            self._cols, self._rows = fit_cells(self.mask.width, self.mask.height,
                                               max(1, min(self.max_cols, screen.width - 4)),
                                               max(1, min(self.max_rows, screen.height - STATUS_ROWS - 3)))
        with Vertical():
            yield Static(_("Mask · {name} · {width}×{height}").format(
                name=self.source.name, width=self.mask.width, height=self.mask.height), id="mask-title", markup=False)
            yield MaskCanvas(self._image, self.mask, self._cols, self._rows, id="mask-canvas")
            yield Static(id="mask-status", markup=False)

    @property
    def canvas(self) -> MaskCanvas:
        return self.query_one(MaskCanvas)

    def on_mount(self) -> None:
        self.canvas.focus()
        self._status()

    def _status(self) -> None:
        c = self.canvas
        mode = _("ERASE") if c.erasing else _("paint")
        col, row = c.cursor
        self.query_one("#mask-status", Static).update(
            _("{mode} · brush {brush} · cell {col},{row} · {coverage} masked").format(
                mode=mode, brush=c.brush, col=col, row=row, coverage=f"{self.mask.coverage():.0%}") + "\n"
            + _("arrows move · space paint · [ ] size · e erase · i invert · c clear · enter save · esc cancel")
        )

    def action_move(self, dx: int, dy: int) -> None:
        self.canvas.move(dx, dy)
        self._status()

    def action_brush(self, delta: int) -> None:
        self.canvas.brush = min(max(self.canvas.brush + delta, 1), MAX_BRUSH)
        self._status()

    def action_paint(self) -> None:
        self.canvas.apply(*self.canvas.cursor)
        self._status()

    def action_toggle_erase(self) -> None:
        self.canvas.erasing = not self.canvas.erasing
        self._status()

    def action_invert(self) -> None:
        self.mask.invert()
        self.canvas.refresh()
        self._status()

    def action_clear(self) -> None:
        self.mask.clear()
        self.canvas.refresh()
        self._status()

    def on_mouse_up(self) -> None:
        self._status()

    def action_save(self) -> None:
        path = self.mask.save(self.out_dir / f"{self.source.stem}.mask.png")
        self.app.post_message(MaskEdited(path, self.source))
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
