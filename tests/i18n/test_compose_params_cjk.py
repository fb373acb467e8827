"""The Parameters form and the References panel in Korean and Japanese (PEROPIX_LANG): labels
translated with their jump key shown as "(T)", no English label left, every label inside its column
by terminal cells, and the jump keys still reaching their fields."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Button, Checkbox, Label

from peropix_tui import i18n
from peropix_tui.core.config import load_config
from peropix_tui.textwidth import cell_width
from tests.tui_app.conftest import settle, tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)

ENGLISH_LABELS = {"provider", "model", "size", "steps", "scale", "rescale", "images", "sampler",
                  "schedule", "seed", "UC preset", "quality", "variety", "inpaint"}


def _app(monkeypatch: pytest.MonkeyPatch, language: str) -> Any:
    from peropix_tui.app import PeroPixApp

    monkeypatch.setenv("PEROPIX_LANG", language)
    return PeroPixApp(load_config())


def _shown_labels(form: Any) -> list[Label]:
    return [label for label in form.query(Label) if label.display and label.parent.display and str(label.content)]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_parameters_speak_korean(monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]) -> None:
    from peropix_tui.widgets.param_form import ParamForm

    app = _app(monkeypatch, "ko")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("f2")
        await settle(app, pilot)
        await pilot.press("alt+t")  # a jump key builds the tab and focuses its field, in any language
        await settle(app, pilot)
        assert app.focused is not None and app.focused.id == "p-steps"
        form = app.screen.query_one(ParamForm)
        labels = _shown_labels(form)
        texts = {" ".join(str(label.content).split()) for label in labels}
        assert {"공급자(P)", "모델(M)", "크기(Z)", "스텝(T)", "스케일(S)", "샘플러(A)", "스케줄(E)", "시드(D)",
                "UC 프리셋", "품질(Q)", "인페인트"} <= texts, texts
        assert not texts & ENGLISH_LABELS, texts & ENGLISH_LABELS
        assert form.query_one("#p-seed-lock", Checkbox).label.plain == "고정"
        assert str(form.query_one("#p-seed-random", Button).label) == "새로"
        assert form.query_one("#p-quality", Checkbox).label.plain == "품질 태그"
        for label in labels:  # each line of a label inside its column, by cells (the left padding excluded)
            for line in str(label.content).split("\n"):
                assert cell_width(line) <= label.region.width - 1, (line, label.region)


async def test_japanese_labels_fit_and_references_speak_japanese(monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Static, TabbedContent

    from peropix_tui.widgets.param_form import ParamForm

    app = _app(monkeypatch, "ja")
    app.workspace.base.provider = "local"  # the checkpoint label: its own short form, モデル(C)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f2", "alt+c")
        await settle(app, pilot)
        assert app.focused is not None and app.focused.id == "p-checkpoint"
        form = app.screen.query_one(ParamForm)
        labels = _shown_labels(form)
        texts = {str(label.content) for label in labels}
        assert "モデル(C)" in texts and "プロバイダー\n(P)" in texts, texts  # the key goes under a long label
        for label in labels:
            for line in str(label.content).split("\n"):
                assert cell_width(line) <= label.region.width - 1, (line, label.region)
        app.screen.query_one("#compose-tabs", TabbedContent).active = "tab-references"
        await settle(app, pilot)
        sections = [str(s.content) for s in app.screen.query(".section").results(Static)]
        assert sections == ["バイブ", "精密リファレンス (V4.5): 画像、モード、強度、忠実度", "ベース画像"]


def test_jump_labels_show_the_key_a_translation_lacks() -> None:
    from peropix_tui.widgets.param_jumps import field_label, jump_label

    assert jump_label("steps").plain == "steps"  # English: the letter of the word is underlined
    assert [(s.start, s.end) for s in jump_label("steps").spans] == [(1, 2)]
    i18n.set_language("ja")
    label = jump_label("steps")
    assert label.plain == "ステップ(T)"
    assert [(s.start, s.end, str(s.style)) for s in label.spans] == [(5, 6, "bold underline")]
    assert jump_label("UC preset").plain == "UCプリセット"  # the letter is in the translation: no "(U)"
    assert jump_label("provider", width=11).plain == "プロバイダー\n(P)"
    assert field_label("p-n_samples") == "枚数"
    i18n.set_language("ko")
    assert jump_label("W × H").plain == "W × H"
    assert field_label("p-checkpoint") == "체크포인트"
