"""Request bodies: parity with real website captures, and the action/reference rules."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from peropix_tui.core.nai.request import (
    build_request,
    enhance_settings,
    redact_body,
    snap_large,
)
from peropix_tui.core.settings import (
    CharacterPrompt,
    CharacterReference,
    GenerationSettings,
    SettingsError,
    VibeReference,
)

MakeImage = Callable[..., Path]


def _decode(b64text: str) -> Image.Image:
    im = Image.open(io.BytesIO(base64.b64decode(b64text)))
    im.load()
    return im


def _diff(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    keys = list(theirs) + [k for k in ours if k not in theirs]
    return {k: (ours.get(k, "<absent>"), theirs.get(k, "<absent>")) for k in keys if ours.get(k, "<absent>") != theirs.get(k, "<absent>")}


def _settings_like(capture: dict[str, Any], prompt: str, **kw: Any) -> GenerationSettings:
    p = capture["parameters"]
    return GenerationSettings(
        model=capture["model"], prompt=prompt, uc="", uc_preset="heavy", quality=p["qualityToggle"],
        width=p["width"], height=p["height"], scale=p["scale"], steps=p["steps"], seed=p["seed"],
        sampler=p["sampler"], noise_schedule=p["noise_schedule"], cfg_rescale=p["cfg_rescale"],
        characters=[CharacterPrompt(prompt=c["prompt"], uc=c["uc"]) for c in p.get("characterPrompts", [])],
        **kw,
    )


# ----------------------------------------------------------------- website captures (../shared)
def _capture(shared_dir: Path, name: str) -> dict[str, Any]:
    return json.loads((shared_dir / "fixtures/nai/web-requests" / name).read_text())


def test_parity_v45_curated_capture(shared_dir: Path) -> None:
    """text2image_v4.json (V4.5 curated, two characters): every field, value and the order."""
    cap = _capture(shared_dir, "text2image_v4.json")
    body = build_request(_settings_like(cap, "1boy, 1girl, silver background, cowboy shot, love letter"))
    assert {k: v for k, v in body.items() if k != "parameters"} == {k: v for k, v in cap.items() if k != "parameters"}
    assert _diff(body["parameters"], cap["parameters"]) == {}
    assert list(body["parameters"]) == list(cap["parameters"])


def test_parity_v3_capture(shared_dir: Path) -> None:
    """text2image.json (V3 anime, params_version 3): every field, value and the order."""
    cap = _capture(shared_dir, "text2image.json")
    body = build_request(_settings_like(cap, "2boys, 1girl, photorealistic, full body"))
    assert body["input"] == cap["input"] and body["model"] == cap["model"]
    assert _diff(body["parameters"], cap["parameters"]) == {}
    assert list(body["parameters"]) == list(cap["parameters"])


# The V4 curated capture predates the V4.5-era website; these are the only differences, all of
# them fields the later website (text2image_v4.json, same V4 code path) changed or added.
V4_CAPTURE_WEB_DRIFT = {
    "autoSmea", "skip_cfg_above_sigma", "legacy_uc", "normalize_reference_strength_multiple",  # added later
    "reference_image_multiple", "reference_information_extracted_multiple", "reference_strength_multiple",  # [] dropped
    "use_coords", "characterPrompts", "v4_prompt", "v4_negative_prompt",  # see the normalisation below
}


def test_parity_v4_curated_capture(shared_dir: Path) -> None:
    """text2image_v3.json (V4 curated preview, three characters), allowing only the documented drift."""
    cap = _capture(shared_dir, "text2image_v3.json")
    body = build_request(_settings_like(cap, "2boys, 1girl, photorealistic, full body"))
    ours, theirs = body["parameters"], cap["parameters"]
    assert body["input"] == cap["input"] and body["model"] == cap["model"]
    assert set(_diff(ours, theirs)) <= V4_CAPTURE_WEB_DRIFT
    # Normalise the old capture to the later website: use_coords false for AI's choice,
    # "enabled" on characters, legacy_uc in the negative.
    theirs = json.loads(json.dumps(theirs))
    theirs["use_coords"] = theirs["v4_prompt"]["use_coords"] = False
    for c in theirs["characterPrompts"]:
        c["enabled"] = True
    theirs["v4_negative_prompt"]["legacy_uc"] = False
    for k in ("characterPrompts", "v4_prompt", "v4_negative_prompt", "use_coords"):
        assert ours[k] == theirs[k], k
    assert ours["skip_cfg_above_sigma"] is None and ours["normalize_reference_strength_multiple"] is True


# ------------------------------------------------------------------------ our own parity cases
def test_v45_full_two_characters_exact_body() -> None:
    s = GenerationSettings(
        prompt="2girls, park", uc="bad hands", seed=1234, cfg_rescale=0.2,
        characters=[CharacterPrompt("girl, red hair", uc="hat", position="B2"),
                    CharacterPrompt("girl, blue hair", position="d4")],
    )
    body = build_request(s)
    prompt = "2girls, park, very aesthetic, masterpiece, no text"
    negative = (
        "nsfw, lowres, artistic error, film grain, scan artifacts, worst quality, bad quality, jpeg artifacts, "
        "very displeasing, chromatic aberration, dithering, halftone, screentone, multiple views, logo, "
        "too many watermarks, negative space, blank page, bad hands"
    )
    b2, d4 = {"x": 0.3, "y": 0.3}, {"x": 0.7, "y": 0.7}
    expected = {
        "input": prompt,
        "model": "nai-diffusion-4-5-full",
        "action": "generate",
        "parameters": {
            "params_version": 3, "width": 832, "height": 1216, "scale": 5, "sampler": "k_euler_ancestral",
            "steps": 28, "n_samples": 1, "ucPreset": 0, "qualityToggle": True, "autoSmea": False,
            "dynamic_thresholding": False, "controlnet_strength": 1, "legacy": False, "add_original_image": True,
            "cfg_rescale": 0.2, "noise_schedule": "karras", "legacy_v3_extend": False,
            "skip_cfg_above_sigma": None, "use_coords": True, "legacy_uc": False,
            "normalize_reference_strength_multiple": True, "seed": 1234,
            "characterPrompts": [
                {"prompt": "girl, red hair", "uc": "hat", "center": b2, "enabled": True},
                {"prompt": "girl, blue hair", "uc": "", "center": d4, "enabled": True},
            ],
            "v4_prompt": {
                "caption": {"base_caption": prompt, "char_captions": [
                    {"char_caption": "girl, red hair", "centers": [b2]},
                    {"char_caption": "girl, blue hair", "centers": [d4]}]},
                "use_coords": True, "use_order": True,
            },
            "v4_negative_prompt": {
                "caption": {"base_caption": negative, "char_captions": [
                    {"char_caption": "hat", "centers": [b2]},
                    {"char_caption": "", "centers": [d4]}]},
                "legacy_uc": False,
            },
            "negative_prompt": negative,
            "deliberate_euler_ancestral_bug": False, "prefer_brownian": True,
        },
    }
    assert body == expected
    assert list(body["parameters"]) == list(expected["parameters"])
    assert json.dumps(body)  # serialisable as is


# Key order of the website's V5 bodies (nkdk9315/NovelAI-api-client
# docs/v5-investigation/web-captures-2026-09-24.json), without image_format and the
# optional image cache keys, which we do not send.
V5_TXT2IMG_KEYS = [
    "params_version", "width", "height", "scale", "sampler", "steps", "n_samples", "ucPresetId",
    "qualityPresetId", "tag_hint_transparent_background", "autoSmea", "dynamic_thresholding",
    "controlnet_strength", "legacy", "add_original_image", "cfg_rescale", "legacy_v3_extend", "use_coords",
    "legacy_uc", "normalize_reference_strength_multiple", "inpaintImg2ImgStrength", "seed", "characterPrompts",
    "straight_alpha", "tag_hint_qt", "tag_hint_uc_preset", "v4_prompt", "v4_negative_prompt", "negative_prompt",
    "deliberate_euler_ancestral_bug", "prefer_brownian", "noise_schedule", "stream",
]
V5_IMG2IMG_KEYS = [
    "params_version", "width", "height", "scale", "sampler", "steps", "n_samples", "strength", "noise",
    "ucPresetId", "qualityPresetId", "autoSmea", "dynamic_thresholding", "controlnet_strength", "legacy",
    "add_original_image", "cfg_rescale", "legacy_v3_extend", "use_coords", "legacy_uc",
    "normalize_reference_strength_multiple", "inpaintImg2ImgStrength", "seed", "image", "characterPrompts",
    "tag_hint_qt", "tag_hint_uc_preset", "extra_noise_seed", "color_correct", "v4_prompt", "v4_negative_prompt",
    "negative_prompt", "deliberate_euler_ancestral_bug", "prefer_brownian", "noise_schedule",
]
V5_INFILL_KEYS = [
    "params_version", "width", "height", "scale", "sampler", "steps", "n_samples", "strength", "noise",
    "ucPresetId", "qualityPresetId", "autoSmea", "dynamic_thresholding", "controlnet_strength", "legacy",
    "add_original_image", "cfg_rescale", "legacy_v3_extend", "use_coords", "legacy_uc",
    "normalize_reference_strength_multiple", "inpaintImg2ImgStrength", "image", "mask", "characterPrompts", "seed",
    "tag_hint_qt", "tag_hint_uc_preset", "extra_noise_seed", "v4_prompt", "v4_negative_prompt", "negative_prompt",
    "deliberate_euler_ancestral_bug", "prefer_brownian", "noise_schedule",
]


def test_v5_transparent_txt2img_matches_the_website_capture() -> None:
    s = GenerationSettings(model="nai-diffusion-5-full", prompt="a cat, transparent background", uc="monochrome, ",
                           uc_preset="none", scale=7, steps=23, seed=1295653252)
    body = build_request(s, stream="msgpack")
    p = body["parameters"]
    assert list(p) == V5_TXT2IMG_KEYS
    assert body["model"] == "nai-diffusion-5-full" and body["use_new_shared_trial"] is True
    assert body["input"] == "a cat, transparent background, very aesthetic, masterpiece, no text"
    assert p["params_version"] == 4 and p["noise_schedule"] == "karras" and p["stream"] == "msgpack"
    assert (p["ucPresetId"], p["qualityPresetId"], p["tag_hint_uc_preset"], p["tag_hint_qt"]) == ("none", "standard", 0, 1)
    assert p["straight_alpha"] is True and p["tag_hint_transparent_background"] is True
    assert p["negative_prompt"] == "monochrome, " == p["v4_negative_prompt"]["caption"]["base_caption"]
    assert p["inpaintImg2ImgStrength"] == 1 and p["use_coords"] is False and p["characterPrompts"] == []
    for absent in ("sm", "sm_dyn", "skip_cfg_above_sigma", "ucPreset", "qualityToggle", "reference_image_multiple"):
        assert absent not in p


def test_v5_heavy_preset_without_transparency() -> None:
    s = GenerationSettings(model="nai-diffusion-5-curated", prompt="a dog", seed=5, quality=False)
    p = build_request(s)["parameters"]
    assert "straight_alpha" not in p and "tag_hint_transparent_background" not in p
    assert (p["ucPresetId"], p["tag_hint_uc_preset"], p["qualityPresetId"], p["tag_hint_qt"]) == ("heavy", 2, "none", 0)
    assert p["negative_prompt"].startswith("lowres, artistic error")
    assert build_request(s)["input"] == "a dog"


def test_v5_img2img_matches_the_website_capture(make_image: MakeImage) -> None:
    src = make_image("src.png", 400, 600)
    s = GenerationSettings(model="nai-diffusion-5-full", action="img2img", image=str(src), prompt="x",
                           seed=989684936, strength=0.7, noise=0, uc_preset="none")
    p = build_request(s)["parameters"]
    assert list(p) == V5_IMG2IMG_KEYS
    assert p["extra_noise_seed"] == 989684935 and p["color_correct"] is False and p["add_original_image"] is True
    assert _decode(p["image"]).size == (832, 1216)


def test_v5_curated_infill_uses_45_curated_inpainting(make_image: MakeImage) -> None:
    src, mask = make_image("src.png", 832, 1216), make_image("mask.png", 104, 152, mode="L", color=0)
    s = GenerationSettings(model="nai-diffusion-5-curated", action="infill", image=str(src), mask=str(mask),
                           prompt="x", seed=2849895151, uc_preset="none")
    body = build_request(s)
    assert body["model"] == "nai-diffusion-4-5-curated-inpainting"
    assert list(body["parameters"]) == V5_INFILL_KEYS
    assert body["parameters"]["extra_noise_seed"] == 2849895150
    full = build_request(s.copy(model="nai-diffusion-5-full"))
    assert full["model"] == "nai-diffusion-5-full-inpainting"


def test_v45_img2img_body(make_image: MakeImage) -> None:
    src = make_image("photo.jpg", 500, 300)
    s = GenerationSettings(action="img2img", image=str(src), prompt="x", seed=10, strength=0.55, noise=0.1,
                           width=1216, height=832)
    p = build_request(s)["parameters"]
    assert (p["strength"], p["noise"], p["add_original_image"], p["inpaintImg2ImgStrength"]) == (0.55, 0.1, True, 1)
    assert (p["extra_noise_seed"], p["color_correct"]) == (9, False)
    im = _decode(p["image"])
    assert im.format == "PNG" and im.size == (1216, 832)
    assert list(p).index("strength") == list(p).index("n_samples") + 1


def test_infill_body_mask_and_no_references(make_image: MakeImage) -> None:
    src = make_image("src.png", 416, 608)
    mask_path = make_image("mask.png", 104, 152, mode="L", color=0)
    m = Image.open(mask_path)
    m.paste(255, (10, 10, 30, 25))  # a small painted area at 1/8 scale
    m.save(mask_path)
    s = GenerationSettings(action="infill", image=str(src), mask=str(mask_path), prompt="x", seed=0,
                           vibes=[VibeReference(encoding="QUFBQQ==")])
    body = build_request(s)
    p = body["parameters"]
    assert body["model"] == "nai-diffusion-4-5-full-inpainting" and body["action"] == "infill"
    assert p["add_original_image"] is False and p["inpaintImg2ImgStrength"] == 1
    assert p["extra_noise_seed"] == 4294967295  # seed 0
    assert not [k for k in p if k.startswith(("reference_", "director_reference_"))]
    mask = _decode(p["mask"])
    arr = np.asarray(mask)
    assert mask.size == (832, 1216) and set(np.unique(arr)) == {0, 255}
    assert arr[80:200, 80:240].all() and not arr[:72].any()
    assert _decode(p["image"]).size == (832, 1216)


def test_vibes_v45_use_encodings_in_order() -> None:
    vibes = [VibeReference(path="a.png", information_extracted=1.0, strength=0.6),
             VibeReference(path="b.png", information_extracted=0.35, strength=0.8),
             VibeReference(path="off.png", enabled=False)]
    s = GenerationSettings(prompt="x", seed=1, vibes=vibes)
    p = build_request(s, vibe_encodings=["RU5DMQ==", "RU5DMg=="])["parameters"]
    assert p["reference_image_multiple"] == ["RU5DMQ==", "RU5DMg=="]
    assert p["reference_information_extracted_multiple"] == [1, 0.35]
    assert p["reference_strength_multiple"] == [0.6, 0.8]
    assert p["normalize_reference_strength_multiple"] is True
    keys = list(p)
    assert keys.index("negative_prompt") < keys.index("reference_image_multiple") < keys.index("prefer_brownian")
    with pytest.raises(SettingsError) as e:
        build_request(s)  # no encodings known yet
    assert e.value.field == "vibes[0]"
    with pytest.raises(SettingsError):
        build_request(s, vibe_encodings=["only-one"])


def test_vibes_v3_send_the_raw_image(make_image: MakeImage) -> None:
    png = make_image("vibe.png", 64, 64)
    s = GenerationSettings(model="nai-diffusion-3", prompt="x", seed=1, vibes=[VibeReference(path=str(png))])
    p = build_request(s)["parameters"]
    assert base64.b64decode(p["reference_image_multiple"][0]) == png.read_bytes()
    given = build_request(s, vibe_encodings=["UE5HIGZyb20gY2FsbGVy"])["parameters"]
    assert given["reference_image_multiple"] == ["UE5HIGZyb20gY2FsbGVy"]


def test_character_reference_fields(make_image: MakeImage) -> None:
    ref = make_image("ref.png", 300, 600)
    s = GenerationSettings(prompt="x", seed=1, charref=CharacterReference(str(ref), fidelity=0.75, style_aware=False))
    p = build_request(s)["parameters"]
    jpeg = _decode(p["director_reference_images"][0])
    assert jpeg.format == "JPEG" and jpeg.size == (1024, 1536)
    assert p["director_reference_secondary_strength_values"] == [0.25]
    assert p["director_reference_strength_values"] == [1]
    assert p["director_reference_information_extracted"] == [1]
    assert p["director_reference_descriptions"] == [
        {"caption": {"base_caption": "character", "char_captions": []}, "legacy_uc": False}]
    styled = build_request(s.copy(charref=CharacterReference(str(ref))))["parameters"]
    assert styled["director_reference_descriptions"][0]["caption"]["base_caption"] == "character&style"
    assert styled["director_reference_secondary_strength_values"] == [0]


def test_ai_choice_and_mixed_positions() -> None:
    auto = build_request(GenerationSettings(prompt="x", seed=1, characters=[CharacterPrompt("a")]))["parameters"]
    assert auto["use_coords"] is False and auto["characterPrompts"][0]["center"] == {"x": 0, "y": 0}
    mixed = build_request(GenerationSettings(
        prompt="x", seed=1, characters=[CharacterPrompt("a", position="A1"), CharacterPrompt("b")]))["parameters"]
    assert mixed["use_coords"] is True and mixed["v4_prompt"]["use_coords"] is True
    assert [c["center"] for c in mixed["characterPrompts"]] == [{"x": 0.1, "y": 0.1}, {"x": 0.5, "y": 0.5}]
    assert [c["centers"] for c in mixed["v4_negative_prompt"]["caption"]["char_captions"]] == [
        [{"x": 0.1, "y": 0.1}], [{"x": 0.5, "y": 0.5}]]


def test_random_seed_is_chosen_and_returned() -> None:
    seeds = {build_request(GenerationSettings(prompt="x"))["parameters"]["seed"] for _ in range(20)}
    assert len(seeds) > 15 and all(0 <= s <= 4294967295 for s in seeds)


def test_variety_plus_sigma() -> None:
    p = build_request(GenerationSettings(prompt="x", seed=1, variety=True))["parameters"]
    assert p["skip_cfg_above_sigma"] == 58
    p = build_request(GenerationSettings(prompt="x", seed=1, variety=True, width=1024, height=1024))["parameters"]
    assert p["skip_cfg_above_sigma"] == 60  # ceil(58 * sqrt(1048576 / 1011712))
    p = build_request(GenerationSettings(model="nai-diffusion-4-full", prompt="x", seed=1, variety=True))["parameters"]
    assert p["skip_cfg_above_sigma"] == 19


def test_other_samplers_leave_out_the_ancestral_flags() -> None:
    p = build_request(GenerationSettings(prompt="x", seed=1, sampler="dpmpp_2m"))["parameters"]
    assert p["sampler"] == "k_dpmpp_2m" and "prefer_brownian" not in p


def test_nsfw_prompt_drops_nsfw_from_the_preset() -> None:
    p = build_request(GenerationSettings(prompt="1girl, nsfw", seed=1))["parameters"]
    assert p["negative_prompt"].startswith("lowres, artistic error")


def test_invalid_settings_are_refused_before_building() -> None:
    with pytest.raises(SettingsError) as e:
        build_request(GenerationSettings(prompt="x", width=833))
    assert e.value.field == "width"


def test_unreadable_source_image_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not an image at all")
    s = GenerationSettings(action="img2img", image=str(bad), prompt="x")
    with pytest.raises(SettingsError) as e:
        build_request(s)
    assert e.value.field == "image" and "broken.png" in str(e.value)
    with pytest.raises(SettingsError) as e:
        build_request(s.copy(image=str(tmp_path / "missing.png")))
    assert "missing.png" in str(e.value) and "not found" in str(e.value)


def test_redact_body(make_image: MakeImage) -> None:
    src = make_image("src.png", 64, 64)
    s = GenerationSettings(action="img2img", image=str(src), prompt="x", seed=1,
                           vibes=[VibeReference(encoding="QUJDRA==")])
    body = build_request(s, vibe_encodings=["QUJDRA=="])
    red = redact_body(body)
    n = len(base64.b64decode(body["parameters"]["image"]))
    assert red["parameters"]["image"] == f"<base64 {n} bytes>"
    assert red["parameters"]["reference_image_multiple"] == ["<base64 4 bytes>"]
    assert red["parameters"]["negative_prompt"] == body["parameters"]["negative_prompt"]
    assert body["parameters"]["image"] != red["parameters"]["image"]  # the original is untouched
    assert len(json.dumps(red)) < 4000


def test_enhance_presets() -> None:
    base = GenerationSettings(prompt="x", image="img.png", width=832, height=1216)
    e3 = enhance_settings(base, 3, upscale=False)
    assert (e3.action, e3.strength, e3.noise, e3.width, e3.height) == ("img2img", 0.5, 0.0, 832, 1216)
    e5 = enhance_settings(base, 5, upscale=True)
    assert (e5.strength, e5.noise, e5.width, e5.height) == (0.7, 0.1, 1280, 1856)
    assert enhance_settings(base.copy(width=1024, height=1024), 1, upscale=True).width == 1536
    assert snap_large(1216 * 1.5, 832 * 1.5) == (1856, 1280)
    with pytest.raises(SettingsError) as e:
        enhance_settings(base.copy(width=1216, height=1216), 2, upscale=True)
    assert e.value.field == "upscale"
    with pytest.raises(SettingsError):
        enhance_settings(base, 6, upscale=False)
    assert base.action == "generate"  # the input is not modified


def test_optional_furry_and_transparent_flags() -> None:
    s = GenerationSettings(prompt="wolf", seed=1, quality=False)
    s.furry = True  # type: ignore[attr-defined]  # not (yet) a GenerationSettings field
    assert build_request(s)["input"] == "fur dataset, wolf"
    v5 = GenerationSettings(model="nai-diffusion-5-full", prompt="wolf", seed=1, quality=True)
    v5.transparent = True  # type: ignore[attr-defined]
    body = build_request(v5)
    assert body["input"] == "wolf, transparent background, very aesthetic, masterpiece, no text"
    assert body["parameters"]["straight_alpha"] is True
    v3 = GenerationSettings(model="nai-diffusion-3", prompt="wolf", seed=1, quality=False)
    v3.furry = True  # type: ignore[attr-defined]
    assert build_request(v3)["input"] == "wolf"  # V3 has no furry prefix (use the furry model)
