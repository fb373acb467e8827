"""Build the exact JSON body the NovelAI website sends to ``/ai/generate-image(-stream)``.

Field set, order and values follow the real website captures: V4.5 curated
(``text2image_v4.json``) for V4/V4.5, the 2026-09 V5 captures (nkdk9315
``web-captures-2026-09-24.json``) for V5, and ``text2image.json`` for V3. Choices where
the sources disagree (see spec §3–§4, §12–§14):

* ``skip_cfg_above_sigma``: null unless Variety+; then the website's value as LlmKira
  (synced with the website) computes it: 58 on V4.5, 19 on V3/V4, scaled by
  ``sqrt(W*H / (832*1216))`` and rounded up (so exactly 58 at 832x1216). Omitted on V5.
* ``extra_noise_seed`` (img2img / infill only): ``seed - 1``, or 4294967295 when seed is 0,
  as the current website does.
* img2img: ``strength``, ``noise``, ``add_original_image: true``, ``inpaintImg2ImgStrength: 1``,
  ``color_correct: false`` (V5 website capture).
* infill: the inpainting model id, ``strength``/``noise`` from the settings,
  ``add_original_image`` from ``inpaint_keep_original`` ("keep original image", off by
  default as the website sends it), ``inpaintImg2ImgStrength: 1``, no ``img2img`` object — the
  V5 website infill capture, the best evidence (spec Open question 4). Every vibe and
  character-reference field is left out. V5 curated infill keeps the V5 body with the model
  swapped to ``nai-diffusion-4-5-curated-inpainting`` as the website does.
* ``inpaintImg2ImgStrength`` is sent on V4/V4.5 only for img2img/infill (the V4.5 txt2img
  capture has none); V5 always sends it (its captures do).
* ``deliberate_euler_ancestral_bug: false`` / ``prefer_brownian: true`` only for
  ``k_euler_ancestral`` with a non-native schedule, as the website does; otherwise left out.
* Characters at "AI's choice" are (0, 0) with ``use_coords: false``; if some characters have
  a cell and others do not, the others are put at the centre C3 (the website never mixes).
* Furry mode (V4+): ``fur dataset, `` is prefixed when the settings carry a ``furry`` flag.
* V5 transparency: when the prompt has ``transparent background`` (or the settings carry a
  ``transparent`` flag), ``straight_alpha`` and ``tag_hint_transparent_background`` are sent.
* V5 text in the image: quoted phrases become a ``, teXt: …`` block after the quality tags
  unless a prompt already has ``text:`` (:mod:`.v5text`, nai-tools.md §5).
* ``image_format`` is not sent: the server then returns PNG, which we save with its chunks.
"""

from __future__ import annotations

import copy
import math
import secrets
from typing import Any

from ...i18n import _
from ..settings import GenerationSettings, SettingsError, cell_to_xy
from . import images, presets, v5text
from .models import NaiModel, get_model, nai_sampler, nai_schedule, validate

MAX_SEED = 0xFFFFFFFF
BASE64_FIELDS = frozenset(
    {"image", "mask", "reference_image", "reference_image_multiple", "director_reference_images"}
)


# --------------------------------------------------------------------------- prompt text
def is_transparent(settings: GenerationSettings, model: NaiModel) -> bool:
    if model.family != "v5":
        return False
    return settings.transparent or presets.has_tag(settings.prompt, presets.TRANSPARENT_TAG)


def is_furry(settings: GenerationSettings, model: NaiModel) -> bool:
    """Furry mode (V4+): only when the settings carry a ``furry`` flag (not yet in the vocabulary)."""
    return model.v4_prompt and settings.furry


def final_prompt(settings: GenerationSettings, model: NaiModel | None = None) -> str:
    """The prompt as sent: (``fur dataset, `` +) the user's text (+ transparency tag on V5) + quality tags
    (+ on V5 the ``teXt:`` block of quoted phrases, :mod:`.v5text`)."""
    m = model or get_model(settings.model)
    text = presets.apply_furry(settings.prompt) if is_furry(settings, m) else settings.prompt
    if is_transparent(settings, m):
        text = presets.apply_transparent(text)
    text = presets.apply_quality(text, m.id) if settings.quality else text
    if m.family == "v5":
        text += v5text.text_suffix(settings.prompt, [c.prompt for c in settings.enabled_characters()])
    return text


def final_negative(settings: GenerationSettings, model: NaiModel | None = None) -> str:
    m = model or get_model(settings.model)
    return presets.apply_uc_preset(settings.uc, settings.uc_preset, m.id, settings.prompt)


# ------------------------------------------------------------------------------- numbers
def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def extra_noise_seed(seed: int) -> int:
    return MAX_SEED if seed == 0 else seed - 1


