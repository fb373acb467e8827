"""Our bodies against the loopback emulator's independent validator (written from the spec alone).

The emulator lives in tests/nai_emulator (another part of the project); if it is absent these
checks are skipped with that reason.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from peropix_tui.core.nai.models import MODELS
from peropix_tui.core.nai.request import build_request
from peropix_tui.core.settings import CharacterPrompt, CharacterReference, GenerationSettings, VibeReference

rules: Any = pytest.importorskip("nai_emulator.rules", reason="tests/nai_emulator (the NovelAI emulator) is absent")

MakeImage = Callable[..., Path]


def _check(body: dict[str, Any], *, stream: bool = False) -> None:
    try:
        rules.check_generation(body, stream=stream)
    except rules.Rejected as e:  # pragma: no cover - the message is the point
        pytest.fail(f"emulator rejected our body: {e.status} {e.message}")


@pytest.mark.parametrize("model", list(MODELS))
def test_txt2img_every_model(model: str) -> None:
    chars = [] if model in ("nai-diffusion-3", "nai-diffusion-furry-3") else [
        CharacterPrompt("a", uc="x", position="A1"), CharacterPrompt("b")]
    _check(build_request(GenerationSettings(model=model, prompt="p", characters=chars, uc_preset="heavy")))
    _check(build_request(GenerationSettings(model=model, prompt="p", uc_preset="heavy"), stream="msgpack"), stream=True)


@pytest.mark.parametrize("model", list(MODELS))
def test_img2img_and_infill_every_model(model: str, make_image: MakeImage) -> None:
    src, mask = make_image("s.png", 300, 500), make_image("m.png", 52, 76, mode="L", color=255)
    s = GenerationSettings(model=model, prompt="p", image=str(src), action="img2img", width=512, height=768,
                           noise=0.2, uc_preset="heavy")
    _check(build_request(s))
    _check(build_request(s.copy(action="infill", mask=str(mask))))


def test_vibes_and_charref(make_image: MakeImage) -> None:
    model = "nai-diffusion-4-5-full"
    enc = base64.b64encode(rules.VIBE_MAGIC + rules.vibe_family(model).encode() + b"\0" + os.urandom(32)).decode()
    s = GenerationSettings(model=model, prompt="p", vibes=[VibeReference(path="v.png")] * 5)
    _check(build_request(s, vibe_encodings=[enc] * 5))
    ref = make_image("r.png", 700, 400)
    _check(build_request(GenerationSettings(model=model, prompt="p", charref=CharacterReference(str(ref)))))
    v3 = GenerationSettings(model="nai-diffusion-3", prompt="p", vibes=[VibeReference(path=str(ref))])
    _check(build_request(v3))


def test_emulator_source_chunks_are_hashes_we_know() -> None:
    """The emulator writes only Source texts that public NovelAI images carry (none invented):
    each maps back to the model it stands for."""
    from peropix_tui.core.nai.models import SOURCE_TO_MODEL, model_from_source

    artifacts: Any = pytest.importorskip("nai_emulator.artifacts", reason="tests/nai_emulator is absent")
    for model, source in artifacts.SOURCES.items():
        assert model_from_source(source) == model, source
        assert source in SOURCE_TO_MODEL or model == "nai-diffusion-5-curated", source
