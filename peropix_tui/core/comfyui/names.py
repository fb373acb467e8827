"""Sampler and scheduler names: the settings' (NovelAI) vocabulary onto ComfyUI's KSampler COMBOs.

A name already in the server's list passes through, so NovelAI, ComfyUI and A1111 spellings are all
accepted; the mapping is the shared vocabulary of :mod:`peropix_tui.core.vocab` (one table for the
whole program), checked here against what the server offers.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...i18n import _
from .. import vocab
from ..settings import SettingsError

# Used when the server's own lists are not known (offline dry run): ComfyUI's own lists.
DEFAULT_SAMPLERS: tuple[str, ...] = vocab.COMFY_SAMPLERS
DEFAULT_SCHEDULERS: tuple[str, ...] = vocab.COMFY_SCHEDULERS


def _sampler_name(key: str) -> str | None:
    """The ComfyUI sampler a NovelAI / A1111 / ComfyUI spelling means, or None (in no table)."""
    if key in vocab.NAI_SAMPLERS:
        return vocab.NAI_SAMPLERS[key]
    for text in (key, key.replace("_", " ")):  # "dpm++_2m" is A1111's "DPM++ 2M" typed with "_"
        name = vocab.parse_sampler(text)
        if name.known and name.scheduler is None:
            return name.sampler
    return None


def _schedule_name(key: str) -> str | None:
    name = vocab.parse_schedule(key)
    name = vocab.comfy_schedule(vocab.NAI_SCHEDULE_ALIASES.get(name, name))
    return name if name in vocab.COMFY_SCHEDULERS or name in vocab.EXTRA_SCHEDULERS else None


def _listing(available: Sequence[str]) -> str:
    return ", ".join(available[:12]) + (", …" if len(available) > 12 else "")


def _pick(kind: str, name: str, mapped: str | None, available: Sequence[str]) -> str:
    if mapped is not None and mapped in available:
        return mapped
    if mapped is not None:
        raise SettingsError(kind, _("{name} means ComfyUI's {comfy_name}, which this server does not list").format(
            name=repr(name), comfy_name=repr(mapped)))
    raise SettingsError(kind, _("{name} is neither a NovelAI nor a ComfyUI {kind} name on this server "
                                "(it has: {names})").format(name=repr(name), kind=kind, names=_listing(available)))


def comfy_sampler(name: str, available: Sequence[str] = DEFAULT_SAMPLERS) -> str:
    """ComfyUI ``sampler_name`` for a NovelAI or ComfyUI sampler name, checked against ``available``."""
    key = name.strip()
    if key in available:
        return key
    return _pick("sampler", name, _sampler_name(key.lower()), available)


def comfy_scheduler(name: str, available: Sequence[str] = DEFAULT_SCHEDULERS) -> str:
    """ComfyUI ``scheduler`` for a NovelAI noise schedule or a ComfyUI scheduler name."""
    key = name.strip()
    if key in available:
        return key
    if key.lower() == "polyexponential":
        raise SettingsError("noise_schedule", _("'polyexponential' has no ComfyUI KSampler scheduler; "
                                                "use karras, exponential or normal"))
    return _pick("noise_schedule", name, _schedule_name(key.lower()), available)
