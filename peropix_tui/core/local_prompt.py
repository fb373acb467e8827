"""Moved to :mod:`peropix_tui.core.local.prompt`; this name stays for existing imports."""

from __future__ import annotations

from .local.prompt import PROMPT_SLOT, local_prompts

__all__ = ["PROMPT_SLOT", "local_prompts"]
