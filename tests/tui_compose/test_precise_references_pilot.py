"""Several Precise References from the keyboard: add, mode/strength/fidelity per reference, remove;
refused with the core's message on V5 and with inpaint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from textual.widgets import Input, Select, Static, TabbedContent

from peropix_tui.widgets.cost_meter import CostMeter
from peropix_tui.widgets.references import CharrefRow

SIZE = (120, 40)


def _images(tmp_path: Path) -> tuple[Path, Path, Path]:
    paths = tuple(tmp_path / f"ref{i}.png" for i in range(3))
    for i, p in enumerate(paths):
        Image.new("RGB", (32, 32), (i * 40, 2, 3)).save(p)
    return paths  # type: ignore[return-value]


async def _open_references(app: Any, pilot: Any) -> None:
    app.screen.query_one(TabbedContent).active = "tab-references"
    await pilot.pause()


async def test_add_edit_and_remove_several_references(make_app: Any, tmp_path: Path) -> None:
    a, b, _ = _images(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _open_references(app, pilot)
        screen, base = app.screen, app.workspace.base
        field = screen.query_one("#cr-path", Input)
        field.focus()
        field.value = str(tmp_path / "missing.png")
        await pilot.press("enter")
        await pilot.pause()
        assert base.charrefs() == [] and field.has_class("-invalid")
        field.value = str(a)
        await pilot.press("enter")
        await pilot.pause()
        field.value = str(b)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert [r.path for r in base.charrefs()] == [str(a), str(b)]
        assert base.charref is not None and base.charref.path == str(a)
        assert [r.path for r in base.extra_charrefs] == [str(b)]
        rows = list(screen.query(CharrefRow))
        assert len(rows) == 2 and not field.value

        mode = rows[1].query_one(".mode", Select)
        mode.focus()
        await pilot.press("enter", "up", "enter")  # character&style -> style
        await pilot.pause()
        assert mode.value == "style" and base.extra_charrefs[0].caption() == "style"
        assert base.extra_charrefs[0].mode == "style" and base.charref.caption() == "character&style"
        strength = rows[0].query_one(".strength", Input)
        strength.focus()
        await pilot.press("backspace", "0", "full_stop", "6")
        await pilot.pause()
        fidelity = rows[1].query_one(".fidelity", Input)
        fidelity.focus()
        await pilot.press("backspace", "0", "full_stop", "3")
        await pilot.pause()
        assert base.charref.strength == 0.6 and base.extra_charrefs[0].fidelity == 0.3
        await pilot.press("home", "2")
        await pilot.pause()
        assert fidelity.has_class("-invalid") and base.extra_charrefs[0].fidelity == 0.3  # 20.3 is outside 0..1
        await pilot.press("backspace")
        await pilot.pause()
        assert not fidelity.has_class("-invalid")
        assert screen.query_one(CostMeter).cost.error == ""

        strength.focus()
        await pilot.press("ctrl+r")  # removes the focused (first) reference
        await pilot.pause()
        assert [r.path for r in base.charrefs()] == [str(b)] and base.extra_charrefs == []
        assert base.charref is not None and base.charref.fidelity == 0.3
        assert len(screen.query(CharrefRow)) == 1


async def test_v5_model_refuses_references_with_the_core_message(make_app: Any, tmp_path: Path) -> None:
    a, b, _ = _images(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _open_references(app, pilot)
        screen, base = app.screen, app.workspace.base
        field = screen.query_one("#cr-path", Input)
        field.focus()
        field.value = str(a)
        await pilot.press("enter")
        await pilot.pause()
        assert len(base.charrefs()) == 1
        screen.query_one(TabbedContent).active = "tab-params"
        await pilot.pause()
        screen.query_one("#p-model", Select).value = "nai-diffusion-5-full"
        await pilot.pause()
        assert base.model == "nai-diffusion-5-full"
        note = str(screen.query_one("#cr-note", Static).render())
        assert "Precise Reference (character reference) is a V4.5 feature" in note
        await _open_references(app, pilot)
        field.focus()
        field.value = str(b)
        await pilot.press("enter")
        await pilot.pause()
        assert len(base.charrefs()) == 1 and field.has_class("-invalid")  # not added


async def test_inpaint_refuses_a_reference(make_app: Any, tmp_path: Path) -> None:
    a, _, _ = _images(tmp_path)
    app = make_app()
    app.workspace.base.action = "infill"
    async with app.run_test(size=SIZE) as pilot:
        await _open_references(app, pilot)
        screen, base = app.screen, app.workspace.base
        field = screen.query_one("#cr-path", Input)
        field.focus()
        field.value = str(a)
        await pilot.press("enter")
        await pilot.pause()
        assert base.charrefs() == [] and not screen.query(CharrefRow)
        assert "cannot be used with infill" in str(screen.query_one("#cr-note", Static).render())


async def test_a_loaded_set_of_references_shows_one_row_each(make_app: Any, tmp_path: Path) -> None:
    from peropix_tui.core.settings import CharacterReference

    a, b, c = _images(tmp_path)
    app = make_app()
    base = app.workspace.base
    base.charref = CharacterReference(path=str(a), mode="style", strength=0.5)
    base.extra_charrefs = [CharacterReference(path=str(b)), CharacterReference(path=str(c), fidelity=0.25)]
    async with app.run_test(size=SIZE) as pilot:
        await _open_references(app, pilot)
        rows = list(app.screen.query(CharrefRow))
        assert [r.ref.path for r in rows] == [str(a), str(b), str(c)]
        assert rows[0].query_one(".mode", Select).value == "style"
        assert rows[0].query_one(".strength", Input).value == "0.5"
        assert rows[2].query_one(".fidelity", Input).value == "0.25"
