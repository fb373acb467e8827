"""``read_metadata``: one normalized record from any image we know how to read.

Order (first that yields settings wins): NovelAI ``Comment`` text chunk (``peropix`` when our
extension is inside), NovelAI stealth alpha, A1111 ``parameters``, ComfyUI ``prompt`` /
``workflow``, EXIF ``UserComment``. Each failed step leaves a reason; when none succeeds the
reasons become one :class:`NoMetadataError`. Nothing here decodes pixels unless the stealth
step needs them, and every size is bounded.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from . import a1111, comfyui, exif, novelai, png, stealth
from .fields import FieldError
from .record import MetadataRecord, NoMetadataError

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_PIXELS = 64 * 1024 * 1024  # stealth needs a full decode; refuse anything larger


class _Skip(ValueError):
    """This step found nothing usable; the message is the reason."""


def read_metadata(source: str | Path | bytes) -> MetadataRecord:
    """The recipe stored in an image (file path or bytes); raises :class:`NoMetadataError`."""
    data, name = _load(source)
    prefix = f"{name}: " if name else ""
    try:
        return _read(data)
    except NoMetadataError as e:
        raise NoMetadataError(prefix + e.why) from None
    except (png.PngFormatError, FieldError) as e:
        raise NoMetadataError(prefix + str(e)) from None


def _load(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), ""
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise NoMetadataError(f"{path.name}: file is {size} bytes (limit {MAX_FILE_BYTES})")
        return path.read_bytes(), path.name
    except OSError as e:
        raise NoMetadataError(f"{path}: cannot read ({e.strerror or type(e).__name__})") from None


def _read(data: bytes) -> MetadataRecord:
    if not data:
        raise NoMetadataError("empty file")
    if png.is_png(data):
        text = png.read_text(data)
        steps: list[tuple[str, Callable[[], MetadataRecord]]] = [
            ("Comment", lambda: _from_comment(text)),
            ("stealth", lambda: _from_stealth(data)),
            ("parameters", lambda: _from_parameters(text)),
            ("ComfyUI", lambda: _from_comfy(text)),
            ("EXIF", lambda: _from_exif(data)),
        ]
    else:
        try:
            _open_image(data)
        except _Skip:
            raise NoMetadataError("not a PNG, WebP or JPEG image (unrecognised format)") from None
        steps = [("stealth", lambda: _from_stealth(data)), ("EXIF", lambda: _from_exif(data))]
    reasons: list[str] = []
    for _, step in steps:
        try:
            return step()
        except (_Skip, FieldError, stealth.StealthError, exif.ExifError, png.PngFormatError) as e:
            if str(e) not in reasons:
                reasons.append(str(e))
    raise NoMetadataError("; ".join(reasons))


# ------------------------------------------------------------------------------ steps
def _from_comment(text: dict[str, str], dialect: str = "novelai", raw: dict[str, Any] | None = None) -> MetadataRecord:
    if "Comment" not in text:
        raise _Skip("no Comment text chunk")
    comment = novelai.parse_json_object(text["Comment"], "Comment")
    return _novelai_record(comment, text, dialect, raw)


def _novelai_record(comment: dict[str, Any], text: dict[str, str], dialect: str, raw: dict[str, Any] | None) -> MetadataRecord:
    reading = novelai.CommentReading(comment, text)
    settings = reading.settings()
    peropix = comment.get("peropix") if isinstance(comment.get("peropix"), dict) else None
    if peropix is not None and dialect == "novelai":
        dialect = "peropix"
    return MetadataRecord(
        dialect=dialect,
        settings=settings,
        raw={**(raw or {}), "text": text, "comment": comment},
        peropix=peropix,
        full_prompt=reading.full_prompt,
        full_negative=reading.full_negative,
        notes=reading.notes,
    )


def _open_image(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise _Skip("image dimensions too large to decode (decompression bomb?)") from None
    except Exception as e:  # PIL raises many exception types for unknown or broken files
        raise _Skip(f"not an image PIL can open ({type(e).__name__})") from None
    return image


def _from_stealth(data: bytes) -> MetadataRecord:
    image = _open_image(data)
    if "A" not in image.getbands() and image.mode not in ("P", "PA"):
        raise _Skip(f"no stealth data (mode {image.mode} has no alpha channel)")
    w, h = image.size
    if w * h > MAX_PIXELS:
        raise _Skip(f"image is {w}x{h}, too large to scan for stealth data (limit {MAX_PIXELS} pixels)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
            if "A" not in image.getbands():
                image = image.convert("RGBA")
    except Exception as e:  # decoding errors of every kind
        raise _Skip(f"pixel data unreadable ({type(e).__name__}: {e})") from None
    mode, payload = stealth.read_stealth(image)
    return _from_stealth_payload(mode, payload)


def _from_stealth_payload(mode: str, payload: bytes) -> MetadataRecord:
    try:
        value = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise _Skip(f"stealth ({mode}) payload is not UTF-8") from None
    raw = {"stealth": {"mode": mode, "payload": value}}
    if value.lstrip().startswith("{"):
        chunks = novelai.parse_json_object(value, f"stealth ({mode}) payload")
        return _from_text_map(chunks, "novelai-stealth", raw)
    if a1111.looks_like_parameters(value):
        return _a1111_record(value, "a1111", raw)
    raise _Skip(f"stealth ({mode}) payload is neither JSON nor A1111 parameters")


def _from_text_map(chunks: dict[str, Any], dialect: str, raw: dict[str, Any]) -> MetadataRecord:
    """A JSON map of text chunks (stealth, EXIF) or a bare Comment object."""
    comment = chunks.get("Comment")
    if isinstance(comment, dict):
        text = {k: v for k, v in chunks.items() if isinstance(v, str)}
        return _novelai_record(comment, text, dialect, raw)
    if isinstance(comment, str):
        text = {k: v for k, v in chunks.items() if isinstance(v, str)}
        return _from_comment(text, dialect, raw)
    if "prompt" in chunks and not _is_graph(chunks):
        return _novelai_record(chunks, {}, dialect, raw)
    if _is_graph(chunks):
        return MetadataRecord(dialect, comfyui.settings_from_graph(chunks), {**raw, "prompt": chunks})
    raise _Skip(f"{dialect}: JSON has no Comment or prompt")


def _is_graph(obj: dict[str, Any]) -> bool:
    return bool(obj) and all(isinstance(v, dict) and "class_type" in v for v in obj.values())


def _a1111_record(value: str, dialect: str, raw: dict[str, Any] | None = None) -> MetadataRecord:
    settings, parsed = a1111.settings_from_parameters(value)
    return MetadataRecord(dialect, settings, {**(raw or {}), **parsed}, full_prompt=parsed["prompt"], full_negative=parsed["negative"])


def _from_parameters(text: dict[str, str]) -> MetadataRecord:
    if "parameters" not in text:
        raise _Skip("no A1111 parameters chunk")
    value = text["parameters"]
    if value.lstrip().startswith("{"):
        return _from_text_map(novelai.parse_json_object(value, "parameters"), "a1111", {"text": text})
    return _a1111_record(value, "a1111", {"text": text})


def _from_comfy(text: dict[str, str]) -> MetadataRecord:
    if "prompt" in text:
        graph = novelai.parse_json_object(text["prompt"], "ComfyUI prompt")
        settings = comfyui.settings_from_graph(graph, "prompt")
    elif "workflow" in text:
        workflow = novelai.parse_json_object(text["workflow"], "ComfyUI workflow")
        settings = comfyui.settings_from_graph(comfyui.workflow_to_api(workflow), "workflow")
    else:
        raise _Skip("no ComfyUI prompt/workflow chunk")
    return MetadataRecord("comfyui", settings, {"text": text}, full_prompt=settings.prompt, full_negative=settings.uc)


def _from_exif(data: bytes) -> MetadataRecord:
    image = _open_image(data)
    value = exif.read_user_comment(image)
    raw = {"exif_user_comment": value}
    if value.lstrip().startswith("{"):
        return _from_text_map(novelai.parse_json_object(value, "EXIF UserComment"), "exif", raw)
    if a1111.looks_like_parameters(value):
        return _a1111_record(value, "exif", raw)
    raise _Skip("EXIF UserComment is neither JSON nor A1111 parameters")
