"""What the local engine encodes: characters appended, and NovelAI's quality / UC-preset toggles
meaning what ``[local]`` configures (nothing when it configures nothing)."""

from __future__ import annotations

from peropix_tui.core.config import LocalConfig
from peropix_tui.core.local_prompt import local_prompts
from peropix_tui.core.settings import CharacterPrompt, GenerationSettings

PRESETS = LocalConfig(quality_tags="masterpiece, best quality",
                      uc_presets={"heavy": "lowres, worst quality", "light": "lowres"})


def settings(**kw: object) -> GenerationSettings:
    return GenerationSettings(provider="local", prompt="1girl, smile", uc="blurry", **kw)  # type: ignore[arg-type]


def test_without_presets_the_toggles_change_nothing() -> None:
    for presets in (None, LocalConfig()):
        assert local_prompts(settings(quality=True, uc_preset="heavy"), presets) == ("1girl, smile", "blurry")


def test_quality_tags_are_appended_and_the_uc_preset_goes_first() -> None:
    assert local_prompts(settings(), PRESETS) == ("1girl, smile, masterpiece, best quality",
                                                  "lowres, worst quality, blurry")
    assert local_prompts(settings(uc_preset="light"), PRESETS)[1] == "lowres, blurry"
    assert local_prompts(settings(quality=False, uc_preset="none"), PRESETS) == ("1girl, smile", "blurry")
    assert local_prompts(settings(uc_preset="human"), PRESETS)[1] == "blurry"  # not configured: nothing


def test_prompt_slot_places_the_prompt_inside_the_quality_tags() -> None:
    presets = LocalConfig(quality_tags="masterpiece, {prompt}, absurdres")
    assert local_prompts(settings(), presets)[0] == "masterpiece, 1girl, smile, absurdres"


def test_characters_are_appended_and_empty_parts_leave_no_stray_commas() -> None:
    s = settings(characters=[CharacterPrompt("girl, red hair", uc="blue hair"), CharacterPrompt("boy", enabled=False)])
    assert local_prompts(s) == ("1girl, smile, girl, red hair", "blurry, blue hair")
    empty = GenerationSettings(provider="local", prompt="  ", uc="")
    assert local_prompts(empty, PRESETS) == ("masterpiece, best quality", "lowres, worst quality")
