"""Sampler and schedule names across NovelAI, ComfyUI (= k-diffusion), A1111 and other tools.

One table per vocabulary, keyed to the ComfyUI / k-diffusion name (``euler_ancestral``,
``dpmpp_2m``; schedulers ``karras``, ``normal`` …), which is the hub:

* NovelAI: ``k_`` + the k-diffusion name (``k_euler_ancestral``), ``ddim`` / ``ddim_v3``;
  schedule ``native`` is ComfyUI's ``normal``.
* A1111 / Forge labels (``Euler a``, ``DPM++ 2M``) and schedule labels (``Karras``, ``SGM Uniform``).
* Combined names written by older A1111, Civitai, Fooocus, Stability Matrix (``DPM++ 2M Karras``)
  and by ComfyUI savers (``euler_ancestral_karras``), InvokeAI names (``dpmpp_2m_k``, ``euler_a``).

:func:`parse_sampler` reads any of these into ``(sampler, scheduler)`` ComfyUI names;
:func:`settings_sampler` / :func:`settings_schedule` give the names :class:`GenerationSettings`
uses (NovelAI's). Pure data and string functions: no torch, no Textual.
"""

from __future__ import annotations

from dataclasses import dataclass

# ComfyUI's KSampler lists (comfy/samplers.py), in order
COMFY_SAMPLERS: tuple[str, ...] = (
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "exp_heun_2_x0",
    "exp_heun_2_x0_sde", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
    "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm",
    "lcm", "ipndm", "ipndm_v", "deis", "cfgpp_ud10_ab", "res_multistep", "res_multistep_cfg_pp",
    "res_multistep_ancestral", "res_multistep_ancestral_cfg_pp", "gradient_estimation", "gradient_estimation_cfg_pp",
    "er_sde", "seeds_2", "seeds_3", "sa_solver", "sa_solver_pece", "ddim", "uni_pc", "uni_pc_bh2",
)
COMFY_SCHEDULERS: tuple[str, ...] = (
    "simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal", "linear_quadratic", "kl_optimal",
)
# schedule names other tools add (A1111's list, lower-cased with "_")
EXTRA_SCHEDULERS: tuple[str, ...] = ("polyexponential", "uniform", "align_your_steps", "automatic")

# A1111 / Forge sampler label -> ComfyUI name
A1111_SAMPLERS: dict[str, str] = {
    "Euler a": "euler_ancestral",
    "Euler": "euler",
    "LMS": "lms",
    "Heun": "heun",
    "DPM2": "dpm_2",
    "DPM2 a": "dpm_2_ancestral",
    "DPM++ 2S a": "dpmpp_2s_ancestral",
    "DPM++ 2M": "dpmpp_2m",
    "DPM++ SDE": "dpmpp_sde",
    "DPM++ 2M SDE": "dpmpp_2m_sde",
    "DPM++ 2M SDE Heun": "dpmpp_2m_sde_heun",
    "DPM++ 3M SDE": "dpmpp_3m_sde",
    "DPM fast": "dpm_fast",
    "DPM adaptive": "dpm_adaptive",
    "DDIM": "ddim",
    "DDPM": "ddpm",
    "UniPC": "uni_pc",
    "LCM": "lcm",
    "PLMS": "plms",
    "Restart": "restart",
    "Euler Ancestral": "euler_ancestral",  # Stability Matrix / Civitai spelling
    "DPM++ 2S Ancestral": "dpmpp_2s_ancestral",
    "DPM2 Ancestral": "dpm_2_ancestral",
}
# A1111 schedule label -> ComfyUI name ("automatic" = the sampler's own default)
A1111_SCHEDULES: dict[str, str] = {
    "Automatic": "automatic",
    "Uniform": "uniform",
    "Karras": "karras",
    "Exponential": "exponential",
    "Polyexponential": "polyexponential",
    "SGM Uniform": "sgm_uniform",
    "SGMUniform": "sgm_uniform",
    "KL Optimal": "kl_optimal",
    "Align Your Steps": "align_your_steps",
    "Simple": "simple",
    "Normal": "normal",
    "DDIM": "ddim_uniform",
    "Beta": "beta",
}

