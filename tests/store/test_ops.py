"""Folder operations: create, rename, move, trash + undo, favourites; the index stays consistent."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import all_rows, disk_images, nai_png

from peropix_tui.core.store import GalleryStore, StoreError, seq_of


def _consistent(store: GalleryStore, out_dir: Path) -> None:
    assert {i.path for i in store.page(limit=10_000)} == disk_images(out_dir)
    before = all_rows(store)
    store.reindex()
    assert all_rows(store) == before  # nothing the index knows differs from the files
    store.index.fts_integrity()


def _save(store: GalleryStore, folder: str, n: int, prompt: str = "1girl") -> list[str]:
    return [store.save_image(nai_png(f"{prompt} {i}", seed=i), folder=folder, slot_index=i,
                             slot_name=f"s{i}").path for i in range(n)]


def test_create_folder(store: GalleryStore, out_dir: Path) -> None:
    assert store.create_folder("session 2") == "session 2"
    assert (out_dir / "session 2").is_dir()
    assert ("session 2", 0) in [(f.name, f.count) for f in store.folders()]
    with pytest.raises(StoreError, match="already exists"):
        store.create_folder("session 2")
    for bad in ("..", "a/b", ".trash", "CON"):
        with pytest.raises(StoreError):
            store.create_folder(bad)


def test_rename_folder_updates_every_path(store: GalleryStore, out_dir: Path) -> None:
    a = _save(store, "old", 3)
    _save(store, "old2", 1)  # same prefix, must not be touched
    store.set_favourite(a[1], True)
    store.rename_folder("old", "new")
    assert not (out_dir / "old").exists()
    assert {i.path for i in store.page(folder="new")} == {p.replace("old/", "new/") for p in a}
    assert store.count(folder="old2") == 1 and store.count(folder="old") == 0
    assert store.get(a[1].replace("old/", "new/")).favourite  # type: ignore[union-attr]
    assert store.page(search="1girl", folder="new")
    with pytest.raises(StoreError, match="already exists"):
        store.rename_folder("new", "old2")
    with pytest.raises(StoreError, match="does not exist"):
        store.rename_folder("nope", "x")
    with pytest.raises(StoreError):
        store.rename_folder("new", "../escape")
    _consistent(store, out_dir)


def test_move_images_between_folders(store: GalleryStore, out_dir: Path) -> None:
    src = _save(store, "a", 3)
    store.set_favourite(src[0], True)
    dst = _save(store, "b", 1)  # b/000_s0_0000001.png exists: a/000_s0_0000001.png must be renamed
    moved = store.move_images([src[0], src[2]], "b")
    assert moved[0].path != dst[0] and moved[0].folder == "b" and moved[0].favourite
    assert moved[0].path.startswith("b/000_s0_")
    assert moved[1].path == "b/002_s2_0000003.png"
    assert (out_dir / dst[0]).read_bytes() == nai_png("1girl 0", seed=0)  # the existing file is intact
    assert store.count(folder="a") == 1 and store.count(folder="b") == 3
    # numbers that moved in are never drawn again in b
    new = store.save_image(nai_png(), folder="b", slot_index=0, slot_name="n")
    assert (seq_of(new.path) or 0) > max(seq_of(m.path) or 0 for m in moved)
    assert not (out_dir / "a" / ".favourites").exists()
    with pytest.raises(StoreError, match="no such file"):
        store.move_images(["a/missing.png"], "b")
    _consistent(store, out_dir)


def test_delete_goes_to_trash_and_undo_restores(store: GalleryStore, out_dir: Path) -> None:
    paths = _save(store, "a", 3, prompt="blue_hair")
    store.set_favourite(paths[1], True)
    ticket = store.delete(paths[:2])
    assert store.count() == 1 and store.page(search="blue_hair")[0].path == paths[2]
    assert not (out_dir / paths[0]).exists()
    assert (out_dir / ".trash" / ticket.token / paths[0]).exists()
    assert [t.paths for t in store.trash()] == [tuple(sorted(paths[:2]))]
    _consistent(store, out_dir)  # reindex does not bring trashed images back

    restored = store.restore(ticket)
    assert sorted(r.path for r in restored) == sorted(paths[:2])
    assert store.get(paths[1]).favourite  # type: ignore[union-attr]
    assert store.count() == 3 and store.trash() == []
    with pytest.raises(StoreError, match="not in the trash"):
        store.restore(ticket)
    _consistent(store, out_dir)


def test_restore_when_the_name_was_taken_meanwhile(store: GalleryStore, out_dir: Path) -> None:
    [p] = _save(store, "a", 1)
    ticket = store.delete([p])
    # someone puts another file at the same name
    (out_dir / p).write_bytes(nai_png("impostor"))
    store.sync()
    [back] = store.restore(ticket)
    assert back.path != p and back.folder == "a"
    assert (out_dir / p).read_bytes() == nai_png("impostor")
    assert back.file.read_bytes() == nai_png("1girl 0", seed=0)
    _consistent(store, out_dir)


def test_delete_of_a_missing_file_changes_nothing(store: GalleryStore, out_dir: Path) -> None:
    paths = _save(store, "a", 2)
    with pytest.raises(StoreError, match="no such file"):
        store.delete([paths[0], "a/ghost.png"])
    with pytest.raises(StoreError):
        store.delete(["../../etc/passwd"])
    assert store.count() == 2 and store.trash() == []


def test_empty_trash(store: GalleryStore, out_dir: Path) -> None:
    paths = _save(store, "a", 2)
    store.delete(paths[:1])
    store.delete(paths[1:])
    assert len(store.trash()) == 2
    assert store.empty_trash() == 2
    assert store.trash() == [] and not (out_dir / ".trash").exists()


def test_favourite_toggle_survives_reindex(store: GalleryStore, out_dir: Path) -> None:
    [p, q] = _save(store, "a", 2)
    assert store.toggle_favourite(p) is True
    assert [i.path for i in store.page(favourites_only=True)] == [p]
    store.reindex()
    assert [i.path for i in store.page(favourites_only=True)] == [p]
    assert (out_dir / "a" / ".favourites").read_text() == Path(p).name + "\n"
    assert store.toggle_favourite(p) is False
    assert store.count(favourites_only=True) == 0
    with pytest.raises(StoreError):
        store.toggle_favourite("a/none.png")
    _consistent(store, out_dir)
