"""Shared test fixtures: every test runs with its own config/data/cache/state/output folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every PeroPix folder at a fresh temporary folder; no token, default NovelAI URL."""
    root = tmp_path_factory.mktemp("peropix-home")
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        d = root / name.lower()
        d.mkdir()
        monkeypatch.setenv(f"PEROPIX_{name}_DIR", str(d))
    monkeypatch.setenv("PEROPIX_OUTPUT_DIR", str(root / "outputs"))
    for var in list(os.environ):
        if var.startswith("PEROPIX_") and var not in {
            "PEROPIX_CONFIG_DIR", "PEROPIX_DATA_DIR", "PEROPIX_CACHE_DIR", "PEROPIX_STATE_DIR", "PEROPIX_OUTPUT_DIR",
        }:
            monkeypatch.delenv(var, raising=False)
    # language "auto" reads the locale: English whatever the machine's locale is (i18n tests set their own)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    return root


@pytest.fixture
def shared_dir() -> Path:
    """The project's ../shared folder (real NovelAI fixtures); skipped when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared is absent ({SHARED}); real NovelAI fixtures unavailable")
    return SHARED
