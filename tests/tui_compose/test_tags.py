"""Tag index: tagcomplete CSV import, ranking, aliases, underscores, history, the CLI command."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from peropix_tui.cli import main
from peropix_tui.core import paths
from peropix_tui.core.tags import TagFileError, TagIndex, import_csv, load_index, prompt_tags

CSV = (
    "name,type,count,aliases\n"  # a header row is tolerated
    '1girl,0,5000000,"1girls,sole_female"\n'
    "blue_eyes,0,900000,\n"
    'blush,0,1200000,"blushing"\n'
    "blue_hair,0,700000\n"
    "hatsune_miku,4,80000,\"miku,初音ミク\"\n"
    "^_^,0,30000,\n"
    "\n"
    "blue_sky,0,not-a-number,\n"
)


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    p = tmp_path / "danbooru.csv"
    p.write_text("\ufeff" + CSV, encoding="utf-8")
    return p


def test_load_csv_counts_and_tolerates_header_and_bad_rows(csv_file: Path) -> None:
    index = TagIndex()
    stats = index.load_csv(csv_file)
    assert (stats.tags, stats.aliases) == (6, 5)
    assert stats.skipped == 3  # header, blank line, bad count
    assert index.get("blue eyes") is not None and index.get("blue eyes").count == 900000  # type: ignore[union-attr]


def test_prefix_search_ranked_by_count_with_spaces_for_underscores(csv_file: Path) -> None:
    index = TagIndex()
    index.load_csv(csv_file)
    assert [m.tag for m in index.search("blu")] == ["blush", "blue eyes", "blue hair"]
    assert [m.tag for m in index.search("blue_")] == ["blue eyes", "blue hair"]
    assert index.complete("BLUE E") == "blue eyes"
    assert index.complete("^_") == "^_^"  # kaomoji keep their underscore
    assert index.search("zzz") == [] and index.search("") == []


def test_aliases_find_the_tag_once(csv_file: Path) -> None:
    index = TagIndex()
    index.load_csv(csv_file)
    found = index.search("初音")
    assert [(m.tag, m.alias) for m in found] == [("hatsune miku", "初音ミク")]
    assert [(m.tag, m.alias) for m in index.search("mik")] == [("hatsune miku", None)]  # its own word "miku"
    assert index.complete("初音") == "hatsune miku"
    assert [m.tag for m in index.search("1girl")] == ["1girl"]  # tag and alias 1girls: one entry, direct
    assert index.search("1girl")[0].alias is None
    assert index.complete("sole") == "1girl"


def test_history_ranks_users_tags_first_and_persists(csv_file: Path, tmp_path: Path) -> None:
    index = TagIndex()
    index.load_csv(csv_file)
    index.learn_prompt("1girl, {blue hair}, 1.2::my_oc::, [blue hair]")
    assert [m.tag for m in index.search("blu")][:1] == ["blue hair"]
    assert index.complete("my") == "my oc"
    hist = tmp_path / "tags" / "history.json"
    index.save_history(hist)
    assert json.loads(hist.read_text(encoding="utf-8"))["blue hair"] == 2
    again = TagIndex()
    again.load_csv(csv_file)
    again.load_history(hist)
    assert again.get("blue hair").uses == 2  # type: ignore[union-attr]
    assert again.complete("my") == "my oc"


def test_prompt_tags_strip_syntax() -> None:
    assert prompt_tags("{{cat ears}}, 1.5::red eyes::, (smile:1.2) BREAK __wc__ | [hat]\nsky") == [
        "cat ears", "red eyes", "smile", "hat", "sky",
    ]


def test_bad_csv_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TagFileError, match="bad.csv: not UTF-8"):
        TagIndex().load_csv(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("name,type,count\n", encoding="utf-8")
    with pytest.raises(TagFileError, match="empty.csv: no tags found"):
        TagIndex().load_csv(empty)
    with pytest.raises(TagFileError, match="file not found"):
        TagIndex().load_csv(tmp_path / "nope.csv")


def test_large_csv_loads_and_searches_fast(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    rows = [f"tag_{i:06d},{i % 6},{i},\"alias_{i:06d}\"" for i in range(120_000)]
    big.write_text("\n".join(rows), encoding="utf-8")
    t0 = time.perf_counter()
    index = TagIndex()
    index.load_csv(big)
    index.search("tag 1")
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    found = index.search("tag 0")  # worst case: 100k candidates
    worst_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(20):
        typical = index.search(f"tag 0{i % 10}{i // 10}")  # ~1k candidates, like a 3-letter prefix
    typical_s = (time.perf_counter() - t0) / 20
    assert found[0].tag == "tag 099999"
    assert typical[0].tag == "tag 091999"
    assert index.search("tag 0") is found  # repeated prefixes (backspace) are memoised
    # generous bounds: CI machines are shared; idle figures are ~0.6 s / 0.07 s / 1 ms
    assert load_s < 5.0 and worst_s < 1.0 and typical_s < 0.05, (load_s, worst_s, typical_s)


def test_import_copies_into_data_dir_and_cli_prints_counts(
    csv_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tags", "import", str(csv_file)]) == 0
    out = capsys.readouterr().out
    assert "imported 6 tags and 5 aliases" in out
    stored = paths.data_dir() / "tags" / "danbooru.csv"
    assert stored.is_file()
    index, problems = load_index(stored.parent)
    assert problems == [f"{stored}: skipped 1 row that is not tag,category,count (a bad category or count)"]
    assert index.complete("blus") == "blush"
    assert main(["tags", "search", "blu", "-n", "1"]) == 0
    assert capsys.readouterr().out.startswith("blush\t0\t1200000")
    bad = tmp_path / "bad.csv"
    bad.write_text("", encoding="utf-8")
    assert main(["tags", "import", str(bad)]) == 1
    assert "peropix: error: " in (err := capsys.readouterr().err) and "bad.csv: no tags found" in err
    assert not (stored.parent / "bad.csv").exists()


def test_import_same_name_replaces(csv_file: Path, tmp_path: Path) -> None:
    d = tmp_path / "store"
    import_csv(csv_file, d)
    csv_file.write_text("only_tag,0,5\n", encoding="utf-8")
    stats = import_csv(csv_file, d)
    assert stats.tags == 1 and len(load_index(d)[0]) == 1
