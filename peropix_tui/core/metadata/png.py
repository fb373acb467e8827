"""PNG at the chunk level: read text chunks and rewrite them without decoding any pixels.

A PNG is the 8-byte signature followed by chunks ``length(4, BE) | type(4) | data | crc(4)``,
where the CRC covers type + data (ISO/IEC 15948 §5.3). Text lives in ``tEXt`` (Latin-1 by the
standard, but some writers put UTF-8 bytes there, so strict UTF-8 is tried first), ``zTXt``
(the same, zlib) and ``iTXt`` (UTF-8, optionally zlib). Every reader here is bounded:
chunk lengths are checked against the bytes present, text against :data:`MAX_TEXT_BYTES`,
and decompression stops at the same limit, so bad input fails fast with a reason.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from ...i18n import _

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_TEXT_BYTES = 16 * 1024 * 1024  # one text value, after decompression
MAX_CHUNK_BYTES = 256 * 1024 * 1024  # any chunk (a huge IDAT is fine, a 2 GiB length is not)
TEXT_TYPES = (b"tEXt", b"zTXt", b"iTXt")


class PngFormatError(ValueError):
    """The bytes are not a well-formed PNG; the message says where and why (in the user's language),
    ``chunk`` names the damaged chunk's type when the damage is in one."""

    def __init__(self, message: str, *, chunk: str | None = None) -> None:
        super().__init__(message)
        self.chunk = chunk


@dataclass(frozen=True)
class Chunk:
    type: bytes
    data: bytes
    offset: int  # byte offset of the length field

    def encode(self) -> bytes:
        return make_chunk(self.type, self.data)


def make_chunk(ctype: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(ctype + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", crc)


def is_png(data: bytes) -> bool:
    return data[:8] == SIGNATURE


def iter_chunks(data: bytes) -> Iterator[Chunk]:
    """Every chunk up to and including IEND; raises :class:`PngFormatError` on damage."""
    if not is_png(data):
        raise PngFormatError(_("not a PNG (bad signature)"))
    pos = len(SIGNATURE)
    while True:
        if pos + 8 > len(data):
            raise PngFormatError(_("truncated PNG: file ends at byte {size} before IEND").format(size=len(data)))
        (length,) = struct.unpack_from(">I", data, pos)
        ctype = data[pos + 4 : pos + 8]
        name = ctype.decode("latin-1")
        if not ctype.isalpha():
            raise PngFormatError(_("corrupt PNG: bad chunk type {type} at byte {offset}").format(
                type=repr(ctype), offset=pos))
        if length > MAX_CHUNK_BYTES:
            raise PngFormatError(_("chunk {chunk} at byte {offset} claims {size} bytes (limit {limit})").format(
                chunk=name, offset=pos, size=length, limit=MAX_CHUNK_BYTES), chunk=name)
        end = pos + 12 + length
        if end > len(data):
            raise PngFormatError(_("truncated PNG: chunk {chunk} at byte {offset} needs {size} bytes, file ends at {end}")
                                 .format(chunk=name, offset=pos, size=length, end=len(data)), chunk=name)
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            raise PngFormatError(_("corrupt PNG: CRC mismatch in chunk {chunk} at byte {offset}").format(
                chunk=name, offset=pos), chunk=name)
        yield Chunk(ctype, body, pos)
        pos = end
        if ctype == b"IEND":
            return


def ihdr_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk, without decoding anything else."""
    first = next(iter_chunks(data))
    if first.type != b"IHDR" or len(first.data) != 13:
        raise PngFormatError(_("corrupt PNG: first chunk is not a 13-byte IHDR"))
    w, h = struct.unpack_from(">II", first.data, 0)
    return w, h


def inflate_bounded(payload: bytes, what: str, *, wbits: int = zlib.MAX_WBITS, limit: int = MAX_TEXT_BYTES) -> bytes:
    """zlib/gzip decompression that refuses to produce more than ``limit`` bytes."""
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(payload, limit)
    except zlib.error as e:
        raise PngFormatError(_("{where}: bad compressed data ({error})").format(where=what, error=e)) from None
    if d.unconsumed_tail:
        raise PngFormatError(_("{where}: expands beyond {limit} bytes (decompression bomb?)").format(
            where=what, limit=limit))
    if not d.eof:
        raise PngFormatError(_("{where}: compressed data is truncated").format(where=what))
    return out


def decode_text_chunk(chunk: Chunk) -> tuple[str, str]:
    """(keyword, text) of a tEXt/zTXt/iTXt chunk."""
    name = chunk.type.decode("latin-1")
    key_raw, sep, rest = chunk.data.partition(b"\x00")
    if not sep or not 1 <= len(key_raw) <= 79:
        raise PngFormatError(_("{chunk} chunk at byte {offset}: missing or bad keyword").format(
            chunk=name, offset=chunk.offset))
    key = key_raw.decode("latin-1")
    where = _("{chunk} chunk {keyword}").format(chunk=name, keyword=repr(key))
    if chunk.type == b"tEXt":
        raw = rest
    elif chunk.type == b"zTXt":
        if rest[:1] != b"\x00":
            raise PngFormatError(_("{where}: unknown compression method").format(where=where))
        raw = inflate_bounded(rest[1:], where)
    else:
        raw = _itxt_text(rest, where)
        return key, _utf8(raw, where)
    if len(raw) > MAX_TEXT_BYTES:
        raise PngFormatError(_("{where}: text is {size} bytes (limit {limit})").format(
            where=where, size=len(raw), limit=MAX_TEXT_BYTES))
    return key, latin1_or_utf8(raw)


def latin1_or_utf8(raw: bytes) -> str:
    """tEXt / zTXt text: strict UTF-8 when it decodes (Stability Matrix writes UTF-8 there), else Latin-1."""
    if raw.isascii():
        return raw.decode("ascii")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _itxt_text(rest: bytes, where: str) -> bytes:
    if len(rest) < 2:
        raise PngFormatError(_("{where}: truncated header").format(where=where))
    flag, method = rest[0], rest[1]
    parts = rest[2:].split(b"\x00", 2)  # language tag, translated keyword, text
    if len(parts) != 3:
        raise PngFormatError(_("{where}: truncated header").format(where=where))
    text = parts[2]
    if flag == 1:
        if method != 0:
            raise PngFormatError(_("{where}: unknown compression method").format(where=where))
        return inflate_bounded(text, where)
    if len(text) > MAX_TEXT_BYTES:
        raise PngFormatError(_("{where}: text is {size} bytes (limit {limit})").format(
            where=where, size=len(text), limit=MAX_TEXT_BYTES))
    return text


def _utf8(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PngFormatError(_("{where}: text is not UTF-8 ({reason} at byte {offset})").format(
            where=where, reason=e.reason, offset=e.start)) from None


def read_text(data: bytes) -> dict[str, str]:
    """All text chunks of a PNG as ``{keyword: text}`` (the first chunk wins for a repeated keyword)."""
    out: dict[str, str] = {}
    for chunk in iter_chunks(data):
        if chunk.type in TEXT_TYPES:
            key, text = decode_text_chunk(chunk)
            out.setdefault(key, text)
    return out


def read_text_tolerant(data: bytes) -> tuple[dict[str, str], str | None]:
    """Like :func:`read_text`, but damage once the image data has begun does not lose the text
    chunks before it: returns ``(text, why)`` with ``why`` the damage found (None when whole).

    Damage before the first ``IDAT`` (signature, IHDR, a text chunk) still raises
    :class:`PngFormatError`: there the metadata itself is what is broken.
    """
    out: dict[str, str] = {}
    seen_idat = False
    chunks = iter_chunks(data)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return out, None
        except PngFormatError as e:
            if seen_idat or e.chunk == "IDAT":
                return out, str(e)
            raise
        if chunk.type == b"IDAT":
            seen_idat = True
        if chunk.type in TEXT_TYPES:
            key, text = decode_text_chunk(chunk)
            out.setdefault(key, text)
        elif chunk.type == b"comf":  # ComfyUI's animated PNG: keyword\0json after the frames
            key_raw, sep, body = chunk.data.partition(b"\x00")
            if sep and 1 <= len(key_raw) <= 79 and len(body) <= MAX_TEXT_BYTES:
                out.setdefault(key_raw.decode("latin-1"), latin1_or_utf8(body))


def text_chunk(key: str, text: str) -> bytes:
    """A tEXt chunk when the text is Latin-1, else an uncompressed iTXt chunk (UTF-8)."""
    kb = key.encode("latin-1")
    try:
        return make_chunk(b"tEXt", kb + b"\x00" + text.encode("latin-1"))
    except UnicodeEncodeError:
        return make_chunk(b"iTXt", kb + b"\x00\x00\x00\x00\x00" + text.encode("utf-8"))


def set_text(data: bytes, updates: dict[str, str]) -> bytes:
    """Rewrite the text chunks named in ``updates``; every other chunk is copied byte for byte.

    A keyword that exists is replaced where it stands (its duplicates dropped); a new keyword
    is inserted before the first IDAT, where NovelAI puts its own chunks.
    """
    out = [SIGNATURE]
    done: set[str] = set()
    pending = dict(updates)
    for chunk in iter_chunks(data):
        if chunk.type in TEXT_TYPES:
            key = chunk.data.partition(b"\x00")[0].decode("latin-1")
            if key in updates:
                if key not in done:
                    out.append(text_chunk(key, updates[key]))
                    done.add(key)
                    pending.pop(key, None)
                continue
        if chunk.type in (b"IDAT", b"IEND") and pending:
            out.extend(text_chunk(k, v) for k, v in pending.items())
            done.update(pending)
            pending.clear()
        out.append(data[chunk.offset : chunk.offset + 12 + len(chunk.data)])
    return b"".join(out)


def chunk_bytes(data: bytes, ctype: bytes) -> bytes:
    """The concatenated raw chunks of one type (e.g. every IDAT), for byte-identity checks."""
    return b"".join(data[c.offset : c.offset + 12 + len(c.data)] for c in iter_chunks(data) if c.type == ctype)
