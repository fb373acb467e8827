"""SVG snapshots of the References tab with two Precise References (120×40 and 80×24)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from textual.widgets import Input, TabbedContent, TextArea

from peropix_tui.core.settings import CharacterReference, GenerationSettings
from peropix_tui.core.slots import SlotSet


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_references_with_two_precise_references(snap_compare: Any, make_app: Any, tmp_path: Path,
                                                size: tuple[int, int]) -> None:
    """One row per reference: name (cut with …), mode, strength, fidelity; all four fit at 80 columns."""
    first, second = tmp_path / "face.png", tmp_path / "outfit_reference_with_a_long_name.png"
    for p in (first, second):
        Image.new("RGB", (16, 16), (90, 60, 30)).save(p)
    base = GenerationSettings(prompt="1girl", charref=CharacterReference(path=str(first), mode="style"),
                              extra_charrefs=[CharacterReference(path=str(second), fidelity=0.5)])
    app = make_app(workspace=SlotSet(base=base))

    async def run_before(pilot: Any) -> None:
        pilot.app.screen.query_one(TabbedContent).active = "tab-references"
        await pilot.pause()
        for widget in pilot.app.screen.query("TextArea, Input"):
            assert isinstance(widget, TextArea | Input)
            widget.cursor_blink = False
        pilot.app.screen.query_one("#cr-path").focus()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
