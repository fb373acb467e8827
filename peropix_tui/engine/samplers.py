"""Samplers in k-diffusion form: ``x`` at σ_0 → x at σ_n = 0 given a denoiser ``D(x, σ) → x0``.

Notation: d = (x − x0)/σ, t = −log σ, h = t_next − t. Ancestral steps split σ_next into
σ_down (deterministic part) and σ_up (fresh noise) with σ_down² + σ_up² = σ_next².

Noise comes from :class:`NoiseSampler`, one CPU generator per image seeded with that image's
seed, so results do not depend on the device:

* ancestral samplers (``euler_ancestral``, ``dpmpp_2s_ancestral``) draw fresh standard-normal
  noise each step; with one image this is exactly ComfyUI's default noise sampler on the CPU;
* SDE samplers (``dpmpp_sde``, ``dpmpp_2m_sde``) take normalised increments of one seeded Brownian
  path W(σ), refined by Brownian bridges, so overlapping intervals are correlated as in ComfyUI's
  torchsde Brownian tree. Same statistics, but not the same numbers as torchsde: images for a
  seed differ from ComfyUI's.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

import torch
from torch import Tensor

from ..core import vocab
from ..i18n import _
from .sampling import Denoiser

StepCallback = Callable[[int, Tensor, Tensor], None]  # (step index, x, denoised)

SAMPLERS = ("euler", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_2s_ancestral", "dpmpp_sde")

# NovelAI names -> ours, from the shared vocabulary; NovelAI's ddim has no published definition,
# so it runs as euler (ComfyUI's ddim is euler too)
_SUBSTITUTES = {"ddim_v3": "euler", "ddim": "euler"}
NAI_SAMPLERS = {nai: comfy for nai, comfy in vocab.NAI_SAMPLERS.items() if comfy in SAMPLERS} | _SUBSTITUTES
NAI_SCHEDULES = dict(vocab.NAI_SCHEDULES)  # karras, exponential, polyexponential keep their names

# model calls per step, for progress totals
MODEL_CALLS = {"euler": 1, "euler_ancestral": 1, "dpmpp_2m": 1, "dpmpp_2m_sde": 1, "dpmpp_2s_ancestral": 2, "dpmpp_sde": 2}


def sampler_name(name: str) -> str:
    """A ComfyUI sampler name from a NovelAI or ComfyUI one; unknown names raise ValueError."""
    key = name.strip().lower()
    key = NAI_SAMPLERS.get(key, key)
    if key not in SAMPLERS:
        known = ", ".join([*SAMPLERS, *NAI_SAMPLERS])
        raise ValueError("sampler: " + _("unknown sampler {name}; use one of {known}").format(name=repr(name),
                                                                                             known=known))
    return key


def schedule_name(name: str) -> str:
    """A ComfyUI schedule name from a NovelAI or ComfyUI one; unknown names raise ValueError."""
    from .sampling import SCHEDULES

    key = name.strip().lower()
    key = NAI_SCHEDULES.get(key, key)
    if key not in SCHEDULES:
        known = ", ".join([*SCHEDULES, *NAI_SCHEDULES])
        raise ValueError("noise_schedule: " + _("unknown schedule {name}; use one of {known}").format(name=repr(name),
                                                                                                     known=known))
    return key


class NoiseSampler:
    """Seeded standard-normal noise shaped like the batch; image i's stream comes from ``seeds[i]``."""

    def __init__(self, seeds: list[int]) -> None:
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        self._times: list[float] = []
        self._path: list[Tensor] = []

    def _draw(self, per_image: torch.Size) -> Tensor:
        return torch.stack([torch.randn(per_image, generator=g) for g in self.generators])

    def __call__(self, like: Tensor) -> Tensor:
        """Fresh N(0, 1) noise (ancestral steps)."""
        return self._draw(like.shape[1:]).to(device=like.device, dtype=like.dtype)

    def between(self, like: Tensor, sigma: Tensor, sigma_next: Tensor) -> Tensor:
        """(W(σ) − W(σ_next)) / √|σ − σ_next|: N(0, 1), correlated across overlapping intervals."""
        a, b = float(sigma), float(sigma_next)
        dw = self._brownian(a, like.shape[1:]) - self._brownian(b, like.shape[1:])
        spread: float = abs(a - b) ** 0.5
        return (dw / spread).to(device=like.device, dtype=like.dtype)

    def _brownian(self, t: float, per_image: torch.Size) -> Tensor:
        """W(t), W(0) = 0, sampled on demand: past the last known time by an independent increment,
        between two known times from the Brownian bridge."""
        if not self._times:
            self._times, self._path = [0.0], [torch.zeros(len(self.generators), *per_image)]
        i = bisect.bisect_left(self._times, t)
        if i < len(self._times) and self._times[i] == t:
            return self._path[i]
        t_lo, w_lo = self._times[i - 1], self._path[i - 1]
        eps = self._draw(per_image)
        w: Tensor
        if i == len(self._times):
            w = w_lo + (t - t_lo) ** 0.5 * eps
        else:
            t_hi, w_hi = self._times[i], self._path[i]
            span = t_hi - t_lo
            w = w_lo + (t - t_lo) / span * (w_hi - w_lo) + ((t - t_lo) * (t_hi - t) / span) ** 0.5 * eps
        self._times.insert(i, t)
        self._path.insert(i, w)
        return w


