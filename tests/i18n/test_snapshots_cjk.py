"""SVG snapshots of Settings (first run), F1 help and the quit dialog in Korean and Japanese at
120x40 and 80x24: double-width text must not be cut, overlap or push the layout out of line."""

from __future__ import annotations

from typing import Any

import pytest

from peropix_tui.core.config import load_config
from tests.tui_app.conftest import tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)

SIZES = pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
LANGUAGES = pytest.mark.parametrize("language", ["ko", "ja"])


def _app(monkeypatch: pytest.MonkeyPatch, language: str) -> Any:
    from peropix_tui.app import PeroPixApp

    monkeypatch.setenv("PEROPIX_LANG", language)
    return PeroPixApp(load_config())


async def _calm(pilot: Any) -> None:
    from tests.tui_app.conftest import settle

    app = pilot.app
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    app.clear_notifications()
    await settle(app, pilot)


@SIZES
@LANGUAGES
def test_settings_first_run(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                            size: tuple[int, int]) -> None:
    async def before(pilot: Any) -> None:
        pilot.app.screen.query_one("#output_dir").value = "~/PeroPix/outputs"
        await _calm(pilot)

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_help_on_settings(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                          size: tuple[int, int]) -> None:
    async def before(pilot: Any) -> None:
        await _calm(pilot)
        await pilot.press("f1")
        await _calm(pilot)

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_quit_dialog(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                     size: tuple[int, int]) -> None:
    from peropix_tui.screens.quit_confirm import QuitConfirm

    async def before(pilot: Any) -> None:
        await _calm(pilot)
        await pilot.app.push_screen(QuitConfirm(["smile #1"], nai=True))
        await pilot.pause()

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)
