"""Prompt dialects: a prompt → ``(text, weight)`` segments, the way each tool reads it.

======================  ==================================  ===============================  ==========================
syntax                  ``comfyui``                         ``a1111``                        ``novelai``
======================  ==================================  ===============================  ==========================
``(x)``                 ×1.1, nesting multiplies            ×1.1, nesting multiplies         literal text
``(x:1.3)``             weight = 1.3 (replaces the outer)   × 1.3 (``((x:1.3))`` = 1.43)     literal text
``[x]``                 literal text                        ÷1.1                             ÷1.05
``{x}``                 literal text                        literal text                     ×1.05
``1.5::x::``            literal text                        literal text                     × 1.5 until ``::``
``BREAK``               literal text                        new 75-token chunk               literal text
unclosed ``(``          the rest is literal                 weighs the rest of the prompt    literal bracket
escapes                 ``\\(`` ``\\)`` only                ``\\( \\) \\[ \\] \\\\``; a lone   ``\\{ \\} \\[ \\] \\\\``
                                                            ``\\`` is dropped
equal weights           kept apart                          adjacent runs merged             kept apart
======================  ==================================  ===============================  ==========================

``auto`` is the reading used before dialects existed, kept as it was: ``(x)``/``(x:w)`` as ComfyUI,
``{x}`` and ``n::x::`` as NovelAI, ``[x]`` ÷1.05 when the prompt uses ``{`` or ``::`` and ÷1.1
otherwise, ``BREAK`` as A1111, every bracket escapable, unmatched brackets literal.

Every parser works on characters that remember their offset in the prompt, so the same parse gives
the engine its segments (:func:`parse`) and the editor its per-character weights (:func:`marks`).
A1111 prompt editing and alternation (``[a:b:0.5]``, ``[a|b]``) are resolved before this, per step,
by :mod:`.schedule`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ... import i18n

PromptDialect = Literal["auto", "comfyui", "a1111", "novelai"]
DIALECTS: tuple[str, ...] = ("auto", "comfyui", "a1111", "novelai")

PAREN_FACTOR = 1.1
A1111_BRACKET_FACTOR = 1.1
NAI_FACTOR = 1.05


class PromptSyntaxError(ValueError):
    """The prompt cannot be read in its dialect (A1111's ``(x:1.2.3)``); the message says where."""


@dataclass(frozen=True)
class Segment:
    """A run of prompt text with one weight (1.0 = neutral). ``brk``: a chunk break (``BREAK``)."""

    text: str
    weight: float = 1.0
    brk: bool = False


@dataclass
class _Piece:
    chars: list[tuple[str, int]]  # (character, offset in the prompt; -1 for none)
    weight: float
    brk: bool = False

    @property
    def text(self) -> str:
        return "".join(c for c, _ in self.chars)


def check_dialect(name: str) -> PromptDialect:
    """``name`` as a dialect; ValueError naming the setting otherwise."""
    if name not in DIALECTS:
        raise ValueError("prompt_dialect: " + i18n.gettext("{value} is not one of {choices}")
                         .format(value=repr(name), choices=", ".join(DIALECTS)))
    return name  # type: ignore[return-value]


def parse(prompt: str, dialect: str = "auto") -> list[Segment]:
    """Segments of ``prompt`` in ``dialect``, in order; chunk breaks are segments with ``brk``.

    Empty text is dropped (A1111 keeps ``("", 1.0)`` for an empty prompt; nothing is lost here
    since the tokenizer gives it no tokens).
    """
    return [Segment(p.text, p.weight, p.brk) for p in _pieces(prompt, dialect) if p.brk or p.chars]


def parts(prompt: str, dialect: str = "auto") -> list[list[Segment]]:
    """:func:`parse` split at chunk breaks: one list of segments per part (``[[]]`` for "")."""
    out: list[list[Segment]] = [[]]
    for seg in parse(prompt, dialect):
        if seg.brk:
            out.append([])
        else:
            out[-1].append(seg)
    return out


MAX_NESTING = 100
"""Deepest bracket nesting a prompt may have; deeper is refused (the readers recurse per level)."""


def check_nesting(prompt: str) -> None:
    """Raise PromptSyntaxError when brackets of any kind nest deeper than :data:`MAX_NESTING`."""
    depth = 0
    for i, c in enumerate(prompt):
        if c in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise PromptSyntaxError("prompt: " + i18n.gettext("brackets nested more than {limit} deep "
                                                                  "(at character {position})")
                                        .format(limit=MAX_NESTING, position=i + 1))
        elif c in ")]}" and depth:
            depth -= 1


def _pieces(prompt: str, dialect: str) -> list[_Piece]:
    return pieces_of([(c, i) for i, c in enumerate(prompt)], dialect)


def pieces_of(chars: list[tuple[str, int]], dialect: str) -> list[_Piece]:
    """The parse of ``chars`` (each with its offset in the prompt) in ``dialect``."""
    check_nesting("".join(c for c, _ in chars))
    d = check_dialect(dialect)
    if d == "comfyui":
        return comfyui_pieces(chars)
    if d == "a1111":
        return a1111_pieces(chars)
    if d == "novelai":
        return _novelai(chars)
    return _auto(chars)


def _text(chars: list[tuple[str, int]]) -> str:
    return "".join(c for c, _ in chars)


# ------------------------------------------------------------------------------ ComfyUI
_ESC_OPEN, _ESC_CLOSE = "\x00\x02", "\x00\x01"


def comfyui_pieces(chars: list[tuple[str, int]]) -> list[_Piece]:
    """ComfyUI's CLIPTextEncode: ``(…)`` ×1.1 per level, the last ``:number`` replaces the weight,
    only ``\\(`` and ``\\)`` are escapes, everything else is text."""
    escaped: list[tuple[str, int]] = []
    k = 0
    while k < len(chars):
        c, i = chars[k]
        if c == "\\" and k + 1 < len(chars) and chars[k + 1][0] in "()":
            escaped.append(("\x01" if chars[k + 1][0] == ")" else "\x02", chars[k + 1][1]))
            k += 2
            continue
        escaped.append((c, i))
        k += 1
    out = _comfy_weights(escaped, 1.0)
    for p in out:
        p.chars = [(")" if c == "\x01" else "(" if c == "\x02" else c, i) for c, i in p.chars]
    return out


def _comfy_split(chars: list[tuple[str, int]]) -> list[list[tuple[str, int]]]:
    """Top-level pieces by a depth counter (a piece starting ``(`` at depth 0 ends at depth 0)."""
    result: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    depth = 0
    for ch in chars:
        if ch[0] == "(":
            if depth == 0 and current:
                result.append(current)
                current = []
            current.append(ch)
            depth += 1
        elif ch[0] == ")":
            depth -= 1
            current.append(ch)
            if depth == 0:
                result.append(current)
                current = []
        else:
            current.append(ch)
    if current:
        result.append(current)
    return result


def _py_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _comfy_weights(chars: list[tuple[str, int]], weight: float) -> list[_Piece]:
    out: list[_Piece] = []
    for piece in _comfy_split(chars):
        if len(piece) >= 2 and piece[0][0] == "(" and piece[-1][0] == ")":
            inner = piece[1:-1]
            w = weight * PAREN_FACTOR
            text = _text(inner)
            colon = text.rfind(":")
            if colon > 0:
                number = _py_float(text[colon + 1 :])
                if number is not None:
                    w, inner = number, inner[:colon]
            out.extend(_comfy_weights(inner, w))
        else:
            out.append(_Piece(piece, weight))
    return out


# ------------------------------------------------------------------------------- A1111
_A1111_TOKEN = re.compile(
    r"(?P<esc>\\[()\[\]\\])|(?P<lone>\\)|(?P<open>[(\[])|(?P<wclose>:\s*(?P<w>[+-]?[.\d]+)\s*\))"
    r"|(?P<close>[)\]])|(?P<run>[^\\()\[\]:]+)|(?P<colon>:)"
)
_A1111_BREAK = re.compile(r"\s*\bBREAK\b\s*")


def a1111_pieces(chars: list[tuple[str, int]]) -> list[_Piece]:
    """A1111's ``parse_prompt_attention`` (emphasis "Original"), with the ``BREAK`` marker as a
    piece of weight −1 that breaks the chunk only if its weight stays exactly −1."""
    text = _text(chars)
    res: list[_Piece] = []
    round_stack: list[int] = []
    square_stack: list[int] = []

    def multiply(start: int, factor: float) -> None:
        for p in res[start:]:
            p.weight *= factor

    for m in _A1111_TOKEN.finditer(text):
        kind = m.lastgroup
        a, b = m.start(), m.end()
        if kind == "esc":
            res.append(_Piece([chars[a + 1]], 1.0))
        elif kind == "lone":
            res.append(_Piece([], 1.0))
        elif kind == "open":
            (round_stack if m.group() == "(" else square_stack).append(len(res))
        elif kind == "wclose" and round_stack:
            w = m.group("w")
            try:
                factor = float(w)
            except ValueError:
                raise PromptSyntaxError("prompt: " + i18n.gettext("weight {weight} at character {position} is not "
                                                                  "a number").format(weight=repr(w), position=a + 1)
                                        ) from None
            multiply(round_stack.pop(), factor)
        elif kind == "close" and m.group() == ")" and round_stack:
            multiply(round_stack.pop(), PAREN_FACTOR)
        elif kind == "close" and m.group() == "]" and square_stack:
            multiply(square_stack.pop(), 1 / A1111_BRACKET_FACTOR)
        else:
            pos = a
            for brk in _A1111_BREAK.finditer(text, a, b):
                res.append(_Piece(chars[pos : brk.start()], 1.0))
                word = brk.start() + brk.group().index("BREAK")
                res.append(_Piece(chars[word : word + 5], -1.0, brk=True))
                pos = brk.end()
            res.append(_Piece(chars[pos:b], 1.0))
    for pos in round_stack:
        multiply(pos, PAREN_FACTOR)
    for pos in square_stack:
        multiply(pos, 1 / A1111_BRACKET_FACTOR)
    merged: list[_Piece] = []
    for p in res:  # adjacent runs of exactly equal weight become one
        if merged and merged[-1].weight == p.weight:
            last = merged[-1]  # a fresh copy made below: extending it in place keeps this linear
            last.chars.extend(p.chars)
            last.brk = last.brk or p.brk
        else:
            merged.append(_Piece(list(p.chars), p.weight, p.brk))
    for p in merged:  # the tokenizer breaks only on the text "BREAK" at weight exactly −1
        p.brk = p.brk and p.text == "BREAK" and p.weight == -1.0
    return merged


# ------------------------------------------------------------------------------ NovelAI
_NAI_OPEN = re.compile(r"(?<![\w.])[+-]?(?:\d+\.?\d*|\.\d+)::")
_NAI_ESCAPABLE = set("{}[]\\")


def _pair(chars: list[tuple[str, int]], opens: str, escapable: set[str]) -> dict[int, int]:
    """Position of each opener → its closer; a closer that does not match the innermost opener
    and openers left open stay unpaired (literal)."""
    closer = {"(": ")", "[": "]", "{": "}"}
    pairs: dict[int, int] = {}
    stack: list[int] = []
    k = 0
    while k < len(chars):
        c = chars[k][0]
        if c == "\\" and k + 1 < len(chars) and chars[k + 1][0] in escapable:
            k += 2
            continue
        if c in opens:
            stack.append(k)
        elif stack and c == closer[chars[stack[-1]][0]]:
            pairs[stack.pop()] = k
        k += 1
    return pairs


def _novelai(chars: list[tuple[str, int]]) -> list[_Piece]:
    """``{x}`` ×1.05, ``[x]`` ÷1.05 (nesting multiplies), ``n::x::`` × n up to the next ``::`` or
    the end; ``()``, ``:`` and ``BREAK`` are text. A region inside braces is multiplied by them."""
    text = _text(chars)
    pairs = _pair(chars, "{[", _NAI_ESCAPABLE)
    closers = {v: k for k, v in pairs.items()}
    factors: list[float] = []
    region = 1.0
    out: list[_Piece] = []

    def emit(ch: tuple[str, int]) -> None:
        w = region
        for f in factors:
            w *= f
        if out and out[-1].weight == w and not out[-1].brk:
            out[-1].chars.append(ch)
        else:
            out.append(_Piece([ch], w))

    k = 0
    while k < len(chars):
        c = chars[k][0]
        if c == "\\" and k + 1 < len(chars) and chars[k + 1][0] in _NAI_ESCAPABLE:
            emit(chars[k + 1])
            k += 2
            continue
        if k in pairs:
            factors.append(NAI_FACTOR if c == "{" else 1 / NAI_FACTOR)
            k += 1
            continue
        if k in closers:
            factors.pop()
            k += 1
            continue
        m = _NAI_OPEN.match(text, k)
        if m:
            region = float(m.group()[:-2])
            k = m.end()
            continue
        if text.startswith("::", k):
            region = 1.0
            k += 2
            continue
        emit(chars[k])
        k += 1
    return out


# --------------------------------------------------------------------------------- auto
_AUTO_ESCAPABLE = set("()[]{}:\\")
_AUTO_REGION = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)::|::")
_AUTO_BREAK = re.compile(r"(?<![^\s,])BREAK(?![^\s,])")


