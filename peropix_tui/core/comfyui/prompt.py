"""NovelAI prompt syntax rewritten in ComfyUI's, so a prompt means the same on both.

NovelAI: ``{x}`` multiplies the weight by 1.05, ``[x]`` divides it by 1.05 (nested pairs multiply
again), ``n::x::`` gives ``x`` the weight ``n`` (V4+; a second ``::`` ends the span). ComfyUI reads
``(x:w)`` as weight ``w`` and treats ``{ } [ ] ::`` as literal text, while bare ``( )`` mean ×1.1,
so literal parentheses (common in tag names: ``artist (style)``) are escaped as ``\\(`` ``\\)``.

Choices where NovelAI documents nothing: a numeric weight inside braces is multiplied by the
braces' weight; an unclosed brace weighs the rest of the prompt; a closer with no opener and a
closing ``::`` with no open span are dropped, as NovelAI's parser consumes them as syntax.

Which syntax a prompt is written in follows its prompt dialect (the settings' ``prompt_dialect``,
else ``[local] prompt_dialect``, else ``auto``), see :func:`to_comfy`: ``comfyui`` text is sent as
it is, ``novelai`` and ``auto`` (the reading before dialects existed) are converted as above, and
``a1111`` weights (``(x)`` ×1.1 and ``[x]`` ÷1.1 multiplied when nested, ``(x:w)`` multiplying
the outer weight, unclosed brackets weighing the rest) become explicit ``(x:w)`` runs. A1111
prompt editing ``[a:b:0.5]``, alternation ``[a|b]``, ``AND`` and ``BREAK`` change the conditioning
per step or per chunk, which one ComfyUI ``CLIPTextEncode`` cannot do: such a prompt is refused
with a one-line error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ...i18n import _
from ..config import LocalConfig
from ..local.request import prompt_dialect
from ..local.schedule import _AND, has_schedule
from ..local.weights import parse
from ..settings import GenerationSettings, SettingsError

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
    return _render(nai_segments(text))


def a1111_to_comfy(text: str, field: str = "prompt") -> str:
    """The ComfyUI prompt that weighs every run of ``text`` as A1111 would.

    Raises :class:`SettingsError` naming ``field`` for syntax ComfyUI's text encoder cannot express
    (prompt editing, alternation, ``AND``, ``BREAK``) and for an unreadable weight.
    """
    if has_schedule(text):
        raise SettingsError(field, _("A1111 prompt editing or alternation ([a:b:0.5], [a|b]) switches the prompt "
                                     "per step, which ComfyUI cannot do; remove it or use prompt syntax comfyui"))
    if _AND.search(text):
        raise SettingsError(field, _("A1111 AND (composable prompts) has no ComfyUI text equivalent; remove it"))
    try:
        segments = parse(text, "a1111")
    except ValueError as e:
        raise SettingsError(field, str(e).removeprefix("prompt: ")) from None
    if any(seg.brk for seg in segments):
        raise SettingsError(field, _("A1111 BREAK has no ComfyUI text equivalent (ComfyUI would read it as a word); "
                                     "remove it"))
    return _render([(seg.text, seg.weight) for seg in segments], _escape_all)


def to_comfy(text: str, dialect: str, field: str = "prompt") -> str:
    """``text`` written in prompt ``dialect`` as ComfyUI prompt text of the same meaning."""
    if dialect == "comfyui":
        return text
    if dialect == "a1111":
        return a1111_to_comfy(text, field)
    return nai_to_comfy(text)  # novelai, and auto as before dialects existed


def _escape_all(text: str) -> str:
    """Literal text (escapes already resolved) with every parenthesis escaped for ComfyUI."""
    return re.sub(r"([()])", r"\\\1", text)


def _render(segments: list[tuple[str, float]], escape: Callable[[str], str] = _escape) -> str:
    parts: list[str] = []
    for s, w in segments:
        body = escape(s)
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
    the UC preset mean what ``[local]`` configures, as for the local engine; then the text is
    converted from its prompt dialect (:func:`to_comfy`). Raises ValueError naming the
    setting when the dialect is unknown or the prompt cannot be converted.
    """
    dialect = prompt_dialect(s, presets)
    chars = s.enabled_characters()
    prompt = _join(s.prompt, *(c.prompt for c in chars))
    negative = _join(s.uc, *(c.uc for c in chars))
    if presets is not None:
        tags = presets.quality_tags.strip()
        if s.quality and tags:
            prompt = tags.replace("{prompt}", prompt) if "{prompt}" in tags else _join(prompt, tags)
        negative = _join(presets.uc_presets.get(s.uc_preset, ""), negative)
    return to_comfy(prompt, dialect, "prompt"), to_comfy(negative, dialect, "uc")
