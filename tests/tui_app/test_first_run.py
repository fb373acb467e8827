"""First run opens Settings with the token field focused, so a pasted token is not lost."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.widgets import Input

from peropix_tui.screens.settings import SettingsScreen
from tests.tui_app.conftest import settle


async def test_first_run_focuses_the_token_field_and_keeps_a_paste(make_app: Any) -> None:
    app = make_app()
    assert app.first_run
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, SettingsScreen)
        token = app.focused
        assert token is not None and token.id == "token"
        token.post_message(events.Paste("pst-0123456789abcdef"))  # what a terminal paste sends
        await pilot.pause()
        assert app.screen.query_one("#token", Input).value == "pst-0123456789abcdef"


async def test_settings_from_compose_also_starts_on_the_token(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f2", "f5")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "token"
