"""The proof of the pipeline end to end: `peropix --help` (a real subprocess) and the first-run
guide of the Settings screen (Pilot) in Korean and Japanese, chosen by PEROPIX_LANG, the locale
or the config file, and switched while the app runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from peropix_tui import i18n
from peropix_tui.app import PeroPixApp
from peropix_tui.core import paths
from peropix_tui.core.config import load_config
from peropix_tui.screens.settings import SettingsScreen
from peropix_tui.textwidth import cell_width
from tests.tui_app.conftest import tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)

ROOT = Path(__file__).resolve().parents[2]
EN_HELP = "PeroPix TUI: character image sets with NovelAI or a local SDXL engine."
KO_HELP = "PeroPix TUI: NovelAI 또는 로컬 SDXL 엔진으로 캐릭터 이미지 세트를 만듭니다."
JA_HELP = "NovelAIまたはローカルのSDXLエンジンで"
KO_WELCOME = ("PeroPix에 오신 것을 환영합니다.", "로컬 엔진:", "ctrl+s로 저장하세요")
JA_WELCOME = ("PeroPixへようこそ。", "ローカルエンジン：", "で保存します")


def _help_lines(columns: int = 100, **env: str) -> list[str]:
    full = {**os.environ, "COLUMNS": str(columns), **env, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "peropix_tui", "--help"], capture_output=True, text=True,
                          env=full, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def _help(**env: str) -> str:
    return " ".join(" ".join(_help_lines(**env)).split())  # argparse wraps the description


@pytest.mark.parametrize(
    "env,expected",
    [
        ({"PEROPIX_LANG": "ko"}, KO_HELP),
        ({"PEROPIX_LANG": "ja"}, JA_HELP),
        ({"LANG": "ja_JP.UTF-8"}, JA_HELP),  # auto follows the locale
        ({"LANG": "ko_KR.UTF-8", "PEROPIX_LANG": "en"}, EN_HELP),
        ({"LANG": "ko_KR.UTF-8", "PEROPIX_LANG": "klingon"}, KO_HELP),  # bad value: locale, no crash
        ({}, EN_HELP),
    ],
)
def test_peropix_help_speaks_the_chosen_language(env: dict[str, str], expected: str) -> None:
    text = _help(**env)
    assert expected in text
    assert "peropix [-h] [--version] COMMAND" in text  # the flags stay as they are
    usage = {KO_HELP: "사용법: peropix", JA_HELP: "使い方: peropix", EN_HELP: "usage: peropix"}[expected]
    assert usage in text  # argparse's own words in the language too


@pytest.mark.parametrize("language", ["ko", "ja"])
def test_translated_help_fits_an_80_column_terminal(language: str) -> None:
    lines = _help_lines(80, PEROPIX_LANG=language)
    assert max(cell_width(line) for line in lines) <= 80
    assert sum(1 for line in lines if cell_width(line) > 60) >= 1  # the description does fill the lines


def test_peropix_help_follows_the_config_file() -> None:
    config = paths.config_file()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('[ui]\nlanguage = "ja"\n', encoding="utf-8")
    assert JA_HELP in _help(LANG="ko_KR.UTF-8")


def _welcome(app: PeroPixApp) -> str:
    assert isinstance(app.screen, SettingsScreen)
    return str(app.screen.query_one("#welcome").render())


@pytest.mark.parametrize("language,expected", [("ko", KO_WELCOME), ("ja", JA_WELCOME)])
async def test_first_run_guide_in_korean_and_japanese(monkeypatch: Any, language: str,
                                                      expected: tuple[str, ...]) -> None:
    monkeypatch.setenv("PEROPIX_LANG", language)
    app = PeroPixApp(load_config())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = _welcome(app)
        for part in expected:
            assert part in text
        assert "Welcome to PeroPix" not in text
        assert "F2" in text and "ctrl+q" in text  # key names stay as they are


async def test_language_switch_shows_on_the_next_render() -> None:
    app = PeroPixApp(load_config())
    heard: list[str] = []
    unsubscribe = i18n.subscribe(heard.append)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert "Welcome to PeroPix" in _welcome(app)
            i18n.set_language("ja")
            await app.screen.recompose()
            await pilot.pause()
            assert JA_WELCOME[0] in _welcome(app)
            i18n.set_language("en")
            await app.screen.recompose()
            assert "Welcome to PeroPix" in _welcome(app)
    finally:
        unsubscribe()
    assert heard == ["ja", "en"]
