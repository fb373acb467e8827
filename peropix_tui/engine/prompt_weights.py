"""Prompt weights for the engine: the dialect parsers live in :mod:`peropix_tui.core.local.weights`
(torch-free, shared with the prompt editor's highlighter); this module keeps the engine's names."""

from __future__ import annotations

from ..core.local.weights import (
    A1111_BRACKET_FACTOR,
    DIALECTS,
    NAI_FACTOR,
    PAREN_FACTOR,
    PromptDialect,
    PromptSyntaxError,
    Segment,
    parse,
    parts,
)

__all__ = ["A1111_BRACKET_FACTOR", "DIALECTS", "NAI_FACTOR", "PAREN_FACTOR", "PromptDialect", "PromptSyntaxError",
           "Segment", "parse", "parse_prompt"]


def parse_prompt(prompt: str, dialect: str = "auto") -> list[list[Segment]]:
    """``prompt`` split at ``BREAK`` into parts of weighted segments (``[[]]`` for "")."""
    return parts(prompt, dialect)