# NovelAI sampler -> ComfyUI name
NAI_SAMPLERS: dict[str, str] = {
    "k_euler": "euler",
    "k_euler_ancestral": "euler_ancestral",
    "k_dpmpp_2s_ancestral": "dpmpp_2s_ancestral",
    "k_dpmpp_2m": "dpmpp_2m",
    "k_dpmpp_2m_sde": "dpmpp_2m_sde",
    "k_dpmpp_sde": "dpmpp_sde",
    "k_dpmpp_3m_sde": "dpmpp_3m_sde",
    "k_dpm_2": "dpm_2",
    "k_dpm_2_ancestral": "dpm_2_ancestral",
    "k_lms": "lms",
    "k_heun": "heun",
    "k_dpm_fast": "dpm_fast",
    "k_dpm_adaptive": "dpm_adaptive",
    "ddim": "ddim",
    "ddim_v3": "ddim",
    "plms": "plms",
}
# NovelAI schedule -> ComfyUI name (the others are spelled alike)
NAI_SCHEDULES: dict[str, str] = {"native": "normal"}

# ComfyUI-style names accepted where a NovelAI name is expected (request builder, settings)
NAI_SAMPLER_ALIASES: dict[str, str] = {
    **{comfy: nai for nai, comfy in NAI_SAMPLERS.items() if nai.startswith("k_")},
    "euler_a": "k_euler_ancestral",
    "dpmpp_sde_gpu": "k_dpmpp_sde",
    "dpmpp_2m_sde_gpu": "k_dpmpp_2m_sde",
}
NAI_SCHEDULE_ALIASES: dict[str, str] = {"normal": "native", "default": "native", "automatic": "native"}

# InvokeAI scheduler names that are not "<comfy>[_k]"
_INVOKE: dict[str, tuple[str, str | None]] = {
    "euler_a": ("euler_ancestral", None),
    "k_euler_a": ("euler_ancestral", None),
    "dpmpp_2s": ("dpmpp_2s_ancestral", None),
    "dpmpp_2m_sde": ("dpmpp_2m_sde", None),
    "unipc": ("uni_pc", None),
    "kdpm_2": ("dpm_2", None),
    "kdpm_2_a": ("dpm_2_ancestral", None),
    "lcm": ("lcm", None),
    "tcd": ("tcd", None),
    "deis": ("deis", None),
    "pndm": ("plms", None),
}

# diffusers scheduler classes (Hugging Face Spaces JSON) -> ComfyUI name; "Karras" variants via
# use_karras_sigmas are not in the class name, so none is assumed
DIFFUSERS_SCHEDULERS: dict[str, str] = {
    "eulerdiscretescheduler": "euler",
    "eulerancestraldiscretescheduler": "euler_ancestral",
    "dpmsolvermultistepscheduler": "dpmpp_2m",
    "dpmsolversdescheduler": "dpmpp_sde",
    "ddimscheduler": "ddim",
    "ddpmscheduler": "ddpm",
    "lmsdiscretescheduler": "lms",
    "heundiscretescheduler": "heun",
    "kdpm2discretescheduler": "dpm_2",
    "kdpm2ancestraldiscretescheduler": "dpm_2_ancestral",
    "unipcmultistepscheduler": "uni_pc",
    "pndmscheduler": "plms",
    "lcmscheduler": "lcm",
    "deismultistepscheduler": "deis",
}

_KNOWN_SAMPLERS = frozenset(COMFY_SAMPLERS) | {"plms", "restart", "tcd"}
# longest first, so "sgm_uniform" is tried before "uniform"
_SUFFIXES = tuple(sorted({*COMFY_SCHEDULERS, *EXTRA_SCHEDULERS} - {"automatic"}, key=len, reverse=True))
_LABELS = tuple(sorted(A1111_SAMPLERS, key=len, reverse=True))
_SCHEDULE_LABELS = {label.lower(): name for label, name in A1111_SCHEDULES.items()}


@dataclass(frozen=True)
class SamplerName:
    """A sampler read from some tool: ComfyUI names; ``scheduler`` None when the text had none."""

    sampler: str
    scheduler: str | None = None
    known: bool = True  # False: kept as written, in no table


