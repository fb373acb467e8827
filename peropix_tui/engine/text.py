"""Prompt → SDXL text conditioning, with CLIP-L + CLIP-G, per prompt dialect.

1. Weights: :func:`peropix_tui.core.local.weights.parse` gives ``(text, weight)`` segments.
2. Chunks of 75 content tokens, each ``BOS + tokens + EOS`` padded to 77 (CLIP-L pads with EOS
   49407, CLIP-G with 0):

   * ``comfyui`` / ``novelai``: each segment is tokenized as one unit; a unit that does not fit
     moves whole to the next chunk unless it has ≥ 8 tokens, then it is split (ComfyUI);
   * ``auto``: the same per whitespace-separated word (ComfyUI's older rule); ``BREAK`` closes the
     current chunk (never leaving an empty chunk at either end);
   * ``a1111``: token by token; when a chunk is full and a comma was among its last 20 tokens, the
     tokens after that comma move to the next chunk; ``BREAK`` closes the current chunk, even an
     empty one (``BREAK a`` is two chunks, ``a BREAK`` one).
3. Encode: all chunks of one encoder in one batch, penultimate hidden state (no final LN).

   * ComfyUI's rule (``comfyui``, ``novelai``, ``auto``): if any weight ≠ 1, an "empty" sequence
     (BOS, EOS, pads) is encoded too and each weighted token becomes ``z = (z − z_empty)·w + z_empty``;
   * A1111's "Original" emphasis (``a1111``): per chunk index and encoder, ``z·w`` rescaled so the
     mean over the batch of texts (a prompt's editing schedule) stays what it was.
4. Context: the chunks concatenated along the token axis, CLIP-L (768) ‖ CLIP-G (1280) per token.
   Pooled: CLIP-G's projected EOS feature of the first chunk, unweighted.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..core.local.weights import Segment, parse
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


def chunk_prompt(prompt: str, tokenizer: ClipTokenizer | None = None, dialect: str = "auto") -> list[list[Token]]:
    """The prompt's content tokens in chunks of at most 75 (no BOS/EOS/padding yet)."""
    tok = tokenizer or get_tokenizer()
    segments = parse(prompt, dialect)
    if dialect == "a1111":
        return _chunk_a1111(segments, tok)
    chunks: list[list[Token]] = [[]]
    for seg in segments:
        if seg.brk:
            if chunks[-1]:
                chunks.append([])
            continue
        units = seg.text.replace("\n", " ").split(" ") if dialect == "auto" else [seg.text]
        for unit in units:
            if unit:
                _place_word(chunks, [(t, seg.weight) for t in tok.encode(unit)])
    if len(chunks) > 1 and not chunks[-1]:
        chunks.pop()  # "cat BREAK": no trailing all-padding chunk
    return chunks


COMMA_BACKTRACK = 20  # A1111's comma_padding_backtrack default


def _chunk_a1111(segments: list[Segment], tok: ClipTokenizer) -> list[list[Token]]:
    """A1111's ``tokenize_line``: per token, comma back-track, BREAK closing even an empty chunk."""
    comma = tok.encode(",")[0]
    chunks: list[list[Token]] = []
    chunk: list[Token] = []
    last_comma = -1
    for seg in segments:
        if seg.brk:
            chunks.append(chunk)
            chunk, last_comma = [], -1
            continue
        for t in tok.encode(seg.text):
            if t == comma:
                last_comma = len(chunk)
            elif len(chunk) == CHUNK_TOKENS and last_comma != -1 and len(chunk) - last_comma <= COMMA_BACKTRACK:
                moved = chunk[last_comma + 1 :]
                chunks.append(chunk[: last_comma + 1])
                chunk, last_comma = moved, -1
            if len(chunk) == CHUNK_TOKENS:
                chunks.append(chunk)
                chunk, last_comma = [], -1
            chunk.append((t, seg.weight))
    if chunk or not chunks:
        chunks.append(chunk)
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


