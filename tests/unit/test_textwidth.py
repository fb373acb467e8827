"""Cell widths and wrapping of CJK text for the command line's help and messages."""

from __future__ import annotations

import argparse

from hypothesis import given
from hypothesis import strategies as st

from peropix_tui.textwidth import CellWidthHelpFormatter, cell_width, wrap


def test_cell_width_counts_wide_characters_twice_and_combining_marks_not_at_all() -> None:
    assert cell_width("prompt") == 6
    assert cell_width("프롬프트") == 8
    assert cell_width("プロンプト") == 10
    assert cell_width("ｱﾝﾗｽ") == 4  # half-width katakana
    assert cell_width("e\u0301") == 1  # e + combining acute
    assert cell_width("ＮＡＩ：") == 8  # full-width forms


def test_korean_breaks_between_words_only() -> None:
    lines = wrap("네거티브 프롬프트는 슬롯마다 다르게 설정할 수 있습니다", 20)
    assert lines == ["네거티브 프롬프트는", "슬롯마다 다르게", "설정할 수 있습니다"]
    assert all(cell_width(line) <= 20 for line in lines)


def test_japanese_breaks_between_characters_but_not_before_closing_punctuation() -> None:
    lines = wrap("ネガティブプロンプトはスロットごとに設定できます。", 22)
    assert lines == ["ネガティブプロンプトは", "スロットごとに設定でき", "ます。"]
    # 10 characters would fit "…足りません", but "。" never starts a line: it takes "ん" along
    assert wrap("アンラスが足りません。ギャラリーを開きます", 20) == ["アンラスが足りませ", "ん。ギャラリーを開き", "ます"]
    assert wrap("「スロット」を選ぶ", 6) == ["「ス", "ロッ", "ト」を", "選ぶ"]  # 「 stays with what follows


def test_english_wraps_as_textwrap_does_and_a_long_word_is_cut() -> None:
    assert wrap("one two three four", 9) == ["one two", "three", "four"]
    assert wrap("/a/very/long/path/to/a/checkpoint.safetensors", 16) == [
        "/a/very/long/pat", "h/to/a/checkpoin", "t.safetensors"]


@given(st.text(alphabet=st.sampled_from(list("ab 。、ーッ「」가나 다漢字カナかなXY  \t")), max_size=80),
       st.integers(min_value=2, max_value=40))
def test_wrapped_lines_fit_and_keep_every_character(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert all(cell_width(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == "".join(text.split())
    assert all(line == line.strip() and line for line in lines)


def test_help_formatter_wraps_translated_help_by_cells() -> None:
    parser = argparse.ArgumentParser(prog="peropix", description="キャラクターの画像セットを量産します。" * 3,
                                     formatter_class=lambda prog: CellWidthHelpFormatter(prog, width=40))
    parser.add_argument("--slot", help="スロットを追加します。" * 4)
    text = parser.format_help()
    assert all(cell_width(line) <= 40 for line in text.splitlines())
    assert "キャラクターの画像セットを量産します。" in "".join(text.split())
