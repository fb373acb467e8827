"""Quality tags and UC presets: exact texts, the nsfw rule, and apply -> strip/detect round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peropix_tui.core.nai import presets
from peropix_tui.core.nai.models import MODELS
from peropix_tui.core.nai.presets import (
    apply_quality,
    apply_uc_preset,
    detect_uc_preset,
    strip_quality,
    uc_preset_number,
    uc_presets_for,
)


def test_exact_quality_suffixes() -> None:
    assert apply_quality("1girl", "nai-diffusion-4-5-full") == "1girl, very aesthetic, masterpiece, no text"
    assert apply_quality("1girl", "nai-diffusion-4-5-curated") == (
        "1girl, very aesthetic, location, masterpiece, no text, -0.8::feet::, rating:general")
    assert apply_quality("a", "nai-diffusion-4-full") == "a, no text, best quality, very aesthetic, absurdres"
    assert apply_quality("a", "nai-diffusion-3") == "a, best quality, amazing quality, very aesthetic, absurdres"
    assert apply_quality("a", "nai-diffusion-furry-3") == "a, {best quality}, {amazing quality}"
    assert apply_quality("a", "nai-diffusion-5-curated") == "a, very aesthetic, masterpiece, no text"
    # from the real website capture text2image_v3.json (V4 curated preview)
    assert apply_quality("a", "nai-diffusion-4-curated-preview") == (
        "a, rating:general, amazing quality, very aesthetic, absurdres")
    assert apply_quality("", "nai-diffusion-4-5-full") == "very aesthetic, masterpiece, no text"


def test_exact_uc_preset_texts() -> None:
    heavy45 = presets.UC_PRESETS["nai-diffusion-4-5-full"]["heavy"]
    assert heavy45.startswith("nsfw, lowres, artistic error, film grain") and heavy45.endswith("blank page")
    assert presets.UC_PRESETS["nai-diffusion-4-5-full"]["human"] == (
        heavy45 + ", @_@, mismatched pupils, glowing eyes, bad anatomy")
    assert presets.UC_PRESETS["nai-diffusion-5-full"]["light"] == (
        "lowres, bad hands, bad anatomy, artistic error, sepia, white haze, worst quality, very displeasing, "
        "jpeg artifacts, 0::ai-generated::")
    assert presets.UC_PRESETS["nai-diffusion-3"]["none"] == "lowres"
    assert apply_uc_preset("", "none", "nai-diffusion-4-5-full") == ""
    assert apply_uc_preset("bad hands", "none", "nai-diffusion-4-5-full") == "bad hands"
    assert apply_uc_preset("extra", "heavy", "nai-diffusion-4-full").endswith("white blank page, blank page, extra")


def test_nsfw_rule_removes_nsfw_from_the_preset_only() -> None:
    model = "nai-diffusion-4-5-full"
    plain = apply_uc_preset("nsfw, gore", "heavy", model, prompt="1girl")
    lewd = apply_uc_preset("nsfw, gore", "heavy", model, prompt="1girl, nsfw, beach")
    assert plain.startswith("nsfw, lowres")
    assert lewd.startswith("lowres, artistic error")
    assert lewd.endswith(", nsfw, gore")  # the user's own UC is never edited
    assert apply_uc_preset("", "light", model, prompt="{nsfw}") .startswith("lowres")
    assert apply_uc_preset("", "light", model, prompt="nsfw_tag").startswith("nsfw, ")


def test_ucpreset_numbers_follow_the_website_dropdown() -> None:
    assert [uc_preset_number(p, "nai-diffusion-4-5-full") for p in ("heavy", "light", "furry", "human", "none")] == [
        0, 1, 2, 3, 4]
    assert uc_preset_number("none", "nai-diffusion-4-5-curated") == 3
    assert uc_preset_number("human", "nai-diffusion-3") == 2
    assert presets.uc_preset_from_number(2, "nai-diffusion-4-5-full") == "furry"
    assert presets.uc_preset_from_number(9, "nai-diffusion-4-5-full") is None


_TEXT = st.text(alphabet=st.sampled_from(list("abc xyz,:{}[]0.9-_")), max_size=40)


@pytest.mark.parametrize("model", list(MODELS))
@settings(max_examples=40, deadline=None)
@given(prompt=_TEXT)
def test_quality_round_trip(model: str, prompt: str) -> None:
    assert strip_quality(apply_quality(prompt, model), model) == (prompt if prompt.strip() else "")


def test_strip_quality_leaves_other_prompts_alone() -> None:
    assert strip_quality("1girl, masterpiece", "nai-diffusion-4-5-full") == "1girl, masterpiece"


@pytest.mark.parametrize("model", list(MODELS))
def test_detect_uc_preset_round_trip_every_preset(model: str) -> None:
    for preset in uc_presets_for(model):
        for user in ("", "bad hands, extra fingers", "lowres"):
            for prompt in ("1girl", "1girl, nsfw"):
                negative = apply_uc_preset(user, preset, model, prompt)
                got_preset, got_user = detect_uc_preset(negative, model)
                # re-applying what was detected gives the same negative back
                assert apply_uc_preset(got_user, got_preset, model, prompt) == negative, (preset, user, prompt)
                if presets.UC_PRESETS[model][preset]:
                    assert (got_preset, got_user) == (preset, user)


def test_detect_prefers_the_longer_preset() -> None:
    model = "nai-diffusion-4-5-full"
    negative = apply_uc_preset("x", "human", model)
    assert detect_uc_preset(negative, model) == ("human", "x")
    assert detect_uc_preset("just mine", model) == ("none", "just mine")


def test_furry_and_transparent_helpers() -> None:
    assert presets.apply_furry("1girl") == "fur dataset, 1girl"
    assert presets.strip_furry(presets.apply_furry("1girl")) == ("1girl", True)
    assert presets.strip_furry("1girl") == ("1girl", False)
    assert presets.apply_transparent("cat") == "cat, transparent background"
    assert presets.apply_transparent("cat, transparent background") == "cat, transparent background"


@pytest.mark.parametrize("model", [m for m in MODELS if m != "nai-diffusion-3"])
@settings(max_examples=40, deadline=None)
@given(user=_TEXT, nsfw=st.booleans(), data=st.data())
def test_detect_round_trip_any_user_text(model: str, user: str, nsfw: bool, data: st.DataObject) -> None:
    preset = data.draw(st.sampled_from(uc_presets_for(model)))
    prompt = "1girl, nsfw" if nsfw else "1girl"
    negative = apply_uc_preset(user, preset, model, prompt)
    got_preset, got_user = detect_uc_preset(negative, model, prompt)
    assert apply_uc_preset(got_user, got_preset, model, prompt) == negative
    if presets.UC_PRESETS[model][preset] and user:
        assert (got_preset, got_user) == (preset, user)


def test_detect_with_prompt_uses_the_nsfw_rule() -> None:
    model = "nai-diffusion-4-5-full"
    negative = apply_uc_preset("x", "heavy", model, "1girl, nsfw")
    assert detect_uc_preset(negative, model, "1girl, nsfw") == ("heavy", "x")
    assert detect_uc_preset(negative, model) == ("heavy", "x")
    # the same text under a prompt without nsfw is not that preset's text
    assert detect_uc_preset(negative, model, "1girl") == ("none", negative)
