"""Precise Reference: several references with mode, strength and fidelity (nai-tools.md §4)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from peropix_tui.commands.genopts import add_generation_options, parse_charref, settings_from_args
from peropix_tui.core.backend import CancelToken
from peropix_tui.core.config import Secret
from peropix_tui.core.nai.backend import NaiBackend
from peropix_tui.core.nai.client import NaiClient
from peropix_tui.core.nai.cost import estimate_cost
from peropix_tui.core.nai.request import build_request
from peropix_tui.core.settings import CharacterReference, GenerationSettings, SettingsError, VibeReference
from tests.nai_emulator.rules import check_generation
from tests.nai_emulator.server import NaiEmulator

MakePng = Callable[..., Path]


def three_refs(make_png: MakePng, **kw: object) -> GenerationSettings:
    a, b, c = (make_png(f"r{i}.png", 300 + 200 * i, 500) for i in range(3))
    return GenerationSettings(
        prompt="1girl", width=512, height=768, steps=28,
        charref=CharacterReference(str(a), fidelity=0.75, strength=0.6, mode="character"),
        extra_charrefs=[CharacterReference(str(b), mode="style", strength=1.0, fidelity=1.0),
                        CharacterReference(str(c), style_aware=True, strength=0.3, fidelity=0.1)],
        **kw)  # type: ignore[arg-type]


def test_three_references_are_parallel_arrays(make_png: MakePng) -> None:
    params = build_request(three_refs(make_png))["parameters"]
    assert len(params["director_reference_images"]) == 3
    assert [d["caption"]["base_caption"] for d in params["director_reference_descriptions"]] == [
        "character", "style", "character&style"]
    assert params["director_reference_strength_values"] == [0.6, 1, 0.3]
    assert params["director_reference_secondary_strength_values"] == [0.25, 0, 0.9]  # round(1 - fidelity, 2)
    assert params["director_reference_information_extracted"] == [1, 1, 1]
    check_generation(build_request(three_refs(make_png)), stream=False)  # the emulator's own rules agree


@pytest.mark.parametrize(("changes", "message"), [
    ({"model": "nai-diffusion-5-full"}, "Precise Reference \\(character reference\\) is a V4.5 feature; V5 Full"),
    ({"model": "nai-diffusion-4-full"}, "V4.5 feature; V4 Full does not support it"),
    ({"action": "infill", "image": "x.png", "mask": "m.png"}, "cannot be used with infill"),
    ({"vibes": [VibeReference(encoding="AAAA")]}, "Precise Reference and vibe transfer"),
])
def test_refused_with_a_clear_message(make_png: MakePng, changes: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        build_request(three_refs(make_png).copy(**changes))


def test_bad_mode_and_range_name_the_reference(make_png: MakePng) -> None:
    s = three_refs(make_png)
    s.extra_charrefs[0].mode = "pose"
    with pytest.raises(SettingsError, match=r"charref\[1\].mode: 'pose' is not one of"):
        build_request(s)
    s = three_refs(make_png)
    s.extra_charrefs[1].fidelity = 1.5
    with pytest.raises(SettingsError, match=r"charref\[2\].fidelity: 1.5"):
        build_request(s)


def test_cost_is_five_per_reference_per_image_and_the_web_formula_drops_the_free_image(make_png: MakePng) -> None:
    s = three_refs(make_png)
    est = estimate_cost(s, tier=3)
    assert est.breakdown["charref"] == 15 and not est.opus_free and est.total == est.per_image + 15
    est2 = estimate_cost(s.copy(n_samples=2), tier=0)
    assert est2.breakdown["charref"] == 30


def test_live_billing_as_observed_in_the_emulator(nai_emulator: NaiEmulator, make_png: MakePng) -> None:
    """The emulator bills as NovelAI was seen to (one reference on Opus at 512x768, 23 steps: 5 charged
    where the web formula says 12); our estimate (12) is the upper bound."""
    s = GenerationSettings(prompt="1girl", width=512, height=768, steps=23, seed=1,
                           charref=CharacterReference(str(make_png("r.png", 400, 600))))
    assert estimate_cost(s, tier=3).total == 12
    before = nai_emulator.account.anlas
    backend = NaiBackend(NaiClient(nai_emulator.url, Secret(nai_emulator.token), stream=False))
    asyncio.run(backend.generate(s, lambda p: None, CancelToken()))
    assert before - nai_emulator.account.anlas == 5


def test_cli_charref_is_repeatable_with_mode_strength_fidelity(make_png: MakePng) -> None:
    p = argparse.ArgumentParser()
    add_generation_options(p)
    a, b = make_png("a.png", 64, 64), make_png("b.png", 64, 64)
    args = p.parse_args(["--charref", str(a), "--charref", f"{b}:style:0.5:0.8", "--fidelity", "0.9"])
    s = settings_from_args(args)
    refs = s.charrefs()
    assert [r.path for r in refs] == [str(a), str(b)]
    assert (refs[0].caption(), refs[0].strength, refs[0].fidelity) == ("character&style", 1.0, 0.9)
    assert (refs[1].caption(), refs[1].strength, refs[1].fidelity) == ("style", 0.5, 0.8)


def test_parse_charref_takes_numbers_and_mode_from_the_end() -> None:
    ref, given = parse_charref("C:/imgs/x.png:character&style:0.4")
    assert (ref.path, ref.mode, ref.strength, given) == ("C:/imgs/x.png", "character&style", 0.4, {"mode", "strength"})
    with pytest.raises(SettingsError, match="--charref: strength 2.0"):
        parse_charref("x.png:2")


def test_settings_round_trip_keeps_every_reference(make_png: MakePng) -> None:
    s = three_refs(make_png)
    back = GenerationSettings.from_dict(s.to_dict())
    assert [r.caption() for r in back.charrefs()] == ["character", "style", "character&style"]


def test_inpaint_keep_original_defaults_off_as_the_website(make_png: MakePng) -> None:
    src, mask = make_png("s.png", 512, 768), make_png("m.png", 512, 768, mode="L")
    s = GenerationSettings(prompt="p", width=512, height=768, action="infill", image=str(src), mask=str(mask))
    assert build_request(s)["parameters"]["add_original_image"] is False
    assert build_request(s.copy(inpaint_keep_original=True))["parameters"]["add_original_image"] is True
    v5 = s.copy(model="nai-diffusion-5-full", inpaint_keep_original=True)
    assert build_request(v5)["parameters"]["add_original_image"] is True
    assert build_request(s.copy(action="img2img", mask=None))["parameters"]["add_original_image"] is True
