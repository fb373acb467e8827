"""Pytest fixtures: ``comfy_emulator`` (one server, reached through the env) and ``comfy_pool`` (several)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .server import ComfyEmulator


@pytest.fixture
def comfy_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[ComfyEmulator]:
    """One emulator on 127.0.0.1; ``PEROPIX_COMFYUI_URLS`` points at it."""
    emu = ComfyEmulator().start()
    monkeypatch.setenv("PEROPIX_COMFYUI_URLS", emu.url)
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def comfy_pool() -> Iterator[Callable[..., list[ComfyEmulator]]]:
    """``comfy_pool(n, **options)`` starts ``n`` emulators; all are stopped after the test."""
    started: list[ComfyEmulator] = []

    def make(n: int, **options: object) -> list[ComfyEmulator]:
        emus = [ComfyEmulator(**options).start() for _ in range(n)]  # type: ignore[arg-type]
        started.extend(emus)
        return emus

    try:
        yield make
    finally:
        for emu in started:
            emu.stop()
