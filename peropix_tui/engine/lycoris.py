"""LyCORIS weight adapters: LoHa, LoKr, full diff and DoRA, as merge deltas for a weight ``W``.

Every adapter has ``fits(W)`` (its tensors rebuild exactly ``W``'s shape) and ``delta(W, s)``: the
fp32 tensor to add to ``W`` for strength ``s`` (the per-LoRA UNet or CLIP weight). ``α`` is the file's
``alpha`` (absent → ``r``, i.e. scale 1). Conventions are LyCORIS' (KohakuBlueleaf/LyCORIS,
``lycoris/modules/{loha,lokr,full,locon}.py``, ``lycoris/functional/{loha,lokr,general}.py``):

LoHa (Hadamard product of two low-rank products), ``r = hada_w1_b.shape[0]``::

    ΔW = s · (α/r) · reshape((w1_a @ w1_b) ⊙ (w2_a @ w2_b), W.shape)

  Tucker form (conv, ``hada_t1``/``hada_t2`` [r, r, kh, kw], ``w_a`` [r, out], ``w_b`` [r, in]), per i:
  ``R_i[o, c, h, w] = Σ_pq t_i[p, q, h, w] · w_ib[q, c] · w_ia[p, o]``, then ``ΔW = s · (α/r) · R_1 ⊙ R_2``.

LoKr (Kronecker product; ``w1`` [a, c] is the small factor, ``w2`` [b, d, (kh, kw)] the big one)::

    ΔW = s · γ · kron(w1, w2),   W is [a·b, c·d, (kh, kw)]; conv: kron(w1[:, :, None, None], w2)

  ``w1 = lokr_w1`` or ``lokr_w1_a @ lokr_w1_b``; ``w2 = lokr_w2``, ``lokr_w2_a @ lokr_w2_b`` (the
  product reshaped to [b, d, kh, kw] for conv) or Tucker ``Σ_pq t2[p, q, h, w] · w2_a[p, o] · w2_b[q, c]``.
  ``γ = α/r`` with ``r = lokr_w1_b.shape[0]`` (else ``lokr_w2_b.shape[0]``) when a factor is decomposed;
  ``γ = 1`` when both are full matrices (LyCORIS then forces ``alpha = lora_dim``).

Full diff (LyCORIS "full"): ``ΔW = s · diff`` and ``Δb = s · diff_b``; no alpha.

DoRA (``dora_scale`` = magnitude ``m`` beside any adapter above, or PEFT's ``lora_magnitude_vector``)::

    V = W + ΔW(s=1),   W_dora = m · V / (‖V‖ + ε),   W' = W + s · (W_dora − W)

  ``‖V‖`` is per output row when ``m`` is [out, 1, …] (LyCORIS ``wd_on_out(put)=True``, its default since
  4.x; PEFT), per input column when ``m`` is [1, in, 1, …] (older LyCORIS default); the file's shape
  decides. ε is the fp32 machine epsilon (LyCORIS computes in the magnitude's dtype). The strength blends
  ``W`` and ``W_dora`` as ComfyUI does, so ``s = 0`` is exactly no change (LyCORIS' own forward uses
  ``V · (s·(m/‖V‖ − 1) + 1)`` instead; equal at ``s = 1``). ComfyUI's output-axis branch takes ``‖W‖``
  where LyCORIS and the DoRA paper take ``‖V‖``; we follow LyCORIS.

tests/engine/test_lycoris.py checks all of this against references written out in the test and, when
the dev-only ``lycoris-lora`` package is installed, against LyCORIS' own modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch


class Adapter(Protocol):
    """What :func:`~peropix_tui.engine.lora.apply_lora` merges: one module's update."""

    @property
    def kind(self) -> str: ...

    def delta(self, weight: torch.Tensor, scale: float) -> torch.Tensor: ...

    def fits(self, weight: torch.Tensor) -> bool: ...

    def shapes(self) -> str: ...


