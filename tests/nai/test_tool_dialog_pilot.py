"""The Director Tools dialog under Pilot: moods picked from the keyboard, cost shown first, refusals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Checkbox, Select, Static

from peropix_tui.core.mood_presets import save_moodset
from peropix_tui.core.nai.tools_jobs import ToolRequest
from peropix_tui.screens.tool_dialog import ToolDialog

MakePng = Callable[..., Path]


class Host(App[None]):
    def __init__(self, dialog: ToolDialog) -> None:
        super().__init__()
        self.dialog = dialog
        self.result: list[ToolRequest | None] = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.result.append)


def cost_text(dialog: ToolDialog) -> str:
    return str(dialog.query_one("#cost", Static).render())


async def test_emotion_set_of_five_moods_shows_the_cost_and_returns_the_request(make_png: MakePng) -> None:
    src = make_png("000_[bold red]x_0000001.png", 1024, 1536)  # markup-looking names stay plain text
    dialog = ToolDialog([src], tier=3, balance=1000)
    app = Host(dialog)
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        assert "[bold red]x" in str(dialog.query_one("#title", Static).render())
        for mood in ("happy", "sad", "angry", "shy", "smug"):
            dialog.query_one(f"#mood-{mood}", Checkbox).value = True
        await pilot.pause()
        assert cost_text(dialog).startswith("Cost: 150 Anlas for 5 request(s)")  # 30 each over 1 MP
        await pilot.press("ctrl+s")
        await pilot.pause()
    (req,) = app.result
    assert req is not None and req.tool == "emotion" and req.moods == ("happy", "sad", "angry", "shy", "smug")
    assert len(req.plan(tier=3).jobs) == 5


async def test_over_budget_is_refused_in_the_dialog(make_png: MakePng) -> None:
    src = make_png("a.png", 832, 1216)
    dialog = ToolDialog([src, src], tier=3, balance=None, budget=100, tool="bg-removal")
    app = Host(dialog)
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        assert cost_text(dialog).startswith("Cost: 130 Anlas for 2 request(s)")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.result == [] and "over your budget of 100" in str(dialog.query_one("#refusal", Static).render())
        await pilot.press("escape")
        await pilot.pause()
    assert app.result == [None]


async def test_all_moods_key_and_saved_sets(make_png: MakePng) -> None:
    save_moodset("pair", ["love", "hurt"])
    dialog = ToolDialog([make_png("a.png", 832, 1216)], tier=None)
    app = Host(dialog)
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert len(dialog.chosen_moods()) == 24
        assert "(tier unknown: nothing assumed free)" in cost_text(dialog)
        dialog.query_one("#moodset", Select).value = "pair"
        await pilot.pause()
        assert dialog.chosen_moods() == ("love", "hurt")
        assert cost_text(dialog).startswith("Cost: 40 Anlas for 2 request(s)")


async def test_an_unreadable_image_blocks_running_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"nope")
    dialog = ToolDialog([bad], tier=3, tool="lineart")
    app = Host(dialog)
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.pause()
        assert "cannot price" in cost_text(dialog)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.result == [] and "broken.png" in str(dialog.query_one("#refusal", Static).render())
