"""Settings save only what the user changed in the form; values from the environment stay out of the file."""

from __future__ import annotations

import tomllib
from typing import Any

from textual.widgets import Input

from peropix_tui.core import paths
from peropix_tui.screens.settings import SettingsScreen


async def test_save_writes_only_the_changed_field_not_env_values(make_app: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("PEROPIX_NAI_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PEROPIX_OUTPUT_DIR", "/tmp/env-only-outputs")
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text('[nai]\ntimeout = 42.0\n[paths]\ntags_dir = "/kept/tags"\n', encoding="utf-8")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        screen.query_one("#lora_dir", Input).value = "/models/my-loras"
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = tomllib.loads(paths.config_file().read_text(encoding="utf-8"))
    assert saved == {"nai": {"timeout": 42.0}, "paths": {"tags_dir": "/kept/tags", "lora_dir": "/models/my-loras"}}
    assert app.config.paths.lora_dir == "/models/my-loras"


async def test_token_with_a_non_ascii_character_is_refused_on_save(make_app: Any) -> None:
    from peropix_tui.core.config import load_token

    app = make_app(token=None)
    app.token = None
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f5")
        await pilot.pause()
        app.screen.query_one("#token", Input).value = "pst-caf\u00e9"
        await pilot.press("ctrl+s")
        await pilot.pause()
        notes = [n.message for n in app._notifications]
    assert any("non-ASCII character at position 8" in n for n in notes), notes
    assert load_token(env={}) is None and not paths.config_file().exists()
