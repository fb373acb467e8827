"""Image preparation for NovelAI requests: load, resize, letterbox, binarize masks, encode.

Every error names the file (as a :class:`~peropix_tui.core.settings.SettingsError` on the
field the file came from), so the CLI can print one clear line.

* img2img / infill source: resized to exactly width x height (bicubic), PNG.
* infill mask: white = repaint, black = keep, pure 0/255, at the source's resolution
  (width x height). Transparent "painted" masks count pixels with alpha > 10 as painted;
  opaque masks use brightness > 127. The mask is snapped to NovelAI's 8 px latent cells
  (a cell is repainted if any pixel in it is), which avoids the grey seams V5 draws along
  off-grid mask edges (nkdk9315 api-protocol.md).
* character reference: letterboxed onto a black 1024x1536 / 1536x1024 / 1472x1472 canvas
  chosen by aspect ratio (< 0.8 portrait, > 1.25 landscape, else square), JPEG quality 95.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

from ...i18n import _
from ..settings import SettingsError

MAX_INPUT_PIXELS = 50_000_000  # refuse anything bigger before decoding (decompression bombs)
MAX_REFERENCE_FILE = 64 * 1024 * 1024
"""A vibe / reference file larger than this is refused before it is read."""
VIBE_MAX_PIXELS = 1024 * 1024
"""Vibe images are downscaled (aspect kept) to at most this many pixels before upload, the website's
Normal size (1024x1024); the encoding needs no more, and big uploads get 413."""
CHARREF_CANVASES = {"portrait": (1024, 1536), "landscape": (1536, 1024), "square": (1472, 1472)}
MASK_CELL = 8
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageInputError(SettingsError):
    """An input file (image, vibe, ``.naiv4vibe``) could not be used: missing, unreadable, damaged or too
    large. The message names the file. A failure of a valid command (exit code 1), not a usage error."""


def load_image(path: str | os.PathLike[str], field: str = "image") -> Image.Image:
    """Open and fully decode an image file; refuse unreadable or oversized files."""
    p = Path(path)
    if not p.is_file():
        raise ImageInputError(field, _("{file}: file not found").format(file=p))
    try:
        with Image.open(p) as im:
            w, h = im.size
            if w * h > MAX_INPUT_PIXELS:
                raise ImageInputError(field, _too_many_pixels(str(p), w, h))
            im.load()
            return im.copy()
    except ImageInputError:
        raise
    except Image.DecompressionBombError:
        raise ImageInputError(field, _("{file}: image is too large (decompression bomb guard)").format(file=p)) from None
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageInputError(field, _("{file}: not a readable image ({error})")
                              .format(file=p, error=type(e).__name__)) from None


def _too_many_pixels(where: str, w: int, h: int) -> str:
    return _("{file}: {width}x{height} is too large (over {limit} pixels)").format(file=where, width=w, height=h,
                                                                                 limit=MAX_INPUT_PIXELS)


def _rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "RGBA"):
        return im
    if im.mode in ("LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        return im.convert("RGBA")
    return im.convert("RGB")


def resize_exact(im: Image.Image, width: int, height: int) -> Image.Image:
    """Resize to exactly width x height with bicubic filtering (no-op if already that size)."""
    im = _rgb(im)
    if im.size == (width, height):
        return im
    return im.resize((width, height), Image.Resampling.BICUBIC)


def encode_png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def encode_jpeg(im: Image.Image, quality: int = 95) -> bytes:
    buf = io.BytesIO()
    im.convert("RGB").save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# ------------------------------------------------------------------------------ masks
def mask_array(im: Image.Image) -> np.ndarray:
    """Boolean "repaint here" array from a mask image (see module docstring for the rule)."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        alpha = np.asarray(im.convert("RGBA").getchannel("A"))
        if alpha.min() < 255:
            return alpha > 10
    return np.asarray(im.convert("L")) > 127


