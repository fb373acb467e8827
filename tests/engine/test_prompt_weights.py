"""Prompt emphasis syntax (ComfyUI, A1111, NovelAI) → weighted segments."""

from __future__ import annotations

import pytest

from peropix_tui.engine.prompt_weights import Segment, parse_prompt


def one(prompt: str, dialect: str = "auto") -> list[tuple[str, float]]:
    parts = parse_prompt(prompt, dialect)  # type: ignore[arg-type]
    assert len(parts) == 1
    return [(s.text, round(s.weight, 6)) for s in parts[0]]


def test_plain_text_is_one_neutral_segment() -> None:
    assert one("1girl, solo") == [("1girl, solo", 1.0)]


def test_empty_prompt_is_one_empty_part() -> None:
    assert parse_prompt("") == [[]]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a (b:1.2), c", [("a ", 1.0), ("b", 1.2), (", c", 1.0)]),
        ("(x)", [("x", 1.1)]),
        ("((x))", [("x", 1.21)]),
        ("(x:0.5)", [("x", 0.5)]),
        # ComfyUI: an explicit weight is absolute, inner groups override outer ones
        ("(a (b:1.5):1.3) d", [("a ", 1.3), ("b", 1.5), (" d", 1.0)]),
        ("((b:1.5))", [("b", 1.5)]),
        ("(x:foo)", [("x:foo", 1.1)]),
        ("(red hair:1.2), (blue eyes:0.8)", [("red hair", 1.2), (", ", 1.0), ("blue eyes", 0.8)]),
    ],
)
def test_comfyui_parentheses(prompt: str, expected: list[tuple[str, float]]) -> None:
    assert one(prompt) == expected


def test_a1111_square_brackets_divide_by_1_1() -> None:
    assert one("[x] y") == [("x", round(1 / 1.1, 6)), (" y", 1.0)]
    assert one("[[x]]") == [("x", round(1 / 1.21, 6))]


def test_nai_braces_and_brackets_use_1_05() -> None:
    assert one("{x}") == [("x", 1.05)]
    assert one("{{x}}") == [("x", 1.1025)]
    # a prompt with NAI syntax reads [x] the NovelAI way
    assert one("{x} [y]") == [("x", 1.05), (" ", 1.0), ("y", round(1 / 1.05, 6))]
    assert one("[y]", "novelai") == [("y", round(1 / 1.05, 6))]


def test_nai_numeric_emphasis() -> None:
    assert one("1.5::blue hair::, red") == [("blue hair", 1.5), (", red", 1.0)]
    assert one("-1::bad:: ok") == [("bad", -1.0), (" ok", 1.0)]
    assert one("x, 2::y") == [("x, ", 1.0), ("y", 2.0)]  # an open region runs to the end
    assert one("0.5::{y}::") == [("y", 0.525)]  # braces multiply inside a region


def test_escapes_are_literal() -> None:
    assert one(r"\(x\) (y)") == [("(x) ", 1.0), ("y", 1.1)]
    assert one(r"smile \{tag\} \[a\]") == [("smile {tag} [a]", 1.0)]
    assert one(r"a\\b") == [("a\\b", 1.0)]


def test_unmatched_brackets_stay_text() -> None:
    assert one("(unclosed") == [("(unclosed", 1.0)]
    assert one("closed)") == [("closed)", 1.0)]
    assert one("(a] b") == [("(a] b", 1.0)]


def test_equal_weights_stay_separate_segments() -> None:
    assert one("(x:1.0)y") == [("x", 1.0), ("y", 1.0)]
    assert one("foo::bar") == [("foo", 1.0), ("bar", 1.0)]  # a bare "::" ends a region, never glues words


def test_break_splits_parts() -> None:
    assert parse_prompt("a BREAK b") == [[Segment("a ", 1.0)], [Segment(" b", 1.0)]]
    assert parse_prompt("a,BREAK,(b)") == [[Segment("a,", 1.0)], [Segment(",", 1.0), Segment("b", 1.1)]]
    assert parse_prompt("(a BREAK b)") == [[Segment("a ", 1.1)], [Segment(" b", 1.1)]]
    assert one("BREAKfast, break") == [("BREAKfast, break", 1.0)]
