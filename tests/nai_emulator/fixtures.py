"""Pytest fixture ``nai_emulator``: a fresh NovelAI emulator per test, reached through the env."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import NaiEmulator


@pytest.fixture
def nai_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[NaiEmulator]:
    """Start the emulator on 127.0.0.1; ``PEROPIX_NAI_URL``/``PEROPIX_NAI_TOKEN`` point at it."""
    emu = NaiEmulator().start()
    monkeypatch.setenv("PEROPIX_NAI_URL", emu.url)
    monkeypatch.setenv("PEROPIX_NAI_TOKEN", emu.token)
    try:
        yield emu
    finally:
        emu.stop()
