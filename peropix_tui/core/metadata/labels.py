"""Display labels of metadata record fields (``peropix meta``, the Gallery's info panel).

The keys are the record's JSON keys (:meth:`MetadataRecord.to_json`), which stay as they are;
the labels are translated when shown: call :func:`field_label` at display time. Light: imports
only :mod:`peropix_tui.i18n`.
"""

from __future__ import annotations

from ...i18n import N_, _

FIELD_LABELS: dict[str, str] = {
    "dialect": N_("Dialect"), "provider": N_("Provider"), "model": N_("Model"), "action": N_("Action"),
    "prompt": N_("Prompt"), "negative": N_("Negative"), "quality": N_("Quality tags"),
    "uc_preset": N_("UC preset"), "seed": N_("Seed"), "steps": N_("Steps"), "scale": N_("Scale"),
    "cfg_rescale": N_("CFG rescale"), "sampler": N_("Sampler"), "noise_schedule": N_("Schedule"),
    "n_samples": N_("Samples"), "variety": N_("Variety+"), "smea": N_("SMEA"), "smea_dyn": N_("SMEA DYN"),
    "strength": N_("Strength"), "noise": N_("Noise"), "checkpoint": N_("Checkpoint"),
    "model_hash": N_("Model hash"), "vae": N_("VAE"), "clip_skip": N_("Clip skip"), "denoise": N_("Denoise"),
    "prediction": N_("Prediction"), "hires_scale": N_("Hires scale"), "hires_denoise": N_("Hires denoise"),
    "hires_steps": N_("Hires steps"), "hires_upscaler": N_("Hires upscaler"), "app": N_("Made with"),
    "width": N_("Width"), "height": N_("Height"), "size": N_("Size"), "container": N_("Stored in"),
    "full_prompt": N_("Sent prompt"), "full_negative": N_("Sent UC"), "loras": N_("LoRA"), "notes": N_("Note"),
    "characters": N_("Character"), "vibes": N_("Vibe"), "charrefs": N_("Char ref"), "tool": N_("Tool"),
}
"""Record key -> English label (``N_``-marked; translated by :func:`field_label`)."""


def field_label(key: str) -> str:
    """The label of record field ``key`` in the current language; a key without a label is shown as it is."""
    label = FIELD_LABELS.get(key)
    return _(label) if label is not None else key