def variety_sigma(model: NaiModel, width: int, height: int) -> float:
    """Variety+ ``skip_cfg_above_sigma``: the model's sigma scaled by resolution, rounded up."""
    assert model.variety_sigma is not None
    return math.ceil(model.variety_sigma * math.sqrt((width * height) / (832 * 1216)))


def _num(x: float) -> float | int:
    """Whole floats as ints (5.0 -> 5), as the website's JSON writes them."""
    return int(x) if float(x).is_integer() else x


# ---------------------------------------------------------------------------- characters
def _centers(settings: GenerationSettings) -> tuple[list[tuple[float, float]], bool]:
    chars = settings.enabled_characters()
    use_coords = any(c.position is not None for c in chars)
    default = "C3" if use_coords else None
    return [cell_to_xy(c.position or default) for c in chars], use_coords


def _xy(center: tuple[float, float]) -> dict[str, float | int]:
    return {"x": _num(center[0]), "y": _num(center[1])}


def character_fields(settings: GenerationSettings, prompt: str, negative: str) -> dict[str, Any]:
    """``use_coords``, ``characterPrompts``, ``v4_prompt``, ``v4_negative_prompt`` (one neg caption per character)."""
    chars = settings.enabled_characters()
    centers, use_coords = _centers(settings)
    return {
        "use_coords": use_coords,
        "characterPrompts": [
            {"prompt": c.prompt, "uc": c.uc, "center": _xy(xy), "enabled": True} for c, xy in zip(chars, centers, strict=True)
        ],
        "v4_prompt": {
            "caption": {
                "base_caption": prompt,
                "char_captions": [{"char_caption": c.prompt, "centers": [_xy(xy)]} for c, xy in zip(chars, centers, strict=True)],
            },
            "use_coords": use_coords,
            "use_order": True,
        },
        "v4_negative_prompt": {
            "caption": {
                "base_caption": negative,
                "char_captions": [{"char_caption": c.uc, "centers": [_xy(xy)]} for c, xy in zip(chars, centers, strict=True)],
            },
            "legacy_uc": False,
        },
    }


# ---------------------------------------------------------------------------- references
def vibe_fields(
    settings: GenerationSettings, model: NaiModel, vibe_encodings: list[str] | None
) -> dict[str, Any]:
    """``reference_*_multiple``; empty when vibes do not apply (infill, character reference).

    ``vibe_encodings`` (one per enabled vibe) win when given: V4+ encodings, or V3 raw images."""
    vibes = settings.enabled_vibes()
    if not vibes or settings.action == "infill" or settings.charrefs():
        return {}
    data: list[str | None]
    if vibe_encodings is not None:
        data = list(vibe_encodings)
    elif model.encoded_vibes:
        data = [v.encoding for v in vibes]
    else:  # V3 takes the raw images
        data = [v.encoding or images.raw_png_b64(v.path or "", f"vibes[{i}]") for i, v in enumerate(vibes)]
    if len(data) != len(vibes):
        raise SettingsError("vibes", _("{n} vibes but {encodings} encodings").format(n=len(vibes), encodings=len(data)))
    for i, enc in enumerate(data):
        if not enc:
            raise SettingsError(f"vibes[{i}]", _("has no encoding yet (encode it with /ai/encode-vibe first)"))
    return {
        "reference_image_multiple": data,
        "reference_information_extracted_multiple": [_num(v.information_extracted) for v in vibes],
        "reference_strength_multiple": [_num(v.strength) for v in vibes],
    }


def charref_fields(settings: GenerationSettings) -> dict[str, Any]:
    """Precise Reference: parallel arrays, one entry per reference (nai-tools.md §4)."""
    refs = settings.charrefs()
    if not refs:
        return {}
    return {
        "director_reference_images": [images.charref_b64(cr.path, "charref" if i == 0 else f"charref[{i}]")
                                      for i, cr in enumerate(refs)],
        "director_reference_descriptions": [
            {"caption": {"base_caption": cr.caption(), "char_captions": []}, "legacy_uc": False} for cr in refs
        ],
        "director_reference_information_extracted": [1] * len(refs),
        "director_reference_strength_values": [_num(cr.strength) for cr in refs],
        "director_reference_secondary_strength_values": [_num(round(1.0 - cr.fidelity, 2)) for cr in refs],
    }


def _source_fields(settings: GenerationSettings) -> dict[str, Any]:
    if settings.action == "generate":
        return {}
    out = {"image": images.source_b64(settings.image or "", settings.width, settings.height)}
    if settings.action == "infill":
        out["mask"] = images.mask_b64(settings.mask or "", settings.width, settings.height)
    return out


def _ancestral_fields(sampler: str, schedule: str) -> dict[str, Any]:
    if sampler == "k_euler_ancestral" and schedule != "native":
        return {"deliberate_euler_ancestral_bug": False, "prefer_brownian": True}
    return {}