def _f32(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.to(like.device, torch.float32)


def _shape_list(**tensors: torch.Tensor | None) -> str:
    return ", ".join(f"{k}{tuple(v.shape)}" for k, v in tensors.items() if v is not None)


def _alpha_over_rank(alpha: float | None, rank: int) -> float:
    return 1.0 if alpha is None else alpha / rank


def tucker(core: torch.Tensor, w_a: torch.Tensor, w_b: torch.Tensor) -> torch.Tensor:
    """``R[o, c, …] = Σ_pq core[p, q, …] · w_a[p, o] · w_b[q, c]`` (``w_a`` [r, out], ``w_b`` [r, in])."""
    return torch.einsum("pq...,po,qc->oc...", core, w_a, w_b)


@dataclass(frozen=True)
class LoHa:
    w1_a: torch.Tensor
    w1_b: torch.Tensor
    w2_a: torch.Tensor
    w2_b: torch.Tensor
    alpha: float | None = None
    t1: torch.Tensor | None = None
    t2: torch.Tensor | None = None

    @property
    def kind(self) -> str:
        return "LoHa" if self.t1 is None else "LoHa-Tucker"

    @property
    def rank(self) -> int:
        return int(self.w1_b.shape[0])

    def _factor(self, w_a: torch.Tensor, w_b: torch.Tensor, t: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        if t is None:
            return _f32(w_a, like).flatten(1) @ _f32(w_b, like).flatten(1)
        return tucker(_f32(t, like), _f32(w_a, like), _f32(w_b, like))

    def delta(self, weight: torch.Tensor, scale: float) -> torch.Tensor:
        prod = self._factor(self.w1_a, self.w1_b, self.t1, weight) * self._factor(self.w2_a, self.w2_b, self.t2, weight)
        return prod.reshape(weight.shape) * (scale * _alpha_over_rank(self.alpha, self.rank))

    def _factor_shape(self, w_a: torch.Tensor, w_b: torch.Tensor, t: torch.Tensor | None) -> tuple[int, ...] | None:
        if w_a.ndim != 2:
            return None
        if t is None:
            return (w_a.shape[0], w_b.flatten(1).shape[1]) if w_a.shape[1] == w_b.shape[0] else None
        if w_b.ndim != 2 or t.ndim < 2 or tuple(t.shape[:2]) != (w_a.shape[0], w_b.shape[0]):
            return None
        return (w_a.shape[1], w_b.shape[1], *t.shape[2:])

    def fits(self, weight: torch.Tensor) -> bool:
        one = self._factor_shape(self.w1_a, self.w1_b, self.t1)
        two = self._factor_shape(self.w2_a, self.w2_b, self.t2)
        if one is None or one != two or one[0] != weight.shape[0]:
            return False
        return one == tuple(weight.shape) if self.t1 is not None else math.prod(one) == weight.numel()

    def shapes(self) -> str:
        return _shape_list(hada_w1_a=self.w1_a, hada_w1_b=self.w1_b, hada_w2_a=self.w2_a, hada_w2_b=self.w2_b,
                           hada_t1=self.t1, hada_t2=self.t2)


@dataclass(frozen=True)
class LoKr:
    w1: torch.Tensor | None = None
    w1_a: torch.Tensor | None = None
    w1_b: torch.Tensor | None = None
    w2: torch.Tensor | None = None
    w2_a: torch.Tensor | None = None
    w2_b: torch.Tensor | None = None
    t2: torch.Tensor | None = None
    alpha: float | None = None

    @property
    def kind(self) -> str:
        return "LoKr" if self.t2 is None else "LoKr-Tucker"

    @property
    def gamma(self) -> float:
        """``α/r`` when a factor is low-rank, else 1 (alpha ignored for two full factors)."""
        low_rank = self.w1_b if self.w1_b is not None else self.w2_b
        return 1.0 if low_rank is None else _alpha_over_rank(self.alpha, int(low_rank.shape[0]))

    def _w1_shape(self) -> tuple[int, int] | None:
        if self.w1 is not None:
            return (self.w1.shape[0], self.w1.shape[1]) if self.w1.ndim == 2 else None
        assert self.w1_a is not None and self.w1_b is not None
        if self.w1_a.ndim != 2 or self.w1_b.ndim != 2 or self.w1_a.shape[1] != self.w1_b.shape[0]:
            return None
        return self.w1_a.shape[0], self.w1_b.shape[1]

    def _w2_shape(self, weight: torch.Tensor) -> tuple[int, ...] | None:
        """The big factor's shape for ``weight`` ([b, d, kh, kw]), or None when the tensors cannot make it."""
        a_c = self._w1_shape()
        if a_c is None or weight.shape[0] % a_c[0] or weight.shape[1] % a_c[1]:
            return None
        want = (weight.shape[0] // a_c[0], weight.shape[1] // a_c[1], *weight.shape[2:])
        if self.w2 is not None:
            ok = self.w2.shape[0] == want[0] and self.w2.numel() == math.prod(want)
        elif self.t2 is not None:
            assert self.w2_a is not None and self.w2_b is not None
            ok = (self.w2_a.ndim == self.w2_b.ndim == 2 and tuple(self.t2.shape[:2]) == (self.w2_a.shape[0], self.w2_b.shape[0])
                  and (self.w2_a.shape[1], self.w2_b.shape[1], *self.t2.shape[2:]) == want)
        else:
            assert self.w2_a is not None and self.w2_b is not None
            ok = (self.w2_a.ndim == 2 and self.w2_a.shape == (want[0], self.w2_b.shape[0])
                  and self.w2_b[0].numel() == math.prod(want[1:]))
        return want if ok else None

    def delta(self, weight: torch.Tensor, scale: float) -> torch.Tensor:
        w2_shape = self._w2_shape(weight)
        assert w2_shape is not None, "call fits() first"
        if self.w1 is not None:
            w1 = _f32(self.w1, weight)
        else:
            assert self.w1_a is not None and self.w1_b is not None
            w1 = _f32(self.w1_a, weight) @ _f32(self.w1_b, weight)
        if self.w2 is not None:
            w2 = _f32(self.w2, weight)
        else:
            assert self.w2_a is not None and self.w2_b is not None
            w2_a, w2_b = _f32(self.w2_a, weight), _f32(self.w2_b, weight)
            w2 = w2_a @ w2_b.flatten(1) if self.t2 is None else tucker(_f32(self.t2, weight), w2_a, w2_b)
        w2 = w2.reshape(w2_shape).contiguous()  # torch.kron views its operands
        w1 = w1.reshape(*w1.shape, *[1] * (w2.ndim - 2))
        return torch.kron(w1, w2) * (scale * self.gamma)

    def fits(self, weight: torch.Tensor) -> bool:
        return self._w2_shape(weight) is not None

    def shapes(self) -> str:
        return _shape_list(lokr_w1=self.w1, lokr_w1_a=self.w1_a, lokr_w1_b=self.w1_b, lokr_w2=self.w2,
                           lokr_w2_a=self.w2_a, lokr_w2_b=self.w2_b, lokr_t2=self.t2)


@dataclass(frozen=True)
class FullDiff:
    """A full weight (``diff``) or bias (``diff_b``) difference, added at strength ``s``."""

    diff: torch.Tensor
    kind: str = "diff"

    def delta(self, weight: torch.Tensor, scale: float) -> torch.Tensor:
        return _f32(self.diff, weight).reshape(weight.shape) * scale

    def fits(self, weight: torch.Tensor) -> bool:
        return self.diff.numel() == weight.numel() and self.diff.shape[0] == weight.shape[0]

    def shapes(self) -> str:
        return f"{self.kind}{tuple(self.diff.shape)}"


@dataclass(frozen=True)
class DoRA:
    inner: Adapter
    magnitude: torch.Tensor

    @property
    def kind(self) -> str:
        return f"DoRA {self.inner.kind}"

    def _on_output(self, weight: torch.Tensor) -> bool | None:
        """True: one magnitude per output row; False: per input column; None: fits neither."""
        m, out, inp = self.magnitude, weight.shape[0], weight.shape[1]
        if m.ndim >= 1 and m.shape[0] == out and m.numel() == out:
            return True
        if m.ndim >= 2 and m.shape[0] == 1 and m.shape[1] == inp and m.numel() == inp:
            return False
        return None

    def delta(self, weight: torch.Tensor, scale: float) -> torch.Tensor:
        w = weight.float()
        v = w + self.inner.delta(weight, 1.0)
        if self._on_output(weight):
            norm = v.flatten(1).norm(dim=1).reshape(-1, *[1] * (v.ndim - 1))
        else:
            norm = v.transpose(0, 1).flatten(1).norm(dim=1).reshape(1, -1, *[1] * (v.ndim - 2))
        m = _f32(self.magnitude, weight).reshape(norm.shape)
        w_dora = v * (m / (norm + torch.finfo(torch.float32).eps))
        result: torch.Tensor = (w_dora - w) * scale
        return result

    def fits(self, weight: torch.Tensor) -> bool:
        return weight.ndim >= 2 and self.inner.fits(weight) and self._on_output(weight) is not None

    def shapes(self) -> str:
        return f"{self.inner.shapes()}, dora_scale{tuple(self.magnitude.shape)}"
