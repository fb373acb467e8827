"""Tag index: tagcomplete CSV import, ranking, aliases, underscores, history, the CLI command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peropix_tui.cli import main
from peropix_tui.core import paths
from peropix_tui.core.tag_db import open_index
from peropix_tui.core.tags import TagFileError, TagIndex, escape_tag, import_csv, load_index, prompt_tags

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


def test_large_csv_search_ranks_by_count_and_the_sqlite_index_agrees(tmp_path: Path) -> None:
    tags = tmp_path / "tags"
    tags.mkdir()
    rows = [f"tag_{i:06d},{i % 6},{i},\"alias_{i:06d}\"" for i in range(30_000)]
    (tags / "big.csv").write_text("\n".join(rows), encoding="utf-8")
    index, problems = load_index(tags)
    assert problems == [] and len(index) == 30_000
    found = index.search("tag 0")  # 30k candidates
    assert [m.tag for m in found[:2]] == ["tag 029999", "tag 029998"]
    assert index.search("tag 0") is found  # repeated prefixes (backspace) are memoised
    assert index.search("tag 00")[0].tag == "tag 009999"
    assert [(m.tag, m.alias) for m in index.search("alias 0001")][:1] == [("tag 000199", "alias 000199")]
    db = open_index(tags, tmp_path / "index.sqlite")
    for prefix in ("t", "ta", "tag", "tag 0", "tag 00", "tag 0012", "0012", "alias 00", "a", "zz", "tag_09999"):
        assert db.search(prefix, 10) == index.search(prefix, 10), prefix
    db.close()


def test_sqlite_index_is_rebuilt_only_when_the_csvs_change(csv_file: Path, tmp_path: Path) -> None:
    tags = tmp_path / "tags"
    import_csv(csv_file, tags)
    db_path = tmp_path / "index.sqlite"
    open_index(tags, db_path).close()
    built = db_path.stat().st_mtime_ns
    open_index(tags, db_path).close()
    assert db_path.stat().st_mtime_ns == built  # unchanged CSVs: the file is reused
    (tags / "extra.csv").write_text("zebra_stripes,0,77\n", encoding="utf-8")
    db = open_index(tags, db_path)
    assert [m.tag for m in db.search("zebra")] == ["zebra stripes"]
    db.close()
    (tags / "history.json").write_text(json.dumps({"blue hair": 3, "my_oc": 2}), encoding="utf-8")
    db = open_index(tags, db_path)  # history is read at query time, ranked first as in TagIndex
    index, _ = load_index(tags)
    assert [m.tag for m in db.search("blu")] == [m.tag for m in index.search("blu")]
    assert db.search("blu")[0].tag == "blue hair" and db.search("my")[0].tag == "my oc"
    db.close()


def test_overflowing_counts_and_bad_files_do_not_break_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tags = paths.data_dir() / "tags"
    tags.mkdir(parents=True)
    (tags / "good.csv").write_text(
        "name,type,count\nsolo,0,3000\nhuge,0,1e999\nnotanumber,0,nan\nlong_hair,0,2000\n", encoding="utf-8")
    (tags / "binary.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    (tags / "folder.csv").mkdir()
    index, problems = load_index(tags)
    assert [m.tag for m in index.search("so")] == ["solo"]
    names = ("binary.csv", "folder.csv", "good.csv")  # one line per file, naming it
    assert [p.split(": ")[0] for p in problems] == [str(tags / n) for n in names]
    assert f"{tags / 'good.csv'}: skipped 2 rows" in problems[2]
    assert main(["tags", "search", "hair"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("long hair\t0\t2000")
    assert sum("good.csv" in line for line in captured.err.splitlines()) == 1
    assert "binary.csv" in captured.err and "folder.csv" in captured.err


def test_trailing_underscore_and_space_are_kept() -> None:
    index = TagIndex()
    for tag, count in (("breasts", 9000), ("o_o", 50), ("oppai", 10), ("hair_ornament", 400), ("hair", 5)):
        index.add(tag, 0, count)
    assert index.complete("o_") == "o_o"
    assert [m.tag for m in index.search("hair_")] == ["hair ornament"]
    assert [m.tag for m in index.search("hair")] == ["hair ornament", "hair"]


def test_matches_at_any_word_start_ranked_by_count_then_own_use() -> None:
    index = TagIndex()
    for tag, count in (("long_hair", 5000), ("blue_hair", 3000), ("hair_ornament", 4000), ("chair", 9000),
                       ("1girl", 8000)):
        index.add(tag, 0, count)
    assert [m.tag for m in index.search("hair")] == ["long hair", "hair ornament", "blue hair"]  # not "chair"
    assert index.search("girl")[0].tag == "1girl"  # a letter after a digit starts a word, as tagcomplete
    index.learn(["blue hair"])
    assert [m.tag for m in index.search("hair")][0] == "blue hair"


def test_ghost_text_falls_back_to_the_best_direct_match() -> None:
    index = TagIndex()
    index.add("1girl", 0, 5_000_000, ["sole_female"])
    index.add("solo", 0, 4_000_000)
    index.add("boots", 0, 300_000)
    index.add("thighhighs", 0, 900_000, ["boot_socks"])
    assert index.complete("sol") == "1girl"  # the best match overall is through an alias
    assert index.complete_direct("sol") == "solo"
    assert index.complete_direct("boo") == "boots"
    assert index.complete_direct("zzz") is None


def test_escape_tag_per_dialect() -> None:
    assert escape_tag("saber (fate)", "a1111") == r"saber \(fate\)"
    assert escape_tag("saber (fate)", "comfyui") == r"saber \(fate\)"
    assert escape_tag("[a] (b)", "a1111") == r"\[a\] \(b\)"
    assert escape_tag("[a] (b)", "comfyui") == r"[a] \(b\)"  # ComfyUI honours only \( and \)
    assert escape_tag("saber (fate)", "nai") == "saber (fate)"
    assert escape_tag("saber (fate)", "novelai") == "saber (fate)"


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


def test_sqlite_index_agrees_with_the_in_memory_index_on_random_prefixes(tmp_path: Path) -> None:
    import random
    import string

    rng = random.Random(3)
    tags = tmp_path / "tags"
    tags.mkdir()
    rows = []
    for i in range(4000):
        name = "_".join("".join(rng.choices("abcde", k=rng.randint(1, 4))) for _ in range(rng.randint(1, 3)))
        alias = "".join(rng.choices(string.ascii_lowercase[:6], k=3))
        rows.append(f'{name},{i % 5},{rng.randint(0, 50)},"{alias},{name}_x"')  # ties in count on purpose
    (tags / "t.csv").write_text("\n".join(rows), encoding="utf-8")
    (tags / "history.json").write_text(json.dumps({rows[5].split(",")[0]: 2, "my_own_tag": 1}), encoding="utf-8")
    index, _ = load_index(tags)
    db = open_index(tags, tmp_path / "i.sqlite")
    prefixes = ["".join(rng.choices("abcdef _", k=rng.randint(1, 5))) for _ in range(300)] + ["my", "x", "a_"]
    for p in prefixes:
        for limit in (1, 10):
            assert db.search(p, limit) == index.search(p, limit), (p, limit)
    db.close()
