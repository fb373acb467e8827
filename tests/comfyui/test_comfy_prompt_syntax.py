"""NovelAI prompt syntax rewritten as ComfyUI syntax with the same weights."""

from __future__ import annotations

import pytest

from peropix_tui.core.comfyui.prompt import comfy_prompts, nai_segments, nai_to_comfy
from peropix_tui.core.config import LocalConfig
from peropix_tui.core.settings import CharacterPrompt, GenerationSettings


@pytest.mark.parametrize(("nai", "comfy"), [
    ("{cat}", "(cat:1.05)"),
    ("[cat]", "(cat:0.9524)"),
    ("{{cat}}, dog", "(cat:1.1025), dog"),
    ("[[cat]]", "(cat:0.907)"),
    ("{[cat]}", "cat"),
    ("1.5::cat, dog::, bird", "(cat, dog:1.5), bird"),
    ("-2::upscaled, blurry::", "(upscaled, blurry:-2)"),
    ("0::ai-generated::", "(ai-generated:0)"),
    ("1girl, 2::smile::", "1girl, (smile:2)"),
    ("artist (style), {hat (red)}", "artist \\(style\\), (hat \\(red\\):1.05)"),
    ("a { cat } b", "a  (cat:1.05)  b"),
    ("plain text", "plain text"),
    ("", ""),
])
def test_nai_syntax_becomes_comfy_syntax(nai: str, comfy: str) -> None:
    assert nai_to_comfy(nai) == comfy


def test_numeric_weight_inside_braces_multiplies() -> None:
    ((text, weight),) = nai_segments("{2::x::}")
    assert text == "x" and weight == pytest.approx(2.1)


def test_unclosed_brace_weighs_the_rest_and_stray_closer_is_dropped() -> None:
    assert nai_to_comfy("a, {b, c") == "a, (b, c:1.05)"
    assert nai_to_comfy("a } b") == "a  b"


def test_already_escaped_parentheses_are_not_escaped_twice() -> None:
    assert nai_to_comfy("\\(x\\)") == "\\(x\\)"


def test_text_with_colon_keeps_the_appended_weight_last() -> None:
    # ComfyUI takes the weight after the last colon, so "score:9" stays text
    assert nai_to_comfy("{score:9}") == "(score:9:1.05)"


def test_comfy_prompts_adds_characters_presets_and_converts() -> None:
    s = GenerationSettings(prompt="{girl}", uc="[lowres]", uc_preset="light", quality=True,
                           characters=[CharacterPrompt(prompt="red hair", uc="blue hair")])
    presets = LocalConfig(quality_tags="masterpiece, {prompt}", uc_presets={"light": "bad anatomy"})
    pos, neg = comfy_prompts(s, presets)
    assert pos == "masterpiece, (girl:1.05), red hair"
    assert neg == "bad anatomy, (lowres:0.9524), blue hair"
    assert comfy_prompts(s, None) == ("(girl:1.05), red hair", "(lowres:0.9524), blue hair")
