"""The prompt and negative the local engine encodes for a :class:`GenerationSettings`.

A plain SDXL model has no per-character channel, so enabled character prompts are appended to the
prompt and their negatives to the negative. NovelAI's "quality tags" and "UC preset" toggles mean
what the user configured under ``[local]`` (:class:`~.config.LocalConfig`), and nothing otherwise:
quality tags are appended after the prompt (or put where ``{prompt}`` stands in them), a UC
preset's text goes before the negative, as NovelAI places its own.
"""

from __future__ import annotations

from ..config import LocalConfig
from ..settings import GenerationSettings

PROMPT_SLOT = "{prompt}"


def _join(*parts: str) -> str:
    return ", ".join(p.strip() for p in parts if p.strip())


def local_prompts(s: GenerationSettings, presets: LocalConfig | None = None) -> tuple[str, str]:
    """(prompt, negative) for the local engine."""
    chars = s.enabled_characters()
    prompt = _join(s.prompt, *(c.prompt for c in chars))
    negative = _join(s.uc, *(c.uc for c in chars))
    if presets is None:
        return prompt, negative
    tags = presets.quality_tags.strip()
    if s.quality and tags:
        prompt = tags.replace(PROMPT_SLOT, prompt) if PROMPT_SLOT in tags else _join(prompt, tags)
    preset = presets.uc_presets.get(s.uc_preset, "")
    return prompt, _join(preset, negative)
