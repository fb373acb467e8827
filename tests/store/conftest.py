"""Fixtures for the gallery store tests: the isolated output folder and a fresh store on it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from peropix_tui.core.store import GalleryStore


@pytest.fixture
def out_dir(isolated_dirs: Path) -> Path:
    return Path(os.environ["PEROPIX_OUTPUT_DIR"])


@pytest.fixture
def store(out_dir: Path) -> Iterator[GalleryStore]:
    s = GalleryStore(out_dir)
    yield s
    s.close()
