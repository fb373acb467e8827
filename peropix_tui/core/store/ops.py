"""Folder operations of the gallery: create, rename, move, trash with undo, favourites.

Every operation moves files first (never overwriting one) and then updates the index in one
transaction; if the process dies in between, :meth:`GalleryStore.sync` sees the moved files by their
unchanged size and mtime. Deleted images go to ``<output>/.trash/<ticket>/<original path>``, which
the gallery does not show and from which :meth:`FolderOps.restore` puts them back.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ... import i18n
from ...i18n import N_
from . import favourites
from .layout import (
    TRASH_DIR,
    StoreError,
    check_folder_name,
    check_folder_path,
    folder_of,
    reserve_seq,
    resolve_inside,
    seq_of,
)
from .scan import walk

if TYPE_CHECKING:
    from .gallery import StoredImage
    from .index import Index


@dataclass(frozen=True)
class TrashTicket:
    """One delete: what went to the trash, so it can be restored (undo)."""

    token: str
    paths: tuple[str, ...]
    deleted_at: float


class FolderOps:
    """Mixin for :class:`~peropix_tui.core.store.gallery.GalleryStore`."""

    root: Path
    index: Index

    if TYPE_CHECKING:
        def _index_files(self, files: list[Path]) -> list[StoredImage]: ...
        def rel(self, path: Path) -> str: ...
        def get(self, path: str) -> StoredImage | None: ...

    # ------------------------------------------------------------------ folders
    def create_folder(self, name: str) -> str:
        """Create an empty top-level folder ``name``; an error if it exists or is not a safe name."""
        check_folder_name(name)
        target = resolve_inside(self.root, name, N_("folder"))
        try:
            target.mkdir()
        except FileExistsError:
            raise StoreError(i18n.gettext("folder {name}: already exists").format(name=repr(name))) from None
        return name

    def rename_folder(self, old: str, new: str) -> str:
        """Rename folder ``old`` (``a`` or ``a/b``) to ``new``, a path in the same form; no merging."""
        check_folder_path(old, N_("folder"))
        check_folder_path(new, N_("new folder name"))
        if not old or not new:
            raise StoreError(i18n.gettext("folder: the output folder itself cannot be renamed"))
        src = resolve_inside(self.root, old, N_("folder"))
        dst = resolve_inside(self.root, new, N_("new folder name"))
        if not src.is_dir():
            raise StoreError(i18n.gettext("folder {name}: does not exist").format(name=repr(old)))
        if dst.exists():
            raise StoreError(i18n.gettext("folder {name}: already exists (folders are not merged)").format(name=repr(new)))
        if not dst.parent.is_dir():
            raise StoreError(i18n.gettext("folder {name}: does not exist").format(name=repr(folder_of(new))))
        os.rename(src, dst)
        with self.index.write() as con:
            self.index.rename_folder(con, old, new)
        return new

    # ------------------------------------------------------------------ images
    def move_images(self, paths: list[str], folder: str) -> list[StoredImage]:
        """Move images into ``folder`` (created if needed), renamed only if the name is taken."""
        check_folder_path(folder)
        fdir = resolve_inside(self.root, folder, N_("folder"))
        fdir.mkdir(parents=True, exist_ok=True)
        moved: list[Path] = []
        for rel in paths:
            src = self._existing(rel)
            if src.parent == fdir:
                moved.append(src)
                continue
            dst = _move_file(src, fdir)
            self._after_move(rel, dst)
            moved.append(dst)
        return self._stored_rows(moved)

    def delete(self, paths: list[str]) -> TrashTicket:
        """Move images to the trash; the ticket restores them (:meth:`restore`)."""
        files = [self._existing(rel) for rel in paths]
        token = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:8]
        box = self.root / TRASH_DIR / token
        done: list[str] = []
        try:
            for rel, src in zip(paths, files, strict=True):
                dst_dir = box / folder_of(rel) if folder_of(rel) else box
                dst_dir.mkdir(parents=True, exist_ok=True)
                os.rename(src, dst_dir / src.name)
                favourites.move_flag(src.parent, src.name, dst_dir, src.name)
                done.append(rel)
        finally:
            with self.index.write() as con:
                self.index.delete_paths(con, done)
        return TrashTicket(token, tuple(done), time.time())

    def restore(self, ticket: TrashTicket | str) -> list[StoredImage]:
        """Undo a delete: put the ticket's images back where they were (renamed if taken meanwhile)."""
        token = ticket.token if isinstance(ticket, TrashTicket) else ticket
        check_folder_name(token, N_("trash ticket"))
        box = self.root / TRASH_DIR / token
        if not box.is_dir():
            raise StoreError(i18n.gettext("trash ticket {token}: not in the trash (emptied or restored already)").format(token=repr(token)))
        restored: list[Path] = []
        for f in list(walk(box)):
            src = box / f.rel
            fdir = resolve_inside(self.root, folder_of(f.rel), N_("folder"))
            fdir.mkdir(parents=True, exist_ok=True)
            restored.append(_move_file(src, fdir))
        shutil.rmtree(box, ignore_errors=True)
        return self._index_files(restored)

    def trash(self) -> list[TrashTicket]:
        """What is in the trash, newest first."""
        tdir = self.root / TRASH_DIR
        if not tdir.is_dir():
            return []
        out = [TrashTicket(d.name, tuple(sorted(f.rel for f in walk(d))), d.stat().st_mtime)
               for d in tdir.iterdir() if d.is_dir()]
        return sorted(out, key=lambda t: t.token, reverse=True)

    def empty_trash(self) -> int:
        """Delete the trash for good; returns how many images were removed."""
        n = sum(len(t.paths) for t in self.trash())
        shutil.rmtree(self.root / TRASH_DIR, ignore_errors=True)
        return n

    # ------------------------------------------------------------------ favourites
    def set_favourite(self, path: str, value: bool) -> None:
        f = self._existing(path)
        favourites.set_flag(f.parent, f.name, value)
        with self.index.write() as con:
            if not self.index.set_favourite(con, path, value):
                raise StoreError(i18n.gettext("image {file}: not in the index (run sync)").format(file=repr(path)))

    def toggle_favourite(self, path: str) -> bool:
        row = self.index.get(path)
        if row is None:
            raise StoreError(i18n.gettext("image {file}: not in the index (run sync)").format(file=repr(path)))
        self.set_favourite(path, not row.favourite)
        return not row.favourite

    # ------------------------------------------------------------------ helpers
    def _existing(self, rel: str) -> Path:
        p = resolve_inside(self.root, rel, N_("image"))
        if not p.is_file():
            raise StoreError(i18n.gettext("image {file}: no such file in the output folder").format(file=repr(rel)))
        return p

    def _after_move(self, old_rel: str, dst: Path) -> None:
        new_rel = self.rel(dst)
        with self.index.write() as con:
            self.index.move(con, old_rel, new_rel, folder_of(new_rel))

    def _stored_rows(self, files: list[Path]) -> list[StoredImage]:
        rels = [self.rel(f) for f in files]
        missing = [f for f, r in zip(files, rels, strict=True) if self.index.get(r) is None]
        if missing:
            self._index_files(missing)
        return [s for r in rels if (s := self.get(r)) is not None]


