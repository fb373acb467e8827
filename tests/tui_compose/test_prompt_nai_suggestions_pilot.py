"""NovelAI's tag suggestions in the prompt editor, against the loopback emulator: merged after the local
CSV hits, cached, model-aware, ``lang=jp`` for Japanese, without a token, silent offline; tag names in
the candidate line are shown as typed (never markup)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from textual.content import Content
from textual.worker import WorkerCancelled

from peropix_tui.core.config import Config
from peropix_tui.core.tags import TagIndex
from peropix_tui.widgets.prompt_area import PromptArea
from tests.nai_emulator.fixtures import nai_emulator  # noqa: F401

SIZE = (120, 40)
SUGGEST = "/ai/generate-image/suggest-tags"


def _config(url: str) -> Config:
    config = Config()
    config.nai.base_url = url
    return config


def _suggest_requests(emu: Any) -> list[Any]:
    return [r for r in emu.requests if r.path.split("?", 1)[0] == SUGGEST]


async def _settle(app: Any, pilot: Any) -> None:
    for _ in range(3):
        try:
            await app.workers.wait_for_complete()
        except WorkerCancelled:
            pass
        await pilot.pause()


async def _type(pilot: Any, text: str) -> None:
    for ch in text:
        await pilot.press({" ": "space", ",": "comma"}.get(ch, ch))


async def test_remote_tags_join_local_ones_and_are_cached(make_app: Any, nai_emulator: Any) -> None:  # noqa: F811
    app = make_app(config=_config(nai_emulator.url))
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        await _type(pilot, "1girl, smi")
        await _settle(app, pilot)
        asked = _suggest_requests(nai_emulator)
        assert len(asked) == 1  # the keystrokes before were superseded (debounce)
        assert asked[0].body == {"model": "nai-diffusion-4-5-full", "prompt": "smi", "lang": "en"}
        assert "authorization" not in {k.lower() for k in asked[0].headers}  # no token: still answered
        names = [m.tag for m in area.candidates]
        assert names[0] == "smile"  # the local CSV hit comes first
        assert "smiling" in names  # NovelAI's tag that the CSV lacks
        assert area.suggestion == "le"
        assert "smiling" in str(area.border_subtitle)
        await pilot.press(f"alt+{names.index('smiling') + 1}")
        assert area.text == "1girl, smiling"

        await pilot.press("backspace", "backspace", "backspace", "backspace")  # back to "smi"
        await _settle(app, pilot)
        assert "smiling" in [m.tag for m in area.candidates]
        sent = [r.body["prompt"] for r in _suggest_requests(nai_emulator)]
        assert sent.count("smi") == 1  # "smi" again came from the cache


async def test_remote_only_tag_becomes_ghost_text(make_app: Any, nai_emulator: Any) -> None:  # noqa: F811
    app = make_app(config=_config(nai_emulator.url), tags=TagIndex())  # an empty local index
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        await _type(pilot, "looking at v")
        await _settle(app, pilot)
        assert area.suggestion == "iewer"
        await pilot.press("tab")
        assert area.text == "looking at viewer"


async def test_japanese_tag_asks_with_lang_jp_and_the_model_follows_settings(make_app: Any,
                                                                              nai_emulator: Any) -> None:  # noqa: F811
    app = make_app(config=_config(nai_emulator.url))
    app.workspace.base.model = "nai-diffusion-4-5-curated"
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        area.insert("1girl, 笑顔")
        await _settle(app, pilot)
        asked = _suggest_requests(nai_emulator)
        assert asked and asked[-1].body == {"model": "nai-diffusion-4-5-curated", "prompt": "笑顔", "lang": "jp"}


async def test_local_provider_asks_nothing(make_app: Any, nai_emulator: Any) -> None:  # noqa: F811
    app = make_app(config=_config(nai_emulator.url))
    app.workspace.base.provider = "local"
    async with app.run_test(size=SIZE) as pilot:
        await _type(pilot, "1girl, smi")
        await _settle(app, pilot)
        assert _suggest_requests(nai_emulator) == []
        assert [m.tag for m in app.screen.query_one("#prompt", PromptArea).candidates] == ["smile"]


async def test_offline_is_silent_and_keeps_local_completion(make_app: Any) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(config=_config(f"http://127.0.0.1:{port}"))
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        await _type(pilot, "1girl, smi")
        await _settle(app, pilot)
        assert [m.tag for m in area.candidates] == ["smile"] and area.suggestion == "le"
        assert not app._notifications  # nothing shown about the failed request
        await pilot.press("tab")
        assert area.text == "1girl, smile"


async def test_candidate_line_shows_tag_names_literally(make_app: Any, tmp_path: Path) -> None:
    csv = tmp_path / "odd.csv"
    csv.write_text("hat_[b]bold[/b],0,900,\nhat_[/],0,800,\n", encoding="utf-8")
    index = TagIndex()
    index.load_csv(csv)
    app = make_app(tags=index)
    app.workspace.base.provider = "local"
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        await _type(pilot, "ha")
        await pilot.pause()
        subtitle = Content.from_markup(area.border_subtitle or "").plain  # what the border shows
        assert "hat [b]bold[/b]" in subtitle and "hat [/]" in subtitle


async def test_typing_goes_on_while_a_request_hangs(make_app: Any, nai_emulator: Any) -> None:  # noqa: F811
    nai_emulator.inject("delay", endpoint=SUGGEST, delay=2.0)
    app = make_app(config=_config(nai_emulator.url))
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        await _type(pilot, "1girl, smi")
        while not _suggest_requests(nai_emulator):  # the request is on its way (after the debounce)
            await pilot.pause(0.05)
        await _type(pilot, "le, blu")
        assert area.text == "1girl, smile, blu"  # the keys were not held up by the slow answer
        assert area.suggestion == "sh"  # local completion meanwhile
        await _settle(app, pilot)
        assert area.text == "1girl, smile, blu"


async def test_server_error_is_silent_and_asked_again_later(make_app: Any, nai_emulator: Any) -> None:  # noqa: F811
    nai_emulator.inject("500", endpoint=SUGGEST)
    app = make_app(config=_config(nai_emulator.url))
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        await _type(pilot, "1girl, smi")
        await _settle(app, pilot)
        assert [m.tag for m in area.candidates] == ["smile"] and not app._notifications
        await pilot.press("l")
        await _settle(app, pilot)
        await pilot.press("backspace")  # back to "smi": the 500 was not cached, so it is asked again
        await _settle(app, pilot)
        asked = [parse_qs(urlsplit(r.path).query)["prompt"][0] for r in _suggest_requests(nai_emulator)]
        assert asked.count("smi") == 2
        assert "smiling" in [m.tag for m in area.candidates]