def snap_to_cells(mask: np.ndarray, cell: int = MASK_CELL) -> np.ndarray:
    """Repaint a whole cell x cell block if any pixel in it is to be repainted."""
    h, w = mask.shape
    ph, pw = -h % cell, -w % cell
    padded = np.pad(mask, ((0, ph), (0, pw)))
    blocks = padded.reshape(padded.shape[0] // cell, cell, padded.shape[1] // cell, cell).any(axis=(1, 3))
    full = np.repeat(np.repeat(blocks, cell, axis=0), cell, axis=1)
    return full[:h, :w]


def binarize_mask(im: Image.Image, width: int, height: int) -> Image.Image:
    """The mask at width x height as a pure 0/255 grayscale image, snapped to 8 px cells."""
    repaint = mask_array(im)
    if repaint.shape != (height, width):
        small = Image.fromarray(repaint.astype(np.uint8) * 255, "L")
        repaint = np.asarray(small.resize((width, height), Image.Resampling.NEAREST)) > 127
    return Image.fromarray(snap_to_cells(repaint).astype(np.uint8) * 255, "L")


# --------------------------------------------------------------------- character reference
def charref_canvas(width: int, height: int) -> tuple[int, int]:
    ratio = width / height
    if ratio < 0.8:
        return CHARREF_CANVASES["portrait"]
    if ratio > 1.25:
        return CHARREF_CANVASES["landscape"]
    return CHARREF_CANVASES["square"]


def letterbox(im: Image.Image) -> Image.Image:
    """Fit ``im`` inside its canvas keeping the aspect ratio, centred on black."""
    cw, ch = charref_canvas(*im.size)
    scale = min(cw / im.width, ch / im.height)
    w, h = max(1, round(im.width * scale)), max(1, round(im.height * scale))
    src = im.convert("RGBA") if im.mode in ("RGBA", "LA", "PA", "P") else im.convert("RGB")
    fitted = src.resize((w, h), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (cw, ch), (0, 0, 0))
    canvas.paste(fitted, ((cw - w) // 2, (ch - h) // 2), fitted if fitted.mode == "RGBA" else None)
    return canvas


# ------------------------------------------------------------------ what the builder calls
def source_b64(path: str | os.PathLike[str], width: int, height: int, field: str = "image") -> str:
    """img2img / infill base image: exactly width x height, PNG, base64.

    A PNG that already has that size (RGB or RGBA) is sent byte for byte, not re-encoded."""
    im = load_image(path, field)
    if im.size == (width, height) and im.mode in ("RGB", "RGBA"):
        data = Path(path).read_bytes()
        if data.startswith(PNG_SIGNATURE):
            return b64(data)
    return b64(encode_png(resize_exact(im, width, height)))


def mask_b64(path: str | os.PathLike[str], width: int, height: int, field: str = "mask") -> str:
    return b64(encode_png(binarize_mask(load_image(path, field), width, height)))


def charref_b64(path: str | os.PathLike[str], field: str = "charref") -> str:
    return b64(encode_jpeg(letterbox(load_image(path, field)), quality=95))


def raw_png_b64(path: str | os.PathLike[str], field: str = "vibes") -> str:
    """A reference image as PNG base64 (V3 vibes, and the input of /ai/encode-vibe), downscaled."""
    p = Path(path)
    if not p.is_file():
        raise ImageInputError(field, _("{file}: file not found").format(file=p))
    size = p.stat().st_size
    if size > MAX_REFERENCE_FILE:
        raise ImageInputError(field, _("{file}: {size} bytes is too large (over {limit} MB); downscale it")
                              .format(file=p, size=size, limit=MAX_REFERENCE_FILE // 2**20))
    return vibe_png_b64(p.read_bytes(), str(p), field)


def vibe_png_b64(data: bytes, where: str, field: str = "vibe") -> str:
    """``data`` (any image) as base64 PNG of at most :data:`VIBE_MAX_PIXELS`; a PNG already small
    enough is sent byte for byte. Refuses images over :data:`MAX_INPUT_PIXELS` before decoding."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
            if w * h > MAX_INPUT_PIXELS:
                raise ImageInputError(field, _too_many_pixels(where, w, h))
            if w * h <= VIBE_MAX_PIXELS and data.startswith(PNG_SIGNATURE):
                return b64(data)
            im.load()
            img = im.copy()
    except ImageInputError:
        raise
    except Image.DecompressionBombError:
        raise ImageInputError(field, _("{file}: image is too large (decompression bomb guard)")
                              .format(file=where)) from None
    except (OSError, ValueError, SyntaxError):
        raise ImageInputError(field, _("{file}: not a readable image file").format(file=where)) from None
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.getbands() or "transparency" in img.info else "RGB")
    if w * h > VIBE_MAX_PIXELS:
        scale = (VIBE_MAX_PIXELS / (w * h)) ** 0.5
        img = img.resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.Resampling.LANCZOS)
    return b64(encode_png(img))
