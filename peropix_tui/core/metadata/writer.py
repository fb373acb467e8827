"""Write NovelAI-compatible PNGs, and add our ``peropix`` object to images from NovelAI."""

from __future__ import annotations

import io
import json
from typing import Any

from PIL import Image

from ...i18n import _
from ..settings import GenerationSettings
from . import novelai, png, stealth
from .fields import FieldError, checkpoint_stem


def _comment_json(comment: dict[str, Any]) -> str:
    return json.dumps(comment)  # ASCII, so it always fits a tEXt chunk like NovelAI's


def default_source(s: GenerationSettings, server: str | None = None) -> str:
    """The Source chunk: NovelAI's model; for the local engine and ComfyUI the checkpoint (and server)."""
    if s.provider in ("local", "comfyui"):
        name = checkpoint_stem(s.checkpoint) if s.checkpoint else s.model
        if s.provider == "comfyui":
            return f"PeroPix ComfyUI {server or s.comfyui_server or 'server'} {name}"
        return f"PeroPix local {name}"
    return s.model


def text_chunks(
    s: GenerationSettings,
    *,
    seed: int,
    peropix: dict[str, Any] | None = None,
    software: str = "PeroPix TUI",
    source: str | None = None,
    generation_time: float | None = None,
) -> dict[str, str]:
    """The text chunks, in NovelAI's order: Title, Description, Software, Source, Generation time, Comment."""
    comment = novelai.build_comment(s, seed=seed, peropix=peropix)
    chunks = {
        "Title": novelai.TITLE,
        "Description": comment["prompt"],
        "Software": software,
        "Source": source if source is not None else default_source(s),
    }
    if generation_time is not None:
        chunks["Generation time"] = repr(float(generation_time))
    chunks["Comment"] = _comment_json(comment)
    return chunks


def write_novelai_png(
    image: Image.Image,
    settings: GenerationSettings,
    *,
    seed: int,
    peropix: dict[str, Any] | None = None,
    software: str = "PeroPix TUI",
    source: str | None = None,
    generation_time: float | None = None,
    stealth_copy: bool = False,
) -> bytes:
    """PNG bytes of ``image`` with NovelAI-format text chunks (and our ``peropix`` object in Comment).

    With ``stealth_copy`` the same map (minus Title) is also written into the alpha LSBs, as
    NovelAI does, so the recipe survives sites that strip text chunks.
    """
    chunks = text_chunks(
        settings, seed=seed, peropix=peropix, software=software, source=source, generation_time=generation_time
    )
    if stealth_copy:
        payload = json.dumps({k: v for k, v in chunks.items() if k != "Title"}, ensure_ascii=False)
        image = stealth.write_stealth(image, payload.encode("utf-8"))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return png.set_text(buf.getvalue(), chunks)


def add_comment(data: bytes, s: GenerationSettings, *, seed: int, peropix: dict[str, Any],
                software: str = "PeroPix TUI") -> bytes:
    """Add Software, Source and our NovelAI-format Comment (with ``peropix``) to a PNG that has no
    Comment, e.g. one a ComfyUI server saved: every other chunk (ComfyUI's ``prompt`` and
    ``workflow``, so it still opens in ComfyUI) and the pixels are kept byte for byte."""
    text = png.read_text(data)
    if "Comment" in text:
        raise FieldError(_("the image already has a Comment chunk"))
    server = peropix.get("server") if isinstance(peropix.get("server"), str) else None
    comment = novelai.build_comment(s, seed=seed, peropix=peropix)
    return png.set_text(data, {"Software": software, "Source": default_source(s, server),
                               "Comment": _comment_json(comment)})


def embed_peropix(data: bytes, peropix: dict[str, Any]) -> bytes:
    """Add ``peropix`` to ``Comment["peropix"]`` in a NovelAI-format PNG; every other chunk is kept byte for byte.

    Keys already there (e.g. what :func:`write_novelai_png` wrote for a local image) are kept
    unless ``peropix`` sets them again.

    The pixel data, alpha included (where NovelAI's stealth copy lives), is not touched. Note:
    NovelAI's ``signed_hash`` covers the original Comment, so it verifies only against the
    stealth copy afterwards.
    """
    text = png.read_text(data)
    if "Comment" not in text:
        raise FieldError(_("no NovelAI Comment chunk to add the peropix object to"))
    comment = novelai.parse_json_object(text["Comment"], "Comment")
    existing = comment.get("peropix")
    base = existing if isinstance(existing, dict) else {"version": novelai.PEROPIX_VERSION}
    comment["peropix"] = {**base, **peropix}
    return png.set_text(data, {"Comment": _comment_json(comment)})
