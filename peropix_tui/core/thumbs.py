"""Thumbnails for terminal previews, cached in ``cache_dir()/thumbs``.

A thumbnail is keyed by the source's absolute path, mtime and size and the requested size, so an
edited or replaced image gets a new one and an unchanged image is never decoded twice. Decoding
uses Pillow's ``draft`` (JPEG DCT scaling) and ``reduce`` (``reducing_gap``), which is what makes a
1216-pixel PNG cheap to shrink. A corrupt, truncated, missing or oversized image gets a placeholder
thumbnail and a reason, never an exception. Call :func:`thumbnail` from a worker thread.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from ..i18n import _
from . import paths
from .fsutil import atomic_write

DEFAULT_SIZE = 256
_FORMAT = "PNG"


@dataclass(frozen=True)
class Thumbnail:
    path: Path
    """The thumbnail file (PNG, longest side at most the requested size)."""
    placeholder: bool = False
    """True when the source could not be read; ``reason`` says why."""
    reason: str | None = None
    cached: bool = False
    """True when it came from the cache without decoding the source."""


def thumbs_dir() -> Path:
    return paths.cache_dir() / "thumbs"


def thumb_key(src: Path, size: int, st: os.stat_result) -> str:
    ident = f"{Path(src).resolve()}\0{st.st_mtime_ns}\0{st.st_size}\0{size}"
    return hashlib.sha1(ident.encode("utf-8", "surrogatepass")).hexdigest()


def thumbnail(src: Path, size: int = DEFAULT_SIZE, *, cache: Path | None = None) -> Thumbnail:
    """The cached thumbnail of ``src`` (made now if needed), or a placeholder if it is unreadable."""
    if size < 8:
        raise ValueError(_("thumbnail size: must be at least 8 pixels, got {size}").format(size=size))
    cache = cache or thumbs_dir()
    try:
        st = os.stat(src)
    except OSError as e:
        return _placeholder(cache, size, f"cannot read {src}: {e.strerror or e}")
    key = thumb_key(src, size, st)
    out = cache / key[:2] / f"{key}.png"
    if out.exists():
        return Thumbnail(out, cached=True)
    try:
        data = _render(Path(src), size)
    except Exception as e:  # noqa: BLE001 - any decoder failure means "show a placeholder"
        return _placeholder(cache, size, f"cannot decode {Path(src).name}: {type(e).__name__}: {e}")
    atomic_write(out, data)
    return Thumbnail(out)


def _render(src: Path, size: int) -> bytes:
    with Image.open(src) as im:
        im.draft("RGB", (size, size))
        im.thumbnail((size, size), reducing_gap=2.0)
        keep_alpha = im.mode in ("RGBA", "LA", "PA") and _has_transparency(im)
        small = im.convert("RGBA" if keep_alpha else "RGB")
    buf = io.BytesIO()
    small.save(buf, _FORMAT, compress_level=1)
    return buf.getvalue()


def _has_transparency(im: Image.Image) -> bool:
    """NovelAI images are RGBA with alpha 254/255 (stealth metadata): that is not transparency."""
    lo = im.getchannel("A").getextrema()[0]
    return isinstance(lo, int | float) and lo < 250


def _placeholder(cache: Path, size: int, reason: str) -> Thumbnail:
    out = cache / f"placeholder-{size}.png"
    if not out.exists():
        im = Image.new("RGB", (size, size), (48, 48, 56))
        d = ImageDraw.Draw(im)
        m = size // 4
        d.line((m, m, size - m, size - m), fill=(200, 80, 80), width=max(1, size // 32))
        d.line((m, size - m, size - m, m), fill=(200, 80, 80), width=max(1, size // 32))
        buf = io.BytesIO()
        im.save(buf, _FORMAT)
        atomic_write(out, buf.getvalue())
    return Thumbnail(out, placeholder=True, reason=reason)


def prune(max_bytes: int, *, cache: Path | None = None) -> int:
    """Delete the least recently made thumbnails until the cache is under ``max_bytes``; returns count."""
    cache = cache or thumbs_dir()
    files = sorted(cache.glob("??/*.png"), key=lambda p: p.stat().st_mtime)
    total = sum(p.stat().st_size for p in files)
    removed = 0
    for p in files:
        if total <= max_bytes:
            break
        total -= p.stat().st_size
        p.unlink(missing_ok=True)
        removed += 1
    return removed
