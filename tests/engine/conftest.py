"""Fixtures for engine tests: one tiny checkpoint per session (read-only users share it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .tiny import make_tiny_checkpoint


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tiny models gain nothing from threads; on a shared 2-core runner one thread is steadier."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


@pytest.fixture(scope="session")
def tiny_model(tiny_ckpt: Path):  # type: ignore[no-untyped-def]
    """Loaded once; tests must not modify it (LoRA tests load their own)."""
    from peropix_tui.engine.checkpoint import load_checkpoint

    return load_checkpoint(tiny_ckpt)
