"""Chunking, weighting and CLIP-L + CLIP-G encoding (ComfyUI rules), and SDXL's ADM vector."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from peropix_tui.engine.conditioning import adm_vector
from peropix_tui.engine.text import (
    PAD_G,
    PAD_L,
    chunk_prompt,
    encode_prompt,
    encode_prompts,
    encode_tower,
    match_lengths,
    pad_chunk,
)
from peropix_tui.engine.tokenizer import BOS, EOS, get_tokenizer

CAT = 2368  # "cat" is one token


def ids(chunks: list[list[tuple[int, float]]]) -> list[list[int]]:
    return [[t for t, _ in c] for c in chunks]


def test_75_tokens_fit_one_chunk_76_do_not() -> None:
    assert ids(chunk_prompt("cat " * 75)) == [[CAT] * 75]
    assert ids(chunk_prompt("cat " * 76)) == [[CAT] * 75, [CAT]]


def test_short_word_moves_whole_long_word_is_split() -> None:
    tok = get_tokenizer()
    short = "mountainrange"  # a few tokens
    n_short = len(tok.encode(short))
    assert 1 < n_short < 8
    chunks = ids(chunk_prompt("cat " * 74 + short))
    assert chunks == [[CAT] * 74, tok.encode(short)]
    long_word = "x1y2z3w4v5u6t7"  # digits are single tokens: ≥ 8 tokens
    long_ids = tok.encode(long_word)
    assert len(long_ids) >= 8
    chunks = ids(chunk_prompt("cat " * 74 + long_word))
    assert chunks == [[CAT] * 74 + long_ids[:1], long_ids[1:]]


def test_break_starts_a_new_chunk_and_weights_ride_along() -> None:
    chunks = chunk_prompt("cat BREAK (cat:1.5), cat")
    assert ids(chunks) == [[CAT], [CAT, 267, CAT]]
    assert [w for _, w in chunks[1]] == [1.5, 1.0, 1.0]
    assert ids(chunk_prompt("BREAK cat")) == [[CAT]]  # no empty leading chunk
    assert chunk_prompt("") == [[]]


def test_padding_per_encoder() -> None:
    row_l = [t for t, _ in pad_chunk([(CAT, 1.0)], PAD_L)]
    row_g = [t for t, _ in pad_chunk([(CAT, 1.0)], PAD_G)]
    assert row_l[:3] == [BOS, CAT, EOS] and set(row_l[3:]) == {EOS} and len(row_l) == 77
    assert row_g[:3] == [BOS, CAT, EOS] and set(row_g[3:]) == {0} and len(row_g) == 77


def _hf(model: Any, rows: list[list[int]]) -> Any:
    return model(input_ids=torch.tensor(rows), output_hidden_states=True)


@torch.inference_mode()
def test_encoding_is_penultimate_states_and_first_chunk_pooled(tiny: Any) -> None:
    tok = get_tokenizer()
    prompt = "1girl, solo, " + "cat " * 80
    enc = encode_prompt(tiny.clip_l, tiny.clip_g, prompt)
    c_l = tiny.clip_l.config.hidden_size
    assert enc.context.shape == (1, 154, c_l + tiny.clip_g.config.hidden_size)
    chunks = chunk_prompt(prompt)
    rows_l = [[t for t, _ in pad_chunk(c, EOS)] for c in chunks]
    rows_g = [[t for t, _ in pad_chunk(c, 0)] for c in chunks]
    assert rows_l[0][:5] == [BOS, *tok.encode("1girl, solo")][:5]
    out_l, out_g = _hf(tiny.clip_l, rows_l), _hf(tiny.clip_g, rows_g)
    expect_l = out_l.hidden_states[-2].reshape(1, 154, -1)
    expect_g = out_g.hidden_states[-2].reshape(1, 154, -1)
    assert torch.allclose(enc.context[..., :c_l], expect_l, atol=1e-6)
    assert torch.allclose(enc.context[..., c_l:], expect_g, atol=1e-6)
    assert torch.allclose(enc.pooled, out_g.text_embeds[:1], atol=1e-6)
    # not the last layer: penultimate differs from the final (normed) state
    assert not torch.allclose(expect_g, out_g.last_hidden_state.reshape(1, 154, -1), atol=1e-3)


@torch.inference_mode()
def test_weights_interpolate_from_the_empty_sequence(tiny: Any) -> None:
    plain, _ = encode_tower(tiny.clip_g, chunk_prompt("cat, dog"), PAD_G, want_pooled=False)
    same, _ = encode_tower(tiny.clip_g, chunk_prompt("(cat:1.0), dog"), PAD_G, want_pooled=False)
    assert torch.equal(plain, same)
    weighted, _ = encode_tower(tiny.clip_g, chunk_prompt("(cat:1.5), dog"), PAD_G, want_pooled=False)
    empty = _hf(tiny.clip_g, [[BOS, EOS] + [0] * 75]).hidden_states[-2][0]
    # token 1 is "cat" (weighted); the others are untouched
    assert torch.allclose(weighted[0, 1], (plain[0, 1] - empty[1]) * 1.5 + empty[1], atol=1e-5)
    assert torch.allclose(weighted[0, 2:], plain[0, 2:], atol=1e-6)


@torch.inference_mode()
def test_empty_prompt_is_a_real_sequence(tiny: Any) -> None:
    enc = encode_prompt(tiny.clip_l, tiny.clip_g, "")
    assert enc.context.shape[1] == 77
    out_g = _hf(tiny.clip_g, [[BOS, EOS] + [0] * 75])
    assert torch.allclose(enc.pooled, out_g.text_embeds, atol=1e-6)
    assert enc.pooled.abs().sum() > 0


def test_clip_g_padding_with_zero_matters(tiny: Any) -> None:
    with torch.inference_mode():
        pad0, _ = encode_tower(tiny.clip_g, [[(CAT, 1.0)]], 0, want_pooled=False)
        pad_eos, _ = encode_tower(tiny.clip_g, [[(CAT, 1.0)]], EOS, want_pooled=False)
    assert torch.equal(pad0[0, :3], pad_eos[0, :3])  # causal: content tokens are unaffected
    assert not torch.allclose(pad0[0, 5:], pad_eos[0, 5:])


def test_match_lengths_repeats_to_lcm() -> None:
    a, b = torch.randn(1, 154, 8), torch.randn(1, 231, 8)
    ra, rb = match_lengths(a, b)
    assert ra.shape[1] == rb.shape[1] == 462
    assert torch.equal(ra[:, 154:308], a)
    c = torch.randn(1, 77, 8)
    assert match_lengths(c, c)[0] is c
    x, y = match_lengths(torch.randn(1, 77 * 5, 8), torch.randn(1, 77 * 6, 8))  # lcm 30 chunks > 4 × 5
    assert x.shape[1] == 385 and y.shape[1] == 462


def test_repeating_context_leaves_attention_unchanged() -> None:
    q, k, v = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 77, 8), torch.randn(1, 2, 77, 8)
    once = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    twice = torch.nn.functional.scaled_dot_product_attention(q, k.repeat(1, 1, 2, 1), v.repeat(1, 1, 2, 1))
    assert torch.allclose(once, twice, atol=1e-6)


def test_adm_vector_layout_matches_diffusers_time_ids() -> None:
    diffusers_emb = pytest.importorskip("diffusers.models.embeddings")
    pooled = torch.randn(2, 1280)
    y = adm_vector(pooled, 2816, height=1216, width=832, crop_h=3, crop_w=5, target_height=1024, target_width=1000)
    assert y.shape == (2, 2816)
    assert torch.equal(y[:, :1280], pooled)
    time_ids = torch.tensor([1216.0, 832.0, 3.0, 5.0, 1024.0, 1000.0])
    expected = diffusers_emb.get_timestep_embedding(time_ids, 256, flip_sin_to_cos=True, downscale_freq_shift=0)
    assert torch.allclose(y[0, 1280:].reshape(6, 256), expected, atol=1e-5)
    assert torch.equal(y[0, 1280:], y[1, 1280:])


def test_adm_defaults_and_bad_size() -> None:
    y = adm_vector(torch.zeros(1, 32), 32 + 6 * 8, height=64, width=128)
    parts = y[0, 32:].reshape(6, 8)
    assert torch.equal(parts[0], parts[4]) and torch.equal(parts[1], parts[5])  # target = size
    assert torch.equal(parts[2], parts[3])  # crop 0, 0
    assert parts[2, :4].tolist() == [1.0] * 4  # cos(0) first
    with pytest.raises(ValueError, match="adm_in"):
        adm_vector(torch.zeros(1, 32), 33 + 6 * 8, height=64, width=64)


def test_several_prompts_encode_one_tower_at_a_time_and_equal_single_encodes(tiny: Any) -> None:
    """The pipeline keeps only one text encoder on the GPU: every CLIP-L pass happens inside
    ``resident(clip_l)``, every CLIP-G pass inside ``resident(clip_g)``, each entered once."""
    import contextlib

    log: list[str] = []
    inside: list[Any] = []

    @contextlib.contextmanager
    def resident(tower: Any) -> Any:
        log.append("enter " + ("L" if tower is tiny.clip_l else "G"))
        inside.append(tower)
        yield
        inside.pop()
        log.append("exit")

    def forward_hook(name: str) -> Any:
        def hook(module: Any, args: Any, out: Any) -> None:
            assert inside and inside[-1] is module, f"{name} ran outside its resident block"
            log.append(name)
        return hook

    handles = [tiny.clip_l.register_forward_hook(forward_hook("L")),
               tiny.clip_g.register_forward_hook(forward_hook("G"))]
    try:
        prompts = ["1girl, (smile:1.2)", "lowres, bad hands", "cat " * 80]
        many = encode_prompts(tiny.clip_l, tiny.clip_g, prompts, resident=resident)
    finally:
        for h in handles:
            h.remove()
    assert log == ["enter L", "L", "L", "L", "exit", "enter G", "G", "G", "G", "exit"]
    for prompt, enc in zip(prompts, many, strict=True):
        one = encode_prompt(tiny.clip_l, tiny.clip_g, prompt)
        assert torch.equal(enc.context, one.context) and torch.equal(enc.pooled, one.pooled)
