"""Images written by code other than ours: the NovelAI request builder + the NovelAI emulator's image writer."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from peropix_tui.core.metadata import read_metadata
from peropix_tui.core.nai.request import build_request
from peropix_tui.core.settings import CharacterPrompt
from tests.nai_emulator.artifacts import novelai_image

from .util import nai_settings, noise_image, strip_text


@pytest.mark.parametrize(
    "settings",
    [
        nai_settings(),
        nai_settings(model="nai-diffusion-4-5-curated", uc_preset="heavy", prompt="nsfw, 2girls", variety=False),
        nai_settings(model="nai-diffusion-4-full", quality=False, uc_preset="none",
                     characters=[CharacterPrompt("girl", "", None), CharacterPrompt("boy", "bad", None)]),
    ],
    ids=["v4.5-full", "v4.5-curated-nsfw", "v4-full-ai-positions"],
)
def test_emulator_png_of_a_built_request_reads_back_to_the_settings(settings: object) -> None:
    data, ext = novelai_image(build_request(settings), 0, 2.5)  # type: ignore[arg-type]
    assert ext == "png"
    r = read_metadata(data)
    assert r.dialect == "novelai"
    assert r.settings == settings
    stealth = read_metadata(strip_text(data))
    assert stealth.dialect == "novelai-stealth" and stealth.settings == settings


def test_emulator_webp_reads_back() -> None:
    s = nai_settings()
    body = build_request(s)
    body["parameters"]["image_format"] = "webp"
    data, ext = novelai_image(body, 0, 1.0)
    assert ext == "webp"
    assert read_metadata(data).settings == s


def test_user_comment_misplaced_in_ifd0() -> None:
    exif = Image.Exif()
    exif[0x9286] = json.dumps({"prompt": "cat", "seed": 4, "steps": 9})
    buf = io.BytesIO()
    noise_image(16, 16, mode="RGB").save(buf, "WEBP", exif=exif)
    r = read_metadata(buf.getvalue())
    assert (r.dialect, r.container, r.settings.prompt, r.settings.seed, r.settings.steps) == ("json", "exif", "cat", 4, 9)
