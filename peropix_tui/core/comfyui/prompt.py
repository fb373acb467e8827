"""NovelAI prompt syntax rewritten in ComfyUI's, so a prompt means the same on both.

NovelAI: ``{x}`` multiplies the weight by 1.05, ``[x]`` divides it by 1.05 (nested pairs multiply
again), ``n::x::`` gives ``x`` the weight ``n`` (V4+; a second ``::`` ends the span). ComfyUI reads
``(x:w)`` as weight ``w`` and treats ``{ } [ ] ::`` as literal text, while bare ``( )`` mean ×1.1,
so literal parentheses (common in tag names: ``artist (style)``) are escaped as ``\\(`` ``\\)``.

Choices where NovelAI documents nothing: a numeric weight inside braces is multiplied by the
braces' weight; an unclosed brace weighs the rest of the prompt; a closer with no opener and a
closing ``::`` with no open span are dropped, as NovelAI's parser consumes them as syntax.
"""

from __future__ import annotations

import re

from ..config import LocalConfig
from ..settings import GenerationSettings

BRACE = 1.05
_NUMERIC = re.compile(r"(?<![\w.])(-?(?:\d+(?:\.\d*)?|\.\d+))::")
_TOKEN = re.compile(r"(?<![\w.])-?(?:\d+(?:\.\d*)?|\.\d+)::|::|\\[()]|[{}\[\]()]|[^{}\[\]():\\\d.-]+|.", re.S)


def nai_segments(text: str) -> list[tuple[str, float]]:
    """``text`` as (literal text, weight) runs under NovelAI's rules; equal neighbours merged."""
    out: list[tuple[str, float]] = []
    stack: list[str] = []  # open "{" / "["
    numeric: float | None = None

    def weight() -> float:
        w = 1.0
        for b in stack:
            w = w * BRACE if b == "{" else w / BRACE
        return w * (numeric if numeric is not None else 1.0)

    def emit(s: str) -> None:
        w = weight()
        if out and abs(out[-1][1] - w) < 1e-12:
            out[-1] = (out[-1][0] + s, out[-1][1])
        else:
            out.append((s, w))

    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok in ("{", "["):
            stack.append(tok)
        elif tok in ("}", "]"):
            opener = "{" if tok == "}" else "["
            if stack and stack[-1] == opener:
                stack.pop()
        elif tok == "::":
            numeric = None
        elif tok.endswith("::") and _NUMERIC.fullmatch(tok):
            numeric = float(tok[:-2])
        else:
            emit(tok)
    return [(s, w) for s, w in out if s]


def _escape(text: str) -> str:
    return re.sub(r"(?<!\\)([()])", r"\\\1", text)


def _fmt(w: float) -> str:
    s = f"{w:.4f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def nai_to_comfy(text: str) -> str:
    """The ComfyUI prompt that weighs every run of ``text`` as NovelAI would."""
    parts: list[str] = []
    for s, w in nai_segments(text):
        body = _escape(s)
        if _fmt(w) == "1":
            parts.append(body)
            continue
        core = body.strip()
        if not core:
            parts.append(body)
            continue
        lead = body[: len(body) - len(body.lstrip())]
        trail = body[len(body.rstrip()):]
        parts.append(f"{lead}({core}:{_fmt(w)}){trail}")
    return "".join(parts)


def _join(*parts: str) -> str:
    return ", ".join(p.strip() for p in parts if p.strip())


def comfy_prompts(s: GenerationSettings, presets: LocalConfig | None = None) -> tuple[str, str]:
    """(positive, negative) ComfyUI text for ``s``.

    Characters are appended (a plain SDXL graph has no per-character channel); quality tags and
    the UC preset mean what ``[local]`` configures, as for the local engine; then NovelAI syntax is
    converted.
    """
    chars = s.enabled_characters()
    prompt = _join(s.prompt, *(c.prompt for c in chars))
    negative = _join(s.uc, *(c.uc for c in chars))
    if presets is not None:
        tags = presets.quality_tags.strip()
        if s.quality and tags:
            prompt = tags.replace("{prompt}", prompt) if "{prompt}" in tags else _join(prompt, tags)
        negative = _join(presets.uc_presets.get(s.uc_preset, ""), negative)
    return nai_to_comfy(prompt), nai_to_comfy(negative)
