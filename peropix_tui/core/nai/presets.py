"""Quality tags and UC presets, written into the prompt text by the client (spec §6).

For V4 and later the server ignores ``qualityToggle`` / ``ucPreset``; the website appends the
quality suffix to the prompt and prepends the UC preset to the negative, and so do we.
The reverse helpers (:func:`strip_quality`, :func:`detect_uc_preset`) recover the user's own
text from a finished prompt by matching the preset text, which is more robust than trusting
the ``ucPreset`` number in metadata.

Deviations from spec §6, both from stronger evidence:

* V4 curated quality suffix is ``, rating:general, amazing quality, very aesthetic, absurdres``:
  the real website capture ``text2image_v3.json`` (V4 curated preview, qualityToggle true)
  ends its input with exactly that (spec §6.1 says "best quality").
* V3 furry has only Heavy and None; its Heavy text comes from public clients (spec §6 has none).

``ucPreset`` numbers (metadata only) are the index of the preset in the website's per-model
dropdown, as LlmKira (synced with the website 2025-06) indexes them: V4.5 full Heavy 0,
Light 1, Furry Focus 2, Human Focus 3, None 4; models without Furry Focus shift down.
"""

from __future__ import annotations

import re

from .models import get_model

_V45_FULL_HEAVY = (
    "nsfw, lowres, artistic error, film grain, scan artifacts, worst quality, bad quality, jpeg artifacts, "
    "very displeasing, chromatic aberration, dithering, halftone, screentone, multiple views, logo, "
    "too many watermarks, negative space, blank page"
)
_V45_FURRY = (
    "nsfw, {worst quality}, distracting watermark, unfinished, bad quality, {widescreen}, upscale, {sequence}, "
    "{{grandfathered content}}, blurred foreground, chromatic aberration, sketch, everyone, [sketch background], "
    "simple, [flat colors], ych (character), outline, multiple scenes, [[horror (theme)]], comic"
)
_V3_HEAVY = (
    "nsfw, lowres, {bad}, error, fewer, extra, missing, worst quality, jpeg artifacts, bad quality, watermark, "
    "unfinished, displeasing, chromatic aberration, signature, extra digits, artistic error, username, scan, "
    "[abstract]"
)
_V5_HEAVY = (
    "lowres, artistic error, film grain, scan artifacts, worst quality, bad quality, jpeg artifacts, "
    "very displeasing, chromatic aberration, dithering, halftone, screentone, multiple views, logo, "
    "too many watermarks, negative space, blank page"
)
_V3_FURRY_HEAVY = (
    "{{worst quality}}, [displeasing], {unusual pupils}, guide lines, {{unfinished}}, {bad}, url, artist name, "
    "{{tall image}}, mosaic, {sketch page}, comic panel, impact (font), [dated], {logo}, ych, {what}, "
    "{where is your god now}, {distorted text}, repeated text, {floating head}, {1994}, {widescreen}, "
    "absolutely everyone, sequence, {compression artifacts}, hard translated, {cropped}, {commissioner name}, "
    "unknown text, high contrast"
)

