"""Decode NovelAI image responses: msgpack stream frames, ZIP archives, raw PNGs (spec §8).

Pure functions over bytes, no I/O. A body is sniffed by its first bytes (``PK`` → ZIP, PNG
signature → one PNG, ``<`` → an HTML page from a proxy, else msgpack frames) rather than trusted
by its Content-Type. ZIPs are guarded against bombs: at most :data:`MAX_ENTRIES` entries,
:data:`MAX_TOTAL` bytes inflated, and a compression ratio of at most :data:`MAX_RATIO`.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgpack

from ...i18n import _

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_ENTRIES = 10
MAX_TOTAL = 50 * 1024 * 1024
MAX_RATIO = 100
MAX_FRAME = 50_000_000
_INDEX = re.compile(r"(\d+)")


class ResponseError(Exception):
    """The body is not a usable NovelAI answer. ``transient`` when a retry may get a good one."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class Frame:
    """One stream event: ``kind`` is intermediate, final or error."""

    kind: str
    step: int
    sample: int
    image: bytes
    sigma: float = 0.0
    message: str = ""


class FrameReader:
    """Incremental parser for the msgpack stream: 4-byte big-endian length, then one map."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[Frame]:
        self._buf += data
        while len(self._buf) >= 4:
            (length,) = struct.unpack(">I", self._buf[:4])
            if not 1 <= length <= MAX_FRAME:
                raise ResponseError(_("stream frame length {length} is not sane (1..{limit})")
                                    .format(length=length, limit=MAX_FRAME))
            if len(self._buf) < 4 + length:
                return
            packed = bytes(self._buf[4 : 4 + length])
            del self._buf[: 4 + length]
            yield _frame(packed)

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame left over (non-zero at the end means a truncated stream)."""
        return len(self._buf)


def _frame(packed: bytes) -> Frame:
    try:
        data = msgpack.unpackb(packed, raw=False)
    except (ValueError, msgpack.UnpackException) as e:
        raise ResponseError(_("stream frame is not msgpack ({error})").format(error=e.__class__.__name__)) from None
    if not isinstance(data, dict):
        raise ResponseError(_("stream frame is not a map"))
    kind = str(data.get("event_type", ""))
    image = data.get("image") or b""
    if kind in ("intermediate", "final") and not isinstance(image, bytes | bytearray):
        raise ResponseError(_("{kind} frame has no image bytes").format(kind=kind))
    return Frame(kind=kind, step=int(data.get("step_ix") or 0), sample=int(data.get("samp_ix") or 0),
                 image=bytes(image), sigma=float(data.get("sigma") or 0.0), message=str(data.get("message") or ""))


def finals_in_order(frames: list[Frame]) -> list[bytes]:
    """The final images of a stream, ordered by sample index."""
    finals = sorted((f for f in frames if f.kind == "final"), key=lambda f: f.sample)
    return [f.image for f in finals]


def unpack_images(body: bytes) -> list[bytes]:
    """Images from a complete response body, whatever its format."""
    if body.startswith(b"PK"):
        return unzip_images(body)
    if body.startswith(PNG_SIGNATURE):
        return [body]
    head = body[:64].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<")):
        raise ResponseError(_("NovelAI answered with an HTML page instead of images "
                              "(a proxy or Cloudflare block?)"))
    if head.startswith(b"{"):
        raise ResponseError(_("NovelAI answered: {detail}").format(detail=error_message(body)))
    reader = FrameReader()
    frames = list(reader.feed(body))
    for f in frames:
        if f.kind == "error":
            raise ResponseError(_("NovelAI stream error: {message}").format(message=f.message or _("unknown")))
    images = finals_in_order(frames)
    if reader.pending or not images:
        raise ResponseError(_("NovelAI answer was cut short (no complete image)"), transient=True)
    return images


def unzip_images(body: bytes) -> list[bytes]:
    """Entries of a NovelAI ZIP (image_0.png, image_1.png …), in index order, bomb-guarded."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(body))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, IndexError):
        raise ResponseError(_("NovelAI answer is a damaged ZIP (truncated?)"), transient=True) from None
    if not infos:
        raise ResponseError(_("NovelAI answer is an empty ZIP"))
    if len(infos) > MAX_ENTRIES:
        raise ResponseError(_("NovelAI ZIP has {n} entries (more than {limit}); refused")
                            .format(n=len(infos), limit=MAX_ENTRIES))
    declared = sum(i.file_size for i in infos)
    if declared > MAX_TOTAL:
        raise ResponseError(_("NovelAI ZIP would inflate to {bytes} bytes (over {limit}); refused")
                            .format(bytes=declared, limit=MAX_TOTAL))
    for i in infos:
        if i.file_size > MAX_RATIO * max(i.compress_size, 1):
            raise ResponseError(_("NovelAI ZIP entry {name} has a compression ratio over {limit}; refused")
                                .format(name=i.filename, limit=MAX_RATIO))
    infos.sort(key=lambda i: (_index(i.filename), i.filename))
    try:
        return [_read_bounded(zf, i) for i in infos]
    except (zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile, ValueError, zlib.error,
            NotImplementedError, RuntimeError, IndexError) as e:  # bad offsets, bad deflate data, unknown method, encrypted
        raise ResponseError(_("NovelAI answer is a damaged ZIP ({error})").format(error=e.__class__.__name__),
                            transient=True) from None


def _index(name: str) -> int:
    m = _INDEX.search(name)
    return int(m.group(1)) if m else 0


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """Read one entry but never more than its declared size (headers can lie)."""
    limit = min(info.file_size, MAX_TOTAL)
    with zf.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ResponseError(_("NovelAI ZIP entry {name} is larger than declared; refused").format(name=info.filename))
    return data


def error_message(body: bytes, limit: int = 300) -> str:
    """The human part of an error body: ``message`` / ``error`` of the JSON, else the text."""
    text = body[:4096].decode("utf-8", "replace").strip()
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, dict):
        for key in ("message", "error", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value[:limit]
    if text.lower().startswith(("<!doctype", "<html")):
        return _("an HTML page (a proxy or Cloudflare block?)")
    return text[:limit] or _("(empty body)")
