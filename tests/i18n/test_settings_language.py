"""The language selector of Settings (Pilot): each choice shows at once in the form, its buttons,
the footer and F1 help, what was typed stays, and ctrl+s writes the choice only when it changed."""

from __future__ import annotations

import io
import tomllib
from typing import Any

from rich.console import Console
from textual.widgets import Button, Input, Label, Select

from peropix_tui import i18n
from peropix_tui.app import PeroPixApp
from peropix_tui.core import paths
from peropix_tui.core.config import load_config
from peropix_tui.screens.help import HelpScreen, help_renderable
from peropix_tui.screens.settings import SettingsScreen
from peropix_tui.widgets.footer import KeyFooter
from tests.tui_app.conftest import tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)

TEXTS = {  # (a label, the save button, a footer key) per language
    "en": ("Output folder", "Save (ctrl+s)", "Verify token"),
    "ko": ("출력 폴더", "저장 (ctrl+s)", "토큰 확인"),
    "ja": ("出力フォルダ", "保存 (ctrl+s)", "トークン確認"),
}


def _shown(app: PeroPixApp) -> tuple[list[str], str, list[str]]:
    screen = app.screen
    assert isinstance(screen, SettingsScreen)
    labels = [str(label.render()) for label in screen.query(Label) if label.parent is not None
              and label.parent.id == "settings-form"]
    save = str(screen.query_one("#save", Button).label)
    footer = [str(key.description) for key in screen.query_one(KeyFooter).query("FooterKey")]
    return labels, save, footer


async def _choose(app: PeroPixApp, pilot: Any, value: str) -> None:
    app.screen.query_one("#language", Select).value = value
    for _ in range(3):
        await pilot.pause()


async def test_switching_ko_ja_en_changes_the_texts_and_keeps_what_was_typed() -> None:
    app = PeroPixApp(load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#output_dir", Input).value = "~/미완성/出力"
        app.screen.query_one("#token", Input).value = "pst-typed-not-saved"
        for language in ("ko", "ja", "en"):
            await _choose(app, pilot, language)
            assert i18n.current_language() == language
            labels, save, footer = _shown(app)
            label, button, key = TEXTS[language]
            assert label in labels
            assert save == button
            assert key in footer
            for other in set(TEXTS) - {language}:
                assert TEXTS[other][0] not in labels and TEXTS[other][1] != save
            assert app.screen.query_one("#output_dir", Input).value == "~/미완성/出力"
            assert app.screen.query_one("#token", Input).value == "pst-typed-not-saved"
            assert app.screen.query_one("#language", Select).value == language
        assert not paths.config_file().exists()  # choosing shows; only ctrl+s writes


async def test_footer_of_another_screen_and_f1_follow_the_switch() -> None:
    app = PeroPixApp(load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f2")  # the compose screen exists before the switch
        await pilot.pause()
        await pilot.press("f5")
        await pilot.pause()
        await _choose(app, pilot, "ja")
        await pilot.press("f2")
        await pilot.pause()
        footer = [str(k.description) for k in app.screen.query_one(KeyFooter).query("FooterKey")]
        assert "ヘルプ" in footer and "Help" not in footer
        assert "生成" in footer and "Generate" not in footer  # the screen's own keys too
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(help_renderable(app.screen.under, app))
        text = console.export_text()
        assert "全画面共通" in text and "終了" in text and "Everywhere" not in text


async def test_ctrl_s_saves_the_language_only_when_it_changed() -> None:
    app = PeroPixApp(load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.screen.query_one("#output_dir", Input).value = "/tmp/peropix-out"
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = tomllib.loads(paths.config_file().read_text(encoding="utf-8"))
        assert "language" not in saved.get("ui", {})  # unchanged: stays out of the file
        await _choose(app, pilot, "ko")
        await pilot.press("ctrl+s")
        await pilot.pause()
        saved = tomllib.loads(paths.config_file().read_text(encoding="utf-8"))
        assert saved["ui"]["language"] == "ko"
        assert saved["paths"]["output_dir"] == "/tmp/peropix-out"
    assert load_config().ui.language == "ko"
