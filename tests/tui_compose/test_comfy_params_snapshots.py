"""SVG snapshots of the Parameters tab with the ComfyUI provider, its lists discovered from the
loopback emulator (120×40 and 80×24)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import Label

from peropix_tui.core.comfyui.config import ComfyServer, ComfyUIConfig
from peropix_tui.core.config import Config
from peropix_tui.core.settings import GenerationSettings, LoraSpec
from peropix_tui.core.slots import SlotSet
from tests.comfyui_emulator import ComfyEmulator
from tests.tui_compose.test_snapshots import SIZES, no_blink


@pytest.fixture
def emulator() -> Iterator[ComfyEmulator]:
    emu = ComfyEmulator().start()
    try:
        yield emu
    finally:
        emu.stop()


@SIZES
def test_comfyui_parameters(snap_compare: Any, make_app: Any, emulator: ComfyEmulator, size: tuple[int, int]) -> None:
    config = Config()
    config.comfyui = ComfyUIConfig(servers=[ComfyServer(emulator.url, name="gpu1"),
                                            ComfyServer("http://gpu2.invalid:8188", name="gpu2")])
    base = GenerationSettings(provider="comfyui", prompt="1girl", seed=1234, checkpoint="illustrious-xl-v1",
                              loras=[LoraSpec("flat-color", 0.6)], sampler="euler_ancestral", noise_schedule="karras",
                              comfyui_server="gpu1", clip_skip=2)
    app = make_app(workspace=SlotSet(base=base), config=config)

    async def run_before(pilot: Any) -> None:
        await pilot.press("alt+p")
        for _ in range(400):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.01)
            if "samplers" in str(pilot.app.screen.query_one("#p-comfy-state", Label).render()):
                break
        refresh = pilot.app.screen.query_one("#p-comfy-refresh")
        refresh.focus()  # scrolls the server's state line into view (80×24 shows a few rows)
        refresh.scroll_visible(animate=False)
        await no_blink(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
