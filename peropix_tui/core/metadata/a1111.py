"""A1111 / Forge ``parameters`` text <-> :class:`GenerationSettings`.

The text is the prompt, an optional ``Negative prompt:`` part, and a last line of
``Key: value`` pairs separated by ``, `` (values with commas are double-quoted)::

    1girl, smile <lora:detail:0.8>
    Negative prompt: lowres
    Steps: 28, Sampler: Euler a, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 832x1216, ...
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..settings import GenerationSettings, LoraSpec
from .fields import FieldError, as_float, as_int, checkpoint_stem

# A1111 sampler label -> NovelAI vocabulary (the settings' names)
SAMPLERS: dict[str, str] = {
    "Euler a": "k_euler_ancestral",
    "Euler": "k_euler",
    "DPM++ 2M": "k_dpmpp_2m",
    "DPM++ 2M SDE": "k_dpmpp_2m_sde",
    "DPM++ SDE": "k_dpmpp_sde",
    "DPM++ 2S a": "k_dpmpp_2s_ancestral",
    "DPM++ 3M SDE": "k_dpmpp_3m_sde",
    "DPM2": "k_dpm_2",
    "DPM2 a": "k_dpm_2_ancestral",
    "LMS": "k_lms",
    "DPM fast": "k_dpm_fast",
    "DPM adaptive": "k_dpm_adaptive",
    "DDIM": "ddim",
}
SCHEDULES: dict[str, str] = {
    "Karras": "karras",
    "Exponential": "exponential",
    "Polyexponential": "polyexponential",
    "Automatic": "native",
    "Uniform": "native",
    "SGM Uniform": "sgm_uniform",
    "Simple": "simple",
    "Normal": "native",
    "Beta": "beta",
}
# bounded repeats: no backtracking blow-up on hostile text
_LORA = re.compile(r"<lora:([^:>]{1,300})(?::([^:>]{0,40}))?(?::[^>]{0,100})?>")
_SIZE = re.compile(r"^\s*(\d{1,6})\s*x\s*(\d{1,6})\s*$")


def looks_like_parameters(text: str) -> bool:
    return any(line.lstrip().startswith("Steps:") for line in text.splitlines()[-3:])


def parse_pairs(line: str) -> dict[str, str]:
    """``Steps: 28, Sampler: Euler a, Lora hashes: "a: 1, b: 2"`` -> dict (quotes removed).

    A linear scan (no regex backtracking): key up to ``:``, then a quoted value or text up to ``,``.
    """
    out: dict[str, str] = {}
    i, n = 0, len(line)
    while i < n:
        colon = line.find(":", i)
        if colon < 0:
            break
        key = line[i:colon].rsplit(",", 1)[-1].strip()
        j = colon + 1
        while j < n and line[j] == " ":
            j += 1
        end = _closing_quote(line, j) if j < n and line[j] == '"' else -1
        if end >= 0:
            value = _unquote(line[j : end + 1])
            comma = line.find(",", end + 1)
        else:
            comma = line.find(",", j)
            value = (line[j:] if comma < 0 else line[j:comma]).strip()
        if key:
            out[key] = value
        i = n if comma < 0 else comma + 1
    return out


def _closing_quote(line: str, start: int) -> int:
    """Index of the quote closing the one at ``start`` (backslash escapes), or -1."""
    k = start + 1
    while True:
        k = line.find('"', k)
        if k < 0:
            return -1
        b = k
        while b > start + 1 and line[b - 1] == "\\":
            b -= 1
        if (k - b) % 2 == 0:  # an even run of backslashes escapes nothing
            return k
        k += 1


def _unquote(quoted: str) -> str:
    try:
        value = json.loads(quoted)
    except ValueError:
        return quoted[1:-1]
    return value if isinstance(value, str) else quoted[1:-1]


def split_text(text: str) -> tuple[str, str, dict[str, str]]:
    """(prompt, negative, parameters) of a ``parameters`` text."""
    lines = text.replace("\r\n", "\n").split("\n")
    params: dict[str, str] = {}
    if lines and lines[-1].lstrip().startswith("Steps:"):
        params = parse_pairs(lines.pop())
    body = "\n".join(lines)
    prompt, sep, negative = body.partition("\nNegative prompt:")
    if not sep and body.startswith("Negative prompt:"):
        prompt, negative = "", body[len("Negative prompt:") :]
    return prompt.strip(), negative.strip(), params


def take_loras(prompt: str) -> tuple[str, list[LoraSpec]]:
    """Remove ``<lora:name:w>`` tags from the prompt, returning them as LoRA specs.

    Lines that held a tag are re-joined as ``a, b, c`` (the tag's comma and spaces go with it).
    """
    loras: list[LoraSpec] = []
    lines = []
    for line in prompt.split("\n"):
        found = [LoraSpec(path=m.group(1), weight=_weight(m.group(2))) for m in _LORA.finditer(line)]
        if found:
            loras += found
            line = ", ".join(p.strip() for p in _LORA.sub("", line).split(",") if p.strip())
        lines.append(line)
    return "\n".join(lines).strip(), loras


def _weight(text: str | None) -> float:
    try:
        return float(text) if text else 1.0
    except ValueError:
        return 1.0


def _sampler(label: str, s: GenerationSettings) -> None:
    for suffix, schedule in ((" Karras", "karras"), (" Exponential", "exponential")):
        if label.endswith(suffix) and label[: -len(suffix)] in SAMPLERS:  # pre-1.9 "DPM++ 2M Karras"
            s.sampler, s.noise_schedule = SAMPLERS[label[: -len(suffix)]], schedule
            return
    s.sampler = SAMPLERS.get(label, label)


def settings_from_parameters(text: str) -> tuple[GenerationSettings, dict[str, Any]]:
    """Settings and the raw structure; raises :class:`FieldError` when the text is not A1111's."""
    prompt, negative, p = split_text(text)
    if not p:
        raise FieldError("parameters text has no 'Steps: …' line")
    s = GenerationSettings(provider="local", quality=False, uc_preset="none", noise_schedule="native")
    s.prompt, s.loras = take_loras(prompt)
    s.uc = negative
    s.steps = as_int(p.get("Steps", "28"), "parameters.Steps")
    s.scale = as_float(p.get("CFG scale", "7"), "parameters.CFG scale")
    s.seed = as_int(p["Seed"], "parameters.Seed") if "Seed" in p else None
    if "Sampler" in p:
        _sampler(p["Sampler"], s)
    if "Schedule type" in p:
        s.noise_schedule = SCHEDULES.get(p["Schedule type"], p["Schedule type"].lower())
    if "Size" in p:
        m = _SIZE.match(p["Size"])
        if not m:
            raise FieldError(f"parameters.Size: {p['Size']!r} is not WIDTHxHEIGHT")
        s.width, s.height = int(m.group(1)), int(m.group(2))
    if "Model" in p:
        s.checkpoint = p["Model"]
        s.model = checkpoint_stem(p["Model"])
    if "CFG Rescale phi" in p:
        s.cfg_rescale = as_float(p["CFG Rescale phi"], "parameters.CFG Rescale phi")
    _hires_or_img2img(p, s)
    return s, {"parameters": text, "prompt": prompt, "negative": negative, "pairs": p}


def _hires_or_img2img(p: dict[str, str], s: GenerationSettings) -> None:
    denoise = as_float(p["Denoising strength"], "parameters.Denoising strength") if "Denoising strength" in p else None
    if "Hires upscale" in p:
        s.hires_scale = as_float(p["Hires upscale"], "parameters.Hires upscale")
        if denoise is not None:
            s.hires_denoise = denoise
    elif denoise is not None:
        s.action, s.strength = "img2img", denoise


def _fmt(v: float) -> str:
    return f"{v:g}"


def _quote(v: str) -> str:
    return json.dumps(v, ensure_ascii=False) if ("," in v or ":" in v or '"' in v) else v


def format_parameters(s: GenerationSettings, *, seed: int, extra: dict[str, str] | None = None) -> str:
    """The ``parameters`` text A1111 would write for ``s`` (LoRAs as ``<lora:name:w>`` tags)."""
    reverse = {v: k for k, v in SAMPLERS.items()}
    schedules = {"karras": "Karras", "exponential": "Exponential", "polyexponential": "Polyexponential", "native": "Automatic"}
    prompt = s.prompt + "".join(f" <lora:{checkpoint_stem(lo.path)}:{_fmt(lo.weight)}>" for lo in s.loras)
    pairs: dict[str, str] = {
        "Steps": str(s.steps),
        "Sampler": reverse.get(s.sampler, s.sampler),
        "Schedule type": schedules.get(s.noise_schedule, s.noise_schedule.replace("_", " ").title()),
        "CFG scale": _fmt(s.scale),
        "Seed": str(seed),
        "Size": f"{s.width}x{s.height}",
    }
    if s.checkpoint:
        pairs["Model"] = checkpoint_stem(s.checkpoint)
    if s.hires_scale:
        pairs.update({"Denoising strength": _fmt(s.hires_denoise), "Hires upscale": _fmt(s.hires_scale)})
    elif s.action == "img2img":
        pairs["Denoising strength"] = _fmt(s.strength)
    if s.cfg_rescale:
        pairs["CFG Rescale phi"] = _fmt(s.cfg_rescale)
    pairs.update(extra or {})
    line = ", ".join(f"{k}: {_quote(v)}" for k, v in pairs.items())
    parts = [prompt.strip()]
    if s.uc:
        parts.append(f"Negative prompt: {s.uc}")
    return "\n".join([*parts, line])
