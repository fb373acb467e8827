"""References tab from the keyboard: vibes with cache state and cost note, character reference, base image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from textual.widgets import Input, Select, TabbedContent

from peropix_tui.widgets.cost_meter import CostMeter
from peropix_tui.widgets.references import CharrefRow, VibeRow

SIZE = (120, 40)


async def type_text(pilot: Any, text: str) -> None:
    for ch in text:
        await pilot.press({" ": "space", ".": "full_stop", "/": "slash", "-": "minus", "_": "underscore"}.get(ch, ch))


async def test_vibe_charref_and_base_image_by_keyboard(make_app: Any, tmp_path: Path) -> None:
    vibe_img = tmp_path / "vibe.png"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(vibe_img)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one(TabbedContent).active = "tab-references"
        await pilot.pause()
        field = screen.query_one("#vibe-path", Input)
        field.focus()
        field.value = str(tmp_path / "missing.png")
        await pilot.press("enter")
        await pilot.pause()
        assert app.workspace.base.vibes == [] and field.has_class("-invalid")  # clear refusal, nothing added
        field.value = str(vibe_img)
        await pilot.press("enter")
        await pilot.pause()
        base = app.workspace.base
        assert [v.path for v in base.vibes] == [str(vibe_img)]
        row = screen.query_one(VibeRow)
        assert "needs encoding (+2)" in str(row.query_one(".state").render())
        meter = screen.query_one(CostMeter)
        assert meter.cost.next_run == 22 and any("+2 Anlas, once" in n for n in meter.cost.notes)
        strength = row.query_one(".strength", Input)
        strength.focus()
        await pilot.press("backspace", "backspace", "backspace", "0", "full_stop", "4")
        await pilot.pause()
        assert base.vibes[0].strength == 0.4
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert base.vibes == [] and not screen.query(VibeRow)

        cr = screen.query_one("#cr-path", Input)
        cr.focus()
        cr.value = str(vibe_img)
        await pilot.press("enter")
        await pilot.pause()
        assert base.charref is not None and base.charref.path == str(vibe_img)
        fidelity = screen.query_one(CharrefRow).query_one(".fidelity", Input)
        fidelity.focus()
        await pilot.press("backspace", "0", "full_stop", "5")
        await pilot.pause()
        assert base.charref.fidelity == 0.5

        action = screen.query_one("#base-action", Select)
        action.focus()
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        assert base.action == "img2img"
        image = screen.query_one("#base-image", Input)
        image.focus()
        image.value = str(vibe_img)
        await pilot.pause()
        assert base.image == str(vibe_img)
        noise = screen.query_one("#base-noise", Input)
        noise.focus()
        await pilot.press("backspace", "2")
        await pilot.pause()
        assert noise.has_class("-invalid") and base.noise == 0.0  # 2 is outside 0..1: refused
