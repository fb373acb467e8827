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

from ... import i18n
from .. import vocab
from ..settings import GenerationSettings, LoraSpec
from .fields import FieldError, as_float, checkpoint_stem
from .recipe import Recipe

# bounded repeats: no backtracking blow-up on hostile text
_LORA = re.compile(r"<lora:([^:>]{1,300})(?::([^:>]{0,40}))?(?::[^>]{0,100})?>")
_SIZE = re.compile(r"^\s*(\d{1,6})\s*x\s*(\d{1,6})\s*$")


_TEMPLATE_LINES = ("Template:", "Negative Template:")  # Dynamic Prompts, after the params line


def looks_like_parameters(text: str) -> bool:
    return bool(_params_line(_strip_templates(text.replace("\r\n", "\n").split("\n"))))


def _strip_templates(lines: list[str]) -> list[str]:
    while len(lines) > 1 and lines[-1].lstrip().startswith(_TEMPLATE_LINES):
        lines = lines[:-1]
    # a multi-line template: drop from the first Template line after a params line
    for i in range(len(lines) - 1, 0, -1):
        if lines[i].startswith("Template:") and _params_line(lines[:i]):
            return lines[:i]
    return lines


def _params_line(lines: list[str]) -> bool:
    """Is the last line A1111's parameters line (starts with ``Steps:``, or at least 3 pairs)?"""
    if not lines:
        return False
    last = lines[-1].strip()
    if last.startswith("Steps:"):
        return True
    if ":" not in last or len(last) > 100_000:
        return False
    pairs = parse_pairs(last)
    return len(pairs) >= 3 and all(_KEY.match(k) for k in pairs)


_KEY = re.compile(r"^\w[\w \-/]{0,60}$")


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
        close = _balanced(line, j) if end < 0 and j < n and line[j] in "{[" else -1
        if end >= 0:
            value = _unquote(line[j : end + 1])
            comma = line.find(",", end + 1)
        elif close >= 0:  # raw JSON with unquoted commas: Hashes: {...}, Civitai resources: [...]
            value = line[j : close + 1]
            comma = line.find(",", close + 1)
        else:
            comma = line.find(",", j)
            value = (line[j:] if comma < 0 else line[j:comma]).strip()
        if key:
            out[key] = value
        i = n if comma < 0 else comma + 1
    return out


def _balanced(line: str, start: int) -> int:
    """Index of the bracket closing the one at ``start`` (JSON strings skipped), or -1."""
    depth, k, n = 0, start, len(line)
    while k < n:
        ch = line[k]
        if ch == '"':
            k = _closing_quote(line, k)
            if k < 0:
                return -1
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return -1


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
    lines = _strip_templates(text.replace("\r\n", "\n").split("\n"))
    params: dict[str, str] = {}
    if _params_line(lines):
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


class Pairs:
    """The parameters line, read with case-insensitive keys (``CFG Scale`` = ``CFG scale``)."""

    def __init__(self, pairs: dict[str, str]) -> None:
        self.by_key = {k.strip().lower(): (k, v) for k, v in pairs.items()}

    def get(self, *keys: str) -> str | None:
        for key in keys:
            hit = self.by_key.get(key.lower())
            if hit is not None and hit[1] != "":
                return hit[1]
        return None

    def where(self, *keys: str) -> str:
        for key in keys:
            hit = self.by_key.get(key.lower())
            if hit is not None:
                return f"parameters.{hit[0]}"
        return f"parameters.{keys[0]}"


def sub_dialect(p: Pairs) -> str:
    app, version = (p.get("App") or "").lower(), (p.get("Version") or "").lower()
    if app == "sd.next":
        return "sdnext"
    if version.startswith("comfyui"):
        return "comfyui-saver"
    if version.startswith("fooocus") or p.get("Fooocus scheme"):
        return "fooocus"
    return "a1111"


def recipe_from_parameters(text: str, dialect: str | None = None, raw: dict[str, Any] | None = None) -> Recipe:
    """What an A1111-style infotext says; raises :class:`FieldError` when the text is not one."""
    prompt, negative, pairs = split_text(text)
    if not pairs:
        raise FieldError(i18n.gettext("parameters text has no 'Steps: …' line"))
    p = Pairs(pairs)
    r = Recipe(dialect or sub_dialect(p), {**(raw or {}), "parameters": text, "prompt": prompt, "negative": negative, "pairs": pairs})
    user_prompt, loras = take_loras(prompt)
    r.put("prompt", user_prompt)
    r.put("uc", negative)
    r.full_prompt, r.full_negative = prompt, negative
    r.s.loras = loras
    r.put_int("steps", p.get("Steps"), p.where("Steps"))
    r.put_float("scale", p.get("CFG scale", "cfgscale", "cfg_scale", "Guidance scale"), p.where("CFG scale"))
    r.put_int("seed", p.get("Seed"), p.where("Seed"))
    r.put("noise_schedule", "native")  # absent Schedule type = Automatic (A1111's rule)
    r.sampler(p.get("Sampler"), p.where("Sampler"))
    r.schedule(p.get("Schedule type", "Scheduler"), p.where("Schedule type"))
    _dropped_scheduler(p, r)
    size = p.get("Size")
    if size is not None:
        m = _SIZE.match(size)
        if not m:
            raise FieldError(i18n.gettext("{where}: {size} is not WIDTHxHEIGHT").format(where=p.where('Size'), size=repr(size)))
        r.size(m.group(1), m.group(2), "parameters.Size")
    r.model(p.get("Model"), p.where("Model"))
    r.put_extra("model_hash", p.get("Model hash"))
    vae = p.get("VAE")
    if vae is not None:
        r.s.vae = vae
    r.put_extra("clip_skip", _int_or_none(p.get("Clip skip"), p.where("Clip skip")))
    r.put_extra("app", p.get("App") or p.get("Version"))
    rescale = p.get("CFG Rescale phi", "CFG rescale")
    if rescale is not None:
        r.s.cfg_rescale = as_float(rescale, p.where("CFG Rescale phi"))
    _hires(p, r)
    _loras_without_tags(p, r)
    return r


