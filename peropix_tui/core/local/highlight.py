"""What the prompt editor shows for a local-engine dialect: per character, the weight the engine
will use, the syntax it consumes, and brackets it reads as plain text.

Built on the engine's own parsers (:mod:`.weights`, :mod:`.schedule`), over the whole prompt (so
brackets across lines count), and returned as :class:`~peropix_tui.core.prompt.Span` runs.
Kinds: ``text`` (with its weight), ``bracket`` / ``weight`` (syntax consumed: brackets, weight
numbers, ``::``, A1111 editing ``[ : | ]``), ``escape`` (a consumed backslash), ``break`` (a
``BREAK`` that starts a chunk), ``literal`` (``( ) [ ] { }``, ``::`` or ``BREAK`` that this dialect
reads as text), ``wildcard``, ``pipe`` (A1111's ``AND``; a sub-prompt's trailing ``:w`` is a
``weight``) and ``error`` (A1111 cannot read the weight).
"""

from __future__ import annotations

import re

from ..prompt import Span
from .schedule import _AND, _SUB_WEIGHT, union_view
from .weights import PromptSyntaxError, pieces_of

LOCAL_DIALECTS: tuple[str, ...] = ("auto", "comfyui", "a1111", "novelai")
_BRACKETS = set("()[]{}")
_WILDCARD = re.compile(r"__[\w\-./*]+?__")
_LITERAL_WORDS = re.compile(r"::|\bBREAK\b")


def spans(prompt: str, dialect: str) -> list[Span]:
    """Highlight runs covering ``prompt`` (character offsets) for a local-engine ``dialect``."""
    n = len(prompt)
    kinds = ["bracket" if c in _BRACKETS else "weight" for c in prompt]  # consumed unless seen below
    weights = [1.0] * n
    chars = [(c, i) for i, c in enumerate(prompt)]
    edit: set[int] = set()
    if dialect == "a1111":
        chars, edit = union_view(prompt)
    try:
        pieces = pieces_of(chars, dialect)
    except PromptSyntaxError:
        return [Span(0, n, "error")] if n else []
    for piece in pieces:
        for _, i in piece.chars:
            if 0 <= i < n:
                kinds[i] = "break" if piece.brk else "text"
                weights[i] = 1.0 if piece.brk else piece.weight
    for i, c in enumerate(prompt):
        if c.isspace() and kinds[i] != "text":  # whitespace A1111 eats around BREAK
            kinds[i] = "text"
        elif kinds[i] == "text" and c in _BRACKETS and not (i and prompt[i - 1] == "\\" and kinds[i - 1] != "text"):
            kinds[i] = "literal"
        elif kinds[i] != "text" and c == "\\" and i + 1 < n and kinds[i + 1] == "text":
            kinds[i] = "escape"
        elif i in edit:
            kinds[i] = "bracket" if c in "[]|" else "weight"
    for m in _LITERAL_WORDS.finditer(prompt):
        if all(kinds[i] == "text" for i in range(m.start(), m.end())):
            for i in range(m.start(), m.end()):
                kinds[i] = "literal"
    if dialect == "a1111":
        _mark_composable(prompt, kinds)
    for m in _WILDCARD.finditer(prompt):
        for i in range(m.start(), m.end()):
            if kinds[i] == "text":
                kinds[i] = "wildcard"
    return _runs(kinds, weights)


def _mark_composable(prompt: str, kinds: list[str]) -> None:
    """A1111 ``AND`` between sub-prompts (kind ``pipe``) and each sub-prompt's trailing ``:weight``."""
    start = 0
    for m in [*_AND.finditer(prompt), None]:
        end = m.start() if m else len(prompt)
        w = _SUB_WEIGHT.match(prompt, start, end)
        if w is not None and w.group(2) is not None:
            for i in range(w.end(1), end):
                if not prompt[i].isspace():
                    kinds[i] = "weight"
        if m is not None:
            for i in range(m.start(), m.end()):
                kinds[i] = "pipe"
            start = m.end()


def _runs(kinds: list[str], weights: list[float]) -> list[Span]:
    out: list[Span] = []
    for i, (kind, weight) in enumerate(zip(kinds, weights, strict=True)):
        last = out[-1] if out else None
        if last is not None and last.kind == kind and last.weight == weight and last.end == i:
            out[-1] = Span(last.start, i + 1, kind, weight)
        else:
            out.append(Span(i, i + 1, kind, weight))
    return out


def line_spans(prompt: str, dialect: str) -> list[list[Span]]:
    """:func:`spans` cut at newlines, with offsets relative to each line."""
    lines = prompt.split("\n")
    out: list[list[Span]] = [[] for _ in lines]
    starts = []
    pos = 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    row = 0
    for span in spans(prompt, dialect):
        start = span.start
        while start < span.end:
            while row + 1 < len(lines) and start >= starts[row + 1]:
                row += 1
            line_end = starts[row] + len(lines[row])
            end = min(span.end, line_end)
            if end > start:
                out[row].append(Span(start - starts[row], end - starts[row], span.kind, span.weight))
            start = max(end, line_end + 1) if end >= line_end else end
    return out
