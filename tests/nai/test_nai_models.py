"""Model table facts and validation: every invalid combination is refused, naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from peropix_tui.core.nai import models
from peropix_tui.core.nai.models import get_model, max_n_samples, model_from_source, validate
from peropix_tui.core.settings import (
    CharacterPrompt,
    CharacterReference,
    GenerationSettings,
    SettingsError,
    VibeReference,
)


def test_model_table_facts() -> None:
    assert get_model("nai-diffusion-5-full").params_version == 4
    assert get_model("nai-diffusion-5-curated").params_version == 4
    assert get_model("nai-diffusion-4-5-full").params_version == 3
    assert get_model("nai-diffusion-5-curated").inpaint_id == "nai-diffusion-4-5-curated-inpainting"
    assert get_model("nai-diffusion-5-full").inpaint_id == "nai-diffusion-5-full-inpainting"
    assert get_model("nai-diffusion-4-curated-preview").inpaint_id == "nai-diffusion-4-curated-inpainting"
    assert get_model("nai-diffusion-furry-3").inpaint_id == "nai-diffusion-furry-3-inpainting"
    assert get_model("nai-diffusion-5-full").default_scale == 7
    assert get_model("nai-diffusion-5-full").max_characters == 32
    assert get_model("nai-diffusion-4-5-full").max_characters == 6
    assert [m.id for m in models.MODELS.values() if m.charref] == [
        "nai-diffusion-4-5-full", "nai-diffusion-4-5-curated"]
    assert not get_model("nai-diffusion-5-curated").vibes
    assert get_model("nai-diffusion-3").smea and not get_model("nai-diffusion-4-full").smea
    assert "native" not in get_model("nai-diffusion-4-full").schedules
    assert get_model("nai-diffusion-5-full").schedules == ("karras",)


def test_inpaint_ids_resolve_to_their_base_model() -> None:
    assert get_model("nai-diffusion-4-5-curated-inpainting").id == "nai-diffusion-4-5-curated"
    assert get_model("nai-diffusion-5-full-inpainting").id == "nai-diffusion-5-full"
    with pytest.raises(SettingsError) as e:
        get_model("nai-diffusion-9")
    assert e.value.field == "model"


def test_source_hash_map() -> None:
    assert model_from_source("NovelAI Diffusion V4.5 B9F340FD") == "nai-diffusion-4-5-full"
    assert model_from_source("NovelAI Diffusion V5 0ADF9AB7") == "nai-diffusion-5-full"
    assert model_from_source("NovelAI Diffusion V5 DB276663") == "nai-diffusion-5-curated"
    assert model_from_source("Stable Diffusion XL C1E1DE52") == "nai-diffusion-3"
    assert model_from_source("Stable Diffusion XL 9CC2F394") == "nai-diffusion-furry-3"
    assert model_from_source("Something else") is None


def test_source_hash_of_the_real_nai_png(shared_dir: Any) -> None:
    from PIL import Image

    with Image.open(shared_dir / "fixtures/nai/images/sample-0316.png") as im:
        assert model_from_source(im.info["Source"]) == "nai-diffusion-3"


def test_n_samples_size_table() -> None:
    assert max_n_samples(512, 704) == 8
    assert max_n_samples(640, 640) == 6
    assert max_n_samples(832, 1216) == 4
    assert max_n_samples(1024, 1536) == 2
    assert max_n_samples(2048, 1536) == 1


def test_defaults_are_valid() -> None:
    validate(GenerationSettings(prompt="1girl"))
    for model_id in models.MODELS:
        validate(GenerationSettings(prompt="x", model=model_id, uc_preset="heavy"))


def test_comfyui_sampler_names_are_accepted() -> None:
    validate(GenerationSettings(sampler="euler_ancestral", noise_schedule="karras"))
    validate(GenerationSettings(model="nai-diffusion-3", sampler="euler", noise_schedule="normal"))
    validate(GenerationSettings(model="nai-diffusion-3", sampler="ddim", noise_schedule="native"))
    validate(GenerationSettings(sampler="ddim"))
    assert models.nai_sampler("ddim", get_model("nai-diffusion-3")) == "ddim_v3"
    assert models.nai_sampler("ddim", get_model("nai-diffusion-4-5-full")) == "ddim"


def _s(**kw: Any) -> GenerationSettings:
    return GenerationSettings(prompt="1girl", **kw)


BAD: list[tuple[str, dict[str, Any]]] = [
    ("width", dict(width=830)),
    ("height", dict(height=1000)),
    ("width/height", dict(width=2048, height=1600)),
    ("steps", dict(steps=51)),
    ("steps", dict(steps=0)),
    ("scale", dict(scale=10.5)),
    ("scale", dict(scale=-1)),
    ("cfg_rescale", dict(cfg_rescale=1.5)),
    ("n_samples", dict(n_samples=9, width=512, height=512)),
    ("n_samples", dict(n_samples=3, width=1024, height=1536)),
    ("n_samples", dict(n_samples=0)),
    ("sampler", dict(sampler="k_lms")),
    ("sampler", dict(sampler="ddim_v3")),
    ("sampler", dict(action="infill", image="a.png", mask="m.png", sampler="ddim")),
    ("sampler", dict(model="nai-diffusion-3", action="infill", image="a.png", mask="m.png", sampler="ddim")),
    ("noise_schedule", dict(noise_schedule="native")),
    ("noise_schedule", dict(model="nai-diffusion-5-full", noise_schedule="exponential")),
    ("smea", dict(smea=True)),
    ("smea", dict(model="nai-diffusion-5-full", smea=True, smea_dyn=True)),
    ("smea_dyn", dict(model="nai-diffusion-3", smea_dyn=True)),
    ("variety", dict(model="nai-diffusion-5-curated", variety=True)),
    ("characters", dict(characters=[CharacterPrompt("a")] * 7)),
    ("characters", dict(model="nai-diffusion-3", characters=[CharacterPrompt("a")])),
    ("characters", dict(model="nai-diffusion-5-full", characters=[CharacterPrompt("a")] * 33)),
    ("characters[1].position", dict(characters=[CharacterPrompt("a"), CharacterPrompt("b", position="F9")])),
    ("vibes", dict(vibes=[VibeReference(encoding="AAAA")] * 17)),
    ("vibes", dict(model="nai-diffusion-5-full", vibes=[VibeReference(encoding="AAAA")])),
    ("vibes[0].strength", dict(vibes=[VibeReference(encoding="AAAA", strength=1.5)])),
    ("vibes[0]", dict(vibes=[VibeReference()])),
    ("charref", dict(model="nai-diffusion-5-full", charref=CharacterReference("c.png"))),
    ("charref", dict(model="nai-diffusion-4-full", charref=CharacterReference("c.png"))),
    ("charref", dict(action="infill", image="a.png", mask="m.png", charref=CharacterReference("c.png"))),
    ("charref", dict(charref=CharacterReference("c.png"), vibes=[VibeReference(encoding="AAAA")])),
    ("charref.fidelity", dict(charref=CharacterReference("c.png", fidelity=1.2))),
    ("uc_preset", dict(model="nai-diffusion-4-full", uc_preset="human")),
    ("uc_preset", dict(model="nai-diffusion-4-5-curated", uc_preset="furry")),
    ("image", dict(action="img2img")),
    ("mask", dict(action="infill", image="a.png")),
    ("strength", dict(action="img2img", image="a.png", strength=0.0)),
    ("noise", dict(action="img2img", image="a.png", noise=1.0)),
    ("seed", dict(seed=2**32)),
    ("model", dict(model="nai-diffusion-5-curated-inpainting")),
]


@pytest.mark.parametrize(("field", "kw"), BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
def test_invalid_settings_are_refused_naming_the_field(field: str, kw: dict[str, Any]) -> None:
    with pytest.raises(SettingsError) as e:
        validate(_s(**kw))
    assert e.value.field == field
    assert str(e.value).startswith(f"{field}: ")


def test_disabled_characters_and_vibes_do_not_count() -> None:
    chars = [CharacterPrompt("a")] * 6 + [CharacterPrompt("off", enabled=False)] * 3
    validate(_s(characters=chars))
    validate(_s(model="nai-diffusion-5-full", vibes=[VibeReference(encoding="A", enabled=False)]))


def test_vibes_with_infill_are_allowed_and_dropped_later() -> None:
    # the website keeps vibes in the UI but never sends them with a mask (see request tests)
    validate(_s(action="infill", image="a.png", mask="m.png", vibes=[VibeReference(encoding="AAAA")]))
