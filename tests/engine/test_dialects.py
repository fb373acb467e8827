"""Prompt dialects in the engine: chunking per dialect, A1111 "Original" emphasis and zero empty
negative, and A1111 prompt editing / alternation switching the conditioning per denoiser call."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from peropix_tui.engine.pipeline import Request, generate, scheduled_denoiser
from peropix_tui.engine.text import PAD_G, PAD_L, chunk_prompt, encode_a1111, encode_prompt, pad_chunk
from peropix_tui.engine.tokenizer import get_tokenizer

CAT = 2368
COMMA = 267


def ids(chunks: list[list[tuple[int, float]]]) -> list[list[int]]:
    return [[t for t, _ in c] for c in chunks]


def test_trailing_break_adds_no_all_padding_chunk() -> None:
    assert ids(chunk_prompt("cat BREAK")) == [[CAT]]
    assert ids(chunk_prompt("cat BREAK", dialect="a1111")) == [[CAT]]


def test_a1111_break_closes_even_an_empty_chunk() -> None:
    assert ids(chunk_prompt("BREAK cat", dialect="a1111")) == [[], [CAT]]
    assert ids(chunk_prompt("cat BREAK BREAK cat", dialect="a1111")) == [[CAT], [], [CAT]]
    inside = chunk_prompt("(cat BREAK cat)", dialect="a1111")  # the word BREAK at −1.1, one chunk
    brk = get_tokenizer().encode("BREAK")
    assert ids(inside) == [[CAT, *brk, CAT]]
    assert [round(w, 4) for _, w in inside[0]] == [1.1] + [-1.1] * len(brk) + [1.1]


def test_a1111_comma_backtrack_moves_the_words_after_the_last_comma() -> None:
    chunks = ids(chunk_prompt("cat " * 70 + ", " + "cat " * 10, dialect="a1111"))
    assert chunks == [[CAT] * 70 + [COMMA], [CAT] * 10]
    far = ids(chunk_prompt("cat " * 50 + ", " + "cat " * 30, dialect="a1111"))  # comma 24 back: no move
    assert far == [[CAT] * 50 + [COMMA] + [CAT] * 24, [CAT] * 6]


def test_comfyui_places_each_weighted_segment_as_one_unit() -> None:
    prompt = "cat " * 73 + "(cat cat cat:1.2)"
    assert ids(chunk_prompt(prompt, dialect="comfyui")) == [[CAT] * 73, [CAT] * 3]
    assert ids(chunk_prompt(prompt)) == [[CAT] * 75, [CAT]]  # auto: word by word, as before


def test_novelai_and_comfyui_read_each_others_syntax_as_text() -> None:
    tok = get_tokenizer()
    assert ids(chunk_prompt("{cat}", dialect="comfyui")) == [tok.encode("{cat}")]
    assert ids(chunk_prompt("(cat)", dialect="novelai")) == [tok.encode("(cat)")]
    assert [w for _, w in chunk_prompt("{cat}", dialect="novelai")[0]] == [1.05]


@torch.inference_mode()
def test_a1111_original_emphasis_rescales_to_the_batch_mean_per_encoder(tiny: Any) -> None:
    texts = ["(cat:1.5), dog", "[cat], dog"]
    encs = encode_a1111(tiny.clip_l, tiny.clip_g, texts)
    c_l = tiny.clip_l.config.hidden_size
    for tower, pad, part in ((tiny.clip_l, PAD_L, slice(0, c_l)), (tiny.clip_g, PAD_G, slice(c_l, None))):
        rows = [pad_chunk(chunk_prompt(t, dialect="a1111")[0], pad) for t in texts]
        out = tower(input_ids=torch.tensor([[t for t, _ in r] for r in rows]), output_hidden_states=True)
        z = out.hidden_states[-2].float()
        w = torch.tensor([[wt for _, wt in r] for r in rows])[..., None]
        expect = z * w * (z.mean() / (z * w).mean())
        got = torch.cat([e.context[..., part] for e in encs])
        assert torch.allclose(got, expect, atol=1e-5)
        assert torch.allclose(got.mean(), z.mean(), atol=1e-6)  # the mean over both texts is kept
    plain = encode_a1111(tiny.clip_l, tiny.clip_g, ["cat, dog"])[0]
    assert torch.allclose(encs[0].pooled, plain.pooled, atol=1e-6)  # pooled: first chunk, unweighted


@torch.inference_mode()
def test_a1111_empty_negative_is_zeros_and_other_dialects_encode_it(tiny: Any) -> None:
    neg = encode_a1111(tiny.clip_l, tiny.clip_g, [""], negative=True)[0]
    assert neg.context.shape == (1, 77, tiny.clip_l.config.hidden_size + tiny.clip_g.config.hidden_size)
    assert neg.context.abs().sum() == 0 and neg.pooled.abs().sum() == 0
    assert encode_a1111(tiny.clip_l, tiny.clip_g, [""])[0].context.abs().sum() > 0  # a positive "" is real
    assert encode_prompt(tiny.clip_l, tiny.clip_g, "", dialect="comfyui").pooled.abs().sum() > 0


def test_scheduled_denoiser_counts_calls_from_zero() -> None:
    seen: list[str] = []

    def tag(name: str) -> Any:
        return lambda x, sigma: (seen.append(name), x)[1]

    d = scheduled_denoiser([(2, tag("a")), (5, tag("b"))])
    for _ in range(7):
        d(torch.zeros(1), torch.zeros(1))
    assert seen == ["a", "a", "a", "b", "b", "b", "b"]


def _image(tiny: Any, prompt: str, **kw: Any) -> np.ndarray:
    req = Request(prompt=prompt, negative="", width=64, height=64, steps=4, seed=5, sampler="euler",
                  schedule="karras", prompt_dialect="a1111", **kw)
    return np.asarray(generate(tiny, req)[0]).astype(np.int16)


def test_a1111_prompt_editing_switches_conditioning_during_sampling(tiny: Any) -> None:
    cat, dog = _image(tiny, "cat"), _image(tiny, "dog")
    assert np.abs(cat - dog).max() > 0
    assert np.array_equal(_image(tiny, "[cat:dog:0]"), dog)  # when < 1: "to" throughout
    assert np.array_equal(_image(tiny, "[cat:dog:1.0]"), cat)  # 1.0 × steps: "from" throughout
    edited = _image(tiny, "[cat:dog:2]")
    assert np.abs(edited - cat).max() > 0 and np.abs(edited - dog).max() > 0
    alternating = _image(tiny, "[cat|dog]")
    assert np.abs(alternating - cat).max() > 0 and np.abs(alternating - dog).max() > 0


def test_a1111_bad_weight_is_a_request_error(tiny: Any) -> None:
    with pytest.raises(ValueError, match=r"prompt: weight '1.2.3' at character 3 is not a number \(A1111"):
        _image(tiny, "(x:1.2.3)")


def test_composed_denoiser_sums_weighted_differences_from_uncond() -> None:
    from peropix_tui.engine.pipeline import composed_denoiser
    from peropix_tui.engine.sampling import Conditioning

    def cond(v: float) -> Conditioning:
        return Conditioning(torch.full((1, 2), v), torch.zeros(1, 1))

    def model(x: torch.Tensor, sigma: torch.Tensor, c: Conditioning) -> torch.Tensor:
        return c.context  # x0 prediction = the cond's value

    d = composed_denoiser(model, [(cond(3.0), 1.0), (cond(5.0), 0.5)], cond(1.0), scale=7.0)
    out = d(torch.zeros(1, 2), torch.ones(1))
    assert torch.allclose(out, torch.full((1, 2), 1.0 + 7.0 * (1.0 * 2.0 + 0.5 * 4.0)))


def test_a1111_and_composes_sub_prompts(tiny: Any) -> None:
    cat, dog = _image(tiny, "cat"), _image(tiny, "dog")
    assert np.array_equal(_image(tiny, "cat:1.0"), cat)  # a trailing :1.0 is the plain prompt
    both = _image(tiny, "cat AND dog")
    assert np.abs(both - cat).max() > 0 and np.abs(both - dog).max() > 0
    assert np.abs(_image(tiny, "cat AND dog:0") - cat).max() <= 2  # weight 0: only cat counts (unbatched)
