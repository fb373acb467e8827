"""Output layout: safe folder names, PeroPix-style file names, per-folder sequence numbers.

An image is saved as ``<output>/<folder>/NNN_name_0000001.png``: ``NNN`` is the slot index,
``name`` the slot name reduced to a safe subset, and the last number a sequence that is global per
folder, increases monotonically and is never reused (the counter lives in the folder, in
``.peropix-seq``, guarded by a file lock so two processes never draw the same number).

Nothing built here can leave the output folder: folder names are *validated* (a clear
:class:`StoreError` for ``..``, separators, absolute paths, NUL, reserved names), slot names are
*sanitised*, and every resolved path is checked to stay under the output folder.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ... import i18n
from ...i18n import N_
from ..filenames import is_windows_reserved

try:  # POSIX file locks; elsewhere the in-process lock is all we have
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SEQ_FILE = ".peropix-seq"
FAVOURITES_FILE = ".favourites"
TRASH_DIR = ".trash"
IMAGE_EXTS = frozenset({"png", "webp", "jpg", "jpeg"})
SEQ_DIGITS = 7
MAX_NAME = 64
MAX_FOLDER = 100

_INVISIBLE = frozenset({"Cf", "Cs", "Zl", "Zp"})
"""Unicode categories never allowed in a name: format characters (bidi controls such as U+202E,
zero-width spaces, BOM), surrogates, line and paragraph separators."""
_SLASH_LIKE = frozenset("\u2215\u2044\u29f8\u29f9\u2216\u2571\u2572")
"""Slash look-alikes that NFKC leaves alone (division slash, fraction slash, big solidus …)."""
_FORBIDDEN_CHARS = set('<>:"|?*\\/')
_UNSAFE_RUN = re.compile(r"[^\w\-]+")
_UNDERSCORES = re.compile(r"_{2,}")
_SEQ_RE = re.compile(rf"(?:^|_)(\d{{{SEQ_DIGITS},}})$")


class StoreError(ValueError):
    """A gallery operation cannot be done; the message names the folder, file or field."""


# ------------------------------------------------------------------ names
def sanitize_name(name: str | None, max_len: int = MAX_NAME) -> str:
    """Reduce a slot or preset name to letters, digits, ``_`` and ``-`` (any script); may be ``""``."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKC", name)
    text = _UNSAFE_RUN.sub("_", text)
    text = _UNDERSCORES.sub("_", text).strip("_-")
    return text[:max_len].rstrip("_-")


def check_folder_name(name: str, what: str = N_("folder name")) -> str:
    """Return ``name`` if it is a safe single folder name, else raise :class:`StoreError` saying why.

    ``what`` names the value in the message: an ``N_()``-marked phrase, translated when raised."""
    if not isinstance(name, str) or name == "":
        raise StoreError(i18n.gettext("{what}: must not be empty").format(what=i18n.gettext(what)))
    shown = ascii(name)
    if "\x00" in name or any(unicodedata.category(c) == "Cc" for c in name):
        raise StoreError(i18n.gettext("{what} {shown}: control characters (NUL, newline, …) are not allowed").format(what=i18n.gettext(what), shown=shown))
    if any(unicodedata.category(c) in _INVISIBLE for c in name):
        raise StoreError(i18n.gettext("{what} {shown}: invisible formatting characters (bidi controls such as U+202E, zero-width spaces) are not allowed").format(what=i18n.gettext(what), shown=shown))
    if lookalike := lookalike_chars(name):
        raise StoreError(i18n.gettext("{what} {shown}: {lookalike} look like '.' or a path separator; not allowed").format(what=i18n.gettext(what), shown=shown, lookalike=ascii(lookalike)))
    if name in (".", ".."):
        raise StoreError(i18n.gettext("{what} {shown}: '.' and '..' are not folder names").format(what=i18n.gettext(what), shown=shown))
    if os.path.isabs(name) or name.startswith("~"):
        raise StoreError(i18n.gettext("{what} {shown}: must be a name inside the output folder, not a path").format(what=i18n.gettext(what), shown=shown))
    if bad := sorted(set(name) & _FORBIDDEN_CHARS):
        raise StoreError(i18n.gettext("{what} {shown}: the characters {characters} are not allowed (no separators)").format(what=i18n.gettext(what), shown=shown, characters=repr(''.join(bad))))
    if name.startswith("."):
        raise StoreError(i18n.gettext("{what} {shown}: names starting with '.' are reserved for PeroPix (trash, index)").format(what=i18n.gettext(what), shown=shown))
    if name != name.strip() or name.endswith("."):
        raise StoreError(i18n.gettext("{what} {shown}: must not start or end with a space or end with '.'").format(what=i18n.gettext(what), shown=shown))
    if is_windows_reserved(name):
        raise StoreError(i18n.gettext("{what} {shown}: reserved device name on Windows").format(what=i18n.gettext(what), shown=shown))
    if len(name) > MAX_FOLDER:
        raise StoreError(i18n.gettext("{what} {shown}: longer than {limit} characters").format(what=i18n.gettext(what), shown=shown, limit=MAX_FOLDER))
    return name


def lookalike_chars(name: str) -> str:
    """The characters of ``name`` other than '.' itself that Unicode folds (NFKC) into '.', '/', '\\'
    or another forbidden character (U+2024 ONE DOT LEADER, U+FF0E, U+2215 DIVISION SLASH …)."""
    out = ""
    for c in name:
        if c == "." or c in _FORBIDDEN_CHARS:
            continue
        folded = unicodedata.normalize("NFKC", c)
        if "." in folded or set(folded) & _FORBIDDEN_CHARS or c in _SLASH_LIKE:
            out += c
    return out



