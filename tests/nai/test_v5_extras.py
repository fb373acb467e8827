"""V5 extras: transparent background, text in the image, the Opus usage quota (nai-tools.md §5)."""

from __future__ import annotations

import asyncio

import pytest

from peropix_tui.core.config import Secret
from peropix_tui.core.nai.client import NaiClient
from peropix_tui.core.nai.request import build_request
from peropix_tui.core.nai.usage import UsageQuota, usage_quota
from peropix_tui.core.nai.v5text import quoted_phrases, text_suffix
from peropix_tui.core.settings import CharacterPrompt, GenerationSettings
from tests.nai_emulator.rules import check_generation
from tests.nai_emulator.server import NaiEmulator

Q = ", very aesthetic, masterpiece, no text"


def test_transparent_background_goes_before_the_quality_tags_with_both_flags() -> None:
    body = build_request(GenerationSettings(model="nai-diffusion-5-full", prompt="1girl", transparent=True, seed=1))
    assert body["input"] == "1girl, transparent background" + Q
    p = body["parameters"]
    assert p["straight_alpha"] is True and p["tag_hint_transparent_background"] is True
    check_generation(body, stream=False)


def test_quoted_phrases_become_a_text_block_after_the_quality_tags() -> None:
    s = GenerationSettings(model="nai-diffusion-5-full", prompt='1girl holding a sign, "Hello World"', seed=1,
                           characters=[CharacterPrompt("girl, speech bubble, 「こんにちは」"),
                                       CharacterPrompt("boy, ‘bye’", enabled=False)])
    body = build_request(s)
    assert body["input"] == '1girl holding a sign, "Hello World"' + Q + ", teXt: Hello World\n\nこんにちは"
    assert body["parameters"]["v4_prompt"]["caption"]["base_caption"] == body["input"]
    check_generation(body, stream=False)


def test_explicit_text_block_is_kept_and_nothing_added() -> None:
    s = GenerationSettings(model="nai-diffusion-5-full", prompt='sign, "Hi", Text: OPEN', seed=1)
    assert build_request(s)["input"] == 'sign, "Hi", Text: OPEN' + Q


def test_text_block_only_on_v5() -> None:
    s = GenerationSettings(prompt='sign, "Hi"', seed=1)
    assert build_request(s)["input"] == 'sign, "Hi"' + Q


def test_quote_kinds_and_apostrophes() -> None:
    assert quoted_phrases("a \"one\" “two” 「three」 'four' ‘five’") == ["one", "two", "three", "four", "five"]
    assert quoted_phrases("girl's hat, boy's cap") == []
    assert text_suffix("no quotes", []) == ""


@pytest.mark.parametrize(("usage", "shown", "low", "refill", "left"), [
    ({"percent": 100, "isNegative": False, "timeUntilNextPercent": 7888}, 100, False, 11.0, 1730),
    ({"percent": 170, "isNegative": False, "timeUntilNextPercent": 0}, 100, False, None, 2941),
    ({"percent": 3, "isNegative": False, "timeUntilNextPercent": 3600}, 3, True, 24.0, 52),
    ({"percent": 40, "isNegative": True, "timeUntilNextPercent": 3600}, 0, True, 24.0, 0),
])
def test_usage_arithmetic_matches_the_website(usage: dict[str, object], shown: int, low: bool,
                                              refill: float | None, left: int) -> None:
    q = usage_quota({"usage": usage})
    assert q is not None
    assert (q.shown_percent, q.low, q.refill_per_day, q.images_left) == (shown, low, refill, left)


def test_usage_absent_or_partial_is_unknown() -> None:
    assert usage_quota({"tier": 2}) is None
    assert usage_quota({"usage": {"percent": 50}}) is None
    assert UsageQuota(0, True, 10).label() == "V5 free quota used up: Anlas are charged"


def test_usage_read_from_the_subscription_over_a_socket(nai_emulator: NaiEmulator) -> None:
    nai_emulator.usage_percent, nai_emulator.usage_refill = 64, 7200
    client = NaiClient(nai_emulator.url, Secret(nai_emulator.token))

    async def sub() -> object:
        async with client:
            return await client.subscription()

    q = usage_quota(asyncio.run(sub()))
    assert q is not None and (q.percent, q.refill_per_day, q.images_left) == (64, 12.0, 1107)
    assert q.label() == "V5 free 64% (~1107 images, +12%/day)"
    nai_emulator.account.tier = 2  # only an Opus subscription carries usage
    assert usage_quota(asyncio.run(sub())) is None


def test_text_suffix_can_be_taken_back_out() -> None:
    from peropix_tui.core.nai.v5text import strip_text_suffix

    sent = build_request(GenerationSettings(model="nai-diffusion-5-full", prompt='a "b"', seed=1))["input"]
    assert strip_text_suffix(sent) == 'a "b"' + Q and strip_text_suffix("plain") == "plain"


def test_meter_note_only_on_v5() -> None:
    from peropix_tui.core.nai.usage import meter_note

    q = UsageQuota(100, False, 7888)
    assert meter_note("nai-diffusion-5-curated", q) == "V5 free 100% (~1730 images, +11%/day)"
    assert meter_note("nai-diffusion-4-5-full", q) is None and meter_note("nai-diffusion-5-full", None) is None
