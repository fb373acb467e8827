"""EXIF ``UserComment`` (tag 0x9286 in the Exif IFD) of WebP and JPEG images.

The value starts with an 8-byte character-code prefix (EXIF 2.3 §4.6.5): ``ASCII\\0\\0\\0``,
``UNICODE\\0`` (UCS-2/UTF-16; writers disagree on byte order, so it is detected), ``JIS`` or
eight NULs (undefined, read as UTF-8). A1111 and PeroPix put their text here.
"""

from __future__ import annotations

from typing import Any

from PIL import Image

from ...i18n import _
from .png import MAX_TEXT_BYTES

EXIF_IFD = 0x8769
USER_COMMENT = 0x9286
MAKE, MODEL, IMAGE_DESCRIPTION, SOFTWARE, MAKER_NOTE = 0x010F, 0x0110, 0x010E, 0x0131, 0x927C


class ExifError(ValueError):
    """No (or an unreadable) UserComment; the message says why."""


def decode_user_comment(value: bytes | str) -> str:
    if isinstance(value, str):
        return value.strip("\x00")
    if len(value) > MAX_TEXT_BYTES:
        raise ExifError(_("UserComment is {size} bytes (limit {limit})").format(size=len(value), limit=MAX_TEXT_BYTES))
    prefix, body = value[:8], value[8:]
    if prefix == b"UNICODE\x00":
        text = _utf16(body)
    elif prefix == b"ASCII\x00\x00\x00":
        text = body.decode("ascii", errors="replace")
    elif prefix == b"JIS\x00\x00\x00\x00\x00":
        text = body.decode("shift_jis", errors="replace")
    else:
        try:
            text = (body if prefix == b"\x00" * 8 else value).decode("utf-8")
        except UnicodeDecodeError:
            raise ExifError(_("UserComment has an unknown encoding")) from None
    return text.rstrip("\x00").strip()


def _utf16(body: bytes) -> str:
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return body.decode("utf-16", errors="replace")
    if len(body) % 2:
        body = body[:-1]
    # ASCII-heavy text has its zero bytes on the even (big-endian) or odd (little-endian) side
    even_zeros = body[0::2].count(0)
    odd_zeros = body[1::2].count(0)
    return body.decode("utf-16-be" if even_zeros >= odd_zeros else "utf-16-le", errors="replace")


def read_user_comment(image: Image.Image) -> str:
    try:
        exif = image.getexif()
        ifd: Any = exif.get_ifd(EXIF_IFD)
    except Exception as e:  # PIL raises many types on damaged EXIF
        raise ExifError(_("EXIF block is unreadable ({error_type})").format(error_type=type(e).__name__)) from None
    if not exif:
        raise ExifError(_("{format} has no EXIF block").format(format=image.format or 'image'))
    value = ifd.get(USER_COMMENT)
    if value is None:  # misplaced in IFD0 by some writers
        value = exif.get(USER_COMMENT)
    if value is None:
        raise ExifError(_("EXIF has no UserComment"))
    text = decode_user_comment(value)
    if not text:
        raise ExifError(_("EXIF UserComment is empty"))
    return text


def user_comment_exif(text: str) -> Image.Exif:
    """An EXIF block whose UserComment holds ``text`` (``UNICODE`` prefix, UTF-16BE)."""
    exif = Image.Exif()
    exif.get_ifd(EXIF_IFD)[USER_COMMENT] = b"UNICODE\x00" + text.encode("utf-16-be")
    return exif


def _ifd0_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        if len(value) > MAX_TEXT_BYTES:
            return None
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            value = value.decode("latin-1")
    return value.strip("\x00").strip() if isinstance(value, str) else None


def read_fields(image: Image.Image) -> dict[str, str]:
    """The EXIF text carriers present: ``UserComment`` and IFD0 Make, Model, ImageDescription,
    Software, MakerNote (ComfyUI's animated WebP, save-image-extended, Fooocus, Stability Matrix)."""
    try:
        exif = image.getexif()
    except Exception as e:  # PIL raises many types on damaged EXIF
        raise ExifError(_("EXIF block is unreadable ({error_type})").format(error_type=type(e).__name__)) from None
    if not exif:
        raise ExifError(_("{format} has no EXIF block").format(format=image.format or 'image'))
    out: dict[str, str] = {}
    for name, tag in (("Make", MAKE), ("Model", MODEL), ("ImageDescription", IMAGE_DESCRIPTION), ("Software", SOFTWARE)):
        text = _ifd0_text(exif.get(tag))
        if text:
            out[name] = text
    try:
        comment = read_user_comment(image)
    except ExifError:
        comment = None
    if comment:
        out["UserComment"] = comment
    try:
        note = exif.get_ifd(EXIF_IFD).get(MAKER_NOTE, exif.get(MAKER_NOTE))
    except Exception:  # damaged sub-IFD: the other fields still count
        note = None
    note_text = _ifd0_text(note)
    if note_text and len(note_text) < 64:
        out["MakerNote"] = note_text
    return out