# ------------------------------------------------------------------------------- bodies
def _head(s: GenerationSettings, m: NaiModel) -> dict[str, Any]:
    return {
        "params_version": m.params_version,
        "width": s.width,
        "height": s.height,
        "scale": _num(s.scale),
        "sampler": nai_sampler(s.sampler, m),
        "steps": s.steps,
    }


def _img_params(s: GenerationSettings) -> dict[str, Any]:
    if s.action == "generate":
        return {}
    return {"strength": _num(s.strength), "noise": _num(s.noise)}


def _tail_seeds(s: GenerationSettings, seed: int) -> dict[str, Any]:
    if s.action == "generate":
        return {}
    out: dict[str, Any] = {"extra_noise_seed": extra_noise_seed(seed)}
    if s.action == "img2img":
        out["color_correct"] = False
    return out


def _v4_parameters(s: GenerationSettings, m: NaiModel, seed: int, refs: dict[str, Any]) -> dict[str, Any]:
    prompt, negative = final_prompt(s, m), final_negative(s, m)
    chars = character_fields(s, prompt, negative)
    schedule = nai_schedule(s.noise_schedule)
    p = _head(s, m)
    p["n_samples"] = s.n_samples
    p.update(_img_params(s))
    p["ucPreset"] = presets.uc_preset_number(s.uc_preset, m.id)
    p["qualityToggle"] = s.quality
    p["autoSmea"] = False
    p.update(dynamic_thresholding=False, controlnet_strength=1, legacy=False)
    p["add_original_image"] = s.inpaint_keep_original if s.action == "infill" else True
    p["cfg_rescale"] = _num(s.cfg_rescale)
    p["noise_schedule"] = schedule
    p["legacy_v3_extend"] = False
    p["skip_cfg_above_sigma"] = variety_sigma(m, s.width, s.height) if s.variety else None
    p["use_coords"] = chars["use_coords"]
    p["legacy_uc"] = False
    p["normalize_reference_strength_multiple"] = True
    if s.action != "generate":
        p["inpaintImg2ImgStrength"] = 1
    p["seed"] = seed
    p.update(_source_fields(s))
    p["characterPrompts"] = chars["characterPrompts"]
    p.update(_tail_seeds(s, seed))
    p["v4_prompt"] = chars["v4_prompt"]
    p["v4_negative_prompt"] = chars["v4_negative_prompt"]
    p["negative_prompt"] = negative
    p.update(refs)
    p.update(_ancestral_fields(p["sampler"], schedule))
    return p


def _v5_parameters(s: GenerationSettings, m: NaiModel, seed: int) -> dict[str, Any]:
    prompt, negative = final_prompt(s, m), final_negative(s, m)
    chars = character_fields(s, prompt, negative)
    transparent = is_transparent(s, m)
    uc_id = presets.V5_UC_PRESET_IDS[s.uc_preset]
    quality_id = "standard" if s.quality else "none"
    p = _head(s, m)
    p["n_samples"] = s.n_samples
    p.update(_img_params(s))
    p["ucPresetId"] = uc_id
    p["qualityPresetId"] = quality_id
    if transparent:
        p["tag_hint_transparent_background"] = True
    p["autoSmea"] = False
    p.update(dynamic_thresholding=False, controlnet_strength=1, legacy=False)
    p["add_original_image"] = s.inpaint_keep_original if s.action == "infill" else True
    p["cfg_rescale"] = _num(s.cfg_rescale)
    p["legacy_v3_extend"] = False
    p["use_coords"] = chars["use_coords"]
    p["legacy_uc"] = False
    p["normalize_reference_strength_multiple"] = True
    p["inpaintImg2ImgStrength"] = 1
    if s.action == "infill":  # the website's infill body puts the seed after the images
        p.update(_source_fields(s))
        p["characterPrompts"] = chars["characterPrompts"]
        p["seed"] = seed
    else:
        p["seed"] = seed
        p.update(_source_fields(s))
        p["characterPrompts"] = chars["characterPrompts"]
    if transparent:
        p["straight_alpha"] = True
    p["tag_hint_qt"] = presets.TAG_HINTS[quality_id]
    p["tag_hint_uc_preset"] = presets.TAG_HINTS[uc_id]
    p.update(_tail_seeds(s, seed))
    p["v4_prompt"] = chars["v4_prompt"]
    p["v4_negative_prompt"] = chars["v4_negative_prompt"]
    p["negative_prompt"] = negative
    p.update(_ancestral_fields(p["sampler"], "karras"))
    p["noise_schedule"] = "karras"
    return p


