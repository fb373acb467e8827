"""Director Tools / upscale request bodies and the website's resizing (specs/nai-tools.md §1–§2)."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from peropix_tui.core.nai import tools
from peropix_tui.core.nai.tools import ToolError, ToolOptions
from peropix_tui.core.settings import SettingsError

MakePng = Callable[..., Path]

MOODS_SPEC = ("neutral happy sad angry scared surprised tired excited nervous thinking confused shy disgusted smug "
              "bored laughing irritated aroused embarrassed worried love determined hurt playful").split()


def test_the_24_moods_are_the_spec_strings_in_order() -> None:
    assert list(tools.MOODS) == MOODS_SPEC and len(tools.MOODS) == 24


def test_all_expands_to_every_mood_and_duplicates_drop() -> None:
    assert tools.expand_moods(["all"]) == MOODS_SPEC
    assert tools.expand_moods(["Happy", "sad", "happy"]) == ["happy", "sad"]
    with pytest.raises(ToolError, match="--mood: 'grumpy' is not one of the 24 moods"):
        tools.expand_moods(["grumpy"])


@pytest.mark.parametrize(("size", "sent"), [
    ((832, 1216), (832, 1216)),          # 1,011,712 px: not under the threshold, sent as is
    ((512, 768), (836, 1254)),           # scaled up to about 1 MP, floored, no 64-grid
    ((2048, 2048), (1773, 1773)),        # scaled down under 3,145,728 - 2000
    ((1024, 1024), (1024, 1024)),
])
def test_web_size(size: tuple[int, int], sent: tuple[int, int]) -> None:
    w, h = tools.web_size(*size)
    assert (w, h) == sent
    assert w * h <= tools.MAX_SEND_PIXELS


def test_web_size_up_stays_at_or_under_one_megapixel() -> None:
    for size in ((100, 100), (300, 1700), (640, 640), (1000, 1000)):
        w, h = tools.web_size(*size)
        assert 1_000_000 < w * h <= 1_048_576, size


def test_emotion_body_is_exact(make_png: MakePng) -> None:
    image = tools.prepare_augment_image(make_png("a.png", 832, 1216))
    body = tools.augment_body(ToolOptions("emotion", mood="happy", defry=2, prompt="tears"), image)
    assert list(body) == ["req_type", "prompt", "defry", "width", "height", "image", "use_new_shared_trial"]
    assert body["req_type"] == "emotion" and body["prompt"] == "happy;;tears" and body["defry"] == 2
    assert (body["width"], body["height"]) == (832, 1216) and body["use_new_shared_trial"] is True
    raw = base64.b64decode(body["image"], validate=True)
    assert raw.startswith(b"\x89PNG") and Image.open(io.BytesIO(raw)).size == (832, 1216)


def test_emotion_without_extra_keeps_the_separator(make_png: MakePng) -> None:
    image = tools.prepare_augment_image(make_png("a.png", 64, 64))
    body = tools.augment_body(ToolOptions("emotion", mood="neutral"), image)
    assert body["prompt"] == "neutral;;" and body["defry"] == 0
    assert Image.open(io.BytesIO(base64.b64decode(body["image"]))).size == (body["width"], body["height"]) == (1024, 1024)


def test_colorize_sends_prompt_and_defry_others_neither(make_png: MakePng) -> None:
    image = tools.prepare_augment_image(make_png("a.png", 1024, 1024))
    body = tools.augment_body(ToolOptions("colorize", defry=5, prompt="red hair"), image)
    assert (body["prompt"], body["defry"]) == ("red hair", 5)
    for tool in ("bg-removal", "lineart", "sketch", "declutter", "declutter-keep-bubbles"):
        b = tools.augment_body(ToolOptions(tool), image)
        assert "prompt" not in b and "defry" not in b and b["req_type"] == tool


@pytest.mark.parametrize(("options", "message"), [
    (ToolOptions("emotion"), "--mood: emotion needs a mood"),
    (ToolOptions("emotion", mood="happy", defry=6), "--defry: 6 must be a whole number 0..5"),
    (ToolOptions("lineart", defry=2), "--defry: only colorize and emotion"),
    (ToolOptions("sketch", prompt="x"), "--prompt: only colorize and emotion"),
    (ToolOptions("lineart", mood="happy"), "--mood: only the emotion tool"),
    (ToolOptions("upscale"), "tool: 'upscale' is not one of"),
])
def test_bad_options_are_refused_naming_the_option(options: ToolOptions, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        options.check()


def test_defry_is_shown_as_strength_zero_strongest() -> None:
    assert tools.strength_label(0) == "normal" and tools.strength_label(5) == "weakest"
    assert ToolOptions("emotion", mood="sad", defry=1).to_json()["strength"] == "slightly_weak"


def test_bg_removal_keeps_three_named_images() -> None:
    named = tools.name_results("bg-removal", [b"a", b"b", b"c"])
    assert [(r.part, r.data) for r in named] == [("masked", b"a"), ("generated", b"b"), ("blend", b"c")]
    with pytest.raises(ToolError, match="returned 1 image"):
        tools.name_results("bg-removal", [b"a"])
    assert [r.part for r in tools.name_results("lineart", [b"x"])] == ["lineart"]


def test_upscale_body_v5_only_and_2x(make_png: MakePng) -> None:
    image = tools.prepare_upscale_image(make_png("a.png", 832, 1216))
    assert tools.upscale_body(image) == {"image": image.png_b64, "model": "nai-diffusion-5-curated",
                                         "declared_blur_sigma": 0}
    assert tools.upscale_body(image, "nai-diffusion-5-full", 0.33)["declared_blur_sigma"] == 0.35
    with pytest.raises(ToolError, match="standalone upscaling is V5 only"):
        tools.upscale_body(image, "nai-diffusion-4-5-full")


def test_upscale_refuses_over_three_megapixels(make_png: MakePng) -> None:
    assert tools.prepare_upscale_image(make_png("ok.png", 1536, 2048)).size == (1536, 2048)
    big = make_png("big.png", 2048, 1976)
    with pytest.raises(ToolError, match=r"big.png: 2048x1976 = 4046848 px is too large to upscale"):
        tools.prepare_upscale_image(big)


def test_unreadable_source_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(SettingsError, match="broken.png: not a readable image"):
        tools.prepare_augment_image(bad)


def test_tool_request_round_trips_and_jobs_have_stable_keys(make_png: MakePng) -> None:
    from peropix_tui.core.nai.tools_jobs import ToolRequest, quick_cost

    src = make_png("a.png", 640, 640)
    req = ToolRequest("emotion", (src,), ("happy", "sad"), 2, "tears")
    assert ToolRequest.from_dict(req.to_dict()) == req
    a, b = req.plan(tier=3).jobs, req.plan(tier=3).jobs
    assert [j.key() for j in a] == [j.key() for j in b] and a[0].key() != a[1].key()
    assert quick_cost(req, tier=0) == req.plan(tier=0).total == 40
