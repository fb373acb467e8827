"""The Comment written for NovelAI settings carries exactly the prompts the request sends
(furry prefix, V5 transparency tag, quality tags, UC preset with the nsfw rule), and reading it
back recovers the user's text and those switches. Also: Source hashes of retired models."""

from __future__ import annotations

import json

import pytest

from peropix_tui.core.metadata import png, read_metadata, write_novelai_png
from peropix_tui.core.nai.models import model_from_source
from peropix_tui.core.nai.request import build_request
from peropix_tui.core.settings import GenerationSettings

from .util import noise_image


def _comment(s: GenerationSettings) -> tuple[dict, GenerationSettings]:
    data = write_novelai_png(noise_image(), s, seed=s.seed or 11)
    return json.loads(png.read_text(data)["Comment"]), read_metadata(data).settings


CASES = {
    "furry V4.5": dict(model="nai-diffusion-4-5-full", prompt="1girl, fox ears", furry=True),
    "furry V4 curated": dict(model="nai-diffusion-4-curated-preview", prompt="wolf", furry=True, uc_preset="light"),
    "transparent V5": dict(model="nai-diffusion-5-full", prompt="1girl, standing", transparent=True),
    "transparent V5, no quality": dict(model="nai-diffusion-5-curated", prompt="cat", transparent=True, quality=False),
    "nsfw heavy": dict(model="nai-diffusion-4-5-full", prompt="nsfw, 1girl", uc_preset="heavy", uc="extra arms"),
    "nsfw furry V4.5 curated": dict(model="nai-diffusion-4-5-curated", prompt="nsfw, dragon", furry=True,
                                    uc_preset="heavy"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_comment_prompts_equal_the_request_and_read_back(case: str) -> None:
    s = GenerationSettings(provider="nai", seed=11, **CASES[case])  # type: ignore[arg-type]
    body = build_request(s)
    c, back = _comment(s)
    assert c["prompt"] == body["input"] == c["v4_prompt"]["caption"]["base_caption"]
    assert c["uc"] == body["parameters"]["negative_prompt"]
    assert (back.prompt, back.uc, back.uc_preset, back.quality) == (s.prompt, s.uc, s.uc_preset, s.quality)
    assert (back.furry, back.transparent) == (s.furry, s.transparent)
    assert build_request(back)["input"] == body["input"]


def test_furry_prefix_and_transparent_tag_are_in_the_metadata() -> None:
    c, _ = _comment(GenerationSettings(provider="nai", model="nai-diffusion-4-5-full", prompt="fox", furry=True))
    assert c["prompt"] == "fur dataset, fox, very aesthetic, masterpiece, no text"
    c, _ = _comment(GenerationSettings(provider="nai", model="nai-diffusion-5-full", prompt="fox", transparent=True))
    assert c["prompt"] == "fox, transparent background, very aesthetic, masterpiece, no text"


def test_nsfw_rule_drops_nsfw_from_the_preset_in_the_metadata() -> None:
    plain, _ = _comment(GenerationSettings(provider="nai", prompt="1girl", uc_preset="heavy"))
    lewd, back = _comment(GenerationSettings(provider="nai", prompt="nsfw, 1girl", uc_preset="heavy"))
    assert plain["uc"].startswith("nsfw, ") and "nsfw" not in lewd["uc"]
    assert (back.uc_preset, back.uc) == ("heavy", "")


def test_typed_transparent_tag_reads_back_as_the_switch() -> None:
    s = GenerationSettings(provider="nai", model="nai-diffusion-5-full", prompt="cat, transparent background")
    c, back = _comment(s)
    assert (back.prompt, back.transparent) == ("cat", True)
    assert build_request(back)["input"] == c["prompt"]


def test_furry_prefix_is_kept_as_text_on_v3() -> None:  # V3 has no furry switch: the prefix is the user's
    s = GenerationSettings(provider="nai", model="nai-diffusion-3", prompt="fur dataset, fox", sampler="k_euler",
                           noise_schedule="native")
    _, back = _comment(s)
    assert (back.prompt, back.furry) == ("fur dataset, fox", False)


@pytest.mark.parametrize("source,model", [
    ("Stable Diffusion 81274D13", "nai-diffusion"),
    ("Stable Diffusion 1D09C008", "nai-diffusion-furry"),
    ("Stable Diffusion F1022D28", "nai-diffusion-2"),
    ("Stable Diffusion F4D50568", "safe-diffusion"),
    ("Stable Diffusion XL 37C2B166", "nai-diffusion-furry-3"),
    ("NovelAI Diffusion V4 37442FCA", "nai-diffusion-4-full"),
])
def test_source_hashes_of_older_models(source: str, model: str) -> None:
    assert model_from_source(source) == model
    text = {"Software": "NovelAI", "Source": source,
            "Comment": json.dumps({"prompt": "1girl, best quality", "uc": "lowres", "seed": 1, "steps": 28})}
    record = read_metadata(png_bytes_with(text))
    assert record.settings.model == model
    assert not any("guessed" in n or "unknown" in n for n in record.notes), record.notes
    assert record.settings.prompt == "1girl, best quality"  # no preset texts for these: kept as written


def png_bytes_with(text: dict[str, str]) -> bytes:
    from .util import png_bytes

    return png_bytes(noise_image(), text)


def test_restoring_prompts_brings_the_switches_along() -> None:
    from peropix_tui.core.metadata import restore_settings

    s = GenerationSettings(provider="nai", model="nai-diffusion-5-full", prompt="cat", transparent=True)
    record = read_metadata(write_novelai_png(noise_image(), s, seed=3))
    assert record.to_json()["transparent"] is True and record.to_json()["furry"] is False
    out, _ = restore_settings(record, {"prompts"}, GenerationSettings(provider="nai", model="nai-diffusion-5-full"))
    assert (out.prompt, out.transparent) == ("cat", True)
