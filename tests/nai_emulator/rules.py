"""Strict request validation for the NovelAI emulator, written from specs/nai-api.md alone.

Independent of ``peropix_tui.core.nai`` on purpose: the emulator must catch the project's
mistakes, so it shares no code with the request builder. Every check raises
:class:`Rejected` with the HTTP status the real service answers and a message naming the field.
"""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass
from typing import Any

from PIL import Image

MAX_AREA = 3_145_728
V3 = ("nai-diffusion-3", "nai-diffusion-furry-3")
V4 = ("nai-diffusion-4-curated-preview", "nai-diffusion-4-full")
V45 = ("nai-diffusion-4-5-curated", "nai-diffusion-4-5-full")
V5 = ("nai-diffusion-5-full", "nai-diffusion-5-curated")
GENERATION_MODELS = V3 + V4 + V45 + V5
INPAINT_MODELS = {
    "nai-diffusion-3-inpainting": "v3",
    "nai-diffusion-furry-3-inpainting": "v3",
    "nai-diffusion-4-curated-inpainting": "v4",
    "nai-diffusion-4-full-inpainting": "v4",
    "nai-diffusion-4-5-curated-inpainting": "v4.5",
    "nai-diffusion-4-5-full-inpainting": "v4.5",
    "nai-diffusion-5-full-inpainting": "v5",
}
PARAMS_VERSIONS = {"v3": {1, 2, 3}, "v4": {3, 4}, "v4.5": {3, 4}, "v5": {4}}
V4_SAMPLERS = {
    "k_euler", "k_euler_ancestral", "k_dpmpp_2s_ancestral", "k_dpmpp_2m", "k_dpmpp_2m_sde", "k_dpmpp_sde", "ddim",
}
V3_SAMPLERS = V4_SAMPLERS | {"ddim_v3", "k_dpm_2", "k_dpm_2_ancestral", "k_lms", "k_dpm_adaptive", "k_dpm_fast", "plms"}
SCHEDULES = {
    "v3": {"native", "karras", "exponential", "polyexponential"},
    "v4": {"karras", "exponential", "polyexponential"},
    "v4.5": {"karras", "exponential", "polyexponential"},
    "v5": {"karras"},
}
MAX_CHARACTERS = {"v3": 0, "v4": 6, "v4.5": 6, "v5": 32}
CR_CANVASES = {(1024, 1536), (1536, 1024), (1472, 1472)}
BOOL_FIELDS = (
    "qualityToggle", "autoSmea", "sm", "sm_dyn", "dynamic_thresholding", "legacy", "add_original_image",
    "legacy_v3_extend", "use_coords", "legacy_uc", "normalize_reference_strength_multiple",
    "deliberate_euler_ancestral_bug", "prefer_brownian", "straight_alpha", "tag_hint_transparent_background",
    "color_correct", "use_new_shared_trial",
)
VIBE_FIELDS = ("reference_image_multiple", "reference_information_extracted_multiple", "reference_strength_multiple")
CR_FIELDS = (
    "director_reference_images", "director_reference_information_extracted",
    "director_reference_strength_values", "director_reference_secondary_strength_values",
    "director_reference_descriptions",
)
VIBE_MAGIC = b"EMUVIBE1"


