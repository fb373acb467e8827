"""The offline CLIP BPE tokenizer: golden ids and agreement with transformers' CLIPTokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peropix_tui.engine.tokenizer import BOS, EOS, VOCAB_SIZE, get_tokenizer

PROMPTS = [
    "a photo of a cat",
    "1girl, solo, long hair, looking at viewer, smile, blue eyes",
    "masterpiece, best quality, (detailed background:1.2), [sketch]",
    "Hatsune Miku, twintails, aqua hair, 39, concert stage",
    "don't stop, it's 2024 -- we're here!!  ",
    "spaces   and\ttabs\nnewlines",
    "日本語, 猫耳 girl, émoji 😀, ｆｕｌｌwidth, a\u0301",
    "score_9, score_8_up, source_anime, rating_safe",
    "café crème, naïve façade",
    "",
]


def test_vocabulary_shape() -> None:
    tok = get_tokenizer()
    assert len(tok.vocab) == VOCAB_SIZE == 49408
    assert len(tok.merges) == 48894
    assert tok.vocab[BOS] == "<|startoftext|>" and tok.vocab[EOS] == "<|endoftext|>"


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("a photo of a cat", [320, 1125, 539, 320, 2368]),
        ("1girl, solo", [272, 1611, 267, 5797]),
        ("A  Photo OF a CAT", [320, 1125, 539, 320, 2368]),
        ("", []),
    ],
)
def test_golden_ids(text: str, ids: list[int]) -> None:
    assert get_tokenizer().encode(text) == ids


def test_html_entities_are_unescaped_like_openai_clip() -> None:
    # transformers without ftfy keeps "&amp;" as text; OpenAI CLIP (and this tokenizer) read "&".
    tok = get_tokenizer()
    assert tok.encode("black &amp; white") == tok.encode("black & white")


def test_decode_round_trip() -> None:
    tok = get_tokenizer()
    assert tok.decode(tok.encode("blue eyes, smile")) == "blue eyes , smile"


@pytest.fixture(scope="module")
def hf_tokenizer(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """transformers' CLIPTokenizer built from vocab.json/merges.txt derived from the same BPE data."""
    transformers = pytest.importorskip("transformers")
    tok = get_tokenizer()
    d: Path = tmp_path_factory.mktemp("clip-tok")
    (d / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tok.vocab)}), encoding="utf-8")
    merges = "#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in tok.merges) + "\n"
    (d / "merges.txt").write_text(merges, encoding="utf-8")
    return transformers.CLIPTokenizer.from_pretrained(str(d))


@pytest.mark.parametrize("text", PROMPTS)
def test_matches_transformers(hf_tokenizer, text: str) -> None:  # type: ignore[no-untyped-def]
    expected = hf_tokenizer(text)["input_ids"]
    assert [BOS, *get_tokenizer().encode(text), EOS] == expected
