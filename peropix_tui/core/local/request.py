"""GenerationSettings (NovelAI vocabulary) → the plain fields of the local engine's request.

The engine builds its ``Request`` from :func:`request_fields` and only opens the image files
itself. Sampler and schedule names pass through as given; the engine maps them (its name tables).
Mapping: prompts as :func:`.prompt.local_prompts` builds them; ``scale`` → cfg; ``noise_schedule`` →
schedule; ``n_samples`` → batch; ``strength`` → denoise for img2img (infill regenerates fully);
the prompt dialect from the settings, else ``[local] prompt_dialect``, else ``auto``.
"""

from __future__ import annotations

from typing import Any

from ..config import LocalConfig
from ..settings import GenerationSettings
from .prompt import local_prompts
from .weights import check_dialect


def prompt_dialect(s: GenerationSettings, presets: LocalConfig | None = None) -> str:
    """The dialect the engine reads this job's prompts in; ValueError naming the setting if unknown."""
    if s.prompt_dialect:
        return check_dialect(s.prompt_dialect)
    configured = getattr(presets, "prompt_dialect", "") or "auto"
    try:
        return check_dialect(configured)
    except ValueError as e:
        raise ValueError(f"[local] {e}") from None


def request_fields(s: GenerationSettings, seed: int, presets: LocalConfig | None = None) -> dict[str, Any]:
    """Keyword arguments of the engine's request for ``s`` (without the opened image and mask)."""
    prompt, negative = local_prompts(s, presets)
    return {
        "prompt": prompt, "negative": negative, "width": s.width, "height": s.height, "steps": s.steps,
        "cfg": s.scale, "cfg_rescale": s.cfg_rescale, "sampler": s.sampler, "schedule": s.noise_schedule,
        "seed": seed, "batch": s.n_samples, "denoise": s.strength if s.action == "img2img" else 1.0,
        "hires_scale": s.hires_scale, "hires_denoise": s.hires_denoise, "compile": s.compile,
        "prompt_dialect": prompt_dialect(s, presets),
    }
