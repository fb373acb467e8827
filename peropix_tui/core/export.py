"""Export a finished set: copy images to a folder or a ZIP, renamed, converted, metadata kept or stripped.

* Sources: files, or folders (their images, not recursive), in name order; ``only`` keeps the
  images whose slot / mood name (``NNN_name_SEQ``) matches one of its names or shell patterns
  (``happy``, ``*_bg-blend``), case-insensitively.
* Names: ``NNN_name_SEQ.ext`` as stored, or without the sequence number (``NNN_name.ext``); two
  images that would get one name get ``-2``, ``-3`` … in the order they come.
* Formats: ``png`` / ``webp`` / ``jpeg`` with ``quality`` (WebP at 100 is lossless), or the
  source's own format (bytes copied unchanged when nothing else changes).
* Metadata: kept (PNG chunks copied; WebP / JPEG get the recipe as EXIF ``UserComment``, as
  PeroPix writes them) or stripped. **Stripping also removes NovelAI's stealth copy** in the
  alpha channel's lowest bits: every opaque or near-opaque pixel (alpha 254/255) is set to 255
  and a fully opaque image is written without alpha; real transparency (bg-removal) is kept.
* Nothing is overwritten unless ``overwrite``: every target is checked before the first byte is
  written, and one existing target refuses the whole export. Files and the ZIP are written
  atomically.
"""

from __future__ import annotations

import fnmatch
import io
import os
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..i18n import _, ngettext
from .fsutil import atomic_write
from .metadata import png as pngmeta
from .metadata.exif import user_comment_exif
from .nai.tools_save import parse_stored_name
from .store.layout import IMAGE_EXTS, SEQ_DIGITS, is_image_name

FORMATS = ("png", "webp", "jpeg")
_EXT = {"png": "png", "webp": "webp", "jpeg": "jpg"}
_PIL_FORMAT = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG"}


class ExportError(ValueError):
    """An export that cannot be done; the message names the file or option."""


@dataclass
class ExportOptions:
    fmt: str | None = None
    """png | webp | jpeg; None keeps each source's format."""
    quality: int = 95
    strip: bool = False
    keep_seq: bool = True
    only: frozenset[str] = frozenset()
    overwrite: bool = False

    def check(self) -> ExportOptions:
        if self.fmt is not None and self.fmt not in FORMATS:
            raise ExportError(_("--format: {value} is not one of {choices}").format(
                value=repr(self.fmt), choices=", ".join(FORMATS)))
        if not 1 <= self.quality <= 100:
            raise ExportError(_("--quality: {value} must be 1..100").format(value=self.quality))
        return self


@dataclass
class ExportPlan:
    items: list[tuple[Path, str]] = field(default_factory=list)
    """(source, name in the target)."""
    dest: Path = Path()
    as_zip: bool = False


def collect(inputs: Iterable[str | Path], only: frozenset[str] = frozenset()) -> list[Path]:
    """The images to export, in name order within each input."""
    found: list[Path] = []
    for raw in inputs:
        p = Path(raw).expanduser()
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.is_file() and is_image_name(f.name))
        elif p.is_file():
            if p.suffix.lower().lstrip(".") not in IMAGE_EXTS:
                raise ExportError(_("{file}: not a PNG, WebP or JPEG file").format(file=p))
            found.append(p)
        else:
            raise ExportError(_("{file}: no such file or folder").format(file=p))
    if only:
        wanted = [o.lower() for o in only]
        found = [f for f in found
                 if any(fnmatch.fnmatchcase((parse_stored_name(f.name)[1] or "").lower(), w) for w in wanted)]
    if not found:
        raise ExportError(_("nothing to export (no images with those names)") if only
                          else _("nothing to export (no images)"))
    return found


def target_stem(src: Path, keep_seq: bool) -> str:
    stem = src.name.rsplit(".", 1)[0]
    if keep_seq:
        return stem
    index, name = parse_stored_name(src.name)
    if index is None and name is None:
        return stem
    parts = ([f"{index:03d}"] if index is not None else []) + ([name] if name else [])
    return "_".join(parts) or stem[-SEQ_DIGITS:]


def plan_export(sources: list[Path], dest: Path, options: ExportOptions, *, as_zip: bool) -> ExportPlan:
    options.check()
    used: set[str] = set()
    items: list[tuple[Path, str]] = []
    for src in sources:
        ext = _EXT[options.fmt] if options.fmt else src.suffix.lower().lstrip(".")
        stem = target_stem(src, options.keep_seq)
        name, n = f"{stem}.{ext}", 1
        while name.lower() in used:
            n += 1
            name = f"{stem}-{n}.{ext}"
        used.add(name.lower())
        items.append((src, name))
    plan = ExportPlan(items, dest, as_zip)
    if not options.overwrite:
        _refuse_existing(plan)
    return plan