# Per model: the website's dropdown order (index = ucPreset number) -> exact text.
UC_PRESETS: dict[str, dict[str, str]] = {
    "nai-diffusion-4-5-full": {
        "heavy": _V45_FULL_HEAVY,
        "light": "nsfw, lowres, artistic error, scan artifacts, worst quality, bad quality, jpeg artifacts, "
        "multiple views, very displeasing, too many watermarks, negative space, blank page",
        "furry": _V45_FURRY,
        "human": _V45_FULL_HEAVY + ", @_@, mismatched pupils, glowing eyes, bad anatomy",
        "none": "",
    },
    "nai-diffusion-4-5-curated": {
        "heavy": "blurry, lowres, upscaled, artistic error, film grain, scan artifacts, worst quality, bad quality, "
        "jpeg artifacts, very displeasing, chromatic aberration, halftone, multiple views, logo, too many watermarks, "
        "negative space, blank page",
        "light": "blurry, lowres, upscaled, artistic error, scan artifacts, jpeg artifacts, logo, too many watermarks, "
        "negative space, blank page",
        "human": "blurry, lowres, upscaled, artistic error, film grain, scan artifacts, bad anatomy, bad hands, "
        "worst quality, bad quality, jpeg artifacts, very displeasing, chromatic aberration, halftone, multiple views, "
        "logo, too many watermarks, @_@, mismatched pupils, glowing eyes, negative space, blank page",
        "none": "",
    },
    "nai-diffusion-4-full": {
        "heavy": "nsfw, blurry, lowres, error, film grain, scan artifacts, worst quality, bad quality, jpeg artifacts, "
        "very displeasing, chromatic aberration, multiple views, logo, too many watermarks, white blank page, blank page",
        "light": "nsfw, blurry, lowres, error, worst quality, bad quality, jpeg artifacts, very displeasing, "
        "white blank page, blank page",
        "none": "",
    },
    "nai-diffusion-4-curated-preview": {
        "heavy": "blurry, lowres, error, film grain, scan artifacts, worst quality, bad quality, jpeg artifacts, "
        "very displeasing, chromatic aberration, logo, dated, signature, multiple views, gigantic breasts",
        "light": "blurry, lowres, error, worst quality, bad quality, jpeg artifacts, very displeasing, logo, dated, "
        "signature",
        "none": "",
    },
    "nai-diffusion-3": {
        "heavy": _V3_HEAVY,
        "light": "nsfw, lowres, jpeg artifacts, worst quality, watermark, blurry, very displeasing",
        "human": _V3_HEAVY + ", bad anatomy, bad hands, @_@, mismatched pupils, heart-shaped pupils, glowing eyes",
        "none": "lowres",
    },
    "nai-diffusion-furry-3": {"heavy": _V3_FURRY_HEAVY, "none": ""},
    "nai-diffusion-5-full": {
        "heavy": _V5_HEAVY,
        "light": "lowres, bad hands, bad anatomy, artistic error, sepia, white haze, worst quality, very displeasing, "
        "jpeg artifacts, 0::ai-generated::",
        "human": _V5_HEAVY + ", @_@, mismatched pupils, glowing eyes, bad anatomy",
        "furry": _V45_FURRY,
        "none": "",
    },
}
UC_PRESETS["nai-diffusion-5-curated"] = UC_PRESETS["nai-diffusion-5-full"]

QUALITY_SUFFIX: dict[str, str] = {
    "nai-diffusion-5-full": ", very aesthetic, masterpiece, no text",
    "nai-diffusion-5-curated": ", very aesthetic, masterpiece, no text",
    "nai-diffusion-4-5-full": ", very aesthetic, masterpiece, no text",
    "nai-diffusion-4-5-curated": ", very aesthetic, location, masterpiece, no text, -0.8::feet::, rating:general",
    "nai-diffusion-4-full": ", no text, best quality, very aesthetic, absurdres",
    "nai-diffusion-4-curated-preview": ", rating:general, amazing quality, very aesthetic, absurdres",
    "nai-diffusion-3": ", best quality, amazing quality, very aesthetic, absurdres",
    "nai-diffusion-furry-3": ", {best quality}, {amazing quality}",
}

FURRY_PREFIX = "fur dataset, "
TRANSPARENT_TAG = "transparent background"

# V5: the string ids and "tag hint" numbers the website sends (spec §6.3).
V5_UC_PRESET_IDS = {"heavy": "heavy", "light": "light", "human": "humanFocus", "furry": "furryFocus", "none": "none"}
TAG_HINTS = {"none": 0, "standard": 1, "heavy": 2, "light": 3, "humanFocus": 4, "furryFocus": 5}

_NSFW_RE = re.compile(r"(?<![\w-])nsfw(?![\w-])", re.IGNORECASE)


def _base_id(model: str) -> str:
    return get_model(model).id


def uc_presets_for(model: str) -> tuple[str, ...]:
    """Preset names available on ``model`` in the website's order."""
    return tuple(UC_PRESETS[_base_id(model)])


def uc_preset_number(preset: str, model: str) -> int:
    """The ``ucPreset`` number the website writes for ``preset`` on ``model`` (metadata only)."""
    return uc_presets_for(model).index(preset)


