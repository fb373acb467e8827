"""Prompt dialects against case tables: the examples of the prompt-dialects spec plus our own.

Weights are rounded to 4 places; ``BRK`` marks an A1111 chunk break (the ``BREAK`` marker at −1).
"""

from __future__ import annotations

import pytest

from peropix_tui.core.local.schedule import has_schedule, schedule, text_at_counter
from peropix_tui.core.local.weights import PromptSyntaxError, check_dialect, parse, parts

BRK = ("BREAK", "brk")
Expected = list[tuple[str, float] | tuple[str, str]]


def read(prompt: str, dialect: str) -> Expected:
    return [(s.text, "brk") if s.brk else (s.text, round(s.weight, 4)) for s in parse(prompt, dialect)]


I11 = round(1 / 1.1, 4)
I105 = round(1 / 1.05, 4)

A1111 = [
    # spec §4
    ("(cat)", [("cat", 1.1)]),
    ("((cat))", [("cat", 1.21)]),
    ("[cat]", [("cat", I11)]),
    ("[[cat]]", [("cat", 0.8264)]),
    ("{cat}", [("{cat}", 1.0)]),
    ("{[cat]}", [("{", 1.0), ("cat", I11), ("}", 1.0)]),
    ("1.5::cat::", [("1.5::cat::", 1.0)]),
    ("(cat:1.5)", [("cat", 1.5)]),
    ("((cat:1.5))", [("cat", 1.65)]),
    ("((cat):1.5)", [("cat", 1.65)]),
    ("(a (b:1.5) c)", [("a ", 1.1), ("b", 1.65), (" c", 1.1)]),
    ("(cat:1e2)", [("cat:1e2", 1.1)]),
    ("(unbalanced", [("unbalanced", 1.1)]),
    ("((a)", [("a", 1.21)]),
    ("a)b(c)", [("a)b", 1.0), ("c", 1.1)]),
    ("(:1.5)", []),
    ("(a)(b)", [("ab", 1.1)]),
    (r"\[x\]", [("[x]", 1.0)]),
    (r"a\b", [("ab", 1.0)]),
    ("a BREAK b", [("a", 1.0), BRK, ("b", 1.0)]),
    ("(a BREAK b)", [("a", 1.1), ("BREAK", -1.1), ("b", 1.1)]),
    ("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
     [("a ", 1.0), ("house", 1.573), (" ", 1.1), ("on", 1.0), (" a ", 1.1), ("hill", 0.55), (", sun, ", 1.1),
      ("sky", 1.4641), (".", 1.1)]),
    # our own
    ("((cat:1.3))", [("cat", 1.43)]),
    ("[a] b [c", [("a", I11), (" b ", 1.0), ("c", I11)]),  # an unclosed [ weighs the rest
    ("(a, [b", [("a, ", 1.1), ("b", 1.0)]),  # ×1.1 then ÷1.1 to the end
    ("cat BREAK", [("cat", 1.0), BRK]),
    ("BREAK a", [BRK, ("a", 1.0)]),
    ("a BREAK BREAK b", [("a", 1.0), BRK, BRK, ("b", 1.0)]),
    ("a,BREAK,b", [("a,", 1.0), BRK, (",b", 1.0)]),  # BREAK eats whitespace, not commas
    ("BREAKfast", [("BREAKfast", 1.0)]),
    ("(x:1.0)y", [("xy", 1.0)]),  # equal weights merge
    ("(a:1.2)(b:1.2)", [("ab", 1.2)]),
    ("( a : 1.5 )", [(" a ", 1.5)]),  # spaces around the weight
    ("(a:-1)", [("a", -1.0)]),
    (r"\(x\) (y)", [("(x) ", 1.0), ("y", 1.1)]),
    (r"a\\b", [("a\\b", 1.0)]),
    ("a:b", [("a:b", 1.0)]),
    ("x) ]", [("x) ]", 1.0)]),
    ("", []),
]

