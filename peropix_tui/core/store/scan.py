"""What the index needs to know about an image file, and a walk over the output folder.

The recipe (prompt, seed, model, provider) comes from :func:`peropix_tui.core.metadata.read_metadata`.
When that module is not available, a minimal reader takes the NovelAI ``Comment`` tEXt chunk; when
an image has no readable metadata, it is indexed with its size only. One bad file never stops a scan.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

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
        with Image.open(path) as im:
            width, height = im.size
            text = _text_chunks(im)
    except Exception:  # noqa: BLE001 - corrupt / not an image: index it with what we have
        return Facts()
    recipe = _recipe(path, text)
    return Facts(width=width, height=height, **recipe)


def _text_chunks(im: Image.Image) -> dict[str, str]:
    info = getattr(im, "text", None) if im.format == "PNG" else None
    if info is None:
        info = im.info
    return {k: v for k, v in info.items() if isinstance(k, str) and isinstance(v, str)}


@functools.cache
def _metadata_reader() -> tuple[Callable[[Path], Any], type[Exception]] | None:
    """``read_metadata`` and ``NoMetadataError`` from core.metadata, or None if it is not available."""
    try:
        mod = importlib.import_module("peropix_tui.core.metadata")
        return mod.read_metadata, mod.NoMetadataError
    except (ImportError, AttributeError):
        return None


def _recipe(path: Path, text: dict[str, str]) -> dict[str, Any]:
    reader = _metadata_reader()
    if reader is None:
        return _recipe_from_comment(text)
    read_metadata, no_metadata = reader
    try:
        rec = read_metadata(path)
        s = rec.settings
        prompts = [s.prompt, *(c.prompt for c in s.characters)]
        model = s.checkpoint if s.provider == "local" and s.checkpoint else s.model
        return {
            "provider": s.provider or None,
            "model": model or None,
            "seed": s.seed,
            "prompt": "\n".join(p for p in prompts if p),
        }
    except no_metadata:
        return {}
    except Exception:  # noqa: BLE001 - a reader bug must not stop indexing
        return _recipe_from_comment(text)


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