def _dropped_scheduler(p: Pairs, r: Recipe) -> None:
    """ComfyUI Image Saver writes a mapped sampler as its bare A1111 label and drops the scheduler
    unless it is karras or exponential (euler + simple -> ``Euler``): the schedule is unknown there.
    The ``sampler_scheduler`` names of other savers (no suffix = normal) keep A1111's reading."""
    sampler = p.get("Sampler")
    if r.dialect != "comfyui-saver" or sampler is None or p.get("Schedule type", "Scheduler") is not None:
        return
    label = " ".join(sampler.split())
    if label.lower() not in _SAMPLER_LABELS or label == label.lower():
        return  # a schedule in the name, or a ComfyUI name
    r.known.discard("noise_schedule")
    r.note(f"scheduler unknown: ComfyUI Image Saver writes {label!r} for every scheduler but karras and "
           "exponential")


_SAMPLER_LABELS = frozenset(label.lower() for label in vocab.A1111_SAMPLERS)


def _int_or_none(v: str | None, where: str) -> int | None:
    if v is None:
        return None
    return int(as_float(v, where))


def _hires(p: Pairs, r: Recipe) -> None:
    scale = p.get("Hires upscale", "Hires scale")
    resize = p.get("Hires resize", "Hires fixed", "Hires size")
    hires = scale is not None or resize is not None or p.get("Hires upscaler") is not None
    if scale is not None:
        r.s.hires_scale = as_float(scale, p.where("Hires upscale", "Hires scale"))
    elif resize is not None and "width" in r.known:
        m = _SIZE.match(resize)
        if m and r.s.width:
            r.s.hires_scale = round(int(m.group(1)) / r.s.width, 4)
    if hires:
        steps = p.get("Hires steps")
        r.put_extra("hires_steps", _int_or_none(steps, p.where("Hires steps")))
        r.put_extra("hires_upscaler", p.get("Hires upscaler"))
    denoise = p.get("Hires strength") if hires else None
    if denoise is not None:
        r.denoise(denoise, p.where("Hires strength"), hires=True)
        plain = p.get("Denoising strength")
        if plain is not None and as_float(plain, p.where("Denoising strength")) < 1.0 and scale is None:
            r.denoise(plain, p.where("Denoising strength"), hires=False)
    else:
        r.denoise(p.get("Denoising strength"), p.where("Denoising strength"), hires=hires)


def _loras_without_tags(p: Pairs, r: Recipe) -> None:
    """LoRAs named only in the parameters (SD.Next ``LoRA networks``, Fooocus ``Lora weights``)."""
    if r.s.loras:
        return
    weights = p.get("Lora weights")
    if weights:
        for part in weights.split(","):
            name, _, w = part.rpartition(":")
            if name.strip():
                r.lora(name.strip(), w.strip() or None, p.where("Lora weights"))
        return
    networks = p.get("LoRA networks")
    if networks:
        for name in networks.split(","):
            if name.strip():
                r.s.loras.append(LoraSpec(path=name.strip(), weight=1.0))
        r.note("LoRA weights are not in the file (LoRA networks lists names only); 1.0 assumed")


def settings_from_parameters(text: str) -> tuple[GenerationSettings, dict[str, Any]]:
    """Settings and the raw structure; raises :class:`FieldError` when the text is not A1111's."""
    r = recipe_from_parameters(text)
    return r.s, r.raw


def _fmt(v: float) -> str:
    return f"{v:g}"


def _quote(v: str) -> str:
    return json.dumps(v, ensure_ascii=False) if ("," in v or ":" in v or '"' in v) else v


def format_parameters(s: GenerationSettings, *, seed: int, extra: dict[str, str] | None = None) -> str:
    """The ``parameters`` text A1111 would write for ``s`` (LoRAs as ``<lora:name:w>`` tags)."""
    prompt = s.prompt + "".join(f" <lora:{checkpoint_stem(lo.path)}:{_fmt(lo.weight)}>" for lo in s.loras)
    pairs: dict[str, str] = {
        "Steps": str(s.steps),
        "Sampler": vocab.a1111_label(vocab.comfy_sampler(s.sampler)),
        "Schedule type": "Automatic" if s.noise_schedule == "native" else vocab.a1111_schedule_label(s.noise_schedule),
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