def _refuse_existing(plan: ExportPlan) -> None:
    if plan.as_zip:
        if plan.dest.exists():
            raise ExportError(_("{file}: already exists (pass --overwrite to replace it)").format(file=plan.dest))
        return
    clash = [name for _src, name in plan.items if (plan.dest / name).exists()]
    if len(clash) > 1:
        more = len(clash) - 1
        raise ExportError(ngettext("{file}: already exists and {n} more (pass --overwrite to replace)",
                                   "{file}: already exists and {n} more (pass --overwrite to replace)", more)
                          .format(file=plan.dest / clash[0], n=more))
    if clash:
        raise ExportError(_("{file}: already exists (pass --overwrite to replace)").format(file=plan.dest / clash[0]))


# ----------------------------------------------------------------------------- convert
def _recipe_text(data: bytes) -> str | None:
    if not pngmeta.is_png(data):
        return None
    try:
        text = pngmeta.read_text(data)
    except ValueError:
        return None
    return text.get("Comment") or text.get("parameters")


def clear_stealth(im: Image.Image) -> Image.Image:
    """Remove alpha-LSB data: near-opaque alpha becomes 255; a then fully opaque image loses its alpha."""
    if "A" not in im.getbands():
        return im
    rgba = np.array(im.convert("RGBA"), dtype=np.uint8)
    alpha = rgba[:, :, 3]
    alpha[alpha >= 254] = 255
    if alpha.min() == 255:
        return Image.fromarray(rgba[:, :, :3].copy(), "RGB")
    return Image.fromarray(rgba, "RGBA")


def convert(src: Path, fmt: str | None, options: ExportOptions) -> bytes:
    """The bytes to write for ``src``."""
    data = src.read_bytes()
    src_fmt = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp"}[src.suffix.lower().lstrip(".")]
    out_fmt = fmt or src_fmt
    if out_fmt == src_fmt and not options.strip:
        return data  # nothing to change: the bytes as they are
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            im = opened.copy()
    except (OSError, ValueError, SyntaxError) as e:
        raise ExportError(_("{file}: not a readable image ({error})").format(file=src, error=type(e).__name__)) from None
    if options.strip:
        im = clear_stealth(im)
    buf = io.BytesIO()
    kwargs: dict[str, object] = {}
    recipe = None if options.strip else _recipe_text(data)
    if out_fmt == "jpeg":
        im = _flatten(im)
        kwargs["quality"] = options.quality
    elif out_fmt == "webp":
        kwargs.update(quality=options.quality, lossless=options.quality >= 100)
    if recipe is not None and out_fmt != "png":
        kwargs["exif"] = user_comment_exif(recipe)
    if out_fmt == "png":
        return _to_png(im)  # from another format, or stripped: pixels only, no chunks
    im.save(buf, format=_PIL_FORMAT[out_fmt], **kwargs)
    return buf.getvalue()


def _to_png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _flatten(im: Image.Image) -> Image.Image:
    if "A" not in im.getbands():
        return im.convert("RGB")
    rgba = im.convert("RGBA")
    white = Image.new("RGB", rgba.size, (255, 255, 255))
    white.paste(rgba, mask=rgba.getchannel("A"))
    return white


# ------------------------------------------------------------------------------- write
def run_export(plan: ExportPlan, options: ExportOptions) -> list[Path]:
    """Write the export; the written paths (the ZIP alone for a ZIP)."""
    if plan.as_zip:
        return [_write_zip(plan, options)]
    plan.dest.mkdir(parents=True, exist_ok=True)
    written = []
    for src, name in plan.items:
        written.append(atomic_write(plan.dest / name, convert(src, options.fmt, options),
                                    exclusive=not options.overwrite))
    return written


def _write_zip(plan: ExportPlan, options: ExportOptions) -> Path:
    plan.dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{plan.dest.name}.", suffix=".part", dir=plan.dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
                for src, name in plan.items:
                    zf.writestr(name, convert(src, options.fmt, options))
            f.flush()
            os.fsync(f.fileno())
        if options.overwrite:
            os.replace(tmp, plan.dest)
        else:
            os.link(tmp, plan.dest)
            os.unlink(tmp)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return plan.dest
