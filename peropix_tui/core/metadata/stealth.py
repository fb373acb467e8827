"""NovelAI "stealth" metadata in the least significant bit of the alpha channel.

Layout (spec nai-api.md §11.2, official ``nai_meta_writer.py``): bits are read column by
column (x = 0..W-1, and down each column y = 0..H-1), MSB first within each byte:

    magic (15 ASCII bytes) | payload bit length (32-bit big-endian) | payload

``stealth_pngcomp``: the payload is gzip-compressed UTF-8 JSON of the text-chunk map (Title
left out, Comment as a nested JSON string). ``stealth_pnginfo``: the same payload uncompressed
(A1111's extension puts its plain ``parameters`` text there instead).
"""

from __future__ import annotations

import gzip
import zlib

import numpy as np
from PIL import Image

from ...i18n import _
from .png import MAX_TEXT_BYTES, PngFormatError, inflate_bounded

MAGIC_COMPRESSED = b"stealth_pngcomp"
MAGIC_PLAIN = b"stealth_pnginfo"
RGB_COMPRESSED = b"stealth_rgbcomp"  # the A1111 extension's and SwarmUI's RGB variant: R, G, B LSBs in turn
RGB_PLAIN = b"stealth_rgbinfo"
_HEADER_BITS = 8 * len(MAGIC_COMPRESSED) + 32


class StealthError(ValueError):
    """No (or unreadable) stealth data; the message says why."""


def _alpha(image: Image.Image) -> np.ndarray:
    if "A" not in image.getbands():
        raise StealthError(_("image mode {mode} has no alpha channel").format(mode=image.mode))
    return np.asarray(image.getchannel("A"), dtype=np.uint8)


def _column_major_bits(alpha: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` alpha LSBs in column-major order."""
    h = alpha.shape[0]
    cols = -(-count // h)  # only the columns we need
    return (alpha[:, :cols].T.reshape(-1)[:count] & 1).astype(np.uint8)


def read_stealth(image: Image.Image) -> tuple[str, bytes]:
    """(mode, payload) where mode is ``"pngcomp"`` or ``"pnginfo"``; payload decompressed."""
    alpha = _alpha(image)
    capacity = alpha.size
    if capacity < _HEADER_BITS:
        raise StealthError(_("image has {capacity} pixels, too few for a stealth header").format(capacity=capacity))
    header = np.packbits(_column_major_bits(alpha, _HEADER_BITS)).tobytes()
    magic, nbits = header[:15], int.from_bytes(header[15:19], "big")
    if magic not in (MAGIC_COMPRESSED, MAGIC_PLAIN):
        raise StealthError(_("no stealth magic in the alpha channel"))
    if nbits % 8:
        raise StealthError(_("stealth length {nbits} bits is not a whole number of bytes").format(nbits=nbits))
    if _HEADER_BITS + nbits > capacity:
        raise StealthError(_("stealth length {nbits} bits exceeds what the image holds ({capacity})").format(nbits=nbits, capacity=capacity - _HEADER_BITS))
    if nbits // 8 > MAX_TEXT_BYTES:
        raise StealthError(_("stealth payload of {size} bytes is over the {limit}-byte limit").format(size=nbits // 8, limit=MAX_TEXT_BYTES))
    bits = _column_major_bits(alpha, _HEADER_BITS + nbits)[_HEADER_BITS:]
    payload = np.packbits(bits).tobytes()
    if magic == MAGIC_PLAIN:
        return "pnginfo", payload
    try:
        return "pngcomp", inflate_bounded(payload, "stealth payload", wbits=16 + zlib.MAX_WBITS)
    except PngFormatError as e:
        raise StealthError(str(e)) from None


def encode_payload(payload: bytes, *, compressed: bool = True) -> np.ndarray:
    """Header + payload as a bit array (what :func:`write_stealth` embeds)."""
    if compressed:
        payload = gzip.compress(payload, mtime=0)
    magic = MAGIC_COMPRESSED if compressed else MAGIC_PLAIN
    data = magic + (8 * len(payload)).to_bytes(4, "big") + payload
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8))


def write_stealth(image: Image.Image, payload: bytes, *, compressed: bool = True) -> Image.Image:
    """A copy of ``image`` (as RGBA) carrying ``payload`` in its alpha LSBs.

    Only the LSB of the alpha values that hold the message changes; colour channels and the
    rest of the alpha channel are kept.
    """
    bits = encode_payload(payload, compressed=compressed)
    rgba = np.array(image.convert("RGBA"), dtype=np.uint8)
    h, w = rgba.shape[:2]
    if bits.size > h * w:
        raise StealthError(_("payload needs {needed} pixels, the image has {pixels}").format(needed=bits.size, pixels=h * w))
    column_major = rgba[:, :, 3].T.copy().reshape(-1)
    column_major[: bits.size] = (column_major[: bits.size] & 0xFE) | bits
    rgba[:, :, 3] = column_major.reshape(w, h).T
    return Image.fromarray(rgba)


def read_stealth_rgb(image: Image.Image) -> tuple[str, bytes]:
    """(mode, payload) from the R, G, B LSBs (column-major, each pixel's R then G then B);
    mode is ``"rgbcomp"`` or ``"rgbinfo"``."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    h, w = rgb.shape[:2]
    capacity = h * w * 3
    if capacity < _HEADER_BITS:
        raise StealthError(_("image has {pixels} pixels, too few for an RGB stealth header").format(pixels=h * w))

    def bits(count: int) -> np.ndarray:
        cols = -(-count // (3 * h))
        return (rgb[:, :cols, :].transpose(1, 0, 2).reshape(-1)[:count] & 1).astype(np.uint8)

    header = np.packbits(bits(_HEADER_BITS)).tobytes()
    magic, nbits = header[:15], int.from_bytes(header[15:19], "big")
    if magic not in (RGB_COMPRESSED, RGB_PLAIN):
        raise StealthError(_("no RGB stealth signature"))
    if nbits % 8 or _HEADER_BITS + nbits > capacity or nbits // 8 > MAX_TEXT_BYTES:
        raise StealthError(_("RGB stealth length {nbits} bits does not fit the image or the limit").format(nbits=nbits))
    payload = np.packbits(bits(_HEADER_BITS + nbits)[_HEADER_BITS:]).tobytes()
    if magic == RGB_PLAIN:
        return "rgbinfo", payload
    try:
        return "rgbcomp", inflate_bounded(payload, "RGB stealth payload", wbits=16 + zlib.MAX_WBITS)
    except PngFormatError as e:
        raise StealthError(str(e)) from None
