"""Output layout: PeroPix file names, hostile names, sequence numbers."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from store_helpers import nai_png, write_file

from peropix_tui.core.store import (
    GalleryStore,
    StoreError,
    check_folder_name,
    folder_from_name,
    image_filename,
    sanitize_name,
    seq_of,
    session_folder,
)


def test_filename_is_peropix_style() -> None:
    assert image_filename(3, "happy", 1) == "003_happy_0000001.png"
    assert image_filename(12, "Angry Face!", 1234567, "webp") == "012_Angry_Face_1234567.webp"
    assert image_filename(None, None, 42) == "0000042.png"
    assert image_filename(0, "", 5) == "000_0000005.png"
    assert seq_of("003_happy_0000001.png") == 1
    assert seq_of("003_h_2_0000099.png") == 99
    assert seq_of("my picture.png") is None


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "etc_passwd"),
        ("/abs/path", "abs_path"),
        ("a\\b", "a_b"),
        ("nul\x00byte", "nul_byte"),
        ("..", ""),
        ("  spaced   out  ", "spaced_out"),
        ("웃는 얼굴", "웃는_얼굴"),
        ("笑顔 (smile)", "笑顔_smile"),
        ("ｆｕｌｌｗｉｄｔｈ", "fullwidth"),
        ("new\nline\ttab", "new_line_tab"),
        ("a" * 300, "a" * 64),
        (None, ""),
    ],
)
def test_slot_names_are_sanitised(raw: str | None, safe: str) -> None:
    assert sanitize_name(raw) == safe
    name = image_filename(1, raw, 7)
    assert "/" not in name and "\\" not in name and "\x00" not in name and not name.startswith(".")


@pytest.mark.parametrize(
    "bad",
    ["", ".", "..", "../x", "a/b", "a\\b", "/etc", "~root", "nul\x00", "line\nbreak", ".trash", ".hidden",
     "CON", "nul.txt", "Lpt1", "trailing.", " lead", "x" * 101, 'a:b', "a*b"],
)
def test_hostile_folder_names_are_rejected(bad: str) -> None:
    with pytest.raises(StoreError) as e:
        check_folder_name(bad)
    assert "folder name" in str(e.value)


def test_session_folder_names_are_valid_and_sortable() -> None:
    from datetime import datetime

    a = session_folder(datetime(2026, 1, 2, 3, 4))
    assert a == "session_2026-01-02_0304" and check_folder_name(a) == a
    assert a < session_folder(datetime(2026, 1, 10, 0, 0))


def test_folder_from_any_preset_name_is_valid() -> None:
    assert folder_from_name("My Preset: v2/final") == "My_Preset_v2_final"
    assert folder_from_name("../..") == "untitled"
    assert folder_from_name("con") == "untitled_con"
    assert check_folder_name(folder_from_name("세션 1")) == "세션_1"


@pytest.mark.parametrize("bad", ["..", "../outside", "/tmp", "a/../../b", ".trash", "x\x00y"])
def test_save_never_escapes_the_output_dir(store: GalleryStore, out_dir: Path, bad: str) -> None:
    with pytest.raises(StoreError):
        store.save_image(nai_png(), folder=bad, slot_index=1, slot_name="x")
    assert not list(out_dir.parent.glob("outside*"))
    assert store.count() == 0


def test_symlinked_folder_pointing_outside_is_rejected(store: GalleryStore, out_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (out_dir / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(StoreError, match="outside the output folder"):
        store.save_image(nai_png(), folder="link", slot_index=1, slot_name="x")
    assert list(outside.iterdir()) == []


def test_sequence_is_global_per_folder_and_never_reused(store: GalleryStore, out_dir: Path) -> None:
    names = [store.save_image(nai_png(seed=i), folder="s", slot_index=i % 3, slot_name=f"slot{i % 3}").path
             for i in range(5)]
    assert [seq_of(n) for n in names] == [1, 2, 3, 4, 5]
    assert names[0] == "s/000_slot0_0000001.png"
    other = store.save_image(nai_png(), folder="t", slot_index=0, slot_name="slot0")
    assert seq_of(other.path) == 1  # each folder has its own sequence
    # delete the newest for good: its number is not drawn again
    store.delete([names[-1]])
    store.empty_trash()
    assert seq_of(store.save_image(nai_png(), folder="s", slot_index=1, slot_name="x").path) == 6
    # the counter file lost: numbering continues after the highest file present
    (out_dir / "s" / ".peropix-seq").unlink()
    assert seq_of(store.save_image(nai_png(), folder="s", slot_index=1, slot_name="x").path) == 7


def test_files_dropped_in_with_higher_numbers_are_skipped(store: GalleryStore, out_dir: Path) -> None:
    store.save_image(nai_png(), folder="s", slot_index=1, slot_name="a")
    write_file(out_dir / "s" / "001_a_0000002.png", nai_png(seed=99))  # copied in by hand
    saved = store.save_image(nai_png(seed=5), folder="s", slot_index=1, slot_name="a")
    assert saved.path == "s/001_a_0000003.png"
    assert (out_dir / "s" / "001_a_0000002.png").read_bytes() == nai_png(seed=99)  # not overwritten


def test_concurrent_saves_from_threads_get_distinct_numbers(store: GalleryStore, out_dir: Path) -> None:
    got: list[str] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        for i in range(10):
            p = store.save_image(nai_png(seed=k * 100 + i), folder="race", slot_index=k, slot_name="w").path
            with lock:
                got.append(p)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seqs = sorted(seq_of(p) or 0 for p in got)
    assert seqs == list(range(1, 41))
    assert store.count(folder="race") == 40
    assert len(os.listdir(out_dir / "race")) == 41  # 40 images + the counter file
