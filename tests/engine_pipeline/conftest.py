"""Engine-pipeline fixtures: tiny SDXL-shaped checkpoints (tests/engine/tiny.py), loaded once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.engine.fixtures import one_torch_thread  # noqa: F401


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.engine.tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("pipe-ckpt") / "tiny.safetensors", seed=3)


@pytest.fixture(scope="session")
def tiny(tiny_path: Path) -> Any:
    """A loaded tiny eps model; tests must not modify it."""
    from peropix_tui.engine.checkpoint import load_checkpoint

    return load_checkpoint(tiny_path)
