"""Engine-pipeline fixtures: tiny SDXL-shaped checkpoints (H5's builder), loaded once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads; on a shared 2-core runner one thread is ~5× faster."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.engine.tiny import make_tiny_checkpoint

    return make_tiny_checkpoint(tmp_path_factory.mktemp("pipe-ckpt") / "tiny.safetensors", seed=3)


@pytest.fixture(scope="session")
def tiny(tiny_path: Path) -> Any:
    """A loaded tiny eps model; tests must not modify it."""
    from peropix_tui.engine.checkpoint import load_checkpoint

    return load_checkpoint(tiny_path)
