"""Japanese and Korean aliases in tag search: the in-app TagIndex and the SQLite index agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from peropix_tui.cli import main
from peropix_tui.core import paths
from peropix_tui.core.tag_db import open_index
from peropix_tui.core.tag_keys import normalize, normalize_query, word_starts
from peropix_tui.core.tags import TagFileError, TagIndex, load_index

CSV = (
    'smile,0,100000,"笑顔,えがお,미소"\n'
    'light_smile,0,50000,"微笑み,ほほえみ"\n'
    'smiley_face,0,2000,"웃는 얼굴,ｽﾏｲﾙ"\n'
    'hatsune_miku,4,80000,"miku,初音ミク"\n'
    'long_hair,0,900000,"長髪,ロングヘア,긴 머리"\n'
    'v,0,3000,"ピース,ＶＳｉｇｎ"\n'
)

# (typed, the tags found in order, the alias each was found through)
CASES = [
    ("笑", [("smile", "笑顔"), ("light smile", "微笑み")]),  # a kanji starts a word inside 微笑み
    ("笑顔", [("smile", "笑顔")]),
    ("えが", [("smile", "えがお")]),
    ("エガ", [("smile", "えがお")]),  # katakana finds a hiragana alias
    ("ｴｶﾞ", [("smile", "えがお")]),  # half-width katakana (NFKC)
    ("미", [("smile", "미소")]),
    ("얼", [("smiley face", "웃는 얼굴")]),  # a later Hangul word; the whole alias is named
    ("웃는 ", [("smiley face", "웃는 얼굴")]),
    ("すま", [("smiley face", "ｽﾏｲﾙ")]),  # hiragana finds a half-width katakana alias, shown as written
    ("ミク", [("hatsune miku", "初音ミク")]),  # kana after a kanji starts a word
    ("みく", [("hatsune miku", "初音ミク")]),
    ("ロング", [("long hair", "ロングヘア")]),
    ("긴", [("long hair", "긴 머리")]),
    ("ｌｏｎｇ", [("long hair", None)]),  # full-width Latin is the tag itself
    ("vs", [("v", "ＶＳｉｇｎ")]),
    ("ぴーす", [("v", "ピース")]),
]


@pytest.fixture
def tag_dir(tmp_path: Path) -> Path:
    d = tmp_path / "tags"
    d.mkdir()
    (d / "cjk.csv").write_text(CSV, encoding="utf-8")
    return d


def test_keys_fold_width_case_and_kana() -> None:
    assert normalize("ｴｶﾞｵ") == normalize("えがお") == normalize("エガオ") == "えがお"
    assert normalize("ＬＯＮＧ＿ＨＡＩＲ") == "long hair"
    assert normalize("웃는\u3000얼굴") == "웃는 얼굴"
    assert normalize_query("웃는\u3000") == "웃는 "  # an ideographic space typed last is kept, as a space
    assert word_starts(normalize("初音ミク")) == [0, 1, 2]
    assert word_starts("えがお") == [0] and word_starts("웃는 얼굴") == [0, 3]
    assert word_starts("ろんぐへあー") == [0]


@pytest.mark.parametrize(("typed", "expected"), CASES)
def test_japanese_and_korean_aliases_are_found_in_both_indexes(
    tag_dir: Path, tmp_path: Path, typed: str, expected: list[tuple[str, str | None]]
) -> None:
    index, problems = load_index(tag_dir)
    assert problems == []
    assert [(m.tag, m.alias) for m in index.search(typed)] == expected
    db = open_index(tag_dir, tmp_path / "index.sqlite")
    try:
        assert db.search(typed) == index.search(typed)
    finally:
        db.close()


def test_history_of_japanese_tags_ranks_them_first_in_both(tag_dir: Path, tmp_path: Path) -> None:
    (tag_dir / "history.json").write_text('{"笑い": 3, "smiley face": 2}', encoding="utf-8")
    index, _ = load_index(tag_dir)
    db = open_index(tag_dir, tmp_path / "index.sqlite")
    try:
        for typed in ("笑", "ワラ", "わら", "スマ", "얼"):
            assert db.search(typed) == index.search(typed), typed
        assert [m.tag for m in index.search("笑")] == ["笑い", "smile", "light smile"]
        assert index.search("すま")[0].uses == 2
    finally:
        db.close()


def test_ghost_text_only_for_the_tag_itself() -> None:
    index = TagIndex()
    index.add("smile", 0, 100, ["笑顔"])
    index.add("笑い", 0, 5)
    assert index.complete("笑") == "smile"  # the best match, through its alias
    assert index.complete_direct("笑") == "笑い"


def test_cli_search_prints_the_tag_and_the_alias(capsys: pytest.CaptureFixture[str]) -> None:
    tags = paths.data_dir() / "tags"
    tags.mkdir(parents=True)
    (tags / "cjk.csv").write_text(CSV, encoding="utf-8")
    assert main(["tags", "search", "えが"]) == 0
    assert capsys.readouterr().out.splitlines() == ["smile\t0\t100000  (alias えがお)"]
    assert main(["tags", "search", "ﾛﾝｸﾞ"]) == 0
    assert capsys.readouterr().out.splitlines() == ["long hair\t0\t900000  (alias ロングヘア)"]


@pytest.mark.parametrize(("language", "text"), [("ko", "파일이 없습니다"), ("ja", "ファイルが見つかりません")])
def test_tag_file_errors_are_translated(tmp_path: Path, language: str, text: str) -> None:
    from peropix_tui import i18n

    i18n.set_language(language)
    try:
        with pytest.raises(TagFileError) as caught:
            TagIndex().load_csv(tmp_path / "nope.csv")
        assert str(caught.value) == f"{tmp_path / 'nope.csv'}: {text}"
        bad = tmp_path / "bad.csv"
        bad.write_text("solo,0,3000\nhuge,0,1e999\n", encoding="utf-8")
        problem = TagIndex().load_csv(bad).problem()
        assert problem is not None and "tag,category,count" in problem and "skipped" not in problem
    finally:
        i18n.set_language("en")