def _auto(chars: list[tuple[str, int]]) -> list[_Piece]:
    """The reading used before dialects existed (see the module docstring)."""
    text = _text(chars)
    plain = re.sub(r"\\.", "", text)
    nai = "{" in plain or "::" in plain
    out: list[_Piece] = []
    weight, start = 1.0, 0
    regions: list[tuple[list[tuple[str, int]], float]] = []
    for m in _AUTO_REGION.finditer(text):
        if _is_escaped(text, m.start()):
            continue
        regions.append((chars[start : m.start()], weight))
        weight = float(m.group(1)) if m.group(1) is not None else 1.0
        start = m.end()
    regions.append((chars[start:], weight))
    for region, w in regions:
        pairs = _pair(region, "([{", _AUTO_ESCAPABLE)
        out.extend(_auto_walk(region, 0, len(region), w, pairs, nai))
    return out


def _is_escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _auto_walk(chars: list[tuple[str, int]], lo: int, hi: int, weight: float, pairs: dict[int, int],
               nai: bool) -> list[_Piece]:
    out: list[_Piece] = []
    buf: list[tuple[str, int]] = []
    i = lo
    while i < hi:
        c = chars[i][0]
        if c == "\\" and i + 1 < hi and chars[i + 1][0] in _AUTO_ESCAPABLE:
            buf.append(chars[i + 1])
            i += 2
        elif i in pairs and pairs[i] <= hi:
            out.extend(_auto_plain(buf, weight))
            buf = []
            out.extend(_auto_group(chars, i, pairs[i], weight, pairs, nai))
            i = pairs[i] + 1
        else:
            buf.append(chars[i])
            i += 1
    out.extend(_auto_plain(buf, weight))
    return out


