"""Prompt → SDXL text conditioning (ComfyUI's rules), with CLIP-L + CLIP-G.

1. Weights: :func:`prompt_weights.parse_prompt` gives ``(text, weight)`` segments per BREAK part.
2. Chunks: each whitespace-separated word is tokenized; words fill chunks of 75 tokens. A word
   that does not fit moves whole to the next chunk unless it has ≥ 8 tokens, then it is split.
   ``BREAK`` closes the current chunk. Every chunk is ``BOS + tokens + EOS`` padded to 77
   (CLIP-L pads with EOS 49407, CLIP-G with 0).
3. Encode: all chunks of one encoder in one batch, penultimate hidden state (no final LN). If any
   weight ≠ 1, an "empty" sequence (BOS, EOS, pads) is encoded too and each weighted token
   becomes ``z = (z − z_empty)·w + z_empty``.
4. Context: the chunks concatenated along the token axis, CLIP-L (768) ‖ CLIP-G (1280) per token.
   Pooled: CLIP-G's projected EOS feature of the first chunk.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .prompt_weights import parse_prompt
from .tokenizer import BOS, EOS, ClipTokenizer, get_tokenizer

CHUNK_TOKENS = 75
MAX_WORD_TOKENS = 8
PAD_L = EOS
PAD_G = 0
MAX_REPEAT = 4

Token = tuple[int, float]  # (id, weight)


@dataclass
class TextEncoding:
    """Cross-attention context [1, 77·k, C_l + C_g] and pooled CLIP-G vector [1, P]."""

    context: Tensor
    pooled: Tensor


def chunk_prompt(prompt: str, tokenizer: ClipTokenizer | None = None) -> list[list[Token]]:
    """The prompt's content tokens in chunks of at most 75 (no BOS/EOS/padding yet)."""
    tok = tokenizer or get_tokenizer()
    chunks: list[list[Token]] = [[]]
    for k, part in enumerate(parse_prompt(prompt)):
        if k and chunks[-1]:
            chunks.append([])  # BREAK
        for seg in part:
            for word in seg.text.replace("\n", " ").split(" "):
                if word:
                    _place_word(chunks, [(t, seg.weight) for t in tok.encode(word)])
    return chunks


def _place_word(chunks: list[list[Token]], word: list[Token]) -> None:
    is_long = len(word) >= MAX_WORD_TOKENS
    while word:
        room = CHUNK_TOKENS - len(chunks[-1])
        if len(word) <= room:
            chunks[-1].extend(word)
            return
        if is_long:
            chunks[-1].extend(word[:room])
            word = word[room:]
        chunks.append([])


def pad_chunk(chunk: list[Token], pad_id: int) -> list[Token]:
    """``BOS + chunk + EOS`` padded to 77 with ``pad_id`` (weight 1 for the specials)."""
    out = [(BOS, 1.0), *chunk, (EOS, 1.0)]
    return out + [(pad_id, 1.0)] * (CHUNK_TOKENS + 2 - len(out))


def empty_tokens(pad_id: int) -> list[int]:
    return [t for t, _ in pad_chunk([], pad_id)]


@torch.inference_mode()
def encode_tower(model: nn.Module, chunks: list[list[Token]], pad_id: int, want_pooled: bool) -> tuple[Tensor, Tensor | None]:
    """Weighted penultimate states of one CLIP tower, [1, 77·k, C]; pooled of the first chunk if asked."""
    rows = [pad_chunk(c, pad_id) for c in chunks]
    weighted = any(w != 1.0 for row in rows for _, w in row)
    ids = [[t for t, _ in row] for row in rows] + ([empty_tokens(pad_id)] if weighted else [])
    device = next(model.parameters()).device
    out = model(input_ids=torch.tensor(ids, device=device), output_hidden_states=True)
    hidden = out.hidden_states[-2].float()
    z = hidden[: len(rows)]
    if weighted:
        w = torch.tensor([[wt for _, wt in row] for row in rows], device=device)[..., None]
        z_empty = hidden[-1:]
        z = (z - z_empty) * w + z_empty
    pooled = out.text_embeds[:1].float() if want_pooled else None
    return z.reshape(1, -1, z.shape[-1]), pooled


def encode_prompt(clip_l: nn.Module, clip_g: nn.Module, prompt: str) -> TextEncoding:
    """SDXL conditioning for ``prompt`` (float32, on the encoders' device)."""
    return encode_prompts(clip_l, clip_g, [prompt])[0]


def encode_prompts(
    clip_l: nn.Module, clip_g: nn.Module, prompts: list[str],
    resident: Callable[[nn.Module], AbstractContextManager[object]] = lambda _m: nullcontext(),
) -> list[TextEncoding]:
    """:func:`encode_prompt` for several prompts, one tower at a time: CLIP-L for every prompt
    inside ``resident(clip_l)``, then CLIP-G inside ``resident(clip_g)`` (the pipeline uses it to
    hold only one encoder on the GPU at once)."""
    chunks = [chunk_prompt(p) for p in prompts]
    with resident(clip_l):
        z_ls = [encode_tower(clip_l, c, PAD_L, want_pooled=False)[0] for c in chunks]
    with resident(clip_g):
        z_gs = [encode_tower(clip_g, c, PAD_G, want_pooled=True) for c in chunks]
    out = []
    for z_l, (z_g, pooled) in zip(z_ls, z_gs, strict=True):
        assert pooled is not None
        n = min(z_l.shape[1], z_g.shape[1])
        out.append(TextEncoding(torch.cat([z_l[:, :n], z_g[:, :n].to(z_l.device)], dim=-1), pooled))
    return out


def match_lengths(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Repeat two contexts [B, T, C] along T to their least common length (cap: 4× the shorter).

    Repeating every key/value the same number of times leaves softmax attention unchanged, so
    cond and uncond can share one batch. Past the cap they are returned as they are.
    """
    ta, tb = a.shape[1], b.shape[1]
    if ta == tb:
        return a, b
    lcm = math.lcm(ta, tb)
    if lcm > MAX_REPEAT * min(ta, tb):
        return a, b
    return a.repeat(1, lcm // ta, 1), b.repeat(1, lcm // tb, 1)
