"""write_novelai_png -> read_metadata gives back the same settings (NovelAI and local provider)."""

from __future__ import annotations

import json

from peropix_tui.core.metadata import png, read_metadata, write_novelai_png
from peropix_tui.core.nai import presets
from peropix_tui.core.settings import CharacterPrompt, CharacterReference, GenerationSettings

from .util import local_settings, nai_settings, noise_image, strip_text, vibe


def _roundtrip(s: GenerationSettings, **kw: object) -> tuple[GenerationSettings, bytes]:
    data = write_novelai_png(noise_image(), s, seed=s.seed or 7, **kw)  # type: ignore[arg-type]
    return read_metadata(data).settings, data


def test_nai_settings_round_trip_exactly() -> None:
    s = nai_settings()
    back, data = _roundtrip(s)
    assert back == s


def test_comment_uses_novelai_field_names_and_final_prompt() -> None:
    s = nai_settings()
    data = write_novelai_png(noise_image(), s, seed=99, generation_time=3.25)
    text = png.read_text(data)
    assert list(text) == ["Title", "Description", "Software", "Source", "Generation time", "Comment"]
    c = json.loads(text["Comment"])
    final = presets.apply_quality(s.prompt, s.model)
    assert c["prompt"] == final == text["Description"]
    assert c["prompt"].endswith(", very aesthetic, masterpiece, no text")
    assert c["uc"] == presets.apply_uc_preset(s.uc, "light", s.model, s.prompt)
    assert c["v4_prompt"]["caption"]["base_caption"] == final
    assert c["v4_prompt"]["use_coords"] is True
    centers = [cc["centers"][0] for cc in c["v4_prompt"]["caption"]["char_captions"]]
    assert centers == [{"x": 0.3, "y": 0.3}, {"x": 0.7, "y": 0.7}]
    neg = c["v4_negative_prompt"]["caption"]["char_captions"]
    assert [n["char_caption"] for n in neg] == ["lowres", ""]
    for key, value in {"steps": 23, "width": 832, "height": 1216, "scale": 5.5, "seed": 99, "sampler": "k_dpmpp_2m",
                       "noise_schedule": "exponential", "cfg_rescale": 0.2, "n_samples": 1}.items():
        assert c[key] == value, key
    assert c["skip_cfg_above_sigma"] is not None  # Variety+
    assert c["peropix"]["provider"] == "nai"
    assert text["Generation time"] == "3.25"


def test_quality_off_and_preset_none_round_trip() -> None:
    s = nai_settings(quality=False, uc_preset="none", uc="", characters=[], variety=False)
    back, _ = _roundtrip(s)
    assert back == s


def test_nsfw_prompt_keeps_preset_detection() -> None:
    s = nai_settings(prompt="nsfw, 1girl", uc_preset="heavy", uc="extra arms")
    back, data = _roundtrip(s)
    assert not json.loads(png.read_text(data)["Comment"])["uc"].startswith("nsfw")
    assert (back.prompt, back.uc_preset, back.uc) == ("nsfw, 1girl", "heavy", "extra arms")


def test_ai_choice_positions_and_disabled_characters() -> None:
    chars = [CharacterPrompt("a", "ua", None), CharacterPrompt("b", "ub", None, enabled=False)]
    s = nai_settings(characters=chars)
    back, data = _roundtrip(s)
    assert back.characters == chars
    c = json.loads(png.read_text(data)["Comment"])
    assert c["v4_prompt"]["use_coords"] is False
    assert len(c["v4_prompt"]["caption"]["char_captions"]) == 1  # only enabled ones were sent


def test_characters_come_back_from_v4_prompt_without_our_extension() -> None:
    s = nai_settings()
    data = write_novelai_png(noise_image(), s, seed=5)
    text = png.read_text(data)
    comment = json.loads(text["Comment"])
    del comment["peropix"]
    back = read_metadata(png.set_text(data, {"Comment": json.dumps(comment)}))
    assert back.dialect == "novelai"
    assert back.settings.characters == s.characters
    assert (back.settings.prompt, back.settings.uc, back.settings.uc_preset) == (s.prompt, s.uc, s.uc_preset)