def uc_preset_from_number(number: int, model: str) -> str | None:
    names = uc_presets_for(model)
    return names[number] if 0 <= number < len(names) else None


def quality_suffix(model: str) -> str:
    return QUALITY_SUFFIX[_base_id(model)]


def _append(prompt: str, suffix: str) -> str:
    """``prompt + suffix`` where suffix starts with ", "; an empty prompt drops the leading ", "."""
    return prompt + suffix if prompt.strip() else suffix[2:]


def apply_quality(prompt: str, model: str) -> str:
    """Append the model's quality tags, as the website does with "Add Quality Tags" on."""
    return _append(prompt, quality_suffix(model))


def strip_quality(prompt: str, model: str) -> str:
    """Inverse of :func:`apply_quality`; a prompt without the suffix comes back unchanged."""
    suffix = quality_suffix(model)
    if prompt.endswith(suffix):
        return prompt[: -len(suffix)]
    if prompt == suffix[2:]:
        return ""
    return prompt


def has_quality(prompt: str, model: str) -> bool:
    return strip_quality(prompt, model) != prompt


def apply_transparent(prompt: str) -> str:
    """V5 transparency: the tag goes into the prompt (before the quality tags are appended)."""
    if has_tag(prompt, TRANSPARENT_TAG):
        return prompt
    return _append(prompt, ", " + TRANSPARENT_TAG)


def apply_furry(prompt: str) -> str:
    """Furry mode on V4+: the website prefixes ``fur dataset, ``."""
    return prompt if prompt.startswith(FURRY_PREFIX) else FURRY_PREFIX + prompt


def strip_furry(prompt: str) -> tuple[str, bool]:
    """(prompt without the furry prefix, whether it was there)."""
    if prompt.startswith(FURRY_PREFIX):
        return prompt[len(FURRY_PREFIX):], True
    return prompt, False


def has_tag(prompt: str, tag: str) -> bool:
    return any(t.strip().lower() == tag for t in prompt.split(","))


def mentions_nsfw(prompt: str) -> bool:
    return bool(_NSFW_RE.search(prompt))


def _without_nsfw(text: str) -> str:
    tags = [t for t in text.split(", ") if t.strip().lower() != "nsfw"]
    return ", ".join(tags)


def uc_preset_text(preset: str, model: str, prompt: str = "") -> str:
    """The preset's exact text; without ``nsfw`` when the prompt asks for nsfw (the website's rule)."""
    presets = UC_PRESETS[_base_id(model)]
    if preset not in presets:
        from ...i18n import _
        from ..settings import SettingsError

        raise SettingsError("uc_preset", _("{value} is not available on {model}")
                            .format(value=repr(preset), model=get_model(model).name))
    text = presets[preset]
    return _without_nsfw(text) if mentions_nsfw(prompt) else text


def apply_uc_preset(uc: str, preset: str, model: str, prompt: str = "") -> str:
    """Negative prompt = preset text + ", " + the user's UC (either part may be empty)."""
    return ", ".join(p for p in (uc_preset_text(preset, model, prompt), uc) if p)


def detect_uc_preset(negative: str, model: str, prompt: str | None = None) -> tuple[str, str]:
    """(preset, user UC) recovered from a finished negative prompt by matching preset text.

    Longer presets are tried first (Human Focus extends Heavy). With ``prompt`` the nsfw rule
    decides which text each preset had; without it both variants are tried. No match gives
    ``("none", negative)`` (on V3 anime, whose "none" is ``lowres``, that cannot round-trip).
    """
    presets = UC_PRESETS[_base_id(model)]
    variants: list[tuple[str, str]] = []
    for name, full in presets.items():
        texts = {uc_preset_text(name, model, prompt)} if prompt is not None else {full, _without_nsfw(full)}
        variants += [(name, t) for t in texts if t]
    for name, text in sorted(variants, key=lambda nt: len(nt[1]), reverse=True):
        if negative == text:
            return name, ""
        if negative.startswith(text + ", ") and len(negative) > len(text) + 2:
            return name, negative[len(text) + 2:]
    return "none", negative
