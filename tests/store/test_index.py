"""The SQLite index: queries, FTS search, sync against files changed outside the app, reindex."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from store_helpers import all_rows, disk_images, nai_png, write_file

from peropix_tui.core.store import GalleryStore, fts_query
from peropix_tui.core.store.index import SCHEMA_VERSION


def _fill(store: GalleryStore) -> list[str]:
    prompts = ["1girl, blue_hair, smile", "1boy, red hair, angry", "1girl, long hair, crying",
               "landscape, mountains, no humans"]
    paths = []
    for i, p in enumerate(prompts):
        img = store.save_image(nai_png(p, seed=100 + i), folder="a" if i < 2 else "b", slot_index=i,
                               slot_name=p.split(",")[1])
        os.utime(img.file, ns=(10**18 + i * 10**9,) * 2)  # distinct, known ages
        paths.append(img.path)
    store.sync()
    return paths


def test_save_indexes_recipe_and_dimensions(store: GalleryStore) -> None:
    img = store.save_image(nai_png("1girl, smile", seed=1234, size=(80, 40)), folder="s", slot_index=2,
                           slot_name="smile")
    assert (img.path, img.folder, img.width, img.height, img.seed) == ("s/002_smile_0000001.png", "s", 80, 40, 1234)
    assert img.provider == "nai"
    assert img.model in ("nai-diffusion-4-5-full", "NovelAI Diffusion V4.5 4BDE2A90")  # id, or Source as is
    assert "1girl" in img.prompt and img.favourite is False
    assert img.file.read_bytes() == nai_png("1girl, smile", seed=1234, size=(80, 40))
    assert img.size == img.file.stat().st_size
    assert store.get(img.path) == img


def test_page_count_order_folders(store: GalleryStore) -> None:
    paths = _fill(store)
    assert [i.path for i in store.page()] == paths[::-1]
    assert [i.path for i in store.page(order="oldest")] == paths
    assert [i.path for i in store.page(limit=2, offset=1)] == [paths[2], paths[1]]
    assert store.count() == 4 and store.count(folder="a") == 2
    assert [i.path for i in store.page(folder="b")] == [paths[3], paths[2]]
    assert [(f.name, f.count) for f in store.folders()] == [("a", 2), ("b", 2)]
    with pytest.raises(ValueError, match="order"):
        store.page(order="random")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hair", {0, 1, 2}),          # underscores split tags into words
        ("blue_hair", {0}),           # a tag with '_' matches as a phrase
        ("1girl hair", {0, 2}),       # every word must match
        ("1girl, crying", {2}),       # commas separate like spaces
        ("moun", {3}),                # the last word is a prefix
        ("HAIR", {0, 1, 2}),          # case-insensitive
        ('"unbalanced', set()),       # FTS syntax in user text is just text
        ("hair AND NOT", set()),
        ("NEAR(", set()),
        ("* : ( )", set()),           # nothing searchable: no results, no error
    ],
)
def test_fts_search(store: GalleryStore, query: str, expected: set[int]) -> None:
    paths = _fill(store)
    got = {paths.index(i.path) for i in store.page(search=query)}
    assert got == expected
    assert store.count(search=query) == len(expected)


def test_search_combines_with_folder_and_favourites(store: GalleryStore) -> None:
    paths = _fill(store)
    store.set_favourite(paths[2], True)
    assert [i.path for i in store.page(search="1girl", folder="b")] == [paths[2]]
    assert [i.path for i in store.page(search="1girl", favourites_only=True)] == [paths[2]]
    assert fts_query("a, b") == '"a"* "b"*'
    assert fts_query(" ,, ") is None


def test_sync_follows_files_changed_outside_the_app(store: GalleryStore, out_dir: Path) -> None:
    paths = _fill(store)
    store.set_favourite(paths[0], True)
    # appear: a file copied in by hand, in a new nested folder
    write_file(out_dir / "imported" / "deep" / "x.png", nai_png("cat ears", seed=7))
    # move: a favourite renamed into another folder (size and mtime unchanged)
    os.rename(out_dir / paths[0], out_dir / "b" / "moved.png")
    # change: an image rewritten in place with another prompt
    write_file(out_dir / paths[1], nai_png("1boy, glasses", seed=555, size=(32, 32)))
    # vanish
    (out_dir / paths[2]).unlink()
    r = store.sync()
    assert (r.added, r.moved, r.updated, r.removed, r.unchanged) == (1, 1, 1, 1, 1)
    assert {i.path for i in store.page(limit=100)} == disk_images(out_dir)
    moved = store.get("b/moved.png")
    assert moved is not None and moved.favourite and moved.seed == 100 and moved.folder == "b"
    changed = store.get(paths[1])
    assert changed is not None and (changed.seed, changed.width) == (555, 32)
    assert [i.path for i in store.page(search="glasses")] == [paths[1]]
    assert store.page(search="angry") == []
    new = store.get("imported/deep/x.png")
    assert new is not None and new.folder == "imported/deep" and new.seed == 7
    # the move carried the star to the new folder's favourites file, so a rebuild keeps it
    store.reindex()
    assert store.get("b/moved.png").favourite  # type: ignore[union-attr]


def test_sync_with_nothing_changed_is_a_no_op(store: GalleryStore) -> None:
    _fill(store)
    before = all_rows(store)
    r = store.sync()
    assert (r.added, r.updated, r.moved, r.removed, r.unchanged) == (0, 0, 0, 0, 4)
    assert all_rows(store) == before


def test_reindex_rebuilds_identical_rows(store: GalleryStore, out_dir: Path) -> None:
    paths = _fill(store)
    store.set_favourite(paths[1], True)
    write_file(out_dir / "c" / "garbage.png", b"not a png at all")
    store.sync()
    before = all_rows(store)
    assert len(before) == 5
    store.reindex()
    assert all_rows(store) == before
    # and from nothing: the database deleted, a new store rebuilds the same rows
    store.close()
    store.index.db_path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(store.index.db_path) + suffix).unlink(missing_ok=True)
    fresh = GalleryStore(out_dir)
    try:
        fresh.reindex()
        assert all_rows(fresh) == before
        fresh.index.fts_integrity()
    finally:
        fresh.close()


def test_corrupt_and_metadata_less_images_are_indexed_without_recipe(store: GalleryStore, out_dir: Path) -> None:
    write_file(out_dir / "x" / "broken.png", nai_png()[:40])
    from PIL import Image

    Image.new("RGB", (20, 10)).save(out_dir / "x" / "plain.png")
    store.sync()
    broken, plain = store.get("x/broken.png"), store.get("x/plain.png")
    assert broken is not None and broken.width is None and broken.prompt == ""
    assert plain is not None and (plain.width, plain.height, plain.seed, plain.prompt) == (20, 10, None, "")


def test_trash_and_temp_files_are_not_in_the_gallery(store: GalleryStore, out_dir: Path) -> None:
    _fill(store)
    write_file(out_dir / ".trash" / "t1" / "a" / "old.png", nai_png())
    write_file(out_dir / "a" / ".001_x_0000009.png.abc123.part", b"half")
    r = store.sync()
    assert r.added == 0 and store.count() == 4


def test_stale_temp_files_are_removed_young_ones_kept(store: GalleryStore, out_dir: Path) -> None:
    old = write_file(out_dir / "a" / ".x.png.old.part", b"half", mtime_ns=int((time.time() - 3600) * 1e9))
    young = write_file(out_dir / "a" / ".x.png.new.part", b"half")
    store.sync()
    assert not old.exists() and young.exists()


def test_old_schema_is_rebuilt(out_dir: Path, store: GalleryStore) -> None:
    _fill(store)
    db = store.index.db_path
    store.close()
    con = sqlite3.connect(db)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 41}")
    con.close()
    s = GalleryStore(out_dir)
    try:
        assert s.count() == 0  # the index was dropped …
        assert s.sync().added == 4  # … and comes back from the files
    finally:
        s.close()


def test_threads_read_while_another_writes(store: GalleryStore) -> None:
    _fill(store)
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                n = store.count()
                assert len(store.page(limit=1000)) >= min(n, 4)
                store.page(search="hair")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers:
        t.start()
    for i in range(30):
        store.save_image(nai_png(f"tag{i}", seed=i), folder="w", slot_index=1, slot_name="w")
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert store.count(folder="w") == 30


def test_second_process_style_store_sees_the_same_index(store: GalleryStore, out_dir: Path) -> None:
    _fill(store)
    other = GalleryStore(out_dir)
    try:
        other.save_image(nai_png("from another store"), folder="a", slot_index=9, slot_name="o")
        assert store.count() == 5
        assert store.page(search="another")[0].path == "a/009_o_0000003.png"
    finally:
        other.close()


def test_real_novelai_images_are_searchable(store: GalleryStore, out_dir: Path, shared_dir: Path) -> None:
    src = shared_dir / "fixtures" / "nai" / "images"
    for f in src.glob("*.png"):
        (out_dir / "nai").mkdir(exist_ok=True)
        shutil.copy2(f, out_dir / "nai" / f.name)
    store.sync()
    hit = store.page(search="silvery white")
    assert {i.path for i in hit} == {"nai/sample-0316.png", "nai/sample-0317.png"}
    s316 = store.get("nai/sample-0316.png")
    assert s316 is not None and (s316.width, s316.height, s316.seed) == (128, 128, 1148692016)


def test_local_engine_image_indexes_checkpoint_and_character_prompts(store: GalleryStore) -> None:
    from PIL import Image

    from peropix_tui.core.metadata import write_novelai_png
    from peropix_tui.core.settings import CharacterPrompt, GenerationSettings

    settings = GenerationSettings(provider="local", checkpoint="waiIllustrious_v14.safetensors",
                                  prompt="2girls, park", width=64, height=64,
                                  characters=[CharacterPrompt("girl, twintails", position="B3")])
    data = write_novelai_png(Image.new("RGB", (64, 64)), settings, seed=77)
    img = store.save_image(data, folder="local", slot_index=0, slot_name="duo")
    assert (img.provider, img.seed) == ("local", 77)
    assert img.model is not None and img.model.startswith("waiIllustrious_v14")
    assert [i.path for i in store.page(search="twintails")] == [img.path]


def test_a_metadata_reader_bug_falls_back_to_the_comment_chunk(
    store: GalleryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from peropix_tui.core.store import scan

    def broken(data: bytes) -> None:
        raise RuntimeError("reader bug")

    monkeypatch.setattr(scan, "read_metadata", broken)
    img = store.save_image(nai_png("fallback, cat", seed=9, provider="local"), folder="f")
    assert (img.seed, img.provider, img.prompt) == (9, "local", "fallback, cat")


def test_many_short_lived_threads_reuse_a_few_connections(store: GalleryStore) -> None:
    _fill(store)
    opened = store.index.opened
    results: list[int] = []

    def once() -> None:
        results.append(len(store.page(search="hair")))

    for _ in range(10):
        batch = [threading.Thread(target=once) for _ in range(5)]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
    assert results == [3] * 50
    # not one connection per thread: at most one per thread running at once (5), every burst
    assert store.index.opened - opened <= 5


def test_index_follows_the_configured_output_dir(store: GalleryStore, out_dir: Path, tmp_path: Path) -> None:
    _fill(store)
    other_root = tmp_path / "other-outputs"
    write_file(other_root / "z" / "only.png", nai_png("elsewhere"))
    other = GalleryStore(other_root)  # same database, another output folder
    try:
        assert other.count() == 0  # rows of the first folder are not shown for the second
        other.sync()
        assert [i.path for i in other.page()] == ["z/only.png"]
    finally:
        other.close()
    back = GalleryStore(out_dir)
    try:
        back.sync()
        assert back.count() == 4 and back.page(search="elsewhere") == []
    finally:
        back.close()


def test_a_star_moved_outside_the_app_leaves_no_stale_entry(store: GalleryStore, out_dir: Path) -> None:
    paths = _fill(store)
    store.set_favourite(paths[0], True)
    os.rename(out_dir / paths[0], out_dir / "b" / "renamed.png")
    store.sync()
    assert (out_dir / "b" / ".favourites").read_text().splitlines() == ["renamed.png"]
    assert not (out_dir / "a" / ".favourites").exists()
    # a new file taking the old name is not a favourite, even after a rebuild
    write_file(out_dir / paths[0], nai_png("newcomer"))
    store.reindex()
    assert store.get(paths[0]).favourite is False  # type: ignore[union-attr]
    assert store.get("b/renamed.png").favourite is True  # type: ignore[union-attr]
