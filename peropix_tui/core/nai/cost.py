"""Anlas cost: the official NovelAI web formula (spec §10.1), before anything is sent.

Per request::

    pixels    = max(W*H, 65536)
    base      = ceil(2.951823174884865e-6*pixels + 5.753298233447344e-7*pixels*steps)
    per_image = max(ceil(base * smea_mult * [1.5 on V5] * strength_mult), 2)   (> 140: refused)
    opus_free = tier >= 3 and active and W*H <= 1048576 and steps <= 28 and no character
                reference (and, on V5, the Opus usage allowance is not negative)
    total     = per_image * (n_samples - opus_free) + vibe extras + character-reference extra

Interpretations (documented where the spec leaves room):

* Inpaint area: the website computes the cost size from its mask, which it sends at 1/8 of
  the image size, as ``W = 8*mask_w, H = 8*mask_h`` — i.e. the full image size. If that area
  is below 0.8 * 1,048,576 it is scaled up towards 1,048,576 and floored to multiples of 64;
  that adjusted size is used for the formula and for the Opus-free check.
* Strength multiplier: img2img uses ``strength``; infill uses ``inpaintImg2ImgStrength``,
  which the request builder always sends as 1.
* V5: ``x1.5`` inside the rounding (the web bundle: ``max(ceil(base*smea*1.5*strength), 2)``;
  1088x1024 at 1 step is 6 on V5 and 4 on V4.5). The 140 cap applies to that final
  per-image value (the web checks the value it computed).
* Opus-free applies per request: the first image of every request (batch) is free, also for
  img2img (the bundle has no txt2img-only condition). :func:`queue_cost` sums requests.
* Vibe extras only on models with encoded vibes (V4/V4.5), with no character reference and
  not for infill: 2 per vibe that still needs encoding + 2 per enabled vibe beyond 4.
* Precise Reference (character reference): 5 x references x n_samples, never free (not for
  infill), and, as the website's formula says, no Opus-free first image when references are
  present. Live billing was seen to keep the free image (nai-tools.md §4: 5 charged where the
  formula says 12), so this estimate is an upper bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ...i18n import _
from ..settings import GenerationSettings, SettingsError, VibeReference
from .models import NaiModel, get_model

A_PIXEL = 2.951823174884865e-6
A_PIXEL_STEP = 5.753298233447344e-7
MIN_PIXELS = 65_536
OPUS_FREE_PIXELS = 1_048_576
OPUS_FREE_STEPS = 28
MIN_COST = 2
MAX_COST_PER_IMAGE = 140
V5_MULTIPLIER = 1.5
VIBE_ENCODE_PRICE = 2
VIBE_BATCH_PRICE = 2
VIBE_FREE_COUNT = 4
CHARREF_PRICE = 5
INPAINT_MIN_FRACTION = 0.8
GRID = 64


@dataclass
class CostEstimate:
    """The Anlas a request will cost."""

    total: int
    per_image: int
    opus_free: bool
    n_samples: int
    billable_images: int
    breakdown: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "per_image": self.per_image,
            "opus_free": self.opus_free,
            "n_samples": self.n_samples,
            "billable_images": self.billable_images,
            "breakdown": dict(self.breakdown),
        }


@dataclass
class QueueCost:
    """The cost of a whole run (every request of every slot and repeat)."""

    total: int
    requests: list[CostEstimate]

    @property
    def images(self) -> int:
        return sum(r.n_samples for r in self.requests)

    @property
    def free_images(self) -> int:
        return sum(1 for r in self.requests if r.opus_free)

    def to_json(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "requests": len(self.requests),
            "images": self.images,
            "free_images": self.free_images,
            "breakdown": _sum_breakdowns(r.breakdown for r in self.requests),
        }


# ------------------------------------------------------------------------------ formula
def base_cost(width: int, height: int, steps: int) -> int:
    pixels = max(width * height, MIN_PIXELS)
    return math.ceil(A_PIXEL * pixels + A_PIXEL_STEP * pixels * steps)


def smea_multiplier(sm: bool, sm_dyn: bool) -> float:
    return 1.4 if sm and sm_dyn else 1.2 if sm else 1.0


def inpaint_cost_size(width: int, height: int) -> tuple[int, int]:
    """The website's inpaint cost size: small areas are scaled up towards 1 MP, floored to 64."""
    pixels = width * height
    if pixels >= INPAINT_MIN_FRACTION * OPUS_FREE_PIXELS:
        return width, height
    scale = math.sqrt(OPUS_FREE_PIXELS / pixels)
    return (math.floor(width * scale) // GRID) * GRID, (math.floor(height * scale) // GRID) * GRID


def strength_multiplier(settings: GenerationSettings) -> float:
    if settings.action == "img2img":
        return settings.strength
    return 1.0  # txt2img; infill uses inpaintImg2ImgStrength, which we always send as 1


def per_image_cost(settings: GenerationSettings, model: NaiModel, width: int, height: int) -> int:
    cost = base_cost(width, height, settings.steps) * smea_multiplier(settings.smea, settings.smea_dyn)
    if model.family == "v5":
        cost *= V5_MULTIPLIER
    per = max(math.ceil(cost * strength_multiplier(settings)), MIN_COST)
    if per > MAX_COST_PER_IMAGE:
        raise SettingsError(
            "width/height/steps",
            _("{width}x{height} at {steps} steps costs {cost} Anlas per image, over NovelAI's limit of {limit}")
            .format(width=width, height=height, steps=settings.steps, cost=per, limit=MAX_COST_PER_IMAGE),
        )
    return per


def is_opus_free(
    settings: GenerationSettings, model: NaiModel, width: int, height: int, *, tier: int, active: bool,
    v5_usage_negative: bool = False,
) -> bool:
    return (
        tier >= 3
        and active
        and width * height <= OPUS_FREE_PIXELS
        and settings.steps <= OPUS_FREE_STEPS
        and not settings.charrefs()
        and not (model.family == "v5" and v5_usage_negative)
    )


def _vibes_apply(settings: GenerationSettings, model: NaiModel) -> list[VibeReference]:
    if not model.encoded_vibes or settings.charrefs() or settings.action == "infill":
        return []
    return settings.enabled_vibes()


def _charref_cost(settings: GenerationSettings, model: NaiModel) -> int:
    refs = len(settings.charrefs())
    if not refs or not model.charref or settings.action == "infill":
        return 0
    return CHARREF_PRICE * refs * settings.n_samples


# --------------------------------------------------------------------------- public API
def estimate_cost(
    settings: GenerationSettings,
    *,
    tier: int,
    active: bool = True,
    uncached_vibes: int | None = None,
    v5_usage_negative: bool = False,
) -> CostEstimate:
    """Cost of one request. ``uncached_vibes`` = vibes that still need /ai/encode-vibe
    (None: count the enabled vibes that carry no ``encoding``)."""
    model = get_model(settings.model)
    width, height = settings.width, settings.height
    if settings.action == "infill":
        width, height = inpaint_cost_size(width, height)
    per = per_image_cost(settings, model, width, height)
    free = is_opus_free(settings, model, width, height, tier=tier, active=active, v5_usage_negative=v5_usage_negative)
    billable = max(settings.n_samples - (1 if free else 0), 0)
    vibes = _vibes_apply(settings, model)
    if uncached_vibes is None:
        uncached_vibes = sum(1 for v in vibes if not v.encoding)
    breakdown = {
        "generation": per * billable,
        "vibe_encode": VIBE_ENCODE_PRICE * min(uncached_vibes, len(vibes)),
        "vibe_surcharge": VIBE_BATCH_PRICE * max(0, len(vibes) - VIBE_FREE_COUNT),
        "charref": _charref_cost(settings, model),
    }
    return CostEstimate(
        total=sum(breakdown.values()),
        per_image=per,
        opus_free=free,
        n_samples=settings.n_samples,
        billable_images=billable,
        breakdown=breakdown,
    )


VibeCachedFn = Callable[[VibeReference, str], bool]


def _vibe_key(v: VibeReference, model: NaiModel) -> tuple[Any, ...]:
    return (v.image_sha256 or v.path, round(v.information_extracted, 3), model.vibe_key)


def queue_cost(
    items: Iterable[GenerationSettings],
    *,
    tier: int,
    active: bool = True,
    is_cached: VibeCachedFn | None = None,
    v5_usage_negative: bool = False,
) -> QueueCost:
    """Cost of a whole run. Each request gets its own Opus-free first image; a vibe that needs
    encoding is paid once (the first request that uses it encodes and caches it).

    ``is_cached(vibe, model_id)`` says whether a vibe's encoding is already on disk
    (default: the vibe carries its ``encoding``)."""
    seen: set[tuple[Any, ...]] = set()
    estimates = []
    for s in items:
        model = get_model(s.model)
        uncached = 0
        for v in _vibes_apply(s, model):
            key = _vibe_key(v, model)
            cached = v.encoding is not None or (is_cached(v, model.id) if is_cached else False)
            if not cached and key not in seen:
                uncached += 1
            seen.add(key)
        estimates.append(estimate_cost(s, tier=tier, active=active, uncached_vibes=uncached,
                                       v5_usage_negative=v5_usage_negative))
    return QueueCost(total=sum(e.total for e in estimates), requests=estimates)


def _sum_breakdowns(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for b in parts:
        for k, v in b.items():
            out[k] = out.get(k, 0) + v
    return out


# ------------------------------------------------------------ director tools and upscale
AUGMENT_MIN_PIXELS = 1_048_576
AUGMENT_MAX_PIXELS = 3_145_728
AUGMENT_STEPS = 28
BG_REMOVAL_FACTOR = 3
BG_REMOVAL_EXTRA = 5
UPSCALE_PRICES: tuple[tuple[int, int], ...] = ((1_048_576, 1), (1_747_627, 2), (2_446_678, 3), (3_145_728, 4))


def augment_cost(tool: str, width: int, height: int, *, tier: int, active: bool = True) -> CostEstimate:
    """One ``/ai/augment-image`` request at the size sent (specs/nai-tools.md §1 "Cost").

    The area is normalised into [1,048,576, 3,145,728] and priced with the V4 formula at 28
    steps (no V5 x1.5: the website prices augment as ``nai-diffusion-3``). ``bg-removal`` costs
    ``3*base + 5`` and is never free; every other tool costs ``base`` and is free on an active
    Opus subscription when the normalised area is at most 1,048,576.
    """
    area = min(max(width * height, AUGMENT_MIN_PIXELS), AUGMENT_MAX_PIXELS)
    base = math.ceil(A_PIXEL * area + A_PIXEL_STEP * area * AUGMENT_STEPS)
    if tool == "bg-removal":
        price, free = BG_REMOVAL_FACTOR * base + BG_REMOVAL_EXTRA, False
    else:
        price, free = base, tier >= 3 and active and area <= AUGMENT_MIN_PIXELS
    total = 0 if free else price
    return CostEstimate(total=total, per_image=price, opus_free=free, n_samples=1,
                        billable_images=0 if free else 1, breakdown={"augment": total})


def upscale_cost(width: int, height: int) -> CostEstimate:
    """One ``/ai/upscale`` request: 1..4 Anlas by input pixels, never Opus-free (nai-tools.md §2)."""
    pixels = width * height
    for limit, price in UPSCALE_PRICES:
        if pixels <= limit:
            return CostEstimate(total=price, per_image=price, opus_free=False, n_samples=1, billable_images=1,
                                breakdown={"upscale": price})
    raise SettingsError("image", _("{width}x{height} = {pixels} px is too large to upscale (maximum {limit} px)")
                        .format(width=width, height=height, pixels=pixels, limit=UPSCALE_PRICES[-1][0]))
