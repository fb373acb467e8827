"""A1111 prompt editing and alternation: one prompt → the text to encode for each sampling step.

Syntax (read before the attention brackets):

* ``[from:to:when]`` – ``from`` up to step ``when``, then ``to``; ``[to:when]`` starts empty;
  ``[from::when]`` ends empty. ``when`` with a ``.`` is a fraction of the steps (``int(when·steps)``),
  without one a step number; capped at the steps; below 1 it never switches (``to`` throughout).
* ``[a|b|…]`` – option ``(step − 1) mod k`` at each step (empty options allowed: ``[fe|]male``).
* Constructs nest. ``[x]``, ``(x)`` and ``(x:w)`` are left as text for the attention parser.
  A ``|`` outside an alternation, or a trailing lone ``\\``, makes the prompt unreadable as a
  schedule: it is then used unchanged for every step, as A1111 does.

A hires pass (new scheduling) uses ``steps`` = hires steps, a fraction as ``(when − 1)·steps`` and
a step number as ``when − base_steps``.
:func:`schedule` gives ``[(end_step, text), …]``: the text for steps up to and including
``end_step``; at run time the denoiser counter (from 0) picks the first entry with
counter ≤ end_step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .weights import PromptSyntaxError, check_nesting

_NUMBER = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*")

Char = tuple[str, int]  # (character, offset in the prompt)


@dataclass
class _Text:
    chars: list[Char]


@dataclass
class _Edit:
    before: list[_Node]
    after: list[_Node]
    when: str
    syntax: list[int]  # offsets of ``[``, ``:``, the number and ``]``
    step: int = 0


@dataclass
class _Alt:
    options: list[list[_Node]]
    syntax: list[int] = field(default_factory=list)


_Node = _Text | _Edit | _Alt


class _Fail(Exception):
    """Not a schedule at this position (or, at the top, not readable at all)."""


class _Parser:
    def __init__(self, prompt: str) -> None:
        self.s = prompt
        self.n = len(prompt)

    def top(self) -> list[_Node]:
        nodes, pos = self.seq(0, 0)
        assert pos == self.n
        return nodes

    def seq(self, pos: int, level: int) -> tuple[list[_Node], int]:
        """Nodes from ``pos`` until a closer/separator of the enclosing construct (level > 0)."""
        s = self.s
        nodes: list[_Node] = []
        buf: list[Char] = []
        while pos < self.n:
            c = s[pos]
            if c == "\\":
                if pos + 1 >= self.n:
                    raise _Fail()  # a lone trailing backslash: the grammar has no reading for it
                buf += [(c, pos), (s[pos + 1], pos + 1)]
                pos += 2
            elif c in "[(":
                try:
                    made, end = self.bracket(pos, level) if c == "[" else self.paren(pos, level)
                except _Fail:
                    if level:
                        raise
                    buf.append((c, pos))  # at the top a bracket may be plain text
                    pos += 1
                    continue
                if made and isinstance(made[0], _Text) and len(made) == 1:
                    buf += made[0].chars
                else:
                    if buf:
                        nodes.append(_Text(buf))
                        buf = []
                    for node in made:
                        if isinstance(node, _Text):
                            buf += node.chars
                        else:
                            if buf:
                                nodes.append(_Text(buf))
                                buf = []
                            nodes.append(node)
                pos = end
            elif c == "|":
                if level == 0:
                    raise _Fail()
                break
            elif c in "]):":
                if level:
                    break
                buf.append((c, pos))
                pos += 1
            else:
                buf.append((c, pos))
                pos += 1
        if buf:
            nodes.append(_Text(buf))
        return nodes, pos

    def paren(self, pos: int, level: int) -> tuple[list[_Node], int]:
        first, p = self.seq(pos + 1, level + 1)
        out: list[_Node] = [_Text([("(", pos)]), *first]
        if p < self.n and self.s[p] == ":":
            colon = p
            second, p = self.seq(p + 1, level + 1)
            out += [_Text([(":", colon)]), *second]
        if p >= self.n or self.s[p] != ")":
            raise _Fail()
        return [*out, _Text([(")", p)])], p + 1

    def bracket(self, pos: int, level: int) -> tuple[list[_Node], int]:
        items: list[list[_Node]] = []
        seps: list[tuple[str, int]] = []
        p = pos + 1
        while True:
            nodes, p = self.seq(p, level + 1)
            items.append(nodes)
            c = self.s[p] if p < self.n else ""
            if c == "]":
                break
            if c in (":", "|"):
                seps.append((c, p))
                p += 1
                continue
            raise _Fail()
        close = p
        kinds = {c for c, _ in seps}
        if not seps:
            return [_Text([("[", pos)]), *items[0], _Text([("]", close)])], close + 1
        if kinds == {"|"}:
            return [_Alt(items, [pos, *(i for _, i in seps), close])], close + 1
        if kinds == {":"} and len(seps) in (1, 2):
            when = items[-1]
            text = "".join(c for node in when if isinstance(node, _Text) for c, _ in node.chars)
            if all(isinstance(node, _Text) for node in when) and _NUMBER.fullmatch(text):
                offsets = [i for node in when if isinstance(node, _Text) for _, i in node.chars]
                syntax = [pos, *(i for _, i in seps), *offsets, close]
                before = items[0] if len(seps) == 2 else []
                return [_Edit(before, items[-2], text, syntax)], close + 1
        raise _Fail()


def _parse(prompt: str) -> list[_Node] | None:
    try:
        check_nesting(prompt)  # bounds the backtracking: each unclosed bracket rescans the rest
        return _Parser(prompt).top()
    except (_Fail, RecursionError, PromptSyntaxError):
        return None


def _walk(nodes: list[_Node]) -> list[_Edit | _Alt]:
    out: list[_Edit | _Alt] = []
    for node in nodes:
        if isinstance(node, _Edit):
            out.append(node)
            out += _walk(node.before) + _walk(node.after)
        elif isinstance(node, _Alt):
            out.append(node)
            for option in node.options:
                out += _walk(option)
    return out


def when_step(when: str, steps: int, *, base_steps: int | None = None) -> int:
    """The step ``when`` names (capped at ``steps``); ``base_steps`` set: in a hires pass."""
    v = float(when)
    if "." in when:
        v = (v - (1 if base_steps is not None else 0)) * steps
    else:
        v -= base_steps or 0
    if v != v or v <= -1:  # NaN, or before the first step (a huge negative number included)
        return -1
    return steps if v >= steps else int(v)  # a huge number (even "1e999" = inf) means "never switch"


def _text_at(nodes: list[_Node], step: int) -> str:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, _Text):
            out.append("".join(c for c, _ in node.chars))
        elif isinstance(node, _Edit):
            out.append(_text_at(node.before if step <= node.step else node.after, step))
        else:
            out.append(_text_at(node.options[(step - 1) % len(node.options)], step))
    return "".join(out)


def schedule(prompt: str, steps: int, *, base_steps: int | None = None) -> list[tuple[int, str]]:
    """``[(end_step, text), …]`` for ``prompt`` at ``steps`` steps (one entry if nothing switches)."""
    tree = _parse(prompt)
    if tree is None:
        return [(steps, prompt)]
    ends = {steps}
    for node in _walk(tree):
        if isinstance(node, _Alt):
            ends.update(range(1, steps + 1))
            continue
        node.step = when_step(node.when, steps, base_steps=base_steps)
        if node.step >= 1:
            ends.add(node.step)
    return [(end, _text_at(tree, end)) for end in sorted(ends)]


def has_schedule(prompt: str) -> bool:
    """Whether ``prompt`` uses prompt editing or alternation."""
    tree = _parse(prompt)
    return tree is not None and bool(_walk(tree))


def text_at_counter(entries: list[tuple[int, str]], counter: int) -> str:
    """The entry A1111 uses at denoiser call ``counter`` (from 0): the first with counter ≤ end."""
    for end, text in entries:
        if counter <= end:
            return text
    return entries[-1][1]


_AND = re.compile(r"\bAND\b")
_SUB_WEIGHT = re.compile(r"(.*?)(?:\s*:\s*([-+]?(?:\d+\.?|\d*\.\d+)))?\s*$", re.DOTALL)


def split_and(prompt: str) -> list[tuple[str, float]]:
    """A1111 composable prompts: ``a AND b:0.5`` → ``[("a", 1.0), ("b", 0.5)]``. A trailing
    ``:number`` is a sub-prompt's weight even without ``AND`` (``cat:1.5`` is one cond at 1.5).
    Only the positive prompt is split; the negative is used as it is."""
    out: list[tuple[str, float]] = []
    for sub in _AND.split(prompt):
        m = _SUB_WEIGHT.match(sub)
        if m is None:  # pragma: no cover - the pattern matches any text
            out.append((sub, 1.0))
            continue
        out.append((m.group(1), float(m.group(2)) if m.group(2) is not None else 1.0))
    return out


def union_view(prompt: str) -> tuple[list[Char], set[int]]:
    """Every branch's text in prompt order (for highlighting) and the offsets of editing syntax."""
    tree = _parse(prompt)
    if tree is None:
        return [(c, i) for i, c in enumerate(prompt)], set()
    chars: list[Char] = []
    syntax: set[int] = set()

    def visit(nodes: list[_Node]) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                chars.extend(node.chars)
            elif isinstance(node, _Edit):
                syntax.update(node.syntax)
                visit(node.before)
                visit(node.after)
            else:
                syntax.update(node.syntax)
                for option in node.options:
                    visit(option)

    visit(tree)
    chars.sort(key=lambda ch: ch[1])
    return chars, syntax
