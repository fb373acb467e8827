"""Prompt weights: ComfyUI / A1111 / NovelAI emphasis syntax → ``(text, weight)`` segments.

One mechanism serves every dialect, so a prompt written for NovelAI means the same thing locally
(the weights are then applied by ComfyUI's rule ``z = (z − z_empty)·w + z_empty``, see ``text.py``):

==================  =====================================  ===========================
syntax              meaning                                origin
==================  =====================================  ===========================
``(x)``             weight × 1.1 (nesting multiplies)      ComfyUI / A1111
``(x:1.3)``         weight = 1.3 (absolute, as ComfyUI)    ComfyUI / A1111
``[x]``             weight ÷ 1.1                           A1111
``{x}``             weight × 1.05 (nesting multiplies)     NovelAI
``[x]`` (NAI)       weight ÷ 1.05                          NovelAI
``1.5::x::``        weight × 1.5 until the next ``::``     NovelAI V4 (end of prompt
                    (negative numbers allowed)             closes an open region)
``BREAK``           start a new 75-token chunk             A1111 / Forge
``\\(`` ``\\{`` …   literal bracket, colon or backslash    ComfyUI
==================  =====================================  ===========================

``[x]`` is the one clash: with ``dialect="auto"`` a prompt that uses NovelAI syntax (``{`` or
``::``) gets NovelAI's ÷1.05, any other prompt A1111's ÷1.1. Unmatched brackets are literal text.
A1111 prompt editing (``[a:b:0.5]``) is not supported; it is read as a ÷ bracket.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Dialect = Literal["auto", "a1111", "nai"]

PAREN_FACTOR = 1.1
A1111_BRACKET_FACTOR = 1.1
NAI_FACTOR = 1.05

_OPEN_TO_CLOSE = {"(": ")", "[": "]", "{": "}"}
_ESCAPABLE = set("()[]{}:\\")
_NAI_REGION = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)::|::")
_BREAK = re.compile(r"(?<![^\s,])BREAK(?![^\s,])")


@dataclass(frozen=True)
class Segment:
    """A run of prompt text with one weight (1.0 = neutral)."""

    text: str
    weight: float = 1.0


def parse_prompt(prompt: str, dialect: Dialect = "auto") -> list[list[Segment]]:
    """Split ``prompt`` at ``BREAK`` into parts, each a list of weighted segments.

    Empty text is dropped. Segments are kept apart even at equal weight (``(x:1.0)y`` is "x", "y",
    as in ComfyUI, which tokenizes each segment on its own). An empty prompt gives ``[[]]``.
    """
    if dialect == "auto":
        dialect = "nai" if _uses_nai_syntax(prompt) else "a1111"
    segments: list[Segment | None] = []  # None marks a BREAK
    for text, weight in _nai_regions(prompt):
        segments.extend(_parse_brackets(text, weight, dialect))
    parts: list[list[Segment]] = [[]]
    for seg in segments:
        if seg is None:
            parts.append([])
        elif seg.text:
            parts[-1].append(seg)
    return parts


def _uses_nai_syntax(prompt: str) -> bool:
    plain = re.sub(r"\\.", "", prompt)
    return "{" in plain or "::" in plain


def _nai_regions(prompt: str) -> list[tuple[str, float]]:
    """NovelAI numeric emphasis: ``w::text::`` regions with their multiplier (escapes respected)."""
    regions: list[tuple[str, float]] = []
    weight, start = 1.0, 0
    for m in _NAI_REGION.finditer(prompt):
        if _is_escaped(prompt, m.start()):
            continue
        regions.append((prompt[start : m.start()], weight))
        weight = float(m.group(1)) if m.group(1) is not None else 1.0
        start = m.end()
    regions.append((prompt[start:], weight))
    return regions


def _is_escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _match_brackets(text: str) -> dict[int, int]:
    """Opening index → closing index for every properly nested, unescaped bracket pair."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c in _OPEN_TO_CLOSE:
            stack.append(i)
        elif stack and c == _OPEN_TO_CLOSE[text[stack[-1]]]:
            pairs[stack.pop()] = i
        i += 1
    return pairs


def _parse_brackets(text: str, weight: float, dialect: Dialect) -> list[Segment | None]:
    return _walk(text, 0, len(text), weight, _match_brackets(text), dialect)


def _walk(text: str, lo: int, hi: int, weight: float, pairs: dict[int, int], dialect: Dialect) -> list[Segment | None]:
    out: list[Segment | None] = []
    buf: list[str] = []
    i = lo
    while i < hi:
        c = text[i]
        if c == "\\" and i + 1 < hi and text[i + 1] in _ESCAPABLE:
            buf.append(text[i + 1])
            i += 2
        elif i in pairs and pairs[i] <= hi:
            out.extend(_plain(buf, weight))
            buf = []
            out.extend(_group(text, i, pairs[i], weight, pairs, dialect))
            i = pairs[i] + 1
        else:
            buf.append(c)
            i += 1
    out.extend(_plain(buf, weight))
    return out


def _plain(buf: list[str], weight: float) -> list[Segment | None]:
    """Literal text, split at ``BREAK`` keywords (None)."""
    out: list[Segment | None] = []
    for k, piece in enumerate(_BREAK.split("".join(buf))):
        if k:
            out.append(None)
        out.append(Segment(piece, weight))
    return out


def _group(text: str, lo: int, hi: int, weight: float, pairs: dict[int, int], dialect: Dialect) -> list[Segment | None]:
    """One bracket group ``text[lo..hi]`` (both brackets included)."""
    kind = text[lo]
    if kind == "{":
        return _walk(text, lo + 1, hi, weight * NAI_FACTOR, pairs, dialect)
    if kind == "[":
        factor = NAI_FACTOR if dialect == "nai" else A1111_BRACKET_FACTOR
        return _walk(text, lo + 1, hi, weight / factor, pairs, dialect)
    colon = _explicit_weight_colon(text, lo, hi, pairs)
    if colon is not None:
        return _walk(text, lo + 1, colon, float(text[colon + 1 : hi]), pairs, dialect)
    return _walk(text, lo + 1, hi, weight * PAREN_FACTOR, pairs, dialect)


def _explicit_weight_colon(text: str, lo: int, hi: int, pairs: dict[int, int]) -> int | None:
    """Index of the ``:`` in ``(x:1.3)`` when what follows it (to the ``)``) is a number."""
    colon, i = None, lo + 1
    while i < hi:
        if text[i] == "\\":
            i += 2
            continue
        if i in pairs:
            i = pairs[i] + 1
            continue
        if text[i] == ":":
            colon = i
        i += 1
    if colon is None:
        return None
    try:
        float(text[colon + 1 : hi])
    except ValueError:
        return None
    return colon
