"""Prompt syntax: a tokenizer for highlighting, wildcard expansion, and the tag at the cursor.

Two dialects share one tokenizer:

=========  =====================================  ==========================================
dialect    emphasis                               de-emphasis / weights
=========  =====================================  ==========================================
``nai``    ``{x}`` ×1.05 per level                ``[x]`` ÷1.05; ``1.5::x::`` (``::`` ends it)
``sd``     ``(x)`` ×1.1 per level, ``(x:1.2)``    ``[x]`` ÷1.1
``auto``   all of the above (the local engine)    ``[x]`` ÷1.05 if the prompt uses ``{``/``::``,
                                                  else ÷1.1
=========  =====================================  ==========================================

Both know ``BREAK``, wildcards ``__name__``, ``|`` groups, ``,`` and backslash escapes (``\\(``).
The prompt editor uses this tokenizer for NovelAI (``nai``); for the local engine's dialects it shows
the engine's own parse instead (:mod:`peropix_tui.core.local.highlight`).
:func:`tokenize` returns :class:`Span` s with *character* offsets (not UTF-8 bytes), each with the
effective ``weight`` of the text it covers and the bracket ``depth``; a bracket that has no partner
is a span of kind ``error``. No Textual here: the widget maps kinds and levels onto styles.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..i18n import _
from . import paths

if TYPE_CHECKING:
    from .settings import GenerationSettings

NAI_STEP = 1.05
SD_STEP = 1.1
MAX_WILDCARD_DEPTH = 8

OPENERS = {"{": "}", "[": "]", "(": ")"}
CLOSERS = {v: k for k, v in OPENERS.items()}

# One alternation, tried left to right at each position. Group names are token kinds.
_LEX = re.compile(
    r"""
    (?P<escape>\\.)
  | (?P<naiweight>(?<![\w.])[+-]?(?:\d+\.?\d*|\.\d+)::)
  | (?P<naiend>::)
  | (?P<sdweight>:\s*[+-]?(?:\d+\.?\d*|\.\d+)\s*(?=\)))
  | (?P<wildcard>__[\w\-./*]+?__)
  | (?P<brk>\bBREAK\b)
  | (?P<bracket>[{}\[\]()])
  | (?P<pipe>\|)
  | (?P<comma>,)
  | (?P<text>[^\\:{}\[\](),|_B\d.+\-]+|.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Span:
    """A run of the prompt ``[start, end)`` (character offsets).

    ``kind`` is one of ``text``, ``bracket``, ``weight``, ``break``, ``wildcard``, ``pipe``,
    ``comma``, ``escape``, ``error``. ``weight`` is the effective multiplier of that run (1.0 =
    neutral) and ``depth`` the number of emphasis brackets around it.
    """

    start: int
    end: int
    kind: str
    weight: float = 1.0
    depth: int = 0

    @property
    def level(self) -> int:
        """+1 emphasised, -1 de-emphasised, 0 neutral (sign of ``weight - 1``)."""
        if abs(self.weight - 1.0) < 1e-9:
            return 0
        return 1 if self.weight > 1.0 else -1


@dataclass
class _Tok:
    start: int
    end: int
    kind: str
    text: str
    partner: int | None = None  # index of the matching bracket token
    factor: float = 1.0  # for an opener: the multiplier of its region


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    for m in _LEX.finditer(text):
        kind = m.lastgroup or "text"
        toks.append(_Tok(m.start(), m.end(), kind, m.group()))
    return _merge_text(toks)


def _merge_text(toks: list[_Tok]) -> list[_Tok]:
    out: list[_Tok] = []
    for t in toks:
        if out and t.kind == "text" and out[-1].kind == "text":
            prev = out[-1]
            out[-1] = _Tok(prev.start, t.end, "text", prev.text + t.text)
        else:
            out.append(t)
    return out


def _is_bracket(tok: _Tok, dialect: str) -> bool:
    if tok.kind != "bracket":
        return False
    # NovelAI reads () literally; SD reads {} literally; the local engine ("auto") reads both.
    literal = {"nai": "()", "sd": "{}"}.get(dialect, "")
    return tok.text not in literal


def _factors(toks: list[_Tok], dialect: str) -> dict[str, float]:
    """Multiplier of each opener in this prompt (``[`` depends on the dialect, see the table)."""
    nai_style = dialect == "nai" or (
        dialect == "auto" and any(t.text == "{" or t.kind in ("naiweight", "naiend") for t in toks)
    )
    down = NAI_STEP if nai_style else SD_STEP
    return {"{": NAI_STEP, "(": SD_STEP, "[": 1.0 / down}


def _match_brackets(toks: list[_Tok], dialect: str) -> None:
    """Pair brackets with a stack; a closer that does not close the top opener stays unpaired."""
    stack: list[int] = []
    for i, t in enumerate(toks):
        if not _is_bracket(t, dialect):
            continue
        if t.text in OPENERS:
            stack.append(i)
        elif stack and toks[stack[-1]].text == CLOSERS[t.text]:
            j = stack.pop()
            toks[j].partner, t.partner = i, j
    factors = _factors(toks, dialect)
    for i, t in enumerate(toks):
        if t.partner is None or t.text not in OPENERS:
            continue
        before_close = toks[t.partner - 1] if t.partner > i + 1 else None
        if t.text == "(" and before_close is not None and before_close.kind == "sdweight":
            t.factor = float(before_close.text.strip().lstrip(":"))
        else:
            t.factor = factors[t.text]


def tokenize(text: str, dialect: str = "nai") -> list[Span]:
    """Split ``text`` into highlight spans; see the module docstring for the syntax."""
    toks = _lex(text)
    _match_brackets(toks, dialect)
    spans: list[Span] = []
    factors: list[float] = []  # multipliers of the open, paired brackets
    region = 1.0  # NovelAI n::x:: weight
    for t in toks:
        weight = region
        for f in factors:
            weight *= f
        depth = len(factors)
        if _is_bracket(t, dialect):
            if t.partner is None:
                spans.append(Span(t.start, t.end, "error", weight, depth))
            elif t.text in OPENERS:
                factors.append(t.factor)
                spans.append(Span(t.start, t.end, "bracket", weight * t.factor, depth + 1))
            else:
                spans.append(Span(t.start, t.end, "bracket", weight, depth))
                factors.pop()
            continue
        kind = t.kind
        if kind == "naiweight" and dialect != "sd":
            region = float(t.text[:-2])
            spans.append(Span(t.start, t.end, "weight", region, depth))
        elif kind == "naiend" and dialect != "sd":
            spans.append(Span(t.start, t.end, "weight", region, depth))
            region = 1.0
        elif kind == "sdweight" and dialect != "nai":
            spans.append(Span(t.start, t.end, "weight", weight, depth))
        elif kind in ("escape", "wildcard", "pipe", "comma"):
            spans.append(Span(t.start, t.end, kind, weight, depth))
        elif kind == "brk":
            spans.append(Span(t.start, t.end, "break", 1.0, 0))
        else:
            spans.append(Span(t.start, t.end, "text", weight, depth))
    return _merge_spans(spans)


def _merge_spans(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for s in spans:
        p = out[-1] if out else None
        if p and p.kind == s.kind == "text" and p.end == s.start and p.weight == s.weight and p.depth == s.depth:
            out[-1] = Span(p.start, s.end, "text", p.weight, p.depth)
        else:
            out.append(s)
    return out


def unbalanced(text: str, dialect: str = "nai") -> list[int]:
    """Offsets of brackets that have no partner (for a warning before a run)."""
    return [s.start for s in tokenize(text, dialect) if s.kind == "error"]


# ----------------------------------------------------------------- completion
_FRAGMENT_BREAKS = re.compile(r"(::|[,|{}\[\]()\n]|(?<![\w.])[+-]?(?:\d+\.?\d*|\.\d+)::)")


@dataclass(frozen=True)
class Fragment:
    """The partial tag left of the cursor: ``text`` starts at character ``start``."""

    start: int
    text: str


def fragment_at(text: str, cursor: int) -> Fragment:
    """The tag being typed at ``cursor``: everything after the last separator, leading spaces dropped."""
    left = text[:cursor]
    start = 0
    for m in _FRAGMENT_BREAKS.finditer(left):
        start = m.end()
    frag = left[start:]
    stripped = frag.lstrip()
    return Fragment(start + len(frag) - len(stripped), stripped)


# ------------------------------------------------------------------ wildcards
_WILDCARD = re.compile(r"__([\w\-./*]+?)__")


class WildcardError(ValueError):
    """A wildcard cannot be expanded; the message names the wildcard and the file."""


def wildcard_options(path: Path) -> list[str]:
    """One option per non-empty line; lines starting with ``#`` are comments."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def expand_wildcards(
    prompt: str, directory: Path, rng: random.Random, max_depth: int = MAX_WILDCARD_DEPTH
) -> str:
    """Replace every ``__name__`` by a random line of ``directory/name.txt``, recursively.

    Options may contain wildcards themselves, up to ``max_depth`` levels (a cycle stops there
    with a :class:`WildcardError`). Escaped underscores are not wildcards.
    """
    return _expand(prompt, directory, rng, max_depth, ())


def _expand(text: str, directory: Path, rng: random.Random, depth: int, chain: tuple[str, ...]) -> str:
    def pick(m: re.Match[str]) -> str:
        name = m.group(1)
        if depth <= 0:
            raise WildcardError(_("wildcard __{name}__: nested deeper than allowed ({chain})").format(name=name, chain=' -> '.join(chain + (name,))))
        path = _wildcard_file(directory, name)
        try:
            options = wildcard_options(path)
        except FileNotFoundError:
            raise WildcardError(_("wildcard __{name}__: {file} not found").format(name=name, file=path)) from None
        except (UnicodeDecodeError, OSError) as e:
            raise WildcardError(_("wildcard __{name}__: cannot read {file}: {error}").format(name=name, file=path, error=e)) from None
        if not options:
            raise WildcardError(_("wildcard __{name}__: {file} has no options").format(name=name, file=path))
        return _expand(rng.choice(options), directory, rng, depth - 1, chain + (name,))

    return _WILDCARD.sub(pick, text)


def _wildcard_file(directory: Path, name: str) -> Path:
    path = (directory / f"{name}.txt").resolve()
    root = directory.resolve()
    if root not in path.parents:
        raise WildcardError(_("wildcard __{name}__: points outside {directory}").format(name=name, directory=directory))
    return path


def wildcards_dir() -> Path:
    """Where wildcard files live: ``<data dir>/wildcards/<name>.txt``."""
    return paths.data_dir() / "wildcards"


def has_wildcards(text: str) -> bool:
    return _WILDCARD.search(text) is not None


def expand_settings(settings: GenerationSettings, directory: Path, rng: random.Random) -> GenerationSettings:
    """A copy of ``settings`` with wildcards drawn in the prompt, the negative and every character
    prompt: call once per job so that each run draws its own options. Unchanged when none are used."""
    texts = [settings.prompt, settings.uc] + [t for c in settings.characters for t in (c.prompt, c.uc)]
    if not any(has_wildcards(t) for t in texts):
        return settings
    out = settings.copy()
    out.prompt = expand_wildcards(out.prompt, directory, rng)
    out.uc = expand_wildcards(out.uc, directory, rng)
    for c in out.characters:
        c.prompt = expand_wildcards(c.prompt, directory, rng)
        c.uc = expand_wildcards(c.uc, directory, rng)
    return out
