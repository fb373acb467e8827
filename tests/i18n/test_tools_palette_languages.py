"""Director Tools dialog, mask editor, restore picker, command palette and F1 help of Gallery and
Slots / Queue in Korean and Japanese (Pilot): labels are translated, what is sent or returned stays
the English keyword, and the palette speaks the language current when it opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Button, Checkbox, Input, OptionList, Select, Static

from peropix_tui import i18n
from peropix_tui.app import PeroPixApp
from peropix_tui.core.config import load_config
from peropix_tui.core.metadata import write_novelai_png
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.core.store import GalleryStore
from peropix_tui.screens.gallery import GalleryScreen
from peropix_tui.screens.help import help_renderable
from peropix_tui.screens.mask_editor import MaskEditorScreen
from peropix_tui.screens.modals import ChecksPrompt
from peropix_tui.screens.queue import QueueScreen, parse_size
from peropix_tui.screens.tool_dialog import ToolDialog
from tests.tui_app.conftest import settle, tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)

PALETTE = {  # a global command, a Gallery command, one of Textual's; English titles that must not show
    "ko": ("이동: 갤러리", "갤러리: 감정 세트", "스크린샷"),
    "ja": ("移動: ギャラリー", "ギャラリー: 表情セット", "スクリーンショット"),
    "en": ("Go: Gallery", "Gallery: emotion set", "Screenshot"),
}
PLACEHOLDER = {"ko": "명령 검색…", "ja": "コマンドを検索…"}


def _image(path: Path) -> Path:
    Image.new("RGB", (64, 96), (200, 90, 90)).save(path)
    return path


def _gallery_image() -> None:
    store = GalleryStore(load_config().output_dir)
    data = write_novelai_png(Image.new("RGB", (64, 96), (80, 200, 120)),
                             GenerationSettings(prompt="1girl", steps=28, width=64, height=96), seed=1)
    store.save_image(data, folder="set", slot_index=0, slot_name="smile")
    store.close()


def _text(renderable: Any, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


async def _palette_titles(app: PeroPixApp, pilot: Any) -> list[str]:
    await pilot.press("ctrl+p")
    counts = [0]
    for _ in range(40):  # providers answer one after another: wait until the list stops growing
        await pilot.pause(0.05)
        palette = app.screen
        counts.append(palette.query_one(OptionList).option_count if isinstance(palette, CommandPalette) else 0)
        if counts[-1] >= 15 and counts[-1] == counts[-2]:
            break
    assert isinstance(app.screen, CommandPalette)
    app.palette_placeholder = app.screen.query_one(Input).placeholder  # type: ignore[attr-defined]
    options = app.screen.query_one(OptionList)
    titles = [_text(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    await pilot.press("escape")
    await pilot.pause()
    return titles


@pytest.mark.parametrize("language", ["ko", "ja"])
async def test_palette_lists_commands_in_the_language_it_starts_in(monkeypatch: pytest.MonkeyPatch,
                                                                   language: str) -> None:
    monkeypatch.setenv("PEROPIX_LANG", language)
    _gallery_image()
    app = PeroPixApp(load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await settle(app, pilot)
        shown = "\n".join(await _palette_titles(app, pilot))
        for title in PALETTE[language]:
            assert title in shown
        for title in PALETTE["en"]:
            assert title not in shown
        assert app.palette_placeholder == PLACEHOLDER[language]  # type: ignore[attr-defined]


async def test_palette_follows_a_language_switched_in_settings() -> None:
    app = PeroPixApp(load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert PALETTE["en"][0] in "\n".join(await _palette_titles(app, pilot))
        for language in ("ko", "ja"):
            await pilot.press("f5")
            await pilot.pause()
            app.screen.query_one("#language", Select).value = language
            for _ in range(3):
                await pilot.pause()
            shown = "\n".join(await _palette_titles(app, pilot))
            assert PALETTE[language][0] in shown and PALETTE["en"][0] not in shown


async def test_emotion_dialog_in_korean_sends_english_keywords(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.setenv("PEROPIX_LANG", "ko")
    source = _image(tmp_path / "a.png")
    app = PeroPixApp(load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        dialog = ToolDialog([source], tier=3, balance=5000)
        await app.push_screen(dialog)
        await pilot.pause()
        assert str(dialog.query_one("#mood-happy", Checkbox).label) == "기쁨"
        assert str(dialog.query_one("#mood-embarrassed", Checkbox).label) == "부끄러움"
        tools = dict((value, str(label)) for label, value in dialog.query_one("#tool", Select)._options)
        assert tools["bg-removal"] == "배경 제거" and tools["emotion"] == "감정"
        assert "감정을 하나 이상 고르세요" in str(dialog.query_one("#refusal", Static).render())
        dialog.query_one("#typed-moods").focus()
        for key in "happy 슬픔":  # the English keyword and the shown name both tick the mood
            await pilot.press(key if key != " " else "space")
        await pilot.press("enter")
        await pilot.pause()
        assert dialog.chosen_moods() == ("happy", "sad")
        cost = str(dialog.query_one("#cost", Static).render())
        assert cost.startswith("비용: ") and "요청 2건" in cost and "Anlas" in cost and "잔액 5000" in cost
        assert "Cost" not in cost and "request" not in cost
        assert str(dialog.query_one("#run", Button).label) == "실행 (ctrl+s)"
        assert dialog.request().moods == ("happy", "sad")  # what goes to NovelAI stays English


async def test_mask_editor_status_in_japanese(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PEROPIX_LANG", "ja")
    source = _image(tmp_path / "a.png")
    app = PeroPixApp(load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        editor = MaskEditorScreen(source, out_dir=tmp_path)
        await app.push_screen(editor)
        await pilot.press("e")
        await pilot.pause()
        status = str(editor.query_one("#mask-status", Static).render())
        assert status.startswith("消しゴム · ブラシ 3 · セル ")
        assert "esc キャンセル" in status and "brush" not in status and "erase" not in status
        assert str(editor.query_one("#mask-title", Static).render()).startswith("マスク · a.png · 64×96")


async def test_restore_picker_shows_translated_groups_and_returns_group_names(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEROPIX_LANG", "ja")
    from peropix_tui.core.metadata import GROUPS
    from peropix_tui.screens.gallery import restore_group_label

    app = PeroPixApp(load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        results: list[Any] = []
        picker = ChecksPrompt("?", list(GROUPS), {g: restore_group_label(g) for g in GROUPS})
        await app.push_screen(picker, results.append)
        await pilot.pause()
        labels = [str(box.label) for box in picker.query(Checkbox)]
        assert "プロンプト" in labels and "シード" in labels and "seed" not in labels
        assert str(picker.query_one("#ok", Button).label) == "OK (ctrl+s)"
        picker.query_one("#opt-seed", Checkbox).value = False
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert results == [frozenset(GROUPS) - {"seed"}]


@pytest.mark.parametrize(("screen", "ko", "english"), [
    (GalleryScreen, "`r` 은 설정을 작성 화면에", "Arrows move in the grid"),
    (QueueScreen, "슬롯 모드: 기본 프롬프트", "Slot mode: the base prompt"),
])
def test_help_paragraph_is_translated_when_shown(screen: type, ko: str, english: str) -> None:
    class App:  # help_renderable reads the app's bindings and key display only
        BINDINGS: list[Any] = []

        @staticmethod
        def get_key_display(binding: Any) -> str:
            return str(binding.key)

    class Under:
        HELP = screen.HELP
        HELP_TITLE = getattr(screen, "HELP_TITLE", None)
        BINDINGS = screen.BINDINGS
        active_bindings: dict[str, Any] = {}

    assert english in _text(help_renderable(Under(), App()), width=400)  # type: ignore[arg-type]
    i18n.set_language("ko")
    shown = _text(help_renderable(Under(), App()), width=400)  # type: ignore[arg-type]
    assert ko.replace("`", "") in shown and english not in shown


def test_slot_size_errors_are_translated() -> None:
    i18n.set_language("ko")
    with pytest.raises(ValueError, match="가로x세로로 쓰세요"):
        parse_size("big")
    i18n.set_language("ja")
    with pytest.raises(ValueError, match="64 の倍数"):
        parse_size("100x100")
