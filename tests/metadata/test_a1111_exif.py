"""A1111 ``parameters`` text (PNG chunk, EXIF UserComment) and EXIF encodings."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from peropix_tui.core.metadata import NoMetadataError, read_metadata
from peropix_tui.core.metadata.a1111 import format_parameters, parse_pairs, settings_from_parameters
from peropix_tui.core.metadata.exif import decode_user_comment, user_comment_exif
from peropix_tui.core.metadata.writer import text_chunks
from peropix_tui.core.settings import GenerationSettings, LoraSpec

from .util import local_settings, noise_image, png_bytes

FORGE_TEXT = (
    "masterpiece, 1girl, <lora:add_detail:0.6> smile, <lora:flat2:-1>\n"
    "second line of prompt\n"
    "Negative prompt: lowres, bad anatomy\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3141592653, Size: 832x1216, "
    'Model hash: 7f96a1a9ca, Model: waiNSFWIllustrious_v110, Denoising strength: 0.35, Hires upscale: 1.5, '
    'Hires steps: 12, Hires upscaler: R-ESRGAN 4x+ Anime6B, Lora hashes: "add_detail: 7c6bad76eb54, flat2: 4f2d2b5a", '
    "Version: f2.0.1v1.10.1"
)


def test_forge_text_parses_exactly() -> None:
    s, raw = settings_from_parameters(FORGE_TEXT)
    assert s.prompt == "masterpiece, 1girl, smile\nsecond line of prompt"
    assert s.loras == [LoraSpec("add_detail", 0.6), LoraSpec("flat2", -1.0)]
    assert s.uc == "lowres, bad anatomy"
    assert (s.steps, s.sampler, s.noise_schedule, s.scale, s.seed) == (28, "k_dpmpp_2m", "karras", 6.5, 3141592653)
    assert (s.width, s.height, s.model, s.checkpoint) == (832, 1216, "waiNSFWIllustrious_v110", "waiNSFWIllustrious_v110")
    assert (s.hires_scale, s.hires_denoise, s.action) == (1.5, 0.35, "generate")
    assert (s.provider, s.quality, s.uc_preset) == ("local", False, "none")
    assert raw["pairs"]["Lora hashes"] == "add_detail: 7c6bad76eb54, flat2: 4f2d2b5a"
    assert raw["pairs"]["Hires upscaler"] == "R-ESRGAN 4x+ Anime6B"


def test_old_style_sampler_with_schedule_and_img2img() -> None:
    s, _ = settings_from_parameters("a\nSteps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1, Size: 512x768, Denoising strength: 0.6")
    assert (s.sampler, s.noise_schedule, s.action, s.strength, s.uc) == ("k_dpmpp_2m", "karras", "img2img", 0.6, "")


def test_pairs_with_quotes_and_colons() -> None:
    assert parse_pairs('A: 1, B: "x, y: z", C D: e') == {"A": "1", "B": "x, y: z", "C D": "e"}


@pytest.mark.parametrize("hires", [True, False])
def test_format_then_read_round_trip(hires: bool) -> None:
    s = local_settings(
        checkpoint="noobai-vpred-1.0", model="noobai-vpred-1.0", vae=None, prediction=None, cfg_rescale=0.0,
        loras=[LoraSpec("detail", 0.8), LoraSpec("style", -0.3)],
        hires_scale=1.5 if hires else None, hires_denoise=0.45 if hires else 0.5,
        prompt="1girl, masterpiece, \u65e5\u672c\u8a9e",
    )
    text = format_parameters(s, seed=42)
    r = read_metadata(png_bytes(noise_image(16, 16, mode="RGB"), {"parameters": text}))
    assert r.dialect == "a1111"
    assert r.settings == s


def test_parameters_without_steps_line_is_not_a1111() -> None:
    with pytest.raises(NoMetadataError, match="no 'Steps: …' line"):
        read_metadata(png_bytes(noise_image(8, 8, mode="RGB"), {"parameters": "just some words"}))


def test_bad_values_name_the_field() -> None:
    with pytest.raises(NoMetadataError, match=r"parameters\.Size"):
        read_metadata(png_bytes(noise_image(8, 8, mode="RGB"), {"parameters": "a\nSteps: 20, Size: big"}))
    with pytest.raises(NoMetadataError, match=r"parameters\.Steps: expected an integer"):
        read_metadata(png_bytes(noise_image(8, 8, mode="RGB"), {"parameters": "a\nSteps: x"}))


# ------------------------------------------------------------------------------ EXIF
def _save(fmt: str, exif: Image.Exif, **kw: object) -> bytes:
    buf = io.BytesIO()
    noise_image(32, 32, mode="RGB").save(buf, format=fmt, exif=exif, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["WEBP", "JPEG"])
def test_exif_user_comment_with_a1111_text(fmt: str) -> None:
    r = read_metadata(_save(fmt, user_comment_exif(FORGE_TEXT)))
    assert (r.dialect, r.container) == ("a1111", "exif")
    assert r.settings == settings_from_parameters(FORGE_TEXT)[0]


@pytest.mark.parametrize("fmt", ["WEBP", "JPEG"])
def test_exif_user_comment_with_our_text_map(fmt: str) -> None:
    s = local_settings()
    chunks = text_chunks(s, seed=42)
    r = read_metadata(_save(fmt, user_comment_exif(json.dumps(chunks))))
    assert (r.dialect, r.container) == ("peropix", "exif") and r.peropix is not None
    assert r.settings == s


def test_exif_with_bare_comment_object() -> None:
    comment = {"prompt": "cat, very aesthetic, masterpiece, no text", "uc": "", "seed": 8, "steps": 20}
    r = read_metadata(_save("WEBP", user_comment_exif(json.dumps(comment))))
    assert (r.settings.prompt, r.settings.quality, r.settings.seed) == ("cat", True, 8)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"UNICODE\x00" + "héllo ✓".encode("utf-16-be"), "héllo ✓"),
        (b"UNICODE\x00" + "héllo ✓".encode("utf-16-le"), "héllo ✓"),
        (b"UNICODE\x00" + "\ufeffhi".encode("utf-16-le"), "hi"),
        (b"ASCII\x00\x00\x00plain\x00", "plain"),
        (b"\x00" * 8 + "utf8 ✓".encode(), "utf8 ✓"),
        (b"JIS\x00\x00\x00\x00\x00" + "日本".encode("shift_jis"), "日本"),
    ],
)
def test_user_comment_prefixes(raw: bytes, text: str) -> None:
    assert decode_user_comment(raw) == text


def test_exif_without_user_comment_and_with_junk() -> None:
    exif = Image.Exif()
    exif[0x010E] = "a description"
    with pytest.raises(NoMetadataError, match="EXIF has no UserComment"):
        read_metadata(_save("JPEG", exif))
    with pytest.raises(NoMetadataError, match="neither JSON nor A1111"):
        read_metadata(_save("JPEG", user_comment_exif("hello there")))
    with pytest.raises(NoMetadataError, match="EXIF UserComment is not valid JSON"):
        read_metadata(_save("WEBP", user_comment_exif("{oops")))


def test_default_settings_survive_a1111() -> None:
    s = GenerationSettings(provider="local", quality=False, uc_preset="none", noise_schedule="native", seed=5, model="x", checkpoint="x")
    text = format_parameters(s, seed=5)
    back, _ = settings_from_parameters(text)
    assert back == s


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 400_000,
        "<lora:" * 70_000,
        "<lora:a:" + "1" * 400_000,
        "\x0b" * 400_000 + ",",
        '"' + '\\"' * 200_000,
        "k:" * 200_000,
    ],
    ids=["letters", "lora-openers", "lora-digits", "vtabs", "escaped-quotes", "colons"],
)
def test_hostile_parameters_parse_in_linear_time(hostile: str) -> None:
    text = f"{hostile}\nNegative prompt: {hostile}\nSteps: 20, K: {hostile}, Q: \"{hostile}"
    try:
        settings_from_parameters(text)
    except Exception as e:  # only our field errors are allowed
        assert type(e).__name__ == "FieldError", e
