"""The prompt editor and the local engine's prompt dialects: highlighted weights, literal syntax,
the Parameters field, and tag insertion (ghost text from a direct match, escaped brackets)."""

from __future__ import annotations

from typing import Any

from textual.widgets import Select, TabbedContent

from peropix_tui.core.config import Config
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.core.slots import SlotSet
from peropix_tui.core.tags import TagIndex
from peropix_tui.widgets.prompt_area import PromptArea

SIZE = (120, 40)


def local(dialect: str | None) -> SlotSet:
    return SlotSet(base=GenerationSettings(provider="local", checkpoint="x.safetensors", prompt_dialect=dialect))


def weights(area: PromptArea, line: int = 0) -> dict[str, tuple[str, float]]:
    text = area.document.get_line(line)
    return {text[s.start : s.end]: (s.kind, round(s.weight, 4)) for s in area.spans(line)}


def tags() -> TagIndex:
    index = TagIndex()
    index.add("1girl", 0, 5_000_000, ["sole_female"])
    index.add("solo", 0, 4_000_000)
    index.add("saber_(fate)", 4, 60_000)
    return index


async def type_text(pilot: Any, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def test_highlighter_shows_the_weights_of_the_selected_dialect(make_app: Any) -> None:
    app = make_app(workspace=local("a1111"))
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        assert area.dialect == "a1111"
        area.load_text("((cat:1.3)), {x}, 1.5::y::, [a:b:0.5]")
        await pilot.pause()
        w = weights(area)
        assert w["cat"] == ("text", 1.43)  # multiplied nesting, as A1111
        assert w["{"] == ("literal", 1.0) and w["x"] == ("text", 1.0)  # A1111 reads {} as text
        assert w["a"] == ("text", 1.0) and w[":0.5"][0] == "weight"  # prompt editing syntax
        area.dialect = "comfyui"
        w = weights(area)
        assert w["cat"] == ("text", 1.3)
        assert w["["] == ("literal", 1.0)
        area.dialect = "novelai"
        w = weights(area)
        assert w["x"] == ("text", 1.05) and w["y"] == ("text", 1.5) and w["(("][0] == "literal"


async def test_brackets_across_lines_weigh_the_next_line(make_app: Any) -> None:
    app = make_app(workspace=local("a1111"))
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        area.load_text("(red hair,\nblue eyes)")
        await pilot.pause()
        assert weights(area, 1)["blue eyes"] == ("text", 1.1)
        painted = {seg.text: seg.style for seg in area.render_line(1) if seg.style is not None}
        up = area.get_component_rich_style("prompt--up1", partial=True)
        assert painted["blue eyes"].color == up.color


async def test_configured_dialect_is_the_default_and_the_parameters_field_overrides_it(make_app: Any) -> None:
    config = Config()
    config.local.prompt_dialect = "comfyui"
    app = make_app(workspace=local(None), config=config)
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        assert area.dialect == "comfyui"
        app.screen.query_one(TabbedContent).active = "tab-params"
        await pilot.pause()
        select = app.screen.query_one("#p-prompt_dialect", Select)
        assert select.display and select.value == "default"
        select.value = "a1111"
        await pilot.pause()
        assert app.workspace.base.prompt_dialect == "a1111"
        assert area.dialect == "a1111"


async def test_ghost_text_uses_the_best_direct_match_when_an_alias_ranks_first(make_app: Any) -> None:
    app = make_app(tags=tags())
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        await type_text(pilot, "sol")
        assert area.suggestion == "o"
        await pilot.press("tab")
        assert area.text == "solo"


async def test_inserted_tags_escape_brackets_for_the_local_dialect_not_for_novelai(make_app: Any) -> None:
    app = make_app(tags=tags(), workspace=local("a1111"))
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        await type_text(pilot, "sab")
        assert area.suggestion == r"er \(fate\)"
        await pilot.press("tab")
        assert area.text == r"saber \(fate\)"
    app = make_app(tags=tags())  # NovelAI reads parentheses literally
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        await type_text(pilot, "sab")
        await pilot.press("alt+1")
        assert area.text == "saber (fate)"
