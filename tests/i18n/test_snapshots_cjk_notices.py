"""SVG snapshots of the app's start-up toasts after a crash (a NovelAI job was mid-request) in
Korean and Japanese at 120x40 and 80x24: the wrapped double-width text of each toast must not be
cut mid-character or run out of its box."""

from __future__ import annotations

from typing import Any

import pytest

from peropix_tui.core.config import load_config
from tests.i18n.test_notices import _crashed_queue
from tests.tui_app.conftest import tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)

SIZES = pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
LANGUAGES = pytest.mark.parametrize("language", ["ko", "ja"])


@SIZES
@LANGUAGES
def test_recovery_toasts(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                         size: tuple[int, int]) -> None:
    from peropix_tui.app import PeroPixApp
    from tests.tui_app.conftest import settle

    _crashed_queue()
    monkeypatch.setenv("PEROPIX_LANG", language)
    app = PeroPixApp(load_config())

    async def before(pilot: Any) -> None:
        await pilot.press("f2")
        for widget in pilot.app.screen.query("Input, TextArea"):
            widget.cursor_blink = False
        await settle(pilot.app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=before)
