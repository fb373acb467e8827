"""Double-width text in front of a widget edge stays whole in full and partial screen updates."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from peropix_tui import wide_cells

TEXT = "가나다라마바사아자차"  # 10 characters, 20 cells


class _Overlap(App[None]):
    """Two bordered boxes side by side (an edge at x=20) and a line of Hangul in front of them,
    starting at x=11 so that the edge falls inside its fifth character."""

    CSS = """
    Screen { layers: below above; }
    Horizontal { height: 5; }
    .box { width: 20; height: 5; border: round white; }
    #front { layer: above; offset: 11 2; width: 20; height: 1; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("", classes="box")
            yield Static("", classes="box")
        yield Static(TEXT, id="front")


def test_wide_starts_counts_cells() -> None:
    assert wide_cells.wide_starts("a가b나") == [1, 4]
    assert wide_cells.wide_starts("abc") == []


async def test_a_wide_character_across_an_edge_is_drawn_whole() -> None:
    wide_cells.install()
    app = _Overlap()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        compositor = app.screen._compositor
        assert 20 in compositor.cuts[2]  # the edge of the second box cuts the line of text
        lines = [strip.text for strip in compositor.render_strips()]
        assert TEXT in lines[2]
        assert lines[2][:11].strip("│ ╭╰") == ""  # nothing moved: the text still starts at x=11

        full = compositor.render_full_update()
        assert TEXT in "".join(strip.text for strip in full.strips[2])

        front = app.query_one("#front")
        compositor._dirty_regions.add(front.region)
        update = compositor.render_partial_update()
        assert update is not None
        line = update.chops[2]
        ends = update.chop_ends[2]
        assert len(ends) == len(line) and ends == [*list(line)[1:], 40]
        assert TEXT in "".join(strip.text for strip in line.values() if strip is not None)
        assert TEXT in update.render_segments(app.console)


async def test_lines_without_a_split_keep_textual_chops() -> None:
    wide_cells.install()
    app = _Overlap()
    async with app.run_test(size=(40, 6)) as pilot:
        await pilot.pause()
        compositor = app.screen._compositor
        chops = compositor._render_chops(app.screen.region, lambda y: True)
        assert list(chops[0]) == compositor.cuts[0][:-1]  # the box border line: no wide text, no join
        assert 20 not in chops[2]  # the split cut was joined into the chop before it


class _Toasting(App[None]):
    def compose(self) -> ComposeResult:
        yield Static("")


async def test_a_japanese_toast_breaks_by_cells_and_keeps_ascii_words_whole() -> None:
    from peropix_tui.widgets.cell_wrap import wrap_toasts

    wrap_toasts()
    message = "NovelAI のトークンがまだありません。設定（F5）で入力するか、PEROPIX_NAI_TOKEN を設定してください。"
    app = _Toasting()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        app.notify(message, title="開始しませんでした", markup=False)
        for _ in range(50):  # the toast rack mounts the toast a few frames later
            await pilot.pause(0.02)
            if app.screen.query("Toast"):
                break
        await pilot.pause()
        lines = [strip.text.strip(" ▌") for strip in app.screen._compositor.render_strips()]
        title = lines.index("開始しませんでした")
        body = lines[title + 1:title + 3]
        assert "".join(body) == message  # two rows, nothing lost
        assert body[1].startswith("か、PEROPIX_NAI_TOKEN")  # broken between characters, the word whole
