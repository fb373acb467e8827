"""Gallery screen with a real store (files + SQLite) and real NovelAI-format PNGs."""

from __future__ import annotations

from typing import Any

from PIL import Image

from peropix_tui.core.config import load_config
from peropix_tui.core.metadata import write_novelai_png
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.core.store import GalleryStore
from peropix_tui.messages import ReferencePicked, SettingsRestored
from peropix_tui.screens.gallery import GalleryScreen
from peropix_tui.widgets.thumb_grid import ThumbGrid


def _png(colour: tuple[int, int, int], prompt: str, seed: int) -> bytes:
    settings = GenerationSettings(prompt=prompt, uc="lowres", steps=23, scale=6.5, width=64, height=64)
    return write_novelai_png(Image.new("RGB", (64, 64), colour), settings, seed=seed)


def _fill(n: int) -> GalleryStore:
    store = GalleryStore(load_config().output_dir)
    for i in range(n):
        store.save_image(_png((40 * i % 255, 90, 200), f"1girl, smile, tag{i}", 1000 + i),
                         folder="set", slot_index=i, slot_name=f"pose{i}")
    return store


async def _open_gallery(app: Any, pilot: Any) -> GalleryScreen:
    await pilot.press("f4")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, GalleryScreen)
    return screen


async def test_restore_settings_from_a_gallery_image(make_app: Any) -> None:
    _fill(3).close()
    app = make_app()
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        screen = await _open_gallery(app, pilot)
        grid = screen.query_one(ThumbGrid)
        assert grid.count == 3
        await pilot.press("end")  # newest first: the last tile is the first image saved
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.current is not None and screen.current.file.name.startswith("000_pose0_")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("ctrl+s")  # all groups ticked
        await pilot.pause()
        assert app.workspace.base.prompt == "1girl, smile, tag0"
        assert app.workspace.base.steps == 23 and app.workspace.base.scale == 6.5
        restored = [m for m in seen if isinstance(m, SettingsRestored)]
        assert restored and restored[-1].settings.prompt == "1girl, smile, tag0"
        await pilot.press("i")
        await pilot.pause()
        picked = [m for m in seen if isinstance(m, ReferencePicked)]
        assert picked[-1].kind == "img2img" and picked[-1].path == screen.current.file


async def test_search_favourite_copy_delete_undo(make_app: Any) -> None:
    _fill(4).close()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_gallery(app, pilot)
        grid = screen.query_one(ThumbGrid)
        await pilot.press("slash")
        await pilot.press(*"tag2", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert grid.count == 1 and screen.current is not None
        assert screen.current.file.name.startswith("002_pose2_")
        await pilot.press("y")
        assert app.clipboard == "1girl, smile, tag2"
        await pilot.press("f")
        assert app.store.get(screen.current.data.path).favourite
        victim = screen.current.file
        await pilot.press("d")
        await pilot.pause()
        assert not victim.exists() and grid.count == 0
        await pilot.press("u")
        await pilot.pause()
        assert victim.exists() and grid.count == 1


async def test_grid_renders_only_visible_rows(make_app: Any) -> None:
    store = _fill(1)
    png = (store.root / store.page()[0].path).read_bytes()
    for i in range(119):
        store.save_image(png, folder="many", slot_index=i % 5, slot_name="x")
    store.close()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_gallery(app, pilot)
        grid = screen.query_one(ThumbGrid)
        assert grid.count == 120
        rows_total = -(-120 // grid.columns)
        assert grid.rendered_rows and max(grid.rendered_rows) < 6 < rows_total
        await pilot.press("end")
        await pilot.pause()
        assert grid.cursor == 119 and max(grid.rendered_rows) == rows_total - 1
