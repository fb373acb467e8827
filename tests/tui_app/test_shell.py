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
        await pilot.pause()
        # the empty preview shows nothing (a bare placeholder widget would print its own name)
        assert "DeferredImage" not in app.export_screenshot()
        await pilot.press("ctrl+q")
    assert app.return_code in (None, 0)


async def test_user_keymap_palette_and_open_externally(make_app: Any, monkeypatch: Any) -> None:
    from peropix_tui.core.config import Secret

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("PEROPIX_VIEWER", raising=False)
    app = make_app(token=Secret("pst-not-used-here-0000"))
    app.config.ui.keymap = {"screen_gallery": "f9"}
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.current_mode == "compose"
        await pilot.press("f9")
        assert isinstance(app.screen, GalleryScreen)
        await pilot.press("f3")
        app.queue.add([(app.workspace.base.copy(seed=1), None, "", 0)])
        app.queue.pause_pending()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"cancel all")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert [j.state.value for j in app.queue] == ["cancelled"]
        target = app.config.output_dir / "x.png"
        app.action_open_external(target)
        assert app.clipboard == str(target)


async def test_settings_verify_and_save_token(make_app: Any, nai_emulator: Any, monkeypatch: Any) -> None:
    from peropix_tui.core import paths
    from peropix_tui.core.config import load_token

    monkeypatch.delenv("PEROPIX_NAI_TOKEN")
    app = make_app(token=None)
    app.token = None
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        screen.query_one("#token").focus()
        await pilot.press(*nai_emulator.token)
        await pilot.press("ctrl+t")
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(screen.query_one("#token-status").render())
        assert "tier 3" in status and "10500 Anlas" in status
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert load_token() is not None and load_token().get() == nai_emulator.token
        assert oct(paths.token_file().stat().st_mode & 0o777) == "0o600"
        shown = " ".join(str(w.render()) for w in screen.query("Input, Static, Label"))
        assert nai_emulator.token not in shown
        assert app.token is not None and app.token.get() == nai_emulator.token