def test_vibes_with_encodings_round_trip_and_without_warn() -> None:
    s = nai_settings(vibes=[vibe(1.0, 0.6, "QUJD", "a" * 64), vibe(0.5, 0.35, "REVG", "b" * 64)])
    back, _ = _roundtrip(s)
    assert [(v.information_extracted, v.strength, v.encoding, v.image_sha256) for v in back.vibes] == [
        (1.0, 0.6, "QUJD", "a" * 64), (0.5, 0.35, "REVG", "b" * 64)]
    s2 = nai_settings(vibes=[vibe(0.8, 0.4, None, "c" * 64)])
    r = read_metadata(write_novelai_png(noise_image(), s2, seed=1))
    assert [(v.information_extracted, v.strength, v.encoding) for v in r.settings.vibes] == [(0.8, 0.4, None)]
    assert "vibe source images are not recoverable" in r.notes


def test_charref_is_noted_as_not_recoverable() -> None:
    s = nai_settings(charref=CharacterReference(path="/x.png", fidelity=0.75))
    r = read_metadata(write_novelai_png(noise_image(), s, seed=1))
    assert json.loads(png.read_text(write_novelai_png(noise_image(), s, seed=1))["Comment"])[
        "director_reference_secondary_strengths"] == [0.25]
    assert "character reference image is not recoverable" in r.notes


def test_img2img_round_trip_keeps_strength_and_says_base_is_lost() -> None:
    s = nai_settings(action="img2img", image="/tmp/base.png", strength=0.55, noise=0.1)
    r = read_metadata(write_novelai_png(noise_image(), s, seed=3))
    assert (r.settings.action, r.settings.strength, r.settings.noise, r.settings.image) == ("img2img", 0.55, 0.1, None)
    assert "base image / mask not recoverable" in r.notes


def test_local_settings_round_trip_exactly() -> None:
    s = local_settings()
    back, data = _roundtrip(s, peropix={"checkpoint_name": "noobai-vpred-1.0", "checkpoint_hash": "0123abcd"})
    assert back == s
    r = read_metadata(data)
    assert r.dialect == "peropix"
    assert r.peropix is not None and r.peropix["checkpoint_hash"] == "0123abcd"
    text = png.read_text(data)
    assert text["Source"] == "PeroPix local noobai-vpred-1.0"
    assert json.loads(text["Comment"])["prompt"] == s.prompt  # no NovelAI quality tags for local images
    assert [c.type for c in png.iter_chunks(data)].count(b"iTXt") == 1  # the non-Latin-1 Description


def test_stealth_copy_of_our_own_image() -> None:
    s = local_settings()
    data = write_novelai_png(noise_image(128, 96), s, seed=42, stealth_copy=True)
    r = read_metadata(strip_text(data))
    assert r.dialect == "novelai-stealth"
    assert r.settings == s


def test_damaged_peropix_object_does_not_lose_the_novelai_comment() -> None:
    s = nai_settings()
    data = write_novelai_png(noise_image(), s, seed=5)
    comment = json.loads(png.read_text(data)["Comment"])
    comment["peropix"]["characters"] = "not a list"
    r = read_metadata(png.set_text(data, {"Comment": json.dumps(comment)}))
    assert r.settings.characters == s.characters  # from v4_prompt instead
    assert r.settings.prompt == s.prompt and r.settings.seed == 5
    assert any("ignored our unreadable extension (Comment.peropix.characters" in n for n in r.notes)


def test_embed_on_our_own_local_image_merges_rather_than_drops() -> None:
    from peropix_tui.core.metadata import embed_peropix

    s = local_settings()
    data = write_novelai_png(noise_image(), s, seed=42, peropix={"checkpoint_hash": "0123abcd"})
    out = embed_peropix(data, {"provider": "local", "slot_name": "smile", "slot_index": 3})
    r = read_metadata(out)
    assert r.settings == s
    assert r.peropix is not None
    assert (r.peropix["slot_name"], r.peropix["checkpoint_hash"], r.peropix["version"]) == ("smile", "0123abcd", 1)
    assert png.chunk_bytes(out, b"IDAT") == png.chunk_bytes(data, b"IDAT")
