"""A virtualized thumbnail grid: only the rows on screen are rendered, thumbnails are made in
worker threads, and pages of the index are fetched as they scroll into view.

Each tile is drawn with half-cell blocks (``▀``: foreground = upper pixel, background = lower), so
the grid needs no terminal graphics protocol and costs the same in every terminal; the large
preview next to it uses textual-image.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..i18n import N_

TILE_W, TILE_H = 16, 9  # cells per tile, gap included
IMG_W, IMG_H = 14, 7  # image cells: 14 x 14 pixels with half blocks
PAGE = 120
MAX_THUMBS = 600
MAX_WANTED = 200
MAKERS = 2  # thumbnail threads (Pillow releases the GIL while decoding)
BATCH_S = 0.05  # thumbnails made in this long reach the screen together

Pixels = list[list[tuple[int, int, int]]]


@dataclass
class GridItem:
    """What the grid needs of an image: its file and a short caption."""

    file: Path
    caption: str
    data: Any = None  # the store's row


def pixels_for(path: Path) -> Pixels:
    """IMG_W x 2*IMG_H RGB pixels of ``path`` (letterboxed), via the store's thumbnail cache."""
    from PIL import Image

    from ..core.thumbs import thumbnail

    src = thumbnail(path, 64).path
    w, h = IMG_W, IMG_H * 2
    canvas = Image.new("RGB", (w, h), (0, 0, 0))
    try:
        with Image.open(src) as opened:
            opened.draft("RGB", (64, 64))
            im = opened.convert("RGB")
            im.thumbnail((w, h))
            canvas.paste(im, ((w - im.width) // 2, (h - im.height) // 2))
    except OSError:
        pass
    raw = canvas.tobytes()
    flat = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    return [flat[r * w:(r + 1) * w] for r in range(h)]


class ThumbGrid(ScrollView, can_focus=True):
    """Grid of ``count`` images fetched with ``fetch(offset, limit) -> list[GridItem]``."""

    BINDINGS = [
        Binding("up", "move(0, -1)", N_("Up"), show=False, id="grid_up"),
        Binding("down", "move(0, 1)", N_("Down"), show=False, id="grid_down"),
        Binding("left", "move(-1, 0)", N_("Left"), show=False, id="grid_left"),
        Binding("right", "move(1, 0)", N_("Right"), show=False, id="grid_right"),
        Binding("pageup", "page(-1)", N_("Page up"), show=False, id="grid_pageup"),
        Binding("pagedown", "page(1)", N_("Page down"), show=False, id="grid_pagedown"),
        Binding("home", "jump(0)", N_("First"), show=False, id="grid_home"),
        Binding("end", "jump(-1)", N_("Last"), show=False, id="grid_end"),
        Binding("enter", "choose", N_("Open"), show=False, id="grid_choose"),
    ]

    class Highlighted(Message):
        def __init__(self, item: GridItem | None) -> None:
            super().__init__()
            self.item = item

    class Chosen(Message):
        def __init__(self, item: GridItem) -> None:
            super().__init__()
            self.item = item

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = 0
        self.cursor = 0
        self._fetch: Callable[[int, int], list[GridItem]] = lambda o, n: []
        self._items: dict[int, GridItem] = {}
        self._thumbs: OrderedDict[Path, Pixels] = OrderedDict()
        self._pending: set[Path] = set()
        self._wanted: deque[Path] = deque()  # appended here, popped by the thumbnail thread
        self._makers = 0  # thumbnail threads running
        self.rendered_rows: set[int] = set()  # tile rows drawn since the last reset (for tests/bench)
        self.marked: set[Path] = set()
        """Images marked by the screen (drawn with a ✓ before the caption)."""

    # ------------------------------------------------------------ data
    def reset(self, count: int, fetch: Callable[[int, int], list[GridItem]], cursor: int = 0) -> None:
        self.count, self._fetch = count, fetch
        self._items.clear()
        self.rendered_rows.clear()
        self.cursor = max(0, min(cursor, count - 1)) if count else 0
        self._resize()
        self.refresh()
        self.post_message(self.Highlighted(self.item(self.cursor) if count else None))

    def item(self, index: int) -> GridItem | None:
        if not 0 <= index < self.count:
            return None
        if index not in self._items:
            start = index - index % PAGE
            for i, it in enumerate(self._fetch(start, PAGE)):
                self._items[start + i] = it
        return self._items.get(index)

    @property
    def columns(self) -> int:
        return max(1, self.scrollable_content_region.width // TILE_W)

    def _resize(self) -> None:
        rows = -(-self.count // self.columns) if self.count else 0
        self.virtual_size = Size(self.columns * TILE_W, rows * TILE_H)

    def on_resize(self, _: events.Resize) -> None:
        self._resize()

    # ------------------------------------------------------------ drawing
    def render_line(self, y: int) -> Strip:
        scroll_y = int(self.scroll_offset.y)
        row, sub = divmod(y + scroll_y, TILE_H)
        width = self.scrollable_content_region.width
        cols = self.columns
        segs: list[Segment] = []
        if row * cols < self.count:
            self.rendered_rows.add(row)
        for col in range(cols):
            idx = row * cols + col
            segs.extend(self._tile_line(idx, sub) if idx < self.count else [Segment(" " * TILE_W)])
        used = cols * TILE_W
        if width > used:
            segs.append(Segment(" " * (width - used)))
        return Strip(segs, max(width, used)).crop(0, width)

    def _tile_line(self, idx: int, sub: int) -> list[Segment]:
        item = self.item(idx)
        selected = idx == self.cursor and self.has_focus
        pad = Segment(" ")
        if item is None:
            return [Segment(" " * TILE_W)]
        if sub < IMG_H:
            px = self._pixels(item.file)
            if px is None:
                return [pad, Segment("·" * IMG_W, Style(dim=True)), pad]
            top, bottom = px[2 * sub], px[2 * sub + 1]
            cells = [Segment("▀", Style.from_color(_rgb(a), _rgb(b))) for a, b in zip(top, bottom, strict=True)]
            edge = Segment("▌" if selected else " ", Style(color="yellow") if selected else None)
            return [edge, *cells, pad]
        if sub == IMG_H:
            caption = ("✓" + item.caption) if item.file in self.marked else item.caption
            # cut by terminal cells: a Korean or Japanese name takes two cells a character
            cap = caption[: TILE_W - 2].ljust(TILE_W - 2) if caption.isascii() else set_cell_size(caption, TILE_W - 2)
            style = Style(reverse=True, bold=True) if idx == self.cursor else Style(dim=True)
            return [pad, Segment(cap, style), pad]
        return [Segment(" " * TILE_W)]

    def _pixels(self, path: Path) -> Pixels | None:
        px = self._thumbs.get(path)
        if px is not None:
            self._thumbs.move_to_end(path)
            return px
        if path not in self._pending:
            self._pending.add(path)
            self._wanted.append(path)
            if len(self._wanted) > MAX_WANTED:  # scrolled past: forget the oldest request
                self._pending.discard(self._wanted.popleft())
            self._start_makers()
        return None

    def _start_makers(self) -> None:
        while self._makers < MAKERS and len(self._wanted) > self._makers:
            self._makers += 1
            self.run_worker(self._make_wanted, thread=True, group="thumbs", exit_on_error=False)

    def _make_wanted(self) -> None:
        """A thumbnail thread: makes wanted thumbnails, newest request first (what is on screen
        now), and hands them over in batches: one refresh per batch, not one thread per tile."""
        batch: list[tuple[Path, Pixels]] = []
        handed = time.monotonic()
        while True:
            try:
                path = self._wanted.pop()
            except IndexError:
                break
            batch.append((path, pixels_for(path)))
            if time.monotonic() - handed >= BATCH_S:
                self.app.call_from_thread(self._made, batch)
                batch, handed = [], time.monotonic()
        self.app.call_from_thread(self._made, batch, True)

    def _made(self, batch: list[tuple[Path, Pixels]], last: bool = False) -> None:
        for path, px in batch:
            self._pending.discard(path)
            self._thumbs[path] = px
        while len(self._thumbs) > MAX_THUMBS:
            self._thumbs.popitem(last=False)
        if last:
            self._makers -= 1
            self._start_makers()  # for requests made while the thread was finishing
        if batch:
            self.refresh()

    # ------------------------------------------------------------ moving
    def _set_cursor(self, index: int) -> None:
        if not self.count:
            return
        self.cursor = max(0, min(index, self.count - 1))
        row = self.cursor // self.columns
        top, bottom = row * TILE_H, (row + 1) * TILE_H
        view = self.scrollable_content_region.height
        if top < self.scroll_offset.y:
            self.scroll_to(y=top, animate=False)
        elif bottom > self.scroll_offset.y + view:
            self.scroll_to(y=bottom - view, animate=False)
        self.refresh()
        self.post_message(self.Highlighted(self.item(self.cursor)))

    def action_move(self, dx: int, dy: int) -> None:
        self._set_cursor(self.cursor + dx + dy * self.columns)

    def action_page(self, direction: int) -> None:
        rows = max(1, self.scrollable_content_region.height // TILE_H)
        self._set_cursor(self.cursor + direction * rows * self.columns)

    def action_jump(self, index: int) -> None:
        self._set_cursor(index if index >= 0 else self.count - 1)

    def action_choose(self) -> None:
        item = self.item(self.cursor)
        if item is not None:
            self.post_message(self.Chosen(item))

    def on_click(self, event: events.Click) -> None:
        col = event.x // TILE_W
        row = (event.y + int(self.scroll_offset.y)) // TILE_H
        if col < self.columns:
            self._set_cursor(row * self.columns + col)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()


def _rgb(p: tuple[int, int, int]) -> Any:
    from rich.color import Color

    return Color.from_rgb(*p[:3])