COMFYUI = [
    # spec §4
    ("(cat)", [("cat", 1.1)]),
    ("((cat))", [("cat", 1.21)]),
    ("[cat]", [("[cat]", 1.0)]),
    ("[[cat]]", [("[[cat]]", 1.0)]),
    ("{cat}", [("{cat}", 1.0)]),
    ("{[cat]}", [("{[cat]}", 1.0)]),
    ("1.5::cat::", [("1.5::cat::", 1.0)]),
    ("(cat:1.5)", [("cat", 1.5)]),
    ("((cat:1.5))", [("cat", 1.5)]),
    ("((cat):1.5)", [("cat", 1.65)]),
    ("(a (b:1.5) c)", [("a ", 1.1), ("b", 1.5), (" c", 1.1)]),
    ("(cat:1e2)", [("cat", 100.0)]),
    ("(x:1.2.3)", [("x:1.2.3", 1.1)]),
    ("(unbalanced", [("(unbalanced", 1.0)]),
    ("((a)", [("(a", 1.1)]),
    ("a)b(c)", [("a)b(c)", 1.0)]),
    ("(:1.5)", [(":1.5", 1.1)]),
    ("(a)(b)", [("a", 1.1), ("b", 1.1)]),
    (r"\[x\]", [(r"\[x\]", 1.0)]),
    (r"a\b", [(r"a\b", 1.0)]),
    ("a BREAK b", [("a BREAK b", 1.0)]),
    ("(a BREAK b)", [("a BREAK b", 1.1)]),
    ("[cat:1.5]", [("[cat:1.5]", 1.0)]),
    ("a [b|c]", [("a [b|c]", 1.0)]),
    ("{a|b}", [("{a|b}", 1.0)]),
    ("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
     [("a ", 1.0), ("(((house:1.3)) [on] a (hill:0.5), sun, (((sky))).", 1.0)]),
    # our own
    (r"\(x\) (y)", [("(x) ", 1.0), ("y", 1.1)]),
    (r"(saber \(fate\):1.2)", [("saber (fate)", 1.2)]),
    ("(a:b:1.3)", [("a:b", 1.3)]),  # the last colon
    ("(x: 1.5 )", [("x", 1.5)]),  # float() accepts spaces
    ("(x:inf)", [("x", float("inf"))]),
    ("(x:1.0)y", [("x", 1.0), ("y", 1.0)]),  # never merged
    ("(a (b) c:1.2)", [("a ", 1.2), ("b", 1.32), (" c", 1.2)]),
    ("", []),
]

NOVELAI = [
    # spec §4 (documented meaning; () are tag text)
    ("(cat)", [("(cat)", 1.0)]),
    ("[cat]", [("cat", I105)]),
    ("[[cat]]", [("cat", 0.907)]),
    ("{cat}", [("cat", 1.05)]),
    ("{{cat}}", [("cat", 1.1025)]),
    ("{[cat]}", [("cat", 1.0)]),
    ("1.5::cat::", [("cat", 1.5)]),
    ("(cat:1.5)", [("(cat:1.5)", 1.0)]),
    # our own
    ("-2::upscaled, blurry::", [("upscaled, blurry", -2.0)]),
    ("0::ai-generated::, x", [("ai-generated", 0.0), (", x", 1.0)]),
    ("x, 2::y", [("x, ", 1.0), ("y", 2.0)]),  # an open region runs to the end
    ("{1.2::x::}", [("x", 1.26)]),  # braces multiply a region inside them
    ("[1.2::x::]", [("x", round(1.2 / 1.05, 4))]),
    ("3.::x::", [("x", 3.0)]),
    (".5::x::", [("x", 0.5)]),
    ("{oops", [("{oops", 1.0)]),
    ("a BREAK b", [("a BREAK b", 1.0)]),
    ("saber (fate), {smile}", [("saber (fate), ", 1.0), ("smile", 1.05)]),
    (r"\{x\}", [("{x}", 1.0)]),
    ("", []),
]

AUTO = [  # the reading kept from before dialects (plus: BREAK never leaves an empty part at the end)
    ("(cat)", [("cat", 1.1)]),
    ("((cat:1.5))", [("cat", 1.5)]),
    ("[cat]", [("cat", I11)]),
    ("{cat} [dog]", [("cat", 1.05), (" ", 1.0), ("dog", I105)]),
    ("1.5::cat::", [("cat", 1.5)]),
    ("(unbalanced", [("(unbalanced", 1.0)]),
    (r"\{x\}", [("{x}", 1.0)]),
]

TABLES = {"a1111": A1111, "comfyui": COMFYUI, "novelai": NOVELAI, "auto": AUTO}
CASES = [(d, p, e) for d, table in TABLES.items() for p, e in table]