class Rejected(Exception):
    """A request the real service would refuse: ``status`` and a message naming the field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad(message: str, status: int = 400) -> Rejected:
    return Rejected(status, f"Validation error: {message}")


@dataclass
class Checked:
    """What the emulator needs from a valid generation request."""

    family: str
    width: int
    height: int
    steps: int
    n_samples: int
    seed: int
    strength: float


def family_of(model: str) -> str:
    if model in INPAINT_MODELS:
        return INPAINT_MODELS[model]
    if model in V3:
        return "v3"
    if model in V4:
        return "v4"
    if model in V45:
        return "v4.5"
    if model in V5:
        return "v5"
    raise _bad(f"model: unknown model {model!r}")


def vibe_family(model: str) -> str:
    """The encoding family a vibe belongs to: full and curated encodings differ."""
    fam = family_of(model)
    return f"{fam}-{'curated' if 'curated' in model else 'full'}"


# --------------------------------------------------------------------- helpers
def _get(params: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    if name not in params:
        if required:
            raise _bad(f"parameters.{name} is required")
        return None
    value = params[name]
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise _bad(f"parameters.{name} must be a number, got a boolean")
    if not isinstance(value, kind):
        raise _bad(f"parameters.{name} has the wrong type {type(value).__name__}")
    return value


def _number(params: dict[str, Any], name: str, lo: float, hi: float, *, required: bool = True) -> float | None:
    value = _get(params, name, (int, float), required=required)
    if value is not None and not lo <= value <= hi:
        raise _bad(f"parameters.{name}={value} is outside {lo}..{hi}")
    return value


def decode_b64(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise _bad(f"{where} must be a non-empty base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f"{where} is not valid base64") from None


def decode_image(value: Any, where: str) -> Image.Image:
    data = decode_b64(value, where)
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except Exception:
        raise _bad(f"{where} is not a decodable image") from None
    return img


# ------------------------------------------------------------------ top level
def check_headers(headers: dict[str, str], token: str, *, post: bool) -> None:
    ua = headers.get("user-agent", "")
    if not ua or ua.lower().startswith(("python-urllib", "python-httpx", "python-requests")):
        raise Rejected(403, "blocked: send an explicit User-Agent")
    auth = headers.get("authorization", "")
    if not auth.startswith("Bearer ") or auth[len("Bearer "):] != token:
        raise Rejected(401, "Unauthorized")
    if post and headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise _bad("Content-Type must be application/json")


def check_generation(body: Any, *, stream: bool) -> Checked:
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    for key in ("input", "model", "action"):
        if not isinstance(body.get(key), str):
            raise _bad(f"{key} is required and must be a string")
    params = body.get("parameters")
    if not isinstance(params, dict):
        raise _bad("parameters is required and must be an object")
    model, action = body["model"], body["action"]
    fam = family_of(model)
    _check_action_model(model, action)
    _check_stream_field(params, stream)
    for name in BOOL_FIELDS:
        _get(params, name, bool, required=False)
    version = _get(params, "params_version", int)
    if version not in PARAMS_VERSIONS[fam]:
        raise _bad(f"parameters.params_version={version} is not allowed for {model}")
    width, height = _size(params)
    steps = _get(params, "steps", int)
    if not 1 <= steps <= 50:
        raise _bad(f"parameters.steps={steps} is outside 1..50")
    _number(params, "scale", 0, 10)
    _number(params, "cfg_rescale", 0, 1, required=False)
    n_samples = _get(params, "n_samples", int)
    if not 1 <= n_samples <= 8:
        raise _bad("parameters.n_samples must be 1..8")
    seed = _get(params, "seed", int)
    if not 0 <= seed <= 0xFFFFFFFF:
        raise _bad("parameters.seed must be 0..4294967295")
    _check_sampler(params, model, fam)
    _get(params, "negative_prompt", str)
    _check_smea_and_variety(params, fam)
    if fam != "v3":
        _check_v4_prompts(body, params, fam)
    strength = 1.0
    if action in ("img2img", "infill"):
        strength = _check_base_image(params, width, height, action)
    _check_vibes(params, model, fam, action)
    _check_charref(params, fam, action)
    return Checked(fam, width, height, steps, n_samples, seed, strength)


def _check_action_model(model: str, action: str) -> None:
    if action not in ("generate", "img2img", "infill"):
        raise _bad(f"action {action!r} is not generate, img2img or infill")
    inpaint = model in INPAINT_MODELS
    if action == "infill" and not inpaint:
        raise _bad(f"model {model!r} is not an inpainting model (action infill)")
    if action != "infill" and inpaint:
        raise _bad(f"model {model!r} can only be used with action infill")


def _check_stream_field(params: dict[str, Any], stream: bool) -> None:
    value = params.get("stream")
    if stream and value != "msgpack":
        raise _bad('parameters.stream must be "msgpack" on /ai/generate-image-stream (emulator: no SSE)')
    if not stream and value is not None:
        raise _bad("parameters.stream is only valid on /ai/generate-image-stream")
    fmt = params.get("image_format")
    if fmt is not None and fmt not in ("png", "webp"):
        raise _bad("parameters.image_format must be png or webp")


def _size(params: dict[str, Any]) -> tuple[int, int]:
    width = _get(params, "width", int)
    height = _get(params, "height", int)
    for name, v in (("width", width), ("height", height)):
        if v < 64 or v % 64:
            raise _bad(f"parameters.{name}={v} must be a positive multiple of 64")
    if width * height > MAX_AREA:
        raise _bad(f"parameters.width*height={width * height} exceeds {MAX_AREA}")
    return width, height


def _check_sampler(params: dict[str, Any], model: str, fam: str) -> None:
    sampler = _get(params, "sampler", str)
    allowed = V3_SAMPLERS if fam == "v3" else V4_SAMPLERS
    if model in INPAINT_MODELS:
        allowed = allowed - {"ddim", "ddim_v3"}
    if sampler not in allowed:
        raise _bad(f"parameters.sampler {sampler!r} is not available on {model}")
    schedule = _get(params, "noise_schedule", str)
    if schedule not in SCHEDULES[fam]:
        raise _bad(f"parameters.noise_schedule {schedule!r} is not available on {model}")


def _check_smea_and_variety(params: dict[str, Any], fam: str) -> None:
    if fam == "v5" and params.get("sm"):
        raise Rejected(500, "Internal server error")
    if fam != "v3" and (params.get("sm") or params.get("sm_dyn")):
        raise _bad("parameters.sm/sm_dyn (SMEA) is only available on V3")
    skip = params.get("skip_cfg_above_sigma")
    if skip is not None:
        if fam == "v5":
            raise _bad("parameters.skip_cfg_above_sigma (Variety+) is not supported on V5")
        if isinstance(skip, bool) or not isinstance(skip, int | float) or skip < 0:
            raise _bad("parameters.skip_cfg_above_sigma must be a non-negative number or null")


# ------------------------------------------------------------------ V4 prompts
def _centers(value: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(value, list) or not value:
        raise _bad(f"{where}.centers must be a non-empty list")
    out = []
    for i, c in enumerate(value):
        if not isinstance(c, dict) or set(c) != {"x", "y"}:
            raise _bad(f"{where}.centers[{i}] must be {{x, y}}")
        for k in ("x", "y"):
            v = c[k]
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
                raise _bad(f"{where}.centers[{i}].{k} must be a number 0..1")
        out.append((float(c["x"]), float(c["y"])))
    return out


def _caption(obj: Any, where: str) -> tuple[str, list[tuple[str, list[tuple[float, float]]]]]:
    if not isinstance(obj, dict) or not isinstance(obj.get("caption"), dict):
        raise _bad(f"{where}.caption is required")
    cap = obj["caption"]
    base = cap.get("base_caption")
    chars = cap.get("char_captions")
    if not isinstance(base, str):
        raise _bad(f"{where}.caption.base_caption must be a string")
    if not isinstance(chars, list):
        raise _bad(f"{where}.caption.char_captions must be a list")
    parsed = []
    for i, ch in enumerate(chars):
        w = f"{where}.caption.char_captions[{i}]"
        if not isinstance(ch, dict) or not isinstance(ch.get("char_caption"), str):
            raise _bad(f"{w}.char_caption must be a string")
        parsed.append((ch["char_caption"], _centers(ch.get("centers"), w)))
    return base, parsed


def _check_v4_prompts(body: dict[str, Any], params: dict[str, Any], fam: str) -> None:
    pos, neg = params.get("v4_prompt"), params.get("v4_negative_prompt")
    if pos is None or neg is None:
        raise _bad("parameters.v4_prompt and parameters.v4_negative_prompt are required on V4 and later")
    base, chars = _caption(pos, "parameters.v4_prompt")
    nbase, nchars = _caption(neg, "parameters.v4_negative_prompt")
    if base != body["input"]:
        raise _bad("parameters.v4_prompt.caption.base_caption must equal input")
    if nbase != params["negative_prompt"]:
        raise _bad("parameters.v4_negative_prompt.caption.base_caption must equal parameters.negative_prompt")
    if not isinstance(pos.get("use_coords"), bool) or not isinstance(pos.get("use_order"), bool):
        raise _bad("parameters.v4_prompt.use_coords and use_order must be booleans")
    if "use_coords" in params and params["use_coords"] != pos["use_coords"]:
        raise _bad("parameters.use_coords must equal parameters.v4_prompt.use_coords")
    if len(chars) > MAX_CHARACTERS[fam]:
        raise _bad(f"at most {MAX_CHARACTERS[fam]} character prompts on this model, got {len(chars)}")
    if len(nchars) != len(chars):
        raise _bad("parameters.v4_negative_prompt needs one char_caption per character "
                   f"({len(chars)} positive, {len(nchars)} negative)")
    for i, ((_, c1), (_, c2)) in enumerate(zip(chars, nchars, strict=True)):
        if c1 != c2:
            raise _bad(f"character {i}: negative centers differ from the positive ones")
    _check_character_prompts(params, chars)


def _check_character_prompts(params: dict[str, Any], chars: list[Any]) -> None:
    cps = params.get("characterPrompts")
    if cps is None:
        return
    if not isinstance(cps, list):
        raise _bad("parameters.characterPrompts must be a list")
    enabled = 0
    for i, cp in enumerate(cps):
        w = f"parameters.characterPrompts[{i}]"
        if not isinstance(cp, dict) or not isinstance(cp.get("prompt"), str) or not isinstance(cp.get("uc"), str):
            raise _bad(f"{w} needs prompt and uc strings")
        _centers([cp.get("center")], w)
        if not isinstance(cp.get("enabled", True), bool):
            raise _bad(f"{w}.enabled must be a boolean")
        enabled += bool(cp.get("enabled", True))
    if enabled != len(chars):
        raise _bad(f"parameters.characterPrompts has {enabled} enabled entries but v4_prompt has {len(chars)}")


# ------------------------------------------------------------ images and refs
def _check_base_image(params: dict[str, Any], width: int, height: int, action: str) -> float:
    img = decode_image(params.get("image"), "parameters.image")
    if img.size != (width, height):
        raise _bad(f"parameters.image is {img.size[0]}x{img.size[1]}, expected exactly {width}x{height}")
    strength = _number(params, "strength", 0.01, 1)
    _number(params, "noise", 0, 0.99, required=action == "img2img")
    _get(params, "extra_noise_seed", int, required=False)
    if action == "infill":
        _check_mask(params, width, height)
        strength = _number(params, "inpaintImg2ImgStrength", 0.01, 1, required=False) or strength
    return float(strength or 1.0)


def _check_mask(params: dict[str, Any], width: int, height: int) -> None:
    mask = decode_image(params.get("mask"), "parameters.mask")
    if mask.size not in ((width, height), (width // 8, height // 8)):
        raise _bad(f"parameters.mask is {mask.size[0]}x{mask.size[1]}, expected {width}x{height} (or 1/8 of it)")
    values = {v for _, v in (mask.convert("L").getcolors(256) or [(0, -1)])}
    if not values <= {0, 255}:
        raise _bad("parameters.mask must be pure black and white (0 or 255)")


def _check_vibes(params: dict[str, Any], model: str, fam: str, action: str) -> None:
    arrays = [params.get(k) for k in VIBE_FIELDS]
    if all(a is None for a in arrays):
        return
    if any(not isinstance(a, list) for a in arrays):
        raise _bad(f"{', '.join(VIBE_FIELDS)} must all be lists when one is sent")
    images, infos, strengths = arrays
    if not len(images) == len(infos) == len(strengths):
        raise _bad("vibe arrays (reference_*_multiple) must have equal lengths")
    if not images:
        return
    if len(images) > 16:
        raise _bad("at most 16 vibes")
    if fam == "v5":
        raise Rejected(500, "Internal server error")
    if fam != "v3" and action == "infill":
        raise _bad("vibe transfer is not available with infill")
    for i, (info, strength) in enumerate(zip(infos, strengths, strict=True)):
        for name, v in (("information_extracted", info), ("strength", strength)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not (-1 if name == "strength" else 0) <= v <= 1:
                raise _bad(f"reference_{name}_multiple[{i}] must be a number in range")
    if fam == "v3":
        for i, img in enumerate(images):
            decode_image(img, f"parameters.reference_image_multiple[{i}]")
        return
    want = vibe_family(model.replace("-inpainting", ""))
    for i, enc in enumerate(images):
        raw = decode_b64(enc, f"parameters.reference_image_multiple[{i}]")
        if not raw.startswith(VIBE_MAGIC):
            raise _bad(f"parameters.reference_image_multiple[{i}] is not a vibe encoding (raw images are V3 only)")
        got = raw[len(VIBE_MAGIC):].split(b"\0", 1)[0].decode()
        if got != want:
            raise _bad(f"parameters.reference_image_multiple[{i}] was encoded for {got}, this model needs {want}")


def _check_charref(params: dict[str, Any], fam: str, action: str) -> None:
    arrays = [params.get(k) for k in CR_FIELDS]
    if all(a is None or a == [] for a in arrays):
        return
    if fam == "v5":
        raise _bad("Error encoding v4 director references (character reference is not available on V5)")
    if fam != "v4.5":
        raise _bad("character reference is only available on V4.5")
    if action == "infill":
        raise _bad("character reference is not available with infill")
    if params.get("reference_image_multiple"):
        raise _bad("character reference and vibe transfer cannot be combined")
    if any(not isinstance(a, list) for a in arrays) or len({len(a) for a in arrays}) != 1:
        raise _bad("director_reference_* arrays must all be lists of equal length")
    for i, b64 in enumerate(arrays[0]):
        img = decode_image(b64, f"parameters.director_reference_images[{i}]")
        if img.size not in CR_CANVASES or img.format != "JPEG":
            raise _bad("Error encoding v4 director references")
    for i, desc in enumerate(arrays[4]):
        cap = desc.get("caption") if isinstance(desc, dict) else None
        if not isinstance(cap, dict) or cap.get("base_caption") not in ("character", "style", "character&style"):
            raise _bad(f"director_reference_descriptions[{i}].caption.base_caption must be character, style "
                       "or character&style")


def check_encode_vibe(body: Any) -> str:
    """Validate an /ai/encode-vibe body; return the encoding family."""
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    extra = set(body) - {"image", "information_extracted", "model", "mask", "crop_to_mask", "focus_seed",
                         "info_extract_seed"}
    if extra:
        raise _bad(f"unknown field(s) {sorted(extra)} (information_extracted is snake_case, top level)")
    decode_image(body.get("image"), "image")
    info = body.get("information_extracted")
    if isinstance(info, bool) or not isinstance(info, int | float) or not 0 <= info <= 1:
        raise _bad("information_extracted must be a number 0..1")
    model = body.get("model")
    if not isinstance(model, str) or model not in V4 + V45:
        raise _bad(f"model {model!r} cannot encode vibes (V4 / V4.5 base models only)")
    return vibe_family(model)
