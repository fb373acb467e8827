"""NovelAI tag suggestions over a loopback socket: no token needed, cached, model-aware, silent offline."""

from __future__ import annotations

import asyncio
import socket

import pytest

from peropix_tui.core.config import Secret
from peropix_tui.core.nai.suggest import TagSuggester, TagSuggestion, current_tag, merge_suggestions
from tests.nai_emulator.server import NaiEmulator

SUGGEST = "/ai/generate-image/suggest-tags"


def ask(s: TagSuggester, text: str, model: str = "nai-diffusion-4-5-full", lang: str = "en") -> list[TagSuggestion]:
    async def go() -> list[TagSuggestion]:
        try:
            return await s.suggest(text, model, lang)
        finally:
            await s.aclose()

    return asyncio.run(go())


def test_works_without_a_token_and_sends_model_prompt_lang(nai_emulator: NaiEmulator) -> None:
    s = TagSuggester(nai_emulator.url)
    tags = ask(s, "sm")
    assert [t.tag for t in tags] == ["smile", "smiling", "small breasts"]
    assert tags[1].confidence == 0  # confidence may be 0
    (call,) = nai_emulator.calls()
    assert call.method == "GET" and call.path.startswith(SUGGEST + "?")
    assert call.body == {"model": "nai-diffusion-4-5-full", "prompt": "sm", "lang": "en"}
    assert "authorization" not in call.headers


def test_token_is_sent_when_there_is_one_and_jp_is_asked(nai_emulator: NaiEmulator) -> None:
    s = TagSuggester(nai_emulator.url, Secret(nai_emulator.token))
    assert [t.tag for t in ask(s, "1girl, sho", lang="jp")] == ["ショートヘア"]
    call = nai_emulator.calls()[0]
    assert call.headers["authorization"] == f"Bearer {nai_emulator.token}" and call.body["lang"] == "jp"
    assert call.body["prompt"] == "1girl, sho"


def test_answers_are_cached_per_model_and_language(nai_emulator: NaiEmulator) -> None:
    s = TagSuggester(nai_emulator.url)
    first = ask(s, "bl")
    assert ask(s, "BL ") == first and s.requests == 1
    ask(s, "bl", model="nai-diffusion-5-full")
    ask(s, "bl", lang="jp")
    assert s.requests == 3 and len(nai_emulator.calls()) == 3


def test_inpainting_models_ask_with_their_base_model(nai_emulator: NaiEmulator) -> None:
    ask(TagSuggester(nai_emulator.url), "sm", model="nai-diffusion-4-5-full-inpainting")
    assert nai_emulator.calls()[0].body["model"] == "nai-diffusion-4-5-full"


def test_unknown_model_is_an_empty_list_not_an_error(nai_emulator: NaiEmulator) -> None:
    s = TagSuggester(nai_emulator.url)
    assert ask(s, "sm", model="nai-diffusion-9") == [] and "400" in s.last_error


def test_server_errors_are_silent_and_not_cached(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("503", endpoint=SUGGEST)
    s = TagSuggester(nai_emulator.url)
    assert ask(s, "sm") == []
    assert [t.tag for t in ask(s, "sm")][:1] == ["smile"] and s.requests == 2


def test_offline_is_silent_and_then_quiet() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s = TagSuggester(f"http://127.0.0.1:{port}", offline_for=60)
    assert ask(s, "smile") == [] and s.offline and "unreachable" in s.last_error
    assert ask(s, "other") == [] and s.requests == 1  # no second attempt while offline


def test_current_tag_and_merge() -> None:
    assert current_tag("1girl, {{smi") == "smi"
    assert current_tag("1girl, 1.2::blue ey::, x", 17) == "blue ey"
    assert current_tag("a, b", 1) == "a"
    merged = merge_suggestions([("smile", 5)], [TagSuggestion("Smile", 9, 1), TagSuggestion("smiling", 3, 0)])
    assert merged == [("smile", 5), ("smiling", 3)]


def test_bad_lang_is_refused() -> None:
    with pytest.raises(ValueError, match="lang: 'de'"):
        ask(TagSuggester("http://127.0.0.1:9"), "x", lang="de")


def test_a_burst_of_keystrokes_sends_only_the_last(nai_emulator: NaiEmulator) -> None:
    s = TagSuggester(nai_emulator.url)

    async def burst() -> list[list[TagSuggestion] | None]:
        try:
            return list(await asyncio.gather(*(s.suggest_debounced(t, "nai-diffusion-4-5-full", delay=0.05)
                                               for t in ("s", "sm", "smi"))))
        finally:
            await s.aclose()

    first, second, last = asyncio.run(burst())
    assert first is None and second is None and last is not None and [t.tag for t in last] == ["smile", "smiling"]
    assert [c.body["prompt"] for c in nai_emulator.calls()] == ["smi"]
