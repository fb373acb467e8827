"""``peropix gallery``: reindex (the contract), sync, list, folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from store_helpers import nai_png, write_file

from peropix_tui.cli import main


def _files(out_dir: Path) -> None:
    write_file(out_dir / "s1" / "001_happy_0000001.png", nai_png("1girl, blue_hair, smile", seed=11))
    write_file(out_dir / "s1" / "002_sad_0000002.png", nai_png("1girl, crying", seed=12))
    write_file(out_dir / "s2" / "000_x_0000001.png", nai_png("landscape", seed=13))


def test_gallery_reindex_prints_counts_and_time(out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _files(out_dir)
    assert main(["gallery", "reindex"]) == 0
    out = capsys.readouterr().out
    assert "indexed 3 images in 2 folders" in out
    assert "images/s" in out and str(out_dir) in out
    assert main(["gallery", "sync"]) == 0
    assert "0 added, 0 updated, 0 moved, 0 removed, 3 unchanged" in capsys.readouterr().out


def test_gallery_list_json_search_and_folder(out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _files(out_dir)
    assert main(["gallery", "list", "--search", "1girl", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["path"] for r in records} == {"s1/001_happy_0000001.png", "s1/002_sad_0000002.png"}
    assert {r["seed"] for r in records} == {11, 12}
    assert all(r["width"] == 64 and r["folder"] == "s1" for r in records)
    assert main(["gallery", "list", "--folder", "s2"]) == 0
    out = capsys.readouterr().out
    assert "s2/000_x_0000001.png" in out and "1 of 1 images" in out


def test_gallery_folders(out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _files(out_dir)
    (out_dir / "empty").mkdir()
    assert main(["gallery", "folders"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split() for ln in lines] == [["0", "empty"], ["2", "s1"], ["1", "s2"]]


def test_gallery_reindex_on_an_empty_output_dir(out_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gallery", "reindex"]) == 0
    assert "indexed 0 images in 0 folders" in capsys.readouterr().out
    assert out_dir.is_dir()
