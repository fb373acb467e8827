"""Anlas cost against the official web formula (spec §10), incl. the §10.4 table and worked examples."""

from __future__ import annotations

import json
import math

import pytest

from peropix_tui.core.nai.cost import base_cost, estimate_cost, inpaint_cost_size, queue_cost
from peropix_tui.core.settings import CharacterReference, GenerationSettings, SettingsError, VibeReference


def _formula(w: int, h: int, steps: int) -> int:
    """Spec §10.1 written out independently."""
    pixels = max(w * h, 65536)
    return math.ceil(2.951823174884865e-6 * pixels + 5.753298233447344e-7 * pixels * steps)


# spec §10.4: W, H, steps, official, V5 (x1.5)
TABLE = [
    (832, 1216, 23, 17, 26),
    (832, 1216, 28, 20, 30),
    (1024, 1024, 28, 20, 30),
    (832, 1216, 50, 33, 50),
    (1216, 1216, 28, 29, 44),
    (1024, 1536, 28, 30, 45),
    (1472, 1472, 28, 42, 63),
    (2048, 1536, 50, 100, None),  # V5 would be 150: over the 140 cap
]


@pytest.mark.parametrize(("w", "h", "steps", "official", "v5"), TABLE)
def test_spec_table(w: int, h: int, steps: int, official: int, v5: int | None) -> None:
    s = GenerationSettings(width=w, height=h, steps=steps)
    est = estimate_cost(s, tier=0)
    assert est.per_image == official == _formula(w, h, steps) == est.total
    assert not est.opus_free
    v5s = s.copy(model="nai-diffusion-5-full")
    if v5 is None:
        with pytest.raises(SettingsError):
            estimate_cost(v5s, tier=0)
    else:
        assert estimate_cost(v5s, tier=0).per_image == v5


def test_v5_measured_example() -> None:
    s = GenerationSettings(width=1088, height=1024, steps=1)
    assert estimate_cost(s, tier=0).per_image == 4
    assert estimate_cost(s.copy(model="nai-diffusion-5-curated"), tier=0).per_image == 6


def test_img2img_strength_multiplier() -> None:
    s = GenerationSettings(action="img2img", image="a.png", strength=0.7, steps=28)
    assert estimate_cost(s, tier=0).per_image == 14
    s = GenerationSettings(action="img2img", image="a.png", strength=0.62, steps=23)
    assert estimate_cost(s, tier=0).per_image == 11  # ceil(17 * 0.62)
    tiny = GenerationSettings(action="img2img", image="a.png", strength=0.01, width=256, height=256, steps=1)
    assert estimate_cost(tiny, tier=0).per_image == 2  # minimum


def test_smea_multipliers_on_v3() -> None:
    s = GenerationSettings(model="nai-diffusion-3", sampler="k_euler", steps=23)
    assert estimate_cost(s.copy(smea=True), tier=0).per_image == 21
    assert estimate_cost(s.copy(smea=True, smea_dyn=True), tier=0).per_image == 24


def test_cap_140_is_refused_with_a_field() -> None:
    s = GenerationSettings(model="nai-diffusion-3", width=2048, height=1536, steps=50, smea=True, smea_dyn=True)
    assert estimate_cost(s, tier=3).per_image == 140  # 100 * 1.4: exactly at the cap is allowed
    with pytest.raises(SettingsError) as e:
        estimate_cost(s.copy(model="nai-diffusion-5-full", smea=False, smea_dyn=False), tier=3)
    assert e.value.field == "width/height/steps" and "140" in str(e.value)


def test_opus_free_rules() -> None:
    s = GenerationSettings(width=832, height=1216, steps=23)
    assert estimate_cost(s, tier=3).total == 0 and estimate_cost(s, tier=3).opus_free
    assert estimate_cost(s, tier=3, active=False).total == 17
    assert estimate_cost(s, tier=2).total == 17
    assert estimate_cost(s.copy(n_samples=2), tier=3).total == 17  # only the first image is free
    assert estimate_cost(s.copy(steps=29), tier=3).total == _formula(832, 1216, 29)
    assert estimate_cost(s.copy(width=1024, height=1024, steps=28), tier=3).total == 0
    assert estimate_cost(s.copy(width=1088, height=1024), tier=3).opus_free is False
    i2i = s.copy(action="img2img", image="a.png", strength=0.5)
    assert estimate_cost(i2i, tier=3).total == 0  # the bundle has no txt2img-only condition
    cr = s.copy(charref=CharacterReference("c.png"))
    est = estimate_cost(cr, tier=3)
    assert not est.opus_free and est.total == 17 + 5 and est.breakdown["charref"] == 5


