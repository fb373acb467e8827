"""The gallery store: images on disk under the output folder, an SQLite index beside them.

Files are the truth. :meth:`GalleryStore.save_image` writes atomically and indexes in one step;
:meth:`GalleryStore.sync` brings the index up to date with files that appeared, changed, moved or
vanished outside the app (comparing path, size and mtime, so it is cheap when nothing changed);
:meth:`GalleryStore.reindex` rebuilds every row from the files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ... import i18n
from ...i18n import N_
from .. import paths
from . import favourites
from .index import Index, Order, Row
from .layout import (
    StoreError,
    check_folder_path,
    folder_of,
    resolve_inside,
    write_next,
)
from .ops import FolderOps
from .scan import FileStat, probe, walk

if TYPE_CHECKING:
    from ..config import Config

STALE_PART_SECONDS = 15 * 60


@dataclass(frozen=True)
class StoredImage(Row):
    """An indexed image; ``file`` is its absolute location."""

    file: Path = Path()


@dataclass(frozen=True)
class SyncReport:
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    unchanged: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return self.added + self.updated + self.moved + self.unchanged


@dataclass(frozen=True)
class FolderInfo:
    name: str
    count: int


def default_db_path() -> Path:
    return paths.data_dir() / "gallery.sqlite3"


class GalleryStore(FolderOps):
    """Output folder ``root`` + index at ``db_path``; safe to share between threads."""

    def __init__(self, root: Path, db_path: Path | None = None) -> None:
        self.root = Path(root).expanduser()
        self.root.mkdir(parents=True, exist_ok=True)
        self.index = Index(db_path or default_db_path())
        self.index.bind_root(str(self.root.resolve()))

    @classmethod
    def from_config(cls, cfg: Config | None = None) -> GalleryStore:
        """The store for the configured output folder (``load_config()`` when ``cfg`` is None)."""
        from ..config import load_config

        return cls((cfg or load_config()).output_dir)

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> GalleryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ saving
    def save_image(self, data: bytes, *, folder: str, slot_index: int | None = None,
                   slot_name: str | None = None, ext: str = "png") -> StoredImage:
        """Write ``data`` as the next ``NNN_name_SEQ.ext`` in ``folder`` (atomically) and index it."""
        check_folder_path(folder)
        fdir = resolve_inside(self.root, folder, N_("folder"))
        target = write_next(fdir, data, slot_index, slot_name, ext)
        if target is None:
            raise StoreError(i18n.gettext("folder {folder}: could not find a free file name").format(folder=fdir))
        return self._index_files([target])[0]

    def index_existing(self, files: Iterable[Path]) -> list[StoredImage]:
        """Index images already on disk under the output folder (e.g. found after a crash)."""
        return self._index_files(files)

    def _index_files(self, files: Iterable[Path]) -> list[StoredImage]:
        stars = _StarCache()
        stats = [FileStat(self.rel(f), *_stat(f)) for f in files]
        rows = [self._row_for(st, stars.has(self.root, st.rel)) for st in stats]
        with self.index.write() as con:
            self.index.upsert(con, rows)
        return [self._stored(r) for r in self.index.rows(r.path for r in rows)]

    def _row_for(self, st: FileStat, favourite: bool = False) -> Row:
        facts = probe(self.root / st.rel)
        return Row(path=st.rel, folder=folder_of(st.rel), size=st.size, mtime_ns=st.mtime_ns,
                   width=facts.width, height=facts.height, provider=facts.provider, model=facts.model,
                   seed=facts.seed, prompt=facts.prompt, favourite=favourite, created=st.mtime_ns / 1e9)

    # ------------------------------------------------------------------ sync / reindex
    def sync(self) -> SyncReport:
        """Index new and changed files, follow moved ones, drop vanished ones."""
        t0 = time.perf_counter()
        disk = {f.rel: f for f in self._scan()}
        known = self.index.stats()
        gone = {p: known[p] for p in known.keys() - disk.keys()}
        fresh = [f for rel, f in disk.items() if rel not in known]
        changed = [f for rel, f in disk.items() if rel in known and known[rel] != (f.size, f.mtime_ns)]
        moves, fresh = _pair_moves(gone, fresh)
        stars = _StarCache()
        rows = [self._row_for(f, stars.has(self.root, f.rel)) for f in fresh + changed]
        with self.index.write() as con:
            for old, new in moves:
                self.index.move(con, old, new, folder_of(new))
            self.index.delete_paths(con, gone.keys() - {old for old, _ in moves})
            self.index.upsert(con, rows)
        self._carry_stars(moves)
        return SyncReport(added=len(fresh), updated=len(changed), moved=len(moves),
                          removed=len(gone) - len(moves),
                          unchanged=len(disk) - len(fresh) - len(changed) - len(moves),
                          seconds=time.perf_counter() - t0)

    def reindex(self) -> SyncReport:
        """Forget the index and rebuild every row from the files (favourites from ``.favourites``)."""
        t0 = time.perf_counter()
        stars = _StarCache()
        rows = [self._row_for(f, stars.has(self.root, f.rel)) for f in self._scan()]
        with self.index.write() as con:
            self.index.clear(con)
            self.index.upsert(con, rows)
        return SyncReport(added=len(rows), seconds=time.perf_counter() - t0)

    def _carry_stars(self, moves: list[tuple[str, str]]) -> None:
        """Files moved outside the app keep their star: move it between the ``.favourites`` files."""
        for old, new in moves:
            row = self.index.get(new)
            if row is not None and row.favourite:
                favourites.set_flag((self.root / old).parent, Path(old).name, False)
                favourites.set_flag((self.root / new).parent, Path(new).name, True)

    def _scan(self) -> list[FileStat]:
        """All images on disk; removes temp files of writes killed long ago (young ones may be live)."""
        parts: list[Path] = []
        files = list(walk(self.root, parts))
        cutoff = time.time() - STALE_PART_SECONDS
        for p in parts:
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
            except OSError:
                pass
        return files

    # ------------------------------------------------------------------ queries
    def page(self, folder: str | None = None, search: str | None = None, favourites_only: bool = False,
             offset: int = 0, limit: int = 60, order: Order = "newest") -> list[StoredImage]:
        rows = self.index.page(folder=folder, search=search, favourites_only=favourites_only,
                               offset=offset, limit=limit, order=order)
        return [self._stored(r) for r in rows]

    def count(self, folder: str | None = None, search: str | None = None,
              favourites_only: bool = False) -> int:
        return self.index.count(folder=folder, search=search, favourites_only=favourites_only)

    def get(self, path: str) -> StoredImage | None:
        row = self.index.get(path)
        return self._stored(row) if row else None

    def folders(self) -> list[FolderInfo]:
        """Folders with images, plus empty top-level folders on disk, by name (root is ``""``)."""
        counts = dict(self.index.folders())
        with os.scandir(self.root) as it:
            for e in it:
                if not e.name.startswith(".") and e.is_dir(follow_symlinks=False):
                    counts.setdefault(e.name, 0)
        return [FolderInfo(name, n) for name, n in sorted(counts.items())]

    # ------------------------------------------------------------------ helpers
    def rel(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _stored(self, row: Row) -> StoredImage:
        return StoredImage(**vars(row), file=self.root / row.path)


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _pair_moves(gone: dict[str, tuple[int, int]], fresh: list[FileStat]) -> tuple[list[tuple[str, str]], list[FileStat]]:
    """Match vanished rows to new files with the same (size, mtime) when the match is unambiguous."""
    by_key: dict[tuple[int, int], list[str]] = {}
    for p, key in gone.items():
        by_key.setdefault(key, []).append(p)
    new_by_key: dict[tuple[int, int], list[FileStat]] = {}
    for f in fresh:
        new_by_key.setdefault((f.size, f.mtime_ns), []).append(f)
    moves: list[tuple[str, str]] = []
    rest: list[FileStat] = []
    for key, files in new_by_key.items():
        old = by_key.get(key, [])
        if len(old) == 1 and len(files) == 1:
            moves.append((old[0], files[0].rel))
        else:
            rest.extend(files)
    return moves, rest


class _StarCache:
    """Reads each folder's ``.favourites`` once during a scan."""

    def __init__(self) -> None:
        self._folders: dict[Path, set[str]] = {}

    def has(self, root: Path, rel: str) -> bool:
        p = root / rel
        if p.parent not in self._folders:
            self._folders[p.parent] = favourites.read(p.parent)
        return p.name in self._folders[p.parent]
