"""The prompt dialect decides how a prompt becomes ComfyUI text (the same weights on both)."""

from __future__ import annotations

import pytest

from peropix_tui.core.backend import BackendError, CancelToken
from peropix_tui.core.comfyui.prompt import a1111_to_comfy, comfy_prompts, to_comfy
from peropix_tui.core.config import LocalConfig
from peropix_tui.core.settings import GenerationSettings, SettingsError
from tests.comfyui.helpers import backend, sent_graph, settings
from tests.comfyui_emulator import ComfyEmulator


@pytest.mark.parametrize(("a1111", "comfy"), [
    ("(cat)", "(cat:1.1)"),
    ("((cat))", "(cat:1.21)"),
    ("(((cat)))", "(cat:1.331)"),
    ("[cat]", "(cat:0.9091)"),
    ("[[cat]]", "(cat:0.8264)"),
    ("(cat:1.3)", "(cat:1.3)"),
    ("((cat:1.3))", "(cat:1.43)"),
    ("(a, (b:1.5))", "(a,:1.1) (b:1.65)"),
    ("a, (b, c", "a, (b, c:1.1)"),
    ("a, [b, c", "a, (b, c:0.9091)"),
    ("{cat}", "{cat}"),
    ("1.5::cat::", "1.5::cat::"),
    ("artist \\(style\\), (hat)", "artist \\(style\\), (hat:1.1)"),
    ("[cat) b", "(cat\\) b:0.9091)"),  # a stray ")" is literal text, escaped for ComfyUI
    ("plain text", "plain text"),
    ("", ""),
])
def test_a1111_weights_become_explicit_comfy_weights(a1111: str, comfy: str) -> None:
    assert a1111_to_comfy(a1111) == comfy


@pytest.mark.parametrize("prompt", ["a [cat:dog:0.5] b", "[cat:dog:10]", "a [red|blue] hat", "[fe|]male"])
def test_a1111_editing_and_alternation_are_refused_in_one_line(prompt: str) -> None:
    with pytest.raises(SettingsError, match=r"^prompt: A1111 prompt editing or alternation") as e:
        a1111_to_comfy(prompt)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("prompt", "what"), [("a AND b", "AND"), ("a BREAK b", "BREAK")])
def test_a1111_and_break_are_refused(prompt: str, what: str) -> None:
    with pytest.raises(SettingsError, match=f"^prompt: A1111 {what}"):
        a1111_to_comfy(prompt)


def test_a1111_bad_weight_names_the_field() -> None:
    with pytest.raises(SettingsError, match=r"^uc: weight '1\.2\.3'"):
        a1111_to_comfy("(x:1.2.3)", "uc")


@pytest.mark.parametrize(("dialect", "text", "comfy"), [
    ("comfyui", "(cat:1.2), {dog}, [bird]", "(cat:1.2), {dog}, [bird]"),
    ("novelai", "{cat}, artist (style)", "(cat:1.05), artist \\(style\\)"),
    ("auto", "{cat}, [dog]", "(cat:1.05), (dog:0.9524)"),
    ("a1111", "(cat), [dog]", "(cat:1.1), (dog:0.9091)"),
])
def test_each_dialect(dialect: str, text: str, comfy: str) -> None:
    assert to_comfy(text, dialect) == comfy


def test_comfy_prompts_follow_the_settings_then_the_local_config() -> None:
    s = GenerationSettings(prompt="(cat)", uc="[lowres]")
    assert comfy_prompts(s, None) == ("\\(cat\\)", "(lowres:0.9524)")  # auto: NovelAI reading
    assert comfy_prompts(s, LocalConfig(prompt_dialect="a1111")) == ("(cat:1.1)", "(lowres:0.9091)")
    s.prompt_dialect = "comfyui"
    assert comfy_prompts(s, LocalConfig(prompt_dialect="a1111")) == ("(cat)", "[lowres]")
    s.prompt_dialect = "a1111"
    s.uc = "[a|b]"
    with pytest.raises(SettingsError, match="^uc: A1111 prompt editing"):
        comfy_prompts(s, None)
    s.prompt_dialect = "wiki"
    with pytest.raises(ValueError, match="^prompt_dialect: 'wiki'"):
        comfy_prompts(s, None)


async def test_backend_refuses_before_sending_anything(comfy_emulator: ComfyEmulator) -> None:
    b = backend(comfy_emulator)
    try:
        with pytest.raises(BackendError, match=r"^prompt: A1111 prompt editing") as e:
            await b.generate(settings(prompt_dialect="a1111", prompt="1girl, [smile:crying:0.5]"),
                             lambda *_: None, CancelToken())
        assert "\n" not in str(e.value) and not e.value.retryable
        assert comfy_emulator.calls("/prompt", "POST") == []
        # the same settings in ComfyUI's own dialect go through, text as written
        (img,) = await b.generate(settings(prompt_dialect="comfyui", prompt="(cat:1.2), [dog]"),
                                  lambda *_: None, CancelToken())
        texts = [n["inputs"]["text"] for n in sent_graph(img.data).values() if n["class_type"] == "CLIPTextEncode"]
        assert "(cat:1.2), [dog]" in texts
    finally:
        await b.aclose()
