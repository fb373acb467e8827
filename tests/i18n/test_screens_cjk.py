"""Compose, Slots/Queue and Gallery in Korean and Japanese (Pilot): started in a language, and
switched while open (typed text kept); job rows keep their state column aligned by terminal cells."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image
from rich.cells import cell_len
from textual.widgets import DataTable, Input, Label, OptionList, Static, TabbedContent

from peropix_tui import i18n
from peropix_tui.app import PeroPixApp
from peropix_tui.core.config import load_config
from peropix_tui.core.jobs import Job, JobState
from peropix_tui.core.metadata import write_novelai_png
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.core.slots import Slot
from peropix_tui.core.store import GalleryStore
from peropix_tui.widgets.cost_meter import CostMeter, render_cost
from peropix_tui.widgets.job_list import STATE_MARK, job_text
from tests.tui_app.conftest import settle, tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)

EXPECTED: dict[str, dict[str, str]] = {
    "en": {"prompt": "Prompt", "tab": "Characters", "cost": "Cost", "idle": "idle", "column": "name",
           "repeats": "Repeats", "empty": "queue empty", "search": "/ search prompts", "all": "All (2)",
           "seed": "seed: 4", "slots": "2 slot(s)"},
    "ko": {"prompt": "프롬프트", "tab": "캐릭터", "cost": "비용", "idle": "대기", "column": "이름",
           "repeats": "반복", "empty": "큐 비어 있음", "search": "/ 프롬프트 검색", "all": "전체 (2)",
           "seed": "시드: 4", "slots": "슬롯 2개"},
    "ja": {"prompt": "プロンプト", "tab": "キャラクター", "cost": "コスト", "idle": "待機中", "column": "名前",
           "repeats": "繰り返し", "empty": "キューは空です", "search": "/ プロンプト検索", "all": "すべて (2)",
           "seed": "シード: 4", "slots": "スロット 2 個"},
}


def _gallery_images() -> None:
    store = GalleryStore(load_config().output_dir)
    for i in range(2):
        im = Image.new("RGB", (64, 96), (200, 80 + 40 * i, 80))
        data = write_novelai_png(im, GenerationSettings(prompt=f"1girl, pose {i}", steps=28, width=64, height=96),
                                 seed=42 + i)
        store.save_image(data, folder="emotions", slot_index=i, slot_name=f"pose{i}")
    store.close()


async def _compose_texts(app: PeroPixApp, pilot: Any) -> dict[str, str]:
    await pilot.press("f2")
    await settle(app, pilot)
    screen = app.screen
    tabs = screen.query_one("#compose-tabs", TabbedContent)
    return {"prompt": str(screen.query_one("#prompt").border_title),
            "tab": str(tabs.get_tab("tab-characters").label),
            "cost": str(screen.query_one(CostMeter).border_title),
            "idle": str(screen.query_one("#job-status", Static).render())}


async def _queue_texts(app: PeroPixApp, pilot: Any) -> dict[str, str]:
    await pilot.press("f3")
    await settle(app, pilot)
    screen = app.screen
    table = screen.query_one("#slot-table", DataTable)
    return {"column": str(list(table.columns.values())[1].label),
            "repeats": str(screen.query_one("#repeats-label", Label).render()).strip(),
            "empty": str(screen.query_one("#queue-summary", Static).render()),
            "slots": str(screen.query_one("#base-prompt", Static).render())}


async def _gallery_texts(app: PeroPixApp, pilot: Any) -> dict[str, str]:
    await pilot.press("f4")
    await settle(app, pilot)
    screen = app.screen
    folders = screen.query_one("#folders", OptionList)
    return {"search": str(screen.query_one("#search", Input).placeholder),
            "all": str(folders.get_option_at_index(0).prompt),
            "seed": str(screen.query_one("#meta", Static).render())}


def _check(language: str, shown: dict[str, str]) -> None:
    for key, text in shown.items():
        want = EXPECTED[language][key]
        if key in ("empty", "slots", "seed"):
            assert want in text, (key, text)
            for other in set(EXPECTED) - {language}:
                assert EXPECTED[other][key] not in text, (key, text)
        else:
            assert text == want, (key, text)


@pytest.mark.parametrize("language", ["ko", "ja"])
async def test_screens_start_in_the_configured_language(monkeypatch: pytest.MonkeyPatch, language: str) -> None:
    monkeypatch.setenv("PEROPIX_LANG", language)
    _gallery_images()
    app = PeroPixApp(load_config())
    app.workspace.slots = [Slot("smile", "smile"), Slot("angry", "angry")]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert i18n.current_language() == language
        _check(language, await _compose_texts(app, pilot))
        _check(language, await _queue_texts(app, pilot))
        assert app.screen.palette_commands()[0][0] == PALETTE_FIRST[language]  # type: ignore[attr-defined]
        _check(language, await _gallery_texts(app, pilot))


PALETTE_FIRST = {"ko": "큐: 현재 작업 취소", "ja": "キュー: 実行中をキャンセル"}


async def test_open_screens_follow_a_switch_and_keep_typed_text() -> None:
    _gallery_images()
    app = PeroPixApp(load_config())
    app.workspace.slots = [Slot("smile", "smile"), Slot("angry", "angry")]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        _check("en", await _compose_texts(app, pilot))
        app.screen.query_one("#prompt").text = "1girl, 웃음, 笑顔"  # type: ignore[attr-defined]
        _check("en", await _queue_texts(app, pilot))
        app.screen.query_one("#slot-name", Input).value = "미소"
        _check("en", await _gallery_texts(app, pilot))
        for language in ("ko", "ja", "en"):
            i18n.set_language(language)
            await settle(app, pilot)
            _check(language, await _gallery_texts(app, pilot))
            _check(language, await _queue_texts(app, pilot))
            assert app.screen.query_one("#slot-name", Input).value == "미소"
            _check(language, await _compose_texts(app, pilot))
            assert app.screen.query_one("#prompt").text == "1girl, 웃음, 笑顔"  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", ["en", "ko", "ja"])
def test_job_rows_align_the_state_column_by_cells(language: str) -> None:
    i18n.set_language(language)
    columns = set()
    for state in STATE_MARK:
        job = Job(id="j1", settings=GenerationSettings(prompt="x", seed=7), slot_index=0, slot_name="스마일",
                  repeat=0, state=state)
        line = job_text(job).split("\n")[0]
        seed = i18n.gettext("seed {seed}").format(seed=7)
        assert line.endswith(seed), line
        columns.add(cell_len(line) - cell_len(seed))
    assert len(columns) == 1  # every state's text padded to the same cell column
    if language != "en":
        assert i18n.gettext(STATE_MARK[JobState.DONE]) != STATE_MARK[JobState.DONE]


@pytest.mark.parametrize(("language", "one", "two"), [
    ("en", "slot plan (1 run)", "slot plan (2 runs)"),
    ("ko", "슬롯 계획 (1회)", "슬롯 계획 (2회)"),
    ("ja", "スロット計画（1 回）", "スロット計画（2 回）"),
])
def test_cost_meter_counts_runs_in_the_plural_form_of_the_language(language: str, one: str, two: str) -> None:
    from peropix_tui.core.costing import RunCost

    i18n.set_language(language)
    for runs, want in ((1, one), (2, two)):
        text = render_cost(RunCost(next_run=0, whole_queue=0, runs=runs, free=False, local=True)).plain
        assert text.splitlines()[1] == want


def _rows(app: PeroPixApp) -> list[str]:
    """The screen as the terminal gets it: one string per row (a wide character counts two cells)."""
    strips = app.screen._compositor.render_strips()
    return ["".join(segment.text for segment in strip) for strip in strips]


@pytest.mark.parametrize("language", ["ko", "ja"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_every_row_of_the_three_screens_is_the_terminal_width_in_cells(
        monkeypatch: pytest.MonkeyPatch, language: str, size: tuple[int, int]) -> None:
    monkeypatch.setenv("PEROPIX_LANG", language)
    _gallery_images()
    app = PeroPixApp(load_config())
    app.workspace.slots = [Slot("미소", "smile"), Slot("泣き", "crying", locked=True)]
    async with app.run_test(size=size) as pilot:
        for key, texts in (("f2", ("prompt", "cost")), ("f3", ("repeats", "empty")), ("f4", ("all",))):
            await pilot.press(key)
            await settle(app, pilot)
            rows = _rows(app)
            assert len(rows) == size[1]
            dump = "\n".join(rows)
            for row in rows:
                assert cell_len(row) == size[0], dump
            for text in texts:  # each label whole on one row, not cut by its box
                assert any(EXPECTED[language][text] in row for row in rows), (text, dump)