def check_folder_path(folder: str, what: str = N_("folder")) -> str:
    """Validate a folder given as ``a`` or ``a/b`` (folders found on disk may nest); ``""`` is the root."""
    if folder == "":
        return ""
    for part in folder.split("/"):
        check_folder_name(part, what)
    return folder


def folder_from_name(name: str, fallback: str = "untitled") -> str:
    """A valid folder name made from any preset/session name (sanitised, never rejected)."""
    safe = sanitize_name(name, MAX_FOLDER)
    if not safe or is_windows_reserved(safe):
        safe = f"{fallback}_{safe}" if safe else fallback
    return check_folder_name(safe)


def session_folder(when: datetime | None = None) -> str:
    """The folder name for a generation session started at ``when`` (default: now), e.g.
    ``session_2026-11-23_2340``."""
    return f"session_{(when or datetime.now()):%Y-%m-%d_%H%M}"


def image_filename(slot_index: int | None, slot_name: str | None, seq: int, ext: str = "png") -> str:
    """``NNN_name_0000001.png``; the slot index and name parts are left out when absent."""
    ext = check_ext(ext)
    parts: list[str] = []
    if slot_index is not None:
        if slot_index < 0:
            raise StoreError(i18n.gettext("slot index: must be 0 or more, got {value}").format(value=slot_index))
        parts.append(f"{slot_index:03d}")
    if name := sanitize_name(slot_name):
        parts.append(name)
    parts.append(f"{seq:0{SEQ_DIGITS}d}")
    return "_".join(parts) + "." + ext


def check_ext(ext: str) -> str:
    e = ext.lower().lstrip(".")
    if e not in IMAGE_EXTS:
        raise StoreError(i18n.gettext("image extension {ext}: not one of {choices}").format(ext=repr(ext), choices=', '.join(sorted(IMAGE_EXTS))))
    return e


def seq_of(filename: str) -> int | None:
    """The sequence number at the end of a stored file's stem, or None."""
    m = _SEQ_RE.search(filename.rsplit(".", 1)[0])
    return int(m.group(1)) if m else None


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and name.rsplit(".", 1)[-1].lower() in IMAGE_EXTS and "." in name


# ------------------------------------------------------------------ paths
def resolve_inside(root: Path, rel: str, what: str = N_("path")) -> Path:
    """``root/rel`` after checking it cannot escape ``root`` (via ``..``, absolute parts or symlinks)."""
    if "\x00" in rel or os.path.isabs(rel) or (os.sep == "\\" and "\\" in rel):
        raise StoreError(i18n.gettext("{what} {rel}: must be relative to the output folder").format(what=i18n.gettext(what), rel=ascii(rel)))
    parts = rel.split("/") if rel else []
    if any(p in ("", ".", "..") for p in parts):
        raise StoreError(i18n.gettext("{what} {rel}: '.', '..' and empty parts are not allowed").format(what=i18n.gettext(what), rel=ascii(rel)))
    target = root.joinpath(*parts)
    real_root = root.resolve()
    real = target.resolve()
    if real != real_root and real_root not in real.parents:
        raise StoreError(i18n.gettext("{what} {rel}: leads outside the output folder").format(what=i18n.gettext(what), rel=ascii(rel)))
    return target


def rel_of(root: Path, path: Path) -> str:
    """Path relative to the output folder, always with ``/``."""
    return path.relative_to(root).as_posix()


def folder_of(rel: str) -> str:
    return rel.rsplit("/", 1)[0] if "/" in rel else ""


# ------------------------------------------------------------------ sequence numbers
_thread_lock = threading.Lock()


@contextmanager
def _locked(fd: int) -> Iterator[None]:
    with _thread_lock:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)


def _scan_max_seq(folder: Path) -> int:
    best = 0
    with os.scandir(folder) as it:
        for entry in it:
            if is_image_name(entry.name) and (s := seq_of(entry.name)) is not None:
                best = max(best, s)
    return best


def reserve_seq(folder: Path, at_least: int = 0) -> int:
    """Draw the next sequence number for ``folder`` (created if needed); never returns one twice.

    With ``at_least`` the counter is only raised to that value (used when images move in) and the
    number returned is the counter afterwards.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / SEQ_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        with _locked(fd):
            raw = os.read(fd, 64).decode("ascii", "replace").strip()
            current = int(raw) if raw.isdigit() else _scan_max_seq(folder)
            nxt = max(current, at_least) if at_least else current + 1
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, f"{nxt}\n".encode("ascii"))
            os.fsync(fd)
            return nxt
    finally:
        os.close(fd)


def write_next(fdir: Path, data: bytes, slot_index: int | None, slot_name: str | None, ext: str) -> Path | None:
    """Write ``data`` atomically as the next ``NNN_name_SEQ.ext`` in ``fdir``; its path, or None when
    no free name turned up in 100 draws (the caller names the error)."""
    from ..fsutil import atomic_write

    for _ in range(100):
        target = fdir / image_filename(slot_index, slot_name, reserve_seq(fdir), ext)
        try:
            return atomic_write(target, data, exclusive=True)
        except FileExistsError:  # files were dropped in with higher numbers: jump past them
            reserve_seq(fdir, at_least=_scan_max_seq(fdir))
    return None
