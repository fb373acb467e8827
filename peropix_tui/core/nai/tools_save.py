"""Save what a Director Tool or the upscaler returned, next to its source, with the recipe.

Every saved image records ``Comment["peropix"]["tool"]``: the tool, its options, which part of
the answer it is (bg-removal's masked / generated / blend), and the source image (file name and
SHA-256 of its bytes). When the image came back with a NovelAI JSON ``Comment`` (upscale keeps
the source's), the object is added to it and every other chunk is kept byte for byte; when its
``Comment`` is not JSON (augment writes the tool name there), a JSON Comment with
``request_type`` and the ``peropix`` object replaces it and the original text is kept as
``source_comment``.

Names follow the gallery's ``NNN_name_SEQ.png``: emotion results are ``<mood index>_<mood>``;
other tools keep the source's slot index and name and add the part (``005_happy_bg-blend``);
upscales add ``2x``. A destination inside the gallery's output folder is saved and indexed
through :class:`~peropix_tui.core.store.gallery.GalleryStore`; elsewhere the file is written
with the same naming and atomicity, unindexed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import i18n
from ..fsutil import atomic_write
from ..metadata import embed_peropix
from ..metadata import png as pngmeta
from ..metadata.novelai import PEROPIX_VERSION
from ..store.gallery import GalleryStore
from ..store.layout import StoreError, _scan_max_seq, image_filename, reserve_seq
from .backend import image_extension
from .tools import MOODS, ToolResult

_STORED_NAME = re.compile(r"^(?:(\d{3})_)?(?:(.+?)_)?(\d{7,})$")


@dataclass(frozen=True)
class SourceInfo:
    """What the metadata records of a tool's input image."""

    path: Path
    sha256: str
    slot_index: int | None
    slot_name: str | None

    @classmethod
    def of(cls, path: Path) -> SourceInfo:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        index, name = parse_stored_name(path.name)
        return cls(path, digest, index, name)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.path.name, "sha256": self.sha256}


def parse_stored_name(filename: str) -> tuple[int | None, str | None]:
    """(slot index, slot name) of a gallery file name ``NNN_name_SEQ.ext``; (None, None) otherwise."""
    stem = filename.rsplit(".", 1)[0]
    m = _STORED_NAME.match(stem)
    if not m:
        return None, None
    return (int(m.group(1)) if m.group(1) else None), m.group(2) or None


def result_name(source: SourceInfo, label: str, mood: str | None = None) -> tuple[int | None, str]:
    """(slot index, slot name) for one result."""
    if mood is not None:
        return MOODS.index(mood), mood
    name = f"{source.slot_name}_{label}" if source.slot_name else label
    return source.slot_index, name


def tool_record(tool: str, options: dict[str, Any], part: str, source: SourceInfo,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {"name": tool, "options": options, "part": part, "source": source.to_json()}
    rec.update(extra or {})
    return rec


def with_tool_metadata(data: bytes, record: dict[str, Any]) -> bytes:
    """``data`` with ``Comment["peropix"]["tool"] = record`` (non-PNG bytes come back unchanged)."""
    if not pngmeta.is_png(data):
        return data
    text = pngmeta.read_text(data)
    comment = text.get("Comment")
    parsed: Any = None
    if comment is not None:
        try:
            parsed = json.loads(comment)
        except ValueError:
            parsed = None
    if isinstance(parsed, dict):
        return embed_peropix(data, {"tool": record})
    new: dict[str, Any] = {"request_type": record["name"]}
    if comment is not None:
        new["source_comment"] = comment
    new["peropix"] = {"version": PEROPIX_VERSION, "tool": record}
    return pngmeta.set_text(data, {"Comment": json.dumps(new)})


def _inside(root: Path, path: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


class ToolSaver:
    """Writes results into ``dest`` (None: next to each source)."""

    def __init__(self, store: GalleryStore | None, dest: Path | None = None) -> None:
        self.store = store
        self.dest = dest

    def folder_for(self, source: Path) -> Path:
        return (self.dest or source.parent).expanduser()

    def save(self, data: bytes, source: SourceInfo, slot_index: int | None, slot_name: str) -> Path:
        folder = self.folder_for(source.path)
        ext = image_extension(data)
        if ext == "bin":
            raise StoreError(i18n.gettext("{file}: NovelAI returned something that is not an image")
                             .format(file=source.path.name))
        rel = _inside(self.store.root, folder) if self.store is not None else None
        if self.store is not None and rel is not None:
            stored = self.store.save_image(data, folder="" if rel == "." else rel, slot_index=slot_index,
                                           slot_name=slot_name, ext=ext)
            return stored.file
        return _write_unindexed(folder, data, slot_index, slot_name, ext)

    def save_result(self, result: ToolResult, source: SourceInfo, tool: str, options: dict[str, Any],
                    mood: str | None = None, label: str | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
        part = result.part
        shown = label or (f"bg-{part}" if tool == "bg-removal" else part)
        index, name = result_name(source, shown, mood)
        data = with_tool_metadata(result.data, tool_record(tool, options, part, source, extra))
        return self.save(data, source, index, name)


def _write_unindexed(folder: Path, data: bytes, slot_index: int | None, slot_name: str, ext: str) -> Path:
    for _ in range(100):
        target = folder / image_filename(slot_index, slot_name, reserve_seq(folder), ext)
        try:
            return atomic_write(target, data, exclusive=True)
        except FileExistsError:
            reserve_seq(folder, at_least=_scan_max_seq(folder))
    raise StoreError(i18n.gettext("folder {folder}: could not find a free file name").format(folder=folder))