@pytest.mark.parametrize(("dialect", "prompt", "expected"), CASES, ids=[f"{d}:{p}" for d, p, _ in CASES])
def test_dialect_case_table(dialect: str, prompt: str, expected: Expected) -> None:
    assert read(prompt, dialect) == expected


def test_a1111_weight_that_is_not_a_number_is_an_error_naming_the_place() -> None:
    with pytest.raises(PromptSyntaxError, match="weight '1.2.3' at character 3"):
        parse("(x:1.2.3)", "a1111")


def test_unknown_dialect_names_the_setting() -> None:
    with pytest.raises(ValueError, match="prompt_dialect: 'sd' is not one of auto, comfyui, a1111, novelai"):
        check_dialect("sd")


def test_auto_break_at_the_edges_leaves_no_empty_part() -> None:
    assert len(parts("cat BREAK", "auto")) == 2  # segments; chunking drops the empty trailing part
    assert [s.text for s in parse("cat BREAK", "auto") if not s.brk] == ["cat "]


SCHEDULES = [  # (prompt, steps, expected [(end step, text)]) — A1111, new scheduling
    ("[a:b:0.5]", 20, [(10, "a"), (20, "b")]),
    ("[a:b:1]", 20, [(1, "a"), (20, "b")]),
    ("[a:b:1.0]", 20, [(20, "a")]),
    ("[a:b:0]", 20, [(20, "b")]),
    ("[a:b:-1]", 20, [(20, "b")]),
    ("[a:b:10]", 20, [(10, "a"), (20, "b")]),
    ("[a::0.25] b", 20, [(5, "a b"), (20, " b")]),
    ("[to:0.5]", 20, [(10, ""), (20, "to")]),
    ("[from::5]", 20, [(5, "from"), (20, "")]),
    ("[cat:1.5]", 20, [(20, "")]),
    ("[a:b:1e1]", 20, [(10, "a"), (20, "b")]),
    ("[a:b: 5 ]", 20, [(5, "a"), (20, "b")]),
    ("a[b:[c:d:2]:1]e", 20, [(1, "abe"), (2, "ace"), (20, "ade")]),
    ("a [unbalanced", 20, [(20, "a [unbalanced")]),
    ("a | b [x:y:3]", 20, [(20, "a | b [x:y:3]")]),  # a bare | makes the whole prompt plain
    ("(red [a:b:2]:1.2)", 4, [(2, "(red a:1.2)"), (4, "(red b:1.2)")]),
    ("[x] (y:1.1) [a:b]", 4, [(4, "[x] (y:1.1) [a:b]")]),  # brackets stay for the attention parser
    ("[a|b]", 4, [(1, "a"), (2, "b"), (3, "a"), (4, "b")]),
    ("[fe|]male", 3, [(1, "female"), (2, "male"), (3, "female")]),
    ("[a|b|c]", 4, [(1, "a"), (2, "b"), (3, "c"), (4, "a")]),
]


@pytest.mark.parametrize(("prompt", "steps", "expected"), SCHEDULES, ids=[p for p, _, _ in SCHEDULES])
def test_a1111_schedule_case_table(prompt: str, steps: int, expected: list[tuple[int, str]]) -> None:
    assert schedule(prompt, steps) == expected


def test_hires_pass_maps_when_past_the_base_steps() -> None:
    assert schedule("[a:b:1.5]", 10, base_steps=20) == [(5, "a"), (10, "b")]
    assert schedule("[a:b:0.5]", 10, base_steps=20) == [(10, "b")]
    assert schedule("[a:b:25]", 10, base_steps=20) == [(5, "a"), (10, "b")]


def test_runtime_counter_from_zero_picks_the_first_entry_at_or_after_it() -> None:
    plan = schedule("[a:b:10]", 20)
    assert [text_at_counter(plan, k) for k in range(21)] == ["a"] * 11 + ["b"] * 10
    alt = schedule("[a|b]", 6)
    assert [text_at_counter(alt, k) for k in range(6)] == ["a", "a", "b", "a", "b", "a"]


def test_has_schedule() -> None:
    assert has_schedule("x [a:b:0.5]") and has_schedule("[a|b]")
    assert not has_schedule("(x:1.2) [y]") and not has_schedule("a | b [x:y:3]")