def _v3_parameters(s: GenerationSettings, m: NaiModel, seed: int, refs: dict[str, Any]) -> dict[str, Any]:
    schedule = nai_schedule(s.noise_schedule)
    p = _head(s, m)
    p["seed"] = seed
    p["n_samples"] = s.n_samples
    p.update(_img_params(s))
    p["ucPreset"] = presets.uc_preset_number(s.uc_preset, m.id)
    p["qualityToggle"] = s.quality
    p.update(sm=s.smea, sm_dyn=s.smea_dyn, dynamic_thresholding=False, controlnet_strength=1, legacy=False)
    p["add_original_image"] = s.inpaint_keep_original if s.action == "infill" else True
    p["cfg_rescale"] = _num(s.cfg_rescale)
    p["noise_schedule"] = schedule
    p["legacy_v3_extend"] = False
    p["skip_cfg_above_sigma"] = variety_sigma(m, s.width, s.height) if s.variety else None
    p.update(_source_fields(s))
    p.update(_tail_seeds(s, seed))
    p["characterPrompts"] = []
    p["negative_prompt"] = final_negative(s, m)
    if s.action != "infill":
        p.update(refs or {
            "reference_image_multiple": [],
            "reference_information_extracted_multiple": [],
            "reference_strength_multiple": [],
        })
    p.update(_ancestral_fields(p["sampler"], schedule))
    return p


def build_request(
    settings: GenerationSettings,
    *,
    vibe_encodings: list[str] | None = None,
    stream: str | None = None,
) -> dict[str, Any]:
    """The exact request body for ``settings``; validates first (SettingsError names the field).

    ``vibe_encodings`` are the base64 encodings of the enabled vibes, in order (V4+); without
    them each vibe's own ``encoding`` is used. A ``None`` seed is replaced by a random one,
    which callers read back from ``body["parameters"]["seed"]``.
    """
    validate(settings)
    m = get_model(settings.model)
    seed = settings.seed if settings.seed is not None else random_seed()
    refs = {**vibe_fields(settings, m, vibe_encodings), **charref_fields(settings)}
    if m.family == "v5":
        params = _v5_parameters(settings, m, seed)
    elif m.family == "v3":
        params = _v3_parameters(settings, m, seed, refs)
    else:
        params = _v4_parameters(settings, m, seed, refs)
    if stream is not None:
        params["stream"] = stream
    body: dict[str, Any] = {
        "input": final_prompt(settings, m),
        "model": m.inpaint_id if settings.action == "infill" else m.id,
        "action": settings.action,
        "parameters": params,
    }
    if m.family == "v5":
        body["use_new_shared_trial"] = True
    return body


# ------------------------------------------------------------------------------ enhance
ENHANCE_PRESETS: dict[int, tuple[float, float]] = {1: (0.2, 0.0), 2: (0.4, 0.0), 3: (0.5, 0.0), 4: (0.6, 0.0), 5: (0.7, 0.1)}
_LARGE = ((2304, 960), (2112, 1088), (1984, 1152), (1856, 1280), (1728, 1408), (1536, 1536))
LARGE_SIZES = _LARGE + tuple((h, w) for w, h in _LARGE if w != h)
ENHANCE_UPSCALE_MAX_PIXELS = int(1.1 * 1024 * 1024)


def snap_large(width: float, height: float) -> tuple[int, int]:
    """The NovelAI "Large" size whose aspect ratio is nearest to width:height."""
    target = math.log(width / height)
    return min(LARGE_SIZES, key=lambda wh: abs(math.log(wh[0] / wh[1]) - target))


def enhance_settings(settings: GenerationSettings, magnitude: int, upscale: bool) -> GenerationSettings:
    """Enhance = img2img of ``settings.image`` with the magnitude's strength/noise, optionally 1.5x."""
    if magnitude not in ENHANCE_PRESETS:
        raise SettingsError("magnitude", _("{value} must be 1..5").format(value=magnitude))
    strength, noise = ENHANCE_PRESETS[magnitude]
    width, height = settings.width, settings.height
    if upscale:
        if width * height > ENHANCE_UPSCALE_MAX_PIXELS:
            raise SettingsError("upscale", _("1.5x enhance is only available up to about 1.1 MP, not {width}x{height}")
                                .format(width=width, height=height))
        width, height = snap_large(width * 1.5, height * 1.5)
    return settings.copy(action="img2img", strength=strength, noise=noise, width=width, height=height, mask=None)


# ------------------------------------------------------------------------------- redact
def _redact_value(v: Any) -> Any:
    if isinstance(v, list):
        return [_redact_value(x) for x in v]
    if isinstance(v, str) and v:
        padding = len(v) - len(v.rstrip("="))
        return f"<base64 {len(v) * 3 // 4 - padding} bytes>"
    return v


def redact_body(body: dict[str, Any]) -> dict[str, Any]:
    """A deep copy with every base64 image / encoding replaced by ``"<base64 N bytes>"``."""
    out = copy.deepcopy(body)
    params = out.get("parameters", {})
    for key in BASE64_FIELDS & params.keys():
        params[key] = _redact_value(params[key])
    return out
