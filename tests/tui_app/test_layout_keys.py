"""What a new user sees: the whole seed, the cost meter and every footer key at 80×24, jump keys
for the Parameters tab, Esc clearing the gallery search, F1 naming the footer's keys, and the
thumbnail of a done job after a restart."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from rich.console import Console
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from peropix_tui.core import paths
from peropix_tui.core.config import load_config
from peropix_tui.core.jobs import QUEUE_FILE, JobQueue
from peropix_tui.core.metadata import write_novelai_png
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.core.store import GalleryStore
from peropix_tui.messages import QueueChanged
from peropix_tui.screens.help import help_renderable
from peropix_tui.widgets.cost_meter import CostMeter
from peropix_tui.widgets.job_list import JobRow
from peropix_tui.widgets.thumb_grid import ThumbGrid
from tests.tui_app.conftest import settle

SCREEN_KEYS = ("f2", "f3", "f4", "f5")


NAMES = ("alpha", "bravo", "charlie")


def _images(n: int) -> list[Any]:
    store = GalleryStore(load_config().output_dir)
    saved = []
    for i in range(n):
        data = write_novelai_png(Image.new("RGB", (64, 96), (40 * i, 120, 200)),
                                 GenerationSettings(prompt=f"1girl, {NAMES[i]}", width=64, height=96), seed=i)
        saved.append(store.save_image(data, folder="set", slot_index=i, slot_name=f"s{i}"))
    store.close()
    return saved


async def test_seed_field_shows_ten_digits_at_120_columns(make_app: Any) -> None:
    app = make_app()
    app.workspace.base.seed = 4294967295
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f2", "alt+d")
        await settle(app, pilot)
        seed = app.screen.query_one("#p-seed", Input)
        assert app.focused is seed
        assert seed.content_region.width > len("4294967295"), seed.content_region


@pytest.mark.parametrize("key", SCREEN_KEYS)
async def test_footer_fits_80_columns(make_app: Any, key: str) -> None:
    _images(2)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(key)
        await settle(app, pilot)
        keys = list(app.screen.query(FooterKey))
        assert keys and {"^q", "f1", *SCREEN_KEYS} <= {k.key_display for k in keys}
        for k in keys:
            assert k.region.width > 0 and k.region.right <= 80, (k.key_display, k.region)


async def test_cost_meter_is_whole_at_80x24(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        meter = app.screen.query_one(CostMeter)
        lines = str(meter.render()).splitlines()
        assert meter.region.bottom <= 23 and meter.region.right <= 80  # above the footer row
        assert meter.region.height >= len(lines) + 2  # every line inside its border
        assert "this image:" in lines[0]


async def test_jump_keys_reach_every_parameter(make_app: Any) -> None:
    from peropix_tui.widgets.param_jumps import JUMPS

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        assert app.focused is not None and app.focused.id == "prompt"
        reached = []
        for field, _label, letter in JUMPS:
            await pilot.press(f"alt+{letter}")
            await pilot.pause()
            if app.screen.query_one(f"#{field}").display:
                assert app.focused is not None and app.focused.id == field, (letter, app.focused)
                reached.append(field)
        assert {"p-steps", "p-seed", "p-scale", "p-sampler", "p-width", "p-height"} <= set(reached)
        await pilot.press("alt+t", *"30")  # the field's text is selected on focus: typing replaces it
        assert app.workspace.base.steps == 30


async def test_escape_clears_the_gallery_search(make_app: Any) -> None:
    _images(3)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f4")
        await settle(app, pilot)
        grid = app.screen.query_one(ThumbGrid)
        assert grid.count == 3
        await pilot.press("slash", *"bravo", "enter")
        await settle(app, pilot)
        assert grid.count == 1
        await pilot.press("slash", "escape")  # in the field
        await settle(app, pilot)
        assert grid.count == 3 and app.screen.query_one("#search", Input).value == ""
        assert app.focused is grid
        await pilot.press("slash", *"charlie", "enter", "escape")  # from the grid
        await settle(app, pilot)
        assert grid.count == 3 and app.screen.query_one("#search", Input).value == ""


@pytest.mark.parametrize("key", SCREEN_KEYS)
async def test_help_names_the_footer_keys(make_app: Any, key: str) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press(key)
        await settle(app, pilot)
        screen = app.screen
        console = Console(width=110, file=io.StringIO(), color_system=None)
        console.print(help_renderable(screen, app))
        rows = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
        by_id = {b.binding.id: b.binding for b in screen.active_bindings.values() if b.binding.id}
        checked = 0
        for fk in screen.query(FooterKey):
            binding = next((b.binding for b in screen.active_bindings.values() if b.binding.key == fk.key), None)
            if binding is None or binding.id not in by_id:
                continue
            row = next((r for r in rows if r.rstrip().endswith(f" {binding.id}")), None)
            assert row is not None, (binding.id, rows)
            assert row.split()[0] == fk.key_display, (row, fk.key_display)
            checked += 1
        assert checked >= 3


async def test_done_jobs_have_their_thumbnails_after_a_restart(make_app: Any) -> None:
    """Restored done jobs show their images, also when the queue changes again while the list is
    still being rebuilt (a rebuild cancelled half-way used to leave the list without thumbnails,
    or stuck)."""
    (saved,) = _images(1)
    q = JobQueue(paths.state_dir() / QUEUE_FILE)
    jobs = q.add([(GenerationSettings(prompt="x", seed=i), i, f"s{i}", 0) for i in range(3)])
    for job in jobs:
        q.start(job.id)
        q.add_image(job.id, saved.file)
        q.finish(job.id)
    app = make_app()  # a new start reads queue.json
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")  # at once, while the app's start-up work still runs
        await settle(app, pilot)
        assert len(app.screen.query("JobRow .thumb")) == 3
        app.queue.reorder(jobs[2].id, -2)
        app.screen.post_message(QueueChanged())
        await pilot.pause(0)
        app.screen.post_message(QueueChanged())  # a second change while the first rebuild runs
        await settle(app, pilot)
        rows = list(app.screen.query(JobRow))
        assert [r.job.id for r in rows] == [jobs[2].id, jobs[0].id, jobs[1].id]
        assert len(app.screen.query("JobRow .thumb")) == 3
