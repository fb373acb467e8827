"""Where a job's images go: atomic, PeroPix-named files, indexed in the gallery when they are in it.

:class:`ImageWriter` is the one save path for every job kind: it writes ``data`` as the next
``NNN_slotname_SEQ.ext`` of the job's folder (temp file, fsync, rename; the per-folder sequence is
drawn under a file lock) and indexes it in the gallery store when the folder lies inside the
configured output folder (``peropix generate --out`` elsewhere writes the same names, unindexed).

The test hook ``PEROPIX_CRASH_AFTER_SAVE=N`` SIGKILLs the process right after the N-th image is
renamed into place, before anything else records it: the crash window the recovery scan covers.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ... import i18n

if TYPE_CHECKING:
    from ..store import GalleryStore

CRASH_ENV = "PEROPIX_CRASH_AFTER_SAVE"


StoreOpener = Callable[[], "GalleryStore | None"]


class ImageWriter:
    """Saves images under ``root`` (the gallery's output folder). The gallery store comes from
    ``open_store`` (the app shares its own), called on first need; without one, the writer opens
    a store on ``root`` itself."""

    def __init__(self, root: Path, open_store: StoreOpener | None = None) -> None:
        self.root = Path(root).expanduser()
        self._opener = open_store
        self._store: GalleryStore | None = None
        self._owns_store = open_store is None
        self._tried = False
        self._lock = threading.Lock()
        self._saved = 0
        self.warnings: list[str] = []

    @property
    def store(self) -> GalleryStore | None:
        """The gallery store (None when it cannot be opened: images are still written)."""
        with self._lock:
            if self._opener is not None:
                return self._opener()
            if self._store is None and not self._tried:
                self._tried = True
                from ..store import GalleryStore

                try:
                    self._store = GalleryStore(self.root)
                except Exception as e:  # an unusable index must not lose images
                    self.warnings.append(i18n.gettext("gallery: {error}").format(error=e))
            return self._store

    def folder_path(self, folder: str | Path) -> Path:
        """An absolute folder: ``folder`` relative to the output root, or as given when absolute."""
        p = Path(folder).expanduser()
        return p if p.is_absolute() else self.root / p

    def save(self, data: bytes, folder: str | Path, slot_index: int | None, slot_name: str | None,
             ext: str = "png") -> Path:
        """Write one image (never overwriting) and index it; returns its path."""
        fdir = self.folder_path(folder)
        rel = _inside(self.root, fdir)
        store = self.store if rel is not None else None
        if store is not None and rel is not None:
            stored = store.save_image(data, folder=rel, slot_index=slot_index, slot_name=slot_name or None,
                                      ext=ext)
            path = Path(stored.file)
        else:
            path = write_new(fdir, data, slot_index, slot_name, ext)
        self._crash_hook()
        return path

    def index(self, files: list[Path]) -> None:
        """Index images that are on disk already (found by the recovery scan)."""
        inside = [f for f in files if _inside(self.root, f.parent) is not None and f.is_file()]
        store = self.store if inside else None
        if store is not None:
            store.index_existing(inside)

    def close(self) -> None:
        if self._store is not None and self._owns_store:
            self._store.close()
            self._store = None

    def _crash_hook(self) -> None:
        limit = os.environ.get(CRASH_ENV)
        if not limit:
            return
        with self._lock:
            self._saved += 1
            if str(self._saved) == limit.strip():
                os.kill(os.getpid(), signal.SIGKILL)


def write_new(fdir: Path, data: bytes, slot_index: int | None, slot_name: str | None, ext: str) -> Path:
    """The next ``NNN_name_SEQ.ext`` in ``fdir``, written atomically (no index)."""
    from ..store.layout import write_next

    target = write_next(fdir, data, slot_index, slot_name, ext)
    if target is None:
        raise OSError(i18n.gettext("folder {folder}: could not find a free file name").format(folder=fdir))
    return target


def _inside(root: Path, folder: Path) -> str | None:
    """``folder`` relative to ``root`` with ``/`` (``""`` for the root itself), or None when outside."""
    try:
        rel = folder.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return None
    return rel.as_posix() if rel.parts else ""
