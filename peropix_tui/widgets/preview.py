"""Inline images: choose the textual-image widget class for the configured protocol.

textual-image probes the terminal when it is first imported (Sixel query, TGP query, cell size),
and Textual's input thread swallows the replies once the app runs. So :func:`prepare` must run
before the app starts (``tui.py`` calls it):

- ``auto``: let textual-image probe, but first guard the 0-column TTY trap (its cell-size code
  divides by the column count) by seeding a default cell size.
- an explicit protocol: skip the probes entirely (fast start; over SSH no late replies leak in as
  keypresses) by importing with the TTY check answering "no"; the cell size comes from
  ``TEXTUAL_CELL_WIDTH``/``TEXTUAL_CELL_HEIGHT`` or 10x20.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from textual.widget import Widget

from .. import i18n

PROTOCOLS = ("auto", "tgp", "sixel", "halfcell", "unicode")
DEFAULT_CELL = (10, 20)

_prepared: str | None = None


def _cell_from_env() -> tuple[int, int]:
    w, h = os.environ.get("TEXTUAL_CELL_WIDTH", ""), os.environ.get("TEXTUAL_CELL_HEIGHT", "")
    return (int(w), int(h)) if w.isdigit() and h.isdigit() and int(w) and int(h) else DEFAULT_CELL


def _terminal_columns() -> int:
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns if sys.__stdout__ else 0
    except (OSError, ValueError):
        return 0


def seed_cell_size(width: int, height: int) -> None:
    """Pin textual-image's cached cell size (a private hook; harmless if it changes)."""
    with contextlib.suppress(Exception):
        from textual_image import _terminal

        _terminal.get_cell_size._result = _terminal.CellSize(width, height)  # type: ignore[attr-defined]


class _NotATty:
    """Stands in for ``sys.__stdout__`` while textual-image is imported, so it does not probe."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


@contextlib.contextmanager
def _without_probes() -> Iterator[None]:
    real = sys.__stdout__
    sys.__stdout__ = _NotATty(real)  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        sys.__stdout__ = real  # type: ignore[misc]


def prepare(protocol: str) -> str:
    """Get textual-image ready for ``protocol``; returns the protocol in use. ``auto`` probes the
    terminal now (call before the app starts); explicit protocols import lazily, with no probe."""
    global _prepared
    if protocol not in PROTOCOLS:
        raise ValueError(i18n.gettext("image protocol {protocol} is not one of {choices}").format(
            protocol=repr(protocol), choices=", ".join(PROTOCOLS)))
    if _prepared is not None:
        return _prepared
    if protocol == "auto" and "textual_image.widget" not in sys.modules:
        if sys.__stdout__ is not None and sys.__stdout__.isatty() and _terminal_columns() == 0:
            seed_cell_size(*_cell_from_env())
        import textual_image.widget  # noqa: F401  (probes the terminal now, before the app starts)
    _prepared = protocol
    return protocol


def _import_without_probes() -> None:
    if "textual_image.widget" not in sys.modules:
        seed_cell_size(*_cell_from_env())
        with _without_probes():
            import textual_image.widget  # noqa: F401


def image_class(protocol: str) -> type[Widget]:
    """The textual-image widget class for ``protocol``."""
    if prepare(protocol) != "auto":
        _import_without_probes()
    from textual_image import widget as tw

    classes: dict[str, Any] = {
        "auto": tw.Image, "tgp": tw.TGPImage, "sixel": tw.SixelImage,
        "halfcell": tw.HalfcellImage, "unicode": tw.UnicodeImage,
    }
    cls: type[Widget] = classes[protocol]
    return cls


def make_image_widget(protocol: str, image: Any = None, **kwargs: Any) -> Widget:
    """A new image widget showing ``image`` (path, PIL image or None)."""
    if isinstance(image, str):
        image = Path(image)
    return image_class(protocol)(image, **kwargs)


def load_display_image(path: Path, max_px: int = 1024) -> Any:
    """Open an image scaled down for display (textual-image re-scales on every render)."""
    from PIL import Image

    with Image.open(path) as src:
        src.draft("RGB", (max_px, max_px))
        im = src.convert("RGB")
    im.thumbnail((max_px, max_px))
    return im


def cell_pixels() -> tuple[int, int]:
    """The terminal's cell size in pixels as textual-image measured it (10×20 when unknown)."""
    with contextlib.suppress(Exception):
        from textual_image import _terminal

        size = _terminal.get_cell_size()
        if size.width > 0 and size.height > 0:
            return int(size.width), int(size.height)
    return 10, 20


def letterbox(image: Any, cols: int, rows: int) -> Any:
    """Pad ``image`` with black to the pixel aspect of a ``cols``×``rows`` cell box, centred.

    Image widgets stretch their picture to the box they are given; padding first keeps a
    portrait 832×1216 picture portrait in a box of any shape.
    """
    if cols <= 0 or rows <= 0:
        return image
    from PIL import Image

    cw, ch = cell_pixels()
    box_aspect = (cols * cw) / (rows * ch)
    w, h = image.size
    if abs(w / h - box_aspect) < 0.01:
        return image
    new_w, new_h = (round(h * box_aspect), h) if w / h < box_aspect else (w, round(w / box_aspect))
    canvas = Image.new("RGB", (new_w, new_h), (0, 0, 0))
    canvas.paste(image.convert("RGB"), ((new_w - w) // 2, (new_h - h) // 2))
    return canvas


class DeferredImage(Widget):
    """An empty image slot that becomes a textual-image widget when it gets its first image.

    Importing textual-image pulls in numpy (~0.1 s); the Compose preview starts empty, so start-up
    does not pay for it (the app preloads the module in a thread after the first frame). ``image``
    reads and writes the inner widget's image, as on a textual-image widget.
    """

    DEFAULT_CSS = "DeferredImage > * { width: 100%; height: 100%; }"

    def __init__(self, protocol: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._protocol = protocol
        self._inner: Widget | None = None

    def render(self) -> str:
        return ""  # empty until the first image (a bare Widget would print its own name)

    @property
    def image(self) -> Any:
        return getattr(self._inner, "image", None)

    @image.setter
    def image(self, value: Any) -> None:
        if self._inner is None:
            self._inner = make_image_widget(self._protocol, value)
            self.mount(self._inner)
        else:
            self._inner.image = value  # type: ignore[attr-defined]


def preload(protocol: str) -> None:
    """Import textual-image for ``protocol`` now (safe from a worker thread; no terminal probe)."""
    image_class(protocol)
