"""Korean and Japanese text laid out by terminal cells: line-breaking of the first-run guide, F1
help and quit dialog (cell_wrap), and no Settings label cut at 80 columns."""

from __future__ import annotations

from typing import Any

import pytest
from textual.geometry import Region
from textual.widgets import Label

from peropix_tui.app import PeroPixApp
from peropix_tui.core.config import load_config
from peropix_tui.textwidth import cell_width
from peropix_tui.widgets.cell_wrap import wrapped_lines
from tests.tui_app.conftest import tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)


def test_japanese_breaks_between_characters_but_keeps_ascii_words_and_punctuation() -> None:
    text = "そのあとF2でCompose画面が開きます。F1で各画面のキー一覧を表示し、ctrl+qで終了します。"
    lines = wrapped_lines(text, 40)
    assert len(lines) > 1 and all(cell_width(line) <= 40 for line in lines)
    assert "".join(lines) == text  # nothing lost, no space added
    for line in lines[1:]:
        assert line[0] not in "、。）"
    assert any("ctrl+q" in line for line in lines) and any("Compose" in line for line in lines)


def test_korean_breaks_between_words_and_indent_stays_on_the_first_row() -> None:
    text = "  • 로컬 엔진: SDXL / Illustrious / NoobAI / Pony .safetensors 체크포인트가 있는 폴더를 아래에 입력"
    lines = wrapped_lines(text, 30)
    assert lines[0].startswith("  • ")
    assert all(cell_width(line) <= 30 for line in lines)
    words = text.split()
    assert " ".join(" ".join(lines).split()) == " ".join(words)  # every word whole, none split


def test_empty_lines_stay() -> None:
    assert wrapped_lines("하나\n\n둘", 10) == ["하나", "", "둘"]


@pytest.mark.parametrize("language", ["ko", "ja"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_no_settings_label_is_cut(monkeypatch: Any, language: str, size: tuple[int, int]) -> None:
    monkeypatch.setenv("PEROPIX_LANG", language)
    app = PeroPixApp(load_config())
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        labels = list(app.screen.query("#settings-form Label").results(Label))
        assert len(labels) >= 8
        for label in labels:
            text = str(label.render())
            assert label.size.width <= size[0]
            strips = label.render_lines(Region(0, 0, label.size.width, label.size.height))
            shown = "".join(segment.text for strip in strips for segment in strip)
            assert "".join(text.split()) in "".join(shown.split()), text


def test_a_bulleted_line_hangs_under_its_text() -> None:
    lines = wrapped_lines("  • 로컬 엔진: 체크포인트가 있는 폴더를 아래에 입력한 뒤 저장하세요.\n끝", 24)
    assert lines[0].startswith("  • 로컬")
    assert len(lines) > 3 and all(line.startswith("    ") and line[4] != " " for line in lines[1:-1])
    assert all(cell_width(line) <= 24 for line in lines)
    assert lines[-1] == "끝"  # a line without indent or bullet does not hang
    assert "".join(line.strip().removeprefix("• ") for line in lines[:-1]).replace(" ", "") == \
        "로컬엔진:체크포인트가있는폴더를아래에입력한뒤저장하세요."
