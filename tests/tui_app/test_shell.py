"""The app shell: screens, bindings, first run, help, keymap, log file."""

from __future__ import annotations

from typing import Any

from peropix_tui.screens.gallery import GalleryScreen
from peropix_tui.screens.help import HelpScreen
from peropix_tui.screens.queue import QueueScreen
from peropix_tui.screens.settings import SettingsScreen


async def test_first_run_opens_settings_and_keys_switch_screens(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        assert "Welcome to PeroPix" in str(app.screen.query_one("#welcome").render())
        await pilot.press("f3")
        assert isinstance(app.screen, QueueScreen)
        await pilot.press("f4")
        assert isinstance(app.screen, GalleryScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, GalleryScreen)
        await pilot.press("f2")
        assert app.current_mode == "compose"
        await pilot.press("ctrl+q")
    assert app.return_code in (None, 0)
