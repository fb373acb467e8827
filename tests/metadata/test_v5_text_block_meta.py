"""V5 ``, teXt: …`` (composed from quoted phrases after the quality tags) is taken back out on read."""

from __future__ import annotations

import json

import pytest

from peropix_tui.core.metadata import png, read_metadata, write_novelai_png
from peropix_tui.core.nai import presets, request
from peropix_tui.core.settings import CharacterPrompt, GenerationSettings

from .util import noise_image, png_bytes

V5 = "nai-diffusion-5-full"


def _v5(**changes: object) -> GenerationSettings:
    s = GenerationSettings(model=V5, prompt='1girl, holding a sign, "Hello world"', uc="lowres", quality=True,
                           characters=[CharacterPrompt(prompt="boy, shouting “Nice!”", position="B2")], seed=9)
    return s.copy(**changes)


def _round_trip(s: GenerationSettings) -> tuple[GenerationSettings, str]:
    data = write_novelai_png(noise_image(), s, seed=9)
    sent = json.loads(png.read_text(data)["Comment"])["prompt"]
    return read_metadata(data).settings, sent


@pytest.mark.parametrize("quality", [True, False])
def test_composed_text_block_is_taken_off(quality: bool) -> None:
    s = _v5(quality=quality)
    back, sent = _round_trip(s)
    assert sent.endswith(", teXt: Hello world\n\nNice!")  # the writer's prompt is what the website sends
    assert (back.prompt, back.quality) == (s.prompt, quality)
    assert back == s
    assert request.final_prompt(back) == sent  # restoring it sends the same prompt again


def test_text_block_with_transparency_and_no_characters() -> None:
    s = _v5(characters=[], transparent=True, prompt="cafe menu, 'OPEN'")
    back, sent = _round_trip(s)
    assert "transparent background" in sent and sent.endswith(", teXt: OPEN")
    assert (back.prompt, back.transparent, back.quality) == ("cafe menu, 'OPEN'", True, True)


def test_explicit_text_is_the_users_and_stays() -> None:
    s = _v5(prompt='poster, Text: "SALE"', characters=[])
    back, sent = _round_trip(s)
    assert ", teXt: " not in sent and back.prompt == s.prompt


def _novelai_v5(sent: str) -> GenerationSettings:
    comment = {"prompt": sent, "uc": "", "seed": 1, "steps": 28}
    r = read_metadata(png_bytes(noise_image(), {"Software": "NovelAI", "Comment": json.dumps(comment),
                                               "Source": "NovelAI Diffusion V5 DEADBEEF"}))
    assert r.settings.model.startswith("nai-diffusion-5")
    return r.settings


def test_novelai_comment_with_the_composed_block() -> None:
    s = _novelai_v5('sign, "Hi"' + presets.quality_suffix(V5) + ", teXt: Hi")
    assert (s.prompt, s.quality) == ('sign, "Hi"', True)


def test_a_text_block_that_is_not_the_composed_one_is_kept_as_written() -> None:
    """A NovelAI Comment whose ``teXt:`` block does not match the quoted phrases: part of the prompt."""
    sent = "sign" + presets.quality_suffix(V5) + ", teXt: Something else"
    s = _novelai_v5(sent)
    assert s.prompt == sent and s.quality is False
