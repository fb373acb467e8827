"""Bridge to the NovelAI prompt rules and model table in :mod:`peropix_tui.core.nai`.

Writing needs the prompts exactly as NovelAI saw them: :func:`core.nai.request.final_prompt` /
``final_negative`` (furry prefix, V5 transparency tag, quality suffix, UC preset with the nsfw
rule). Reading needs the reverse, matched by preset *text* (``ucPreset`` numbers disagree
between clients).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..nai import models, presets, request, v5text
from ..settings import DEFAULT_MODEL, GenerationSettings


def final_prompt(s: GenerationSettings) -> str:
    """The prompt NovelAI saw (the local engine's prompt is the user's text as is).

    Raises :class:`~peropix_tui.core.settings.SettingsError` for a model NovelAI does not know.
    """
    return request.final_prompt(s) if s.provider == "nai" else s.prompt


def final_negative(s: GenerationSettings) -> str:
    return request.final_negative(s) if s.provider == "nai" else s.uc


@dataclass
class UserPrompt:
    """The user's prompt recovered from a final one, and the switches that had changed it."""

    prompt: str
    quality: bool = False
    furry: bool = False
    transparent: bool = False


def user_prompt(full: str, model: str, notes: list[str], characters: Sequence[str] = ()) -> UserPrompt:
    """Undo :func:`final_prompt`: (V5) the composed ``, teXt: …`` block, the quality suffix, then (V4+)
    the furry prefix, then (V5) a trailing transparency tag (which :func:`final_prompt` puts back, so
    the prompt sent is the same).

    The ``teXt:`` block is taken off only when composing it again from the recovered prompt and the
    enabled ``characters`` gives exactly the block found; otherwise it is part of what the user wrote.
    """
    try:
        m = models.get_model(model)
    except ValueError:  # SettingsError: an older model without preset texts
        _note(notes, f"no quality-tag texts known for {model}; prompt kept as written")
        return UserPrompt(full)
    if m.family == "v5":
        at = full.rfind(v5text.TEXT_MARK)
        if at >= 0:
            head = _user_prompt(full[:at], m)
            if v5text.text_suffix(head.prompt, characters) == full[at:]:
                return head
    return _user_prompt(full, m)


def _user_prompt(full: str, m: models.NaiModel) -> UserPrompt:
    text = presets.strip_quality(full, m.id)
    out = UserPrompt(text, quality=text != full)
    if m.v4_prompt:
        out.prompt, out.furry = presets.strip_furry(out.prompt)
    if m.family == "v5" and presets.has_tag(out.prompt, presets.TRANSPARENT_TAG):
        out.transparent = True
        out.prompt = _strip_last_tag(out.prompt, presets.TRANSPARENT_TAG)
    return out


def _strip_last_tag(prompt: str, tag: str) -> str:
    if prompt == tag:
        return ""
    return prompt[: -len(", " + tag)] if prompt.endswith(", " + tag) else prompt


def user_negative(full: str, model: str, notes: list[str], prompt: str) -> tuple[str, str]:
    """(UC preset name, the user's own negative); ``prompt`` (as sent) decides the nsfw rule."""
    try:
        preset, user = presets.detect_uc_preset(full, model, prompt=prompt)
    except ValueError:
        _note(notes, f"no UC preset texts known for {model}; negative kept as written")
        return "none", full
    return preset, user


# Last resort for a Source hash nobody has listed: the family named in it.
_SOURCE_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"\bV5\b", "nai-diffusion-5-full"),
    (r"\bV4\.5\b", "nai-diffusion-4-5-full"),
    (r"\bV4\b", "nai-diffusion-4-full"),
    (r"Stable Diffusion XL", "nai-diffusion-3"),
)


def model_from_source(source: str, notes: list[str]) -> str:
    """NovelAI model id for a PNG ``Source`` text such as ``NovelAI Diffusion V4.5 B9F340FD``."""
    found = models.model_from_source(source)
    if found:
        return found
    for pattern, model in _SOURCE_FAMILIES:
        if re.search(pattern, source):
            notes.append(f"model guessed from Source {source!r}")
            return model
    notes.append(f"model unknown (Source {source!r}); using {DEFAULT_MODEL}")
    return DEFAULT_MODEL


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)
