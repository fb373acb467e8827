"""Prompt tokenizer (both dialects), unbalanced marks, unicode, fragments, wildcards."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from peropix_tui.core.prompt import (
    WildcardError,
    expand_settings,
    expand_wildcards,
    fragment_at,
    tokenize,
    unbalanced,
)


def pieces(text: str, dialect: str = "nai") -> list[tuple[str, str, float, int]]:
    return [(text[s.start : s.end], s.kind, round(s.weight, 4), s.depth) for s in tokenize(text, dialect)]


def test_spans_cover_the_text_without_gaps() -> None:
    text = "1girl, {{blue eyes}}, [hat] | 1.5::red::, __pose__ BREAK \\(x\\)"
    spans = tokenize(text)
    assert spans[0].start == 0 and spans[-1].end == len(text)
    assert all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))


def test_nai_braces_and_brackets_multiply_per_level() -> None:
    got = {p[0]: p for p in pieces("{{blue eyes}}, [[hat]]")}
    assert got["blue eyes"][2:] == (round(1.05**2, 4), 2)
    assert got["hat"][2:] == (round(1.05**-2, 4), 2)


def test_nai_numeric_weight_region_ends_at_double_colon() -> None:
    got = pieces("cat, 1.5::red hair::, dog, -1::ugly")
    assert ("1.5::", "weight", 1.5, 0) in got
    assert ("red hair", "text", 1.5, 0) in got
    assert (" dog", "text", 1.0, 0) in got
    assert ("ugly", "text", -1.0, 0) in got  # unterminated region runs to the end
    assert [s.level for s in tokenize("-1::ugly") if s.kind == "text"] == [-1]


def test_sd_parens_and_explicit_weight() -> None:
    got = pieces("(cat:1.2), ((dog)), [x]", "sd")
    assert ("cat", "text", 1.2, 1) in got
    assert (":1.2", "weight", 1.2, 1) in got
    assert ("dog", "text", round(1.1**2, 4), 2) in got
    assert ("x", "text", round(1 / 1.1, 4), 1) in got


def test_dialects_read_the_other_brackets_literally() -> None:
    assert ("(cat)", "text", 1.0, 0) in pieces("(cat)", "nai")
    assert ("{cat}", "text", 1.0, 0) in pieces("{cat}", "sd")


def test_auto_dialect_reads_everything_like_the_local_engine() -> None:
    got = pieces("{a}, (b), (c:1.3), [d], 2::e::", "auto")
    assert ("a", "text", 1.05, 1) in got and ("b", "text", 1.1, 1) in got
    assert ("c", "text", 1.3, 1) in got and ("e", "text", 2.0, 0) in got
    assert ("d", "text", round(1 / 1.05, 4), 1) in got  # NovelAI syntax present: [] is ÷1.05
    assert ("d", "text", round(1 / 1.1, 4), 1) in pieces("(b), [d]", "auto")  # otherwise A1111's ÷1.1


def test_unbalanced_brackets_are_errors_and_do_not_emphasise() -> None:
    got = pieces("{unclosed, ]stray, [ok]")
    assert got[0] == ("{", "error", 1.0, 0)
    assert ("]", "error", 1.0, 0) in got
    assert ("ok", "text", round(1 / 1.05, 4), 1) in got
    assert unbalanced("{a]}") == [2]  # ] does not close {, the } does
    assert unbalanced("{[a}]") == [0, 3]  # crossed: } cannot close [, and { is left open
    assert unbalanced("{a}") == []


def test_break_wildcard_pipe_comma_escape_kinds() -> None:
    kinds = {p[0]: p[1] for p in pieces(r"a BREAK b | __hair_color__, \{x\}", "sd")}
    assert kinds["BREAK"] == "break"
    assert kinds["|"] == "pipe"
    assert kinds["__hair_color__"] == "wildcard"
    assert kinds[","] == "comma"
    assert kinds["\\{"] == "escape"
    assert "BREAKING" in "".join(p[0] for p in pieces("BREAKING") if p[1] == "text")


def test_escaped_brackets_do_not_open_groups() -> None:
    assert unbalanced(r"\{not a group") == []
    assert ("x", "text", 1.0, 0) in pieces(r"\{x\}")


def test_unicode_offsets_are_characters() -> None:
    text = "猫耳, {猫😺}"
    got = pieces(text)
    assert ("猫😺", "text", 1.05, 1) in got
    span = next(s for s in tokenize(text) if text[s.start : s.end] == "猫😺")
    assert (span.start, span.end) == (5, 7)


def test_fragment_at_cursor() -> None:
    assert fragment_at("1girl, {blu", 11).text == "blu"
    assert fragment_at("1girl, {blu", 11).start == 8
    assert fragment_at("a, 1.5::re", 10).text == "re"
    assert fragment_at("long hair", 9).text == "long hair"
    assert fragment_at("x,  ", 4).text == ""


def write(p: Path, text: str) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def test_wildcards_expand_nested_and_skip_comments(tmp_path: Path) -> None:
    write(tmp_path / "color.txt", "# colours\nred\n\nblue\n")
    write(tmp_path / "hair.txt", "__color__ hair\n")
    write(tmp_path / "sub/pose.txt", "sitting\n")
    out = expand_wildcards("1girl, __hair__, __sub/pose__", tmp_path, random.Random(1))
    assert out in ("1girl, red hair, sitting", "1girl, blue hair, sitting")
    seen = {expand_wildcards("__color__", tmp_path, random.Random(i)) for i in range(20)}
    assert seen == {"red", "blue"}


def test_expand_settings_draws_per_call_and_leaves_plain_settings_alone(tmp_path: Path) -> None:
    from peropix_tui.core.settings import CharacterPrompt, GenerationSettings

    write(tmp_path / "mood.txt", "happy\nsad\n")
    plain = GenerationSettings(prompt="1girl")
    assert expand_settings(plain, tmp_path, random.Random(0)) is plain
    s = GenerationSettings(prompt="1girl, __mood__", uc="__mood__", characters=[CharacterPrompt("boy, __mood__")])
    rng = random.Random(3)
    drawn = {expand_settings(s, tmp_path, rng).prompt for _ in range(20)}
    assert drawn == {"1girl, happy", "1girl, sad"}
    one = expand_settings(s, tmp_path, rng)
    assert "__" not in one.uc + one.characters[0].prompt
    assert s.prompt == "1girl, __mood__"  # the workspace keeps its wildcards


def test_wildcard_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(WildcardError, match="missing.txt not found"):
        expand_wildcards("__missing__", tmp_path, random.Random(0))
    write(tmp_path / "empty.txt", "# nothing\n")
    with pytest.raises(WildcardError, match="has no options"):
        expand_wildcards("__empty__", tmp_path, random.Random(0))
    write(tmp_path / "loop.txt", "__loop__\n")
    with pytest.raises(WildcardError, match="nested deeper"):
        expand_wildcards("__loop__", tmp_path, random.Random(0))
    with pytest.raises(WildcardError, match="outside"):
        expand_wildcards("__../color__", tmp_path / "sub", random.Random(0))
