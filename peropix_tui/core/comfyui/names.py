"""Sampler and scheduler names: NovelAI's vocabulary (the settings) onto ComfyUI's KSampler COMBOs.

A name already in ComfyUI's list passes through, so both vocabularies are accepted. The tables are
kept here in one place so that they can be replaced by the shared vocabulary module when it lands.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..settings import SettingsError

# NovelAI sampler id -> ComfyUI sampler_name
NAI_TO_COMFY_SAMPLER: dict[str, str] = {
    "k_euler": "euler",
    "k_euler_ancestral": "euler_ancestral",
    "k_dpmpp_2s_ancestral": "dpmpp_2s_ancestral",
    "k_dpmpp_2m": "dpmpp_2m",
    "k_dpmpp_2m_sde": "dpmpp_2m_sde",
    "k_dpmpp_sde": "dpmpp_sde",
    "k_dpm_2": "dpm_2",
    "k_dpm_2_ancestral": "dpm_2_ancestral",
    "k_dpm_fast": "dpm_fast",
    "k_dpm_adaptive": "dpm_adaptive",
    "k_lms": "lms",
    "k_heun": "heun",
    "ddim": "ddim",
    "ddim_v3": "ddim",
    # A1111-style spellings people type
    "euler_a": "euler_ancestral",
    "dpm++_2m": "dpmpp_2m",
    "dpm++_2m_sde": "dpmpp_2m_sde",
    "dpm++_sde": "dpmpp_sde",
    "dpm++_2s_a": "dpmpp_2s_ancestral",
}

# NovelAI noise_schedule -> ComfyUI scheduler ("native" is the model's own: ComfyUI's "normal")
NAI_TO_COMFY_SCHEDULER: dict[str, str] = {
    "native": "normal",
    "default": "normal",
    "karras": "karras",
    "exponential": "exponential",
}

# Used when the server's own lists are not known (offline dry run); ComfyUI 0.3.x defaults.
DEFAULT_SAMPLERS: tuple[str, ...] = (
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "dpm_2",
    "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral", "dpmpp_2s_ancestral_cfg_pp",
    "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde", "dpmpp_2m_sde_gpu",
    "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "ipndm_v", "deis", "res_multistep",
    "gradient_estimation", "er_sde", "ddim", "uni_pc", "uni_pc_bh2",
)
DEFAULT_SCHEDULERS: tuple[str, ...] = (
    "simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal", "linear_quadratic",
    "kl_optimal",
)


def _pick(kind: str, name: str, table: dict[str, str], available: Sequence[str]) -> str:
    key = name.strip()
    if key in available:
        return key
    mapped = table.get(key.lower())
    if mapped is not None and mapped in available:
        return mapped
    if mapped is not None:
        raise SettingsError(kind, f"{name!r} means ComfyUI's {mapped!r}, which this server does not list")
    raise SettingsError(kind, f"{name!r} is neither a NovelAI nor a ComfyUI {kind} name on this server "
                              f"(it has: {', '.join(available[:12])}{', …' if len(available) > 12 else ''})")


def comfy_sampler(name: str, available: Sequence[str] = DEFAULT_SAMPLERS) -> str:
    """ComfyUI ``sampler_name`` for a NovelAI or ComfyUI sampler name, checked against ``available``."""
    return _pick("sampler", name, NAI_TO_COMFY_SAMPLER, available)


def comfy_scheduler(name: str, available: Sequence[str] = DEFAULT_SCHEDULERS) -> str:
    """ComfyUI ``scheduler`` for a NovelAI noise schedule or a ComfyUI scheduler name."""
    if name.strip().lower() == "polyexponential" and "polyexponential" not in available:
        raise SettingsError("noise_schedule", "'polyexponential' has no ComfyUI KSampler scheduler; "
                                              "use karras, exponential or normal")
    return _pick("noise_schedule", name, NAI_TO_COMFY_SCHEDULER, available)
