"""Bridge to the NovelAI preset texts and model table in :mod:`peropix_tui.core.nai`.

Writing needs the final prompt (quality suffix appended, UC preset prepended); reading needs
the reverse, matched by preset *text* (``ucPreset`` numbers disagree between clients). The
texts themselves live in ``core.nai.presets``; while that module is absent the prompts pass
through unchanged and the record says so in its notes.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any

from ..settings import DEFAULT_MODEL, GenerationSettings

PRESETS_MISSING = "quality tags / UC preset not separated (core.nai.presets is not available)"


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"peropix_tui.core.nai.{name}")
    except ImportError:
        return None


def final_prompt(s: GenerationSettings) -> str:
    """The prompt NovelAI saw: the user's text plus the model's quality suffix when on.

    Raises :class:`~peropix_tui.core.settings.SettingsError` for a model without preset texts.
    """
    presets = _module("presets")
    if s.provider != "nai" or not s.quality or presets is None:
        return s.prompt
    return str(presets.apply_quality(s.prompt, s.model))


def final_negative(s: GenerationSettings) -> str:
    presets = _module("presets")
    if s.provider != "nai" or presets is None:
        return s.uc
    return str(presets.apply_uc_preset(s.uc, s.uc_preset, s.model, s.prompt))


def user_prompt(full: str, model: str, notes: list[str]) -> tuple[str, bool]:
    """(the user's prompt, whether the quality suffix was found)."""
    presets = _module("presets")
    if presets is None:
        _note(notes, PRESETS_MISSING)
        return full, False
    try:
        result: Any = presets.strip_quality(full, model)
    except ValueError:  # SettingsError: no preset texts for this (older) model
        _note(notes, f"no quality-tag texts known for {model}; prompt kept as written")
        return full, False
    if isinstance(result, tuple):
        return str(result[0]), bool(result[1])
    return str(result), str(result) != full


def user_negative(full: str, model: str, notes: list[str], prompt: str) -> tuple[str, str]:
    """(UC preset name, the user's own negative); ``prompt`` (as sent) decides the nsfw rule."""
    presets = _module("presets")
    if presets is None:
        _note(notes, PRESETS_MISSING)
        return "none", full
    try:
        preset, user = presets.detect_uc_preset(full, model, prompt)
    except ValueError:
        _note(notes, f"no UC preset texts known for {model}; negative kept as written")
        return "none", full
    return str(preset), str(user)


# Pre-V3 models (not in core.nai.models): Source -> id (LlmKira novelai-python PROMOTION table).
_LEGACY_SOURCES: dict[str, str] = {
    "Stable Diffusion 81274D13": "nai-diffusion",
    "Stable Diffusion 3B3287AF": "nai-diffusion",
    "Stable Diffusion 4CC42576": "nai-diffusion-furry",
    "Stable Diffusion 1D09C008": "nai-diffusion-furry",
    "Stable Diffusion 1D09D794": "nai-diffusion-furry",
    "Stable Diffusion F64BA557": "nai-diffusion-furry",
    "Stable Diffusion 49BFAF6A": "nai-diffusion-2",
    "Stable Diffusion F1022D28": "nai-diffusion-2",
    "Stable Diffusion 1D44365E": "safe-diffusion",
    "Stable Diffusion F4D50568": "safe-diffusion",
}

# Last resort: the family named in ``Source``.
_SOURCE_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"\bV5\b", "nai-diffusion-5-full"),
    (r"\bV4\.5\b", "nai-diffusion-4-5-full"),
    (r"\bV4\b", "nai-diffusion-4-full"),
    (r"Stable Diffusion XL", "nai-diffusion-3"),
)


def model_from_source(source: str, notes: list[str]) -> str:
    """NovelAI model id for a PNG ``Source`` text such as ``NovelAI Diffusion V4.5 B9F340FD``."""
    models = _module("models")
    lookup = getattr(models, "model_from_source", None) if models else None
    if callable(lookup):
        found = lookup(source)
        if found:
            return str(found)
    if source.strip() in _LEGACY_SOURCES:
        return _LEGACY_SOURCES[source.strip()]
    for pattern, model in _SOURCE_FAMILIES:
        if re.search(pattern, source):
            notes.append(f"model guessed from Source {source!r}")
            return model
    notes.append(f"model unknown (Source {source!r}); using {DEFAULT_MODEL}")
    return DEFAULT_MODEL


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)
