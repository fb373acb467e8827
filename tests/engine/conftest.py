"""Fixtures for engine tests: one tiny checkpoint per session (read-only users share it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .fixtures import one_torch_thread  # noqa: F401
from .tiny import make_tiny_checkpoint


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


@pytest.fixture(scope="session")
def tiny_model(tiny_ckpt: Path):  # type: ignore[no-untyped-def]
    """Loaded once; tests must not modify it (LoRA tests load their own)."""
    from peropix_tui.engine.checkpoint import load_checkpoint

    return load_checkpoint(tiny_ckpt)


@pytest.fixture
def model(tiny_ckpt: Path):  # type: ignore[no-untyped-def]
    """A fresh copy of the tiny model, for tests that change its weights (LoRA merges)."""
    from peropix_tui.engine.checkpoint import load_checkpoint

    return load_checkpoint(tiny_ckpt)


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.engine.tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("pipe-ckpt") / "tiny.safetensors", seed=3)


@pytest.fixture(scope="session")
def tiny(tiny_path: Path) -> Any:
    """A loaded tiny eps model; tests must not modify it."""
    from peropix_tui.engine.checkpoint import load_checkpoint

    return load_checkpoint(tiny_path)