def encode_prompt(clip_l: nn.Module, clip_g: nn.Module, prompt: str, dialect: str = "auto") -> TextEncoding:
    """SDXL conditioning for ``prompt`` (float32, on the encoders' device)."""
    if dialect == "a1111":
        return encode_a1111(clip_l, clip_g, [prompt])[0]
    return encode_prompts(clip_l, clip_g, [prompt], dialect=dialect)[0]


Resident = Callable[[nn.Module], AbstractContextManager[object]]


def encode_prompts(
    clip_l: nn.Module, clip_g: nn.Module, prompts: list[str],
    resident: Resident = lambda _m: nullcontext(), dialect: str = "auto",
) -> list[TextEncoding]:
    """:func:`encode_prompt` for several prompts (ComfyUI's weighting; not ``a1111``, see
    :func:`encode_a1111`), one tower at a time: CLIP-L for every prompt inside
    ``resident(clip_l)``, then CLIP-G inside ``resident(clip_g)`` (the pipeline uses it to hold
    only one encoder on the GPU at once)."""
    chunks = [chunk_prompt(p, dialect=dialect) for p in prompts]
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


@torch.inference_mode()
def _a1111_tower(model: nn.Module, batch: list[list[list[Token]]], pad_id: int, want_pooled: bool
                 ) -> tuple[Tensor, Tensor | None]:
    """A1111 "Original" emphasis for one tower: texts [n] of chunks (padded to one count with empty
    chunks), each chunk index encoded for the whole batch, ``z·w`` rescaled to the batch's mean."""
    count = max(len(c) for c in batch)
    device = next(model.parameters()).device
    zs: list[Tensor] = []
    pooled: Tensor | None = None
    for k in range(count):
        rows = [pad_chunk(chunks[k] if k < len(chunks) else [], pad_id) for chunks in batch]
        out = model(input_ids=torch.tensor([[t for t, _ in r] for r in rows], device=device),
                    output_hidden_states=True)
        z = out.hidden_states[-2].float()
        if k == 0 and want_pooled:
            pooled = out.text_embeds.float()
        w = torch.tensor([[wt for _, wt in r] for r in rows], device=device)[..., None]
        mean = z.mean()
        z = z * w
        zs.append(z * (mean / z.mean()))
    return torch.cat(zs, dim=1), pooled


def encode_a1111(
    clip_l: nn.Module, clip_g: nn.Module, texts: list[str], resident: Resident = lambda _m: nullcontext(),
    *, negative: bool = False,
) -> list[TextEncoding]:
    """A1111 conditioning for ``texts`` encoded together (one prompt's editing schedule share the
    emphasis mean). ``negative`` and every text empty: zeros, as A1111 does for SDXL."""
    if negative and all(t == "" for t in texts):
        dev = next(clip_g.parameters()).device
        c_l = _width(clip_l)
        c_g = _width(clip_g)
        proj = int(getattr(getattr(clip_g, "config", None), "projection_dim", c_g))
        return [TextEncoding(torch.zeros(1, CHUNK_TOKENS + 2, c_l + c_g, device=dev), torch.zeros(1, proj, device=dev))
                for _ in texts]
    batch = [chunk_prompt(t, dialect="a1111") for t in texts]
    with resident(clip_l):
        z_l, _ = _a1111_tower(clip_l, batch, PAD_L, want_pooled=False)
    with resident(clip_g):
        z_g, pooled = _a1111_tower(clip_g, batch, PAD_G, want_pooled=True)
    assert pooled is not None
    z_g = z_g.to(z_l.device)
    return [TextEncoding(torch.cat([z_l[i : i + 1], z_g[i : i + 1]], dim=-1), pooled[i : i + 1])
            for i in range(len(texts))]


def _width(model: nn.Module) -> int:
    return int(getattr(getattr(model, "config", None), "hidden_size", 0))


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