def _move_file(src: Path, fdir: Path) -> Path:
    """Move ``src`` into ``fdir`` without overwriting; a taken name gets a fresh sequence number."""
    seq = seq_of(src.name)
    if seq is not None:
        reserve_seq(fdir, at_least=seq)  # numbers that moved in are never drawn again here
    dst = fdir / src.name
    for _ in range(100):
        try:
            _rename_no_clobber(src, dst)
            favourites.move_flag(src.parent, src.name, fdir, dst.name)
            return dst
        except FileExistsError:
            dst = fdir / _renumbered(src.name, reserve_seq(fdir))
    raise StoreError(i18n.gettext("folder {folder}: could not find a free name for {name}").format(folder=fdir, name=repr(src.name)))


def _renumbered(name: str, seq: int) -> str:
    stem, _, ext = name.rpartition(".")
    old = seq_of(name)
    base = stem[: stem.rfind("_")] if old is not None and "_" in stem else ("" if old is not None else stem)
    return f"{base}_{seq:07d}.{ext}" if base else f"{seq:07d}.{ext}"


def _rename_no_clobber(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # FileExistsError if taken: atomic check-and-claim
    except FileExistsError:
        raise
    except OSError:  # no hard links on this filesystem
        if dst.exists():
            raise FileExistsError(dst) from None
        os.rename(src, dst)
        return
    os.unlink(src)
