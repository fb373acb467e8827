"""The prompt editor's dialect follows what the provider will do with the prompt."""

from __future__ import annotations

import pytest

from peropix_tui.core.settings import GenerationSettings
from peropix_tui.screens.compose import dialect_for


@pytest.mark.parametrize(("provider", "dialect", "configured", "editor"), [
    ("nai", "a1111", "auto", "nai"),
    ("local", None, "auto", "auto"),
    ("local", "a1111", "auto", "a1111"),
    ("comfyui", None, "auto", "nai"),  # auto: converted from NovelAI syntax for ComfyUI
    ("comfyui", "novelai", "auto", "nai"),
    ("comfyui", None, "a1111", "a1111"),
    ("comfyui", "comfyui", "a1111", "comfyui"),
])
def test_editor_dialect(provider: str, dialect: str | None, configured: str, editor: str) -> None:
    assert dialect_for(GenerationSettings(provider=provider, prompt_dialect=dialect), configured) == editor
