"""SVG snapshots of Compose's Parameters form (NovelAI, and ComfyUI with its lists discovered from
the loopback emulator), the References panel (a vibe, a Precise Reference, an img2img base image)
and F1 help on Compose, in Korean and Japanese at 120x40 and 80x24: translated labels must fit
their columns (measured in cells), double-width text must not be cut or overlap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from peropix_tui.core.config import load_config
from peropix_tui.core.settings import CharacterReference, GenerationSettings, LoraSpec, VibeReference
from tests.comfyui_emulator import ComfyEmulator
from tests.i18n.test_snapshots_cjk import LANGUAGES, SIZES, _calm
from tests.tui_app.conftest import tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)


@pytest.fixture
def emulator() -> Iterator[ComfyEmulator]:
    emu = ComfyEmulator().start()
    try:
        yield emu
    finally:
        emu.stop()


def _app(monkeypatch: pytest.MonkeyPatch, language: str, base: GenerationSettings | None = None,
         config: Any = None) -> Any:
    from peropix_tui.app import PeroPixApp

    monkeypatch.setenv("PEROPIX_LANG", language)
    app = PeroPixApp(config or load_config())
    if base is not None:
        app.workspace.base = base
    return app


async def _show_tab(pilot: Any, pane: str) -> None:
    from textual.widgets import TabbedContent

    await pilot.press("f2")
    await _calm(pilot)
    pilot.app.screen.query_one("#compose-tabs", TabbedContent).active = pane
    await _calm(pilot)


@SIZES
@LANGUAGES
def test_parameters_nai(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                        size: tuple[int, int]) -> None:
    base = GenerationSettings(prompt="1girl, 笑顔", seed=1234567890)

    async def before(pilot: Any) -> None:
        await _show_tab(pilot, "tab-params")

    assert snap_compare(_app(monkeypatch, language, base), terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_parameters_comfyui(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, emulator: ComfyEmulator,
                            language: str, size: tuple[int, int]) -> None:
    from peropix_tui.core.comfyui.config import ComfyServer, ComfyUIConfig

    monkeypatch.setenv("PEROPIX_LANG", language)  # before the config is read: it holds the language
    config = load_config()
    config.comfyui = ComfyUIConfig(servers=[ComfyServer(emulator.url, name="gpu1")])
    base = GenerationSettings(provider="comfyui", prompt="1girl", seed=1234, checkpoint="illustrious-xl-v1",
                              loras=[LoraSpec("flat-color", 0.6)], sampler="euler_ancestral",
                              noise_schedule="karras", comfyui_server="gpu1", clip_skip=2)

    async def before(pilot: Any) -> None:
        from peropix_tui.widgets.param_form import ParamForm

        await _show_tab(pilot, "tab-params")
        form = pilot.app.screen.query_one(ParamForm)
        for _ in range(400):  # the server's lists arrive from a worker thread
            await pilot.app.workers.wait_for_complete()
            await pilot.pause(0.01)
            if form._server_info is not None:
                break
        refresh = pilot.app.screen.query_one("#p-comfy-refresh")
        refresh.focus()  # scrolls the server's state line into view (80x24 shows a few rows)
        refresh.scroll_visible(animate=False)
        await _calm(pilot)

    assert snap_compare(_app(monkeypatch, language, base, config), terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_references(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, language: str,
                    size: tuple[int, int]) -> None:
    from PIL import Image

    for name, colour in (("vibe.png", (200, 80, 80)), ("ref.png", (80, 80, 200)), ("base.png", (90, 160, 90))):
        Image.new("RGB", (64, 64), colour).save(tmp_path / name)
    # the local provider: the panel says (translated) that it ignores the Precise Reference
    base = GenerationSettings(provider="local", prompt="1girl", model="nai-diffusion-4-5-full",
                              vibes=[VibeReference(path=str(tmp_path / "vibe.png"))],
                              charref=CharacterReference(path=str(tmp_path / "ref.png"), mode="character&style"),
                              image=str(tmp_path / "base.png"), action="img2img")

    async def before(pilot: Any) -> None:
        await _show_tab(pilot, "tab-references")

    assert snap_compare(_app(monkeypatch, language, base), terminal_size=size, run_before=before)


@SIZES
@LANGUAGES
def test_help_on_compose(snap_compare: Any, monkeypatch: pytest.MonkeyPatch, language: str,
                         size: tuple[int, int]) -> None:
    async def before(pilot: Any) -> None:
        await pilot.press("f2")
        await _calm(pilot)
        await pilot.press("f1")
        await _calm(pilot)

    assert snap_compare(_app(monkeypatch, language), terminal_size=size, run_before=before)
