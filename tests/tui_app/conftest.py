"""Pilot fixtures for the app shell: half-cell images, pinned cell size, no blink, no animations,
the loopback NovelAI emulator fixture and helpers to drive the app."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

import pytest

from peropix_tui.widgets import preview

try:
    from tests.nai_emulator.fixtures import nai_emulator  # noqa: F401
except ImportError:  # without the emulator package, tests needing it name it in the skip
    pass


@pytest.fixture(autouse=True)
def tui_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEROPIX_IMAGE_PROTOCOL", "halfcell")
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setenv("TEXTUAL_CELL_WIDTH", "10")
    monkeypatch.setenv("TEXTUAL_CELL_HEIGHT", "20")
    monkeypatch.setenv("PEROPIX_THEME", "textual-dark")
    preview.prepare("halfcell")
    preview.seed_cell_size(10, 20)


@pytest.fixture
def make_app() -> Callable[..., Any]:
    """Build a PeroPixApp from the (isolated, env-overridden) config."""
    from peropix_tui.app import PeroPixApp
    from peropix_tui.core.config import load_config

    def build(**kwargs: Any) -> PeroPixApp:
        config = load_config()
        if "PEROPIX_NAI_URL" not in os.environ:  # no emulator: typed tags must not reach the real NovelAI
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                config.nai.base_url = f"http://127.0.0.1:{probe.getsockname()[1]}"
        return PeroPixApp(config, **kwargs)

    return build


async def settle(app: Any, pilot: Any, rounds: int = 3) -> None:
    """Wait for every worker (cancelled exclusive ones included) and the messages they posted."""
    from textual.worker import WorkerCancelled

    for _ in range(rounds):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()