def parse_sampler(text: str) -> SamplerName:
    """Any tool's sampler text -> ComfyUI sampler (+ scheduler when the name carries one).

    ``DPM++ 2M Karras`` -> (dpmpp_2m, karras); ``euler_ancestral_karras`` -> (euler_ancestral,
    karras); ``Euler Ancestral Karras`` -> the same; ``k_dpmpp_2m`` -> dpmpp_2m; ``dpmpp_2m_k``
    (InvokeAI) -> (dpmpp_2m, karras); ``dpmpp_2m_sde_gpu`` -> dpmpp_2m_sde. Unknown text is kept
    lower-cased with ``known=False``.
    """
    t = " ".join(text.split())
    low = t.lower()
    for label in _LABELS:  # A1111 label, then an optional schedule label
        if low == label.lower():
            return SamplerName(A1111_SAMPLERS[label])
        if low.startswith(label.lower() + " "):
            rest = low[len(label) + 1 :]
            if rest in _SCHEDULE_LABELS:
                return SamplerName(A1111_SAMPLERS[label], _SCHEDULE_LABELS[rest])
    key = low.replace(" ", "_").replace("-", "_")
    if key in DIFFUSERS_SCHEDULERS:
        return SamplerName(DIFFUSERS_SCHEDULERS[key])
    if key in NAI_SAMPLERS:
        return SamplerName(NAI_SAMPLERS[key])
    if key in _INVOKE:
        return SamplerName(*_INVOKE[key])
    found = _comfy(key)
    if found is not None:
        return SamplerName(found)
    for suffix in _SUFFIXES:
        if key.endswith("_" + suffix):
            head = _comfy(key[: -len(suffix) - 1])
            if head is not None:
                return SamplerName(head, suffix)
    if key.endswith("_k"):  # InvokeAI: "_k" = Karras
        head = _comfy(key[:-2]) or (_INVOKE[key[:-2]][0] if key[:-2] in _INVOKE else None)
        if head is not None:
            return SamplerName(head, "karras")
    return SamplerName(key, None, known=False)


def _comfy(key: str) -> str | None:
    """A ComfyUI sampler name for ``key`` (``_gpu`` dropped, ``k_`` / NovelAI names mapped)."""
    if key in NAI_SAMPLERS:
        return NAI_SAMPLERS[key]
    if key.endswith("_gpu") and key[:-4] in _KNOWN_SAMPLERS:
        return key[:-4]
    if key in ("euler_a",):
        return "euler_ancestral"
    return key if key in _KNOWN_SAMPLERS else None


def parse_schedule(text: str) -> str:
    """A schedule label or name (``Karras``, ``SGM Uniform``, ``sgm_uniform``) -> ComfyUI-style name."""
    low = " ".join(text.split()).lower()
    if low in _SCHEDULE_LABELS:
        return _SCHEDULE_LABELS[low]
    return low.replace(" ", "_")


def settings_sampler(comfy: str) -> str:
    """The :class:`GenerationSettings` (NovelAI-vocabulary) name for a ComfyUI sampler name."""
    if comfy == "ddim":
        return "ddim"
    for nai, name in NAI_SAMPLERS.items():
        if name == comfy and nai.startswith("k_"):
            return nai
    return comfy


def settings_schedule(comfy: str) -> str:
    """The :class:`GenerationSettings` name for a ComfyUI / A1111 schedule name (``normal`` -> ``native``)."""
    return {"normal": "native", "automatic": "native", "uniform": "native"}.get(comfy, comfy)


def comfy_sampler(settings_name: str) -> str:
    """ComfyUI name for a settings (NovelAI) or ComfyUI sampler name; unknown names pass through."""
    key = settings_name.strip().lower()
    return NAI_SAMPLERS.get(key, key)


def comfy_schedule(settings_name: str) -> str:
    key = settings_name.strip().lower()
    return NAI_SCHEDULES.get(key, key)


def a1111_label(comfy: str) -> str:
    """The A1111 label for a ComfyUI sampler name (the first label listed), else the name itself."""
    for label, name in A1111_SAMPLERS.items():
        if name == comfy:
            return label
    return comfy


def a1111_schedule_label(comfy: str) -> str:
    for label, name in A1111_SCHEDULES.items():
        if name == comfy:
            return label
    return comfy.replace("_", " ").title()