HIGHLIGHT = [  # (prompt, dialect, text, expected weight of that text in the editor)
    ("((cat:1.3))", "a1111", "cat", 1.43),  # nested explicit weights multiply in A1111
    ("((cat:1.3))", "comfyui", "cat", 1.3),
    ("[1.2::x::]", "novelai", "x", round(1.2 / 1.05, 4)),
    ("3.::x::", "novelai", "x", 3.0),
    ("(red,\nblue)", "a1111", "blue", 1.1),  # brackets across lines
    ("{a,\n{b}}", "novelai", "b", 1.1025),
    ("[a:b:0.5] (c)", "a1111", "c", 1.1),
]


@pytest.mark.parametrize(("prompt", "dialect", "text", "weight"), HIGHLIGHT)
def test_highlighter_weights_are_the_engines(prompt: str, dialect: str, text: str, weight: float) -> None:
    from peropix_tui.core.local.highlight import spans

    at = prompt.index(text)
    (span,) = [s for s in spans(prompt, dialect) if s.start <= at < s.end]
    assert span.kind == "text" and round(span.weight, 4) == weight
    if dialect != "a1111" or "[" not in prompt:  # the same parse feeds the engine
        assert [round(seg.weight, 4) for seg in parse(prompt, dialect) if text in seg.text] == [weight]


def test_highlighter_marks_syntax_the_dialect_reads_as_text() -> None:
    from peropix_tui.core.local.highlight import spans

    def kinds(prompt: str, dialect: str) -> dict[str, str]:
        return {prompt[s.start : s.end]: s.kind for s in spans(prompt, dialect)}

    assert kinds("{x} BREAK", "comfyui")["{"] == "literal" and kinds("{x} BREAK", "comfyui")["BREAK"] == "literal"
    assert kinds("(x)", "novelai")["("] == "literal"
    assert kinds("a BREAK b", "a1111")["BREAK"] == "break"
    assert kinds("1.5::x::", "a1111")["::"] == "literal"
    assert kinds(r"\(x\)", "comfyui")["\\"] == "escape"
    assert kinds("(x:1.2.3)", "a1111") == {"(x:1.2.3)": "error"}


def test_a1111_and_splits_sub_prompts_with_trailing_weights() -> None:
    from peropix_tui.core.local.schedule import split_and

    assert split_and("a cat AND a dog:0.5") == [("a cat", 1.0), (" a dog", 0.5)]  # as A1111: leading space kept
    assert split_and("a photo of cat:1.5") == [("a photo of cat", 1.5)]
    assert split_and("(cat:1.5)") == [("(cat:1.5)", 1.0)]  # a weight inside brackets is attention
    assert split_and("BANDANA, sand") == [("BANDANA, sand", 1.0)]  # AND is a whole word, upper case
    assert split_and("x and y") == [("x and y", 1.0)]


def test_highlighter_marks_and_and_sub_prompt_weights() -> None:
    from peropix_tui.core.local.highlight import spans

    prompt = "cat AND dog:0.5"
    found = {prompt[s.start : s.end]: s.kind for s in spans(prompt, "a1111")}
    assert found["AND"] == "pipe" and found[":0.5"] == "weight" and found[" dog"] == "text"
    assert {prompt[s.start : s.end]: s.kind for s in spans(prompt, "comfyui")} == {prompt: "text"}


@pytest.mark.parametrize("dialect", ["auto", "comfyui", "a1111", "novelai"])
@pytest.mark.parametrize("opener,closer", [("(", ")"), ("[", "]"), ("{", "}")])
def test_deep_nesting_is_a_syntax_error_not_a_crash(dialect: str, opener: str, closer: str) -> None:
    from peropix_tui.core.local.highlight import spans
    from peropix_tui.core.local.weights import MAX_NESTING, PromptSyntaxError, parse

    hostile = opener * 1000 + "x" + closer * 1000
    with pytest.raises(PromptSyntaxError, match="nested more than"):
        parse(hostile, dialect)
    spans(hostile, dialect)  # the editor's highlighter falls back instead of raising
    ok = opener * MAX_NESTING + "x" + closer * MAX_NESTING
    assert [s.text for s in parse(ok, dialect) if s.text.strip()]


@pytest.mark.parametrize("when", ["9" * 400, "1e999", "9" * 400 + ".5"])
def test_prompt_editing_with_a_huge_switch_step_never_switches(when: str) -> None:
    from peropix_tui.core.local.schedule import schedule

    assert [text for _, text in schedule(f"[cat:dog:{when}]", 20)] == ["cat"]