def _auto_plain(buf: list[tuple[str, int]], weight: float) -> list[_Piece]:
    out: list[_Piece] = []
    pos = 0
    text = _text(buf)
    for m in _AUTO_BREAK.finditer(text):
        out.append(_Piece(buf[pos : m.start()], weight))
        out.append(_Piece(buf[m.start() : m.end()], 1.0, brk=True))
        pos = m.end()
    out.append(_Piece(buf[pos:], weight))
    return out


def _auto_group(chars: list[tuple[str, int]], lo: int, hi: int, weight: float, pairs: dict[int, int],
                nai: bool) -> list[_Piece]:
    kind = chars[lo][0]
    if kind == "{":
        return _auto_walk(chars, lo + 1, hi, weight * NAI_FACTOR, pairs, nai)
    if kind == "[":
        factor = NAI_FACTOR if nai else A1111_BRACKET_FACTOR
        return _auto_walk(chars, lo + 1, hi, weight / factor, pairs, nai)
    colon = _auto_weight_colon(chars, lo, hi, pairs)
    if colon is not None:
        return _auto_walk(chars, lo + 1, colon, float(_text(chars[colon + 1 : hi])), pairs, nai)
    return _auto_walk(chars, lo + 1, hi, weight * PAREN_FACTOR, pairs, nai)


def _auto_weight_colon(chars: list[tuple[str, int]], lo: int, hi: int, pairs: dict[int, int]) -> int | None:
    colon, i = None, lo + 1
    while i < hi:
        if chars[i][0] == "\\":
            i += 2
            continue
        if i in pairs:
            i = pairs[i] + 1
            continue
        if chars[i][0] == ":":
            colon = i
        i += 1
    if colon is None:
        return None
    try:
        float(_text(chars[colon + 1 : hi]))
    except ValueError:
        return None
    return colon