def test_v5_opus_free_needs_usage_left() -> None:
    s = GenerationSettings(model="nai-diffusion-5-full", steps=23)
    assert estimate_cost(s, tier=3).total == 0
    assert estimate_cost(s, tier=3, v5_usage_negative=True).total == 26
    # the usage allowance only limits V5
    assert estimate_cost(s.copy(model="nai-diffusion-4-5-full"), tier=3, v5_usage_negative=True).total == 0


def test_vibe_costs() -> None:
    vibes = [VibeReference(path=f"{i}.png") for i in range(6)]
    s = GenerationSettings(steps=28, vibes=vibes)
    est = estimate_cost(s, tier=3)
    assert est.breakdown == {"generation": 0, "vibe_encode": 12, "vibe_surcharge": 4, "charref": 0}
    assert est.total == 16
    assert estimate_cost(s, tier=3, uncached_vibes=1).total == 2 + 4
    cached = [VibeReference(path="a.png", encoding="QQ==")] * 4
    assert estimate_cost(s.copy(vibes=cached), tier=3).total == 0
    # V3 takes raw images: no encode and no surcharge
    v3 = GenerationSettings(model="nai-diffusion-3", vibes=vibes, steps=28)
    assert estimate_cost(v3, tier=3).total == 0
    # disabled vibes do not count
    off = [VibeReference(path=f"{i}.png", enabled=False) for i in range(6)]
    assert estimate_cost(s.copy(vibes=off), tier=3).total == 0


def test_charref_scales_with_samples() -> None:
    s = GenerationSettings(width=512, height=512, steps=28, n_samples=3, charref=CharacterReference("c.png"))
    est = estimate_cost(s, tier=3)
    per = _formula(512, 512, 28)
    assert est.breakdown["charref"] == 15 and est.total == 3 * per + 15


def test_inpaint_area_rule() -> None:
    assert inpaint_cost_size(832, 1216) == (832, 1216)  # >= 0.8 MP: unchanged
    assert inpaint_cost_size(512, 768) == (832, 1216)
    assert inpaint_cost_size(640, 640) == (1024, 1024)
    small = GenerationSettings(action="infill", image="a.png", mask="m.png", width=512, height=768, steps=28,
                               vibes=[VibeReference(path="v.png")], strength=0.3)
    est = estimate_cost(small, tier=0)
    # cost of 832x1216, strength multiplier 1 (inpaintImg2ImgStrength), no vibe cost with a mask
    assert est.per_image == base_cost(832, 1216, 28) == 20 and est.total == 20
    assert estimate_cost(small, tier=3).total == 0


def test_to_json_shape() -> None:
    data = estimate_cost(GenerationSettings(n_samples=2), tier=3).to_json()
    assert json.loads(json.dumps(data)) == data
    assert {"total", "per_image", "opus_free", "breakdown"} <= data.keys()
    assert data["total"] == 20 and data["per_image"] == 20 and data["opus_free"] is True


def test_queue_cost_free_per_request_and_vibes_encoded_once() -> None:
    vibe = VibeReference(path="v.png", image_sha256="ab" * 32)
    slot = GenerationSettings(steps=28, vibes=[vibe])
    q = queue_cost([slot] * 3, tier=3)
    assert [r.total for r in q.requests] == [2, 0, 0]  # encode once, every first image free
    assert q.total == 2 and q.free_images == 3 and q.images == 3
    q0 = queue_cost([slot.copy(n_samples=2)] * 2, tier=0)
    assert q0.total == 2 + 4 * 20
    assert q0.to_json()["breakdown"]["vibe_encode"] == 2
    cached = queue_cost([slot] * 2, tier=0, is_cached=lambda v, model: True)
    assert cached.total == 40
    # a different information_extracted is a different encoding
    other = slot.copy(vibes=[VibeReference(path="v.png", image_sha256="ab" * 32, information_extracted=0.5)])
    assert queue_cost([slot, other], tier=3).total == 4
