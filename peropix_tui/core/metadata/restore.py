"""Restore chosen groups of settings from a record into the settings being edited."""

from __future__ import annotations

import copy
import dataclasses

from ...i18n import N_, _, ngettext
from ..settings import GenerationSettings
from .record import MetadataRecord

GROUPS: dict[str, tuple[str, ...]] = {
    "prompts": ("prompt", "uc", "uc_preset", "quality", "furry", "transparent"),
    "parameters": (
        "provider", "model", "steps", "scale", "cfg_rescale", "sampler", "noise_schedule", "n_samples",
        "variety", "smea", "smea_dyn", "checkpoint", "vae", "loras", "prediction", "hires_scale", "hires_denoise",
        "comfyui_server", "clip_skip", "workflow", "workflow_bind",
    ),
    "size": ("width", "height"),
    "seed": ("seed",),
    "characters": ("characters",),
    "vibes": ("vibes",),
    "charrefs": (),  # Precise References: see :func:`_restore_charrefs`
}
VIBES_LOST = N_("vibe source images are not recoverable")
BASE_LOST = N_("base image / mask not recoverable")
CHARREF_LOST = N_("character reference image is not recoverable")


def restore_settings(
    record: MetadataRecord, groups: set[str], into: GenerationSettings
) -> tuple[GenerationSettings, list[str]]:
    """A copy of ``into`` with the fields of ``groups`` taken from ``record``, and warnings."""
    unknown = set(groups) - set(GROUPS)
    if unknown:
        raise ValueError(_("unknown restore group(s): {groups} (choose from {choices})").format(groups=', '.join(sorted(unknown)), choices=', '.join(GROUPS)))
    src, out = record.settings, into.copy()
    if not record.has_recipe:  # a Director Tools result: nothing to restore
        return out, [record.notes[0] if record.notes else _("no generation recipe in this image")]
    unknown = set(record.unknown())
    if "width" in unknown or "height" in unknown:
        unknown |= {"width", "height"}
    skipped: list[str] = []
    for group in GROUPS:
        if group in groups:
            for name in GROUPS[group]:
                if name in unknown:  # not in the file: the value being edited stays
                    skipped.append(name)
                    continue
                setattr(out, name, copy.deepcopy(getattr(src, name)))
    warnings: list[str] = []
    if skipped:
        warnings.append(_("not in the image, kept as they were: {fields}").format(fields=", ".join(skipped)))
    clip_skip = record.extra.get("clip_skip")
    if "parameters" in groups and isinstance(clip_skip, int) and clip_skip > 1 and out.clip_skip is None:
        if out.provider == "comfyui":  # another tool's clip skip: ComfyUI graphs have one
            out.clip_skip = clip_skip
        else:
            warnings.append(_("clip skip {value} is not restored (no clip-skip setting here)").format(value=clip_skip))
    if "vibes" in groups and src.vibes:
        missing = [v for v in src.vibes if v.encoding is None]
        warnings.append(
            _(VIBES_LOST) if missing
            else _("vibe source images are not recoverable; their encodings were restored from the metadata")
        )
        out.vibes = [v for v in out.vibes if v.encoding is not None or v.path or v.image_sha256]
    if "parameters" in groups and src.action != "generate":
        warnings.append(_(BASE_LOST))
    if "charrefs" in groups and record.charrefs:
        warnings += _restore_charrefs(record, out)
    if CHARREF_LOST in record.notes:
        warnings.append(_(CHARREF_LOST))
    return out, warnings


def _restore_charrefs(record: MetadataRecord, out: GenerationSettings) -> list[str]:
    """The recorded references' mode, strength and fidelity, on the images already set in ``out``
    (reference images are never in the metadata): reference i takes recorded reference i; the
    references the image had become the list; recorded ones without an image are left out, said."""
    have = out.charrefs()
    restored = []
    for mine, ref in zip(have, record.charrefs, strict=False):
        new = dataclasses.replace(mine, strength=ref.strength, fidelity=ref.fidelity)
        if ref.mode:  # a mode the file does not say leaves the one chosen
            new.mode, new.style_aware = ref.mode, ref.style_aware
        restored.append(new)
    out.charref, out.extra_charrefs = (restored[0] if restored else None), restored[1:]
    missing = record.charrefs[len(have):]
    if not missing:
        return []
    listed = "; ".join(_("{mode}, strength {strength}, fidelity {fidelity}").format(
        mode=ref.mode or _("mode unknown"), strength=f"{ref.strength:g}", fidelity=f"{ref.fidelity:g}") for ref in missing)
    return [ngettext("{n} character reference not restored, no image set for it ({references}): "
                     "pick the image, then restore again",
                     "{n} character references not restored, no image set for them ({references}): "
                     "pick the images, then restore again", len(missing)).format(n=len(missing), references=listed)]
