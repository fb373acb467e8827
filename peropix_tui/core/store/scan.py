"""What the index needs to know about an image file, and a walk over the output folder.

The recipe (prompt, seed, model, provider) comes from :func:`peropix_tui.core.metadata.read_metadata`.
When that module is not available, a minimal reader takes the NovelAI ``Comment`` tEXt chunk; when
an image has no readable metadata, it is indexed with its size only. One bad file never stops a scan.
"""

from __future__ import annotations

import io
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ..metadata import NoMetadataError, read_metadata
from .layout import is_image_name


@dataclass(frozen=True)
class Facts:
    width: int | None = None
    height: int | None = None
    provider: str | None = None
    model: str | None = None
    seed: int | None = None
    prompt: str = ""


@dataclass(frozen=True)
class FileStat:
    rel: str
    size: int
    mtime_ns: int


def walk(root: Path, parts: list[Path] | None = None) -> Iterator[FileStat]:
    """Every image under ``root`` (not in hidden folders such as ``.trash``), with size and mtime.

    Temp files of atomic writes (``.name.XXXX.part``) are not images; they go to ``parts`` if given.
    """
    stack = [("", root)]
    while stack:
        prefix, folder = stack.pop()
        try:
            it = os.scandir(folder)
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with it:
            for e in it:
                if e.name.startswith("."):
                    if parts is not None and e.name.endswith(".part"):
                        parts.append(Path(e.path))
                    continue
                rel = f"{prefix}{e.name}"
                try:
                    if e.is_dir(follow_symlinks=False):
                        stack.append((rel + "/", Path(e.path)))
                    elif is_image_name(e.name) and e.is_file(follow_symlinks=False):
                        st = e.stat(follow_symlinks=False)
                        yield FileStat(rel, st.st_size, st.st_mtime_ns)
                except OSError:  # vanished while we looked
                    continue


def probe(path: Path) -> Facts:
    """Dimensions and recipe of one image; never raises for a bad or unreadable file."""
    try:
        data = path.read_bytes()
    except OSError:
        return Facts()
    size = _png_size(data) or _pil_size(data)
    if size is None:  # corrupt / not an image: index it with what we have
        return Facts()
    return Facts(width=size[0], height=size[1], **_recipe(data))


_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the IHDR of a complete PNG (ends with IEND), without decoding."""
    if data[:8] != _PNG_SIG or data[12:16] != b"IHDR" or not data.endswith(_PNG_END):
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width and height else None


def _pil_size(data: bytes) -> tuple[int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format == "PNG":
                im.load()  # a truncated PNG fails here, not later in the gallery
            return im.size
    except Exception:  # noqa: BLE001 - any decoder failure: not a readable image
        return None


def _text_chunks(data: bytes) -> dict[str, str]:
    try:
        with Image.open(io.BytesIO(data)) as im:
            info = getattr(im, "text", None) if im.format == "PNG" else None
            if info is None:
                info = im.info
            return {k: v for k, v in info.items() if isinstance(k, str) and isinstance(v, str)}
    except Exception:  # noqa: BLE001
        return {}


def _recipe(data: bytes) -> dict[str, Any]:
    try:
        rec = read_metadata(data)
        if not rec.has_recipe:  # a Director Tools result: no prompt, seed or model of its own
            return {}
        s = rec.settings
        prompts = [s.prompt, *(c.prompt for c in s.characters)]
        model: str | None = s.checkpoint if s.provider == "local" and s.checkpoint else s.model
        if "model" in rec.unknown():  # not in the file: never index the settings' default
            model = None
        return {
            "provider": s.provider or None,
            "model": model or None,
            "seed": s.seed,
            "prompt": "\n".join(p for p in prompts if p),
        }
    except NoMetadataError:
        return {}
    except Exception:  # noqa: BLE001 - a reader bug must not stop indexing
        return _recipe_from_comment(_text_chunks(data))


def _recipe_from_comment(text: dict[str, str]) -> dict[str, Any]:
    """Fallback reader: the NovelAI ``Comment`` JSON (plus our ``peropix`` object) from tEXt."""
    try:
        comment = json.loads(text.get("Comment", ""))
    except ValueError:
        return {}
    if not isinstance(comment, dict):
        return {}
    pero = comment.get("peropix")
    if not isinstance(pero, dict):
        pero = {}
    seed = comment.get("seed")
    prompt = comment.get("prompt")
    model = pero.get("local_model") or text.get("Source") or comment.get("request_type")
    return {
        "provider": str(pero.get("provider") or "nai"),
        "model": str(model) if model else None,
        "seed": seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
        "prompt": prompt if isinstance(prompt, str) else "",
    }
