"""Parameters: NovelAI inpaint's "keep original image" toggle, from the keyboard."""

from __future__ import annotations

from typing import Any

from textual.widgets import Checkbox, TabbedContent

from peropix_tui.core.settings import GenerationSettings
from peropix_tui.widgets.param_form import ParamForm


async def test_keep_original_toggles_by_keyboard_and_follows_loaded_settings(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.query_one(TabbedContent).active = "tab-params"
        await pilot.pause()
        box = app.screen.query_one("#p-inpaint_keep_original", Checkbox)
        assert box.display and not box.value and not app.workspace.base.inpaint_keep_original  # website default
        box.focus()
        await pilot.press("space")
        await pilot.pause()
        assert app.workspace.base.inpaint_keep_original is True
        await pilot.press("space")
        await pilot.pause()
        assert app.workspace.base.inpaint_keep_original is False
        form = app.screen.query_one(ParamForm)
        await form.load(GenerationSettings(inpaint_keep_original=True))
        await pilot.pause()
        assert app.screen.query_one("#p-inpaint_keep_original", Checkbox).value
        await form.load(GenerationSettings(provider="local"))
        await pilot.pause()
        assert not app.screen.query_one("#p-inpaint_keep_original", Checkbox).display  # NovelAI only