def to_d(x: Tensor, sigma: Tensor, denoised: Tensor) -> Tensor:
    """The ODE derivative dx/dσ = (x − x0)/σ."""
    return (x - denoised) / sigma


def ancestral_step(sigma: Tensor, sigma_next: Tensor, eta: float = 1.0) -> tuple[Tensor, Tensor]:
    """(σ_down, σ_up) with σ_up = min(σ_next, η·√(σ_next²(σ² − σ_next²)/σ²))."""
    if not eta:
        return sigma_next, torch.zeros_like(sigma_next)
    sigma_up = torch.minimum(sigma_next, eta * (sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2) ** 0.5)
    return (sigma_next**2 - sigma_up**2) ** 0.5, sigma_up


def _t(sigma: Tensor) -> Tensor:
    return -sigma.log()


def _sigma(t: Tensor) -> Tensor:
    return (-t).exp()


def _notify(callback: StepCallback | None, i: int, x: Tensor, denoised: Tensor) -> None:
    if callback is not None:
        callback(i, x, denoised)


@torch.no_grad()
def euler(model: Denoiser, x: Tensor, sigmas: Tensor, noise: NoiseSampler | None = None,
          callback: StepCallback | None = None) -> Tensor:
    """x ← x + d·(σ_next − σ)."""
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        x = x + to_d(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
        _notify(callback, i, x, denoised)
    return x


@torch.no_grad()
def euler_ancestral(model: Denoiser, x: Tensor, sigmas: Tensor, noise: NoiseSampler | None = None,
                    callback: StepCallback | None = None, eta: float = 1.0) -> Tensor:
    """Euler to σ_down, then add ε·σ_up; the last step returns x0."""
    noise = noise or NoiseSampler([0])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
            x = x + to_d(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
            x = x + noise(x) * sigma_up
        _notify(callback, i, x, denoised)
    return x


@torch.no_grad()
def dpmpp_2m(model: Denoiser, x: Tensor, sigmas: Tensor, noise: NoiseSampler | None = None,
             callback: StepCallback | None = None) -> Tensor:
    """DPM-Solver++(2M): x ← (σ_next/σ)·x − expm1(−h)·x0_d, with x0_d extrapolated from the last x0."""
    old_denoised: Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        h = _t(sigmas[i + 1]) - _t(sigmas[i]) if sigmas[i + 1] > 0 else None
        if old_denoised is None or h is None:
            x_0 = denoised
        else:
            r = (_t(sigmas[i]) - _t(sigmas[i - 1])) / h
            x_0 = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
        x = x_0 if h is None else (sigmas[i + 1] / sigmas[i]) * x - torch.expm1(-h) * x_0
        old_denoised = denoised
        _notify(callback, i, x, denoised)
    return x


@torch.no_grad()
def dpmpp_2m_sde(model: Denoiser, x: Tensor, sigmas: Tensor, noise: NoiseSampler | None = None,
                 callback: StepCallback | None = None, eta: float = 1.0) -> Tensor:
    """DPM-Solver++(2M) SDE, midpoint variant: an exact exponential step plus e^(−2ηh) noise."""
    noise = noise or NoiseSampler([0])
    old_denoised: Tensor | None = None
    h_last: Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
            h_last = None
        else:
            h = _t(sigmas[i + 1]) - _t(sigmas[i])
            decay = -torch.expm1(-h - eta * h)  # 1 − e^(−h(1+η))
            x = (sigmas[i + 1] / sigmas[i]) * torch.exp(-eta * h) * x + decay * denoised
            if old_denoised is not None and h_last is not None:
                x = x + 0.5 * decay * (h / h_last) * (denoised - old_denoised)
            if eta:
                dw = noise.between(x, sigmas[i], sigmas[i + 1])
                x = x + dw * sigmas[i + 1] * (-torch.expm1(-2 * eta * h)).sqrt()
            h_last = h
        old_denoised = denoised
        _notify(callback, i, x, denoised)
    return x


@torch.no_grad()
def dpmpp_2s_ancestral(model: Denoiser, x: Tensor, sigmas: Tensor, noise: NoiseSampler | None = None,
                       callback: StepCallback | None = None, eta: float = 1.0) -> Tensor:
    """Ancestral split, then DPM-Solver++(2S) to σ_down with a midpoint call at s = t + h/2."""
    noise = noise or NoiseSampler([0])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        if sigma_down == 0:
            x = x + to_d(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
        else:
            t, t_next = _t(sigmas[i]), _t(sigma_down)
            h = t_next - t
            s = t + h / 2
            x_2 = (_sigma(s) / _sigma(t)) * x - torch.expm1(-h / 2) * denoised
            denoised_2 = model(x_2, _sigma(s))
            x = (_sigma(t_next) / _sigma(t)) * x - torch.expm1(-h) * denoised_2
        if sigmas[i + 1] > 0:
            x = x + noise(x) * sigma_up
        _notify(callback, i, x, denoised)
    return x


@torch.no_grad()
def dpmpp_sde(model: Denoiser, x: Tensor, sigmas: Tensor, noise: NoiseSampler | None = None,
              callback: StepCallback | None = None, eta: float = 1.0, r: float = 0.5) -> Tensor:
    """DPM-Solver++ SDE (r = 1/2): two ancestral stages in λ space, the second model call at mid σ."""
    noise = noise or NoiseSampler([0])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = x + to_d(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
        else:
            t, t_next = _t(sigmas[i]), _t(sigmas[i + 1])
            s = t + (t_next - t) * r
            x_2 = _sde_stage(x, t, _sigma(s), denoised, noise, eta)
            denoised_2 = model(x_2, _sigma(s))
            fac = 1 / (2 * r)
            x = _sde_stage(x, t, sigmas[i + 1], (1 - fac) * denoised + fac * denoised_2, noise, eta)
        _notify(callback, i, x, denoised)
    return x


def _sde_stage(x: Tensor, t: Tensor, sigma_target: Tensor, x0: Tensor, noise: NoiseSampler, eta: float) -> Tensor:
    """One DPM-Solver++ SDE stage from σ(t) towards ``sigma_target``: exact step to σ_down, + dW·σ_up."""
    sigma_down, sigma_up = ancestral_step(_sigma(t), sigma_target, eta)
    t_down = _t(sigma_down)
    x = (sigma_down / _sigma(t)) * x - torch.expm1(t - t_down) * x0
    return x + noise.between(x, _sigma(t), sigma_target) * sigma_up


SAMPLER_FUNCTIONS: dict[str, Callable[..., Tensor]] = {
    "euler": euler,
    "euler_ancestral": euler_ancestral,
    "dpmpp_2m": dpmpp_2m,
    "dpmpp_2m_sde": dpmpp_2m_sde,
    "dpmpp_2s_ancestral": dpmpp_2s_ancestral,
    "dpmpp_sde": dpmpp_sde,
}


def sample(name: str, model: Denoiser, x: Tensor, sigmas: Tensor, noise: NoiseSampler | None = None,
           callback: StepCallback | None = None) -> Tensor:
    """Run the sampler called ``name`` (NovelAI or ComfyUI name) over ``sigmas``."""
    fn = SAMPLER_FUNCTIONS[sampler_name(name)]
    sig = sigmas.to(device=x.device, dtype=torch.float32)
    return fn(model, x, sig, noise=noise, callback=callback)
