"""σ tables, noise schedules, the EPS/V denoiser and classifier-free guidance (k-diffusion form).

The model is seen as a denoiser ``D(x, σ) → x0``. SDXL's discrete table (1000 steps, "scaled
linear" betas) gives σ_i = sqrt((1 − ᾱ_i)/ᾱ_i); a continuous σ is fed to the UNet as the nearest
table index (ComfyUI's ``timestep``), and schedules map a step count to a decreasing σ sequence
that ends in 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..i18n import _

N_TIMESTEPS = 1000
BETA_START = 0.00085
BETA_END = 0.012
ZSNR_LAST_ALPHA_BAR = 4.8973451890853435e-08

SCHEDULES = ("karras", "exponential", "polyexponential", "normal", "simple", "sgm_uniform")


def sigma_table(zsnr: bool = False) -> Tensor:
    """σ_0 < … < σ_999 (float32) from ``linspace(√β_start, √β_end, 1000)²`` in float64."""
    betas = torch.linspace(BETA_START**0.5, BETA_END**0.5, N_TIMESTEPS, dtype=torch.float64) ** 2
    alpha_bar = torch.cumprod(1.0 - betas, dim=0)
    sigmas = ((1.0 - alpha_bar) / alpha_bar) ** 0.5
    if zsnr:
        sigmas = rescale_zero_terminal_snr(sigmas)
    return sigmas.float()


def rescale_zero_terminal_snr(sigmas: Tensor) -> Tensor:
    """Shift √ᾱ so the last step has (almost) zero SNR, keeping the first step; ᾱ_T clamped > 0."""
    sqrt_ab = (1.0 / (sigmas * sigmas + 1.0)).sqrt()
    first, last = sqrt_ab[0].clone(), sqrt_ab[-1].clone()
    sqrt_ab = (sqrt_ab - last) * first / (first - last)
    alpha_bar = sqrt_ab**2
    alpha_bar[-1] = ZSNR_LAST_ALPHA_BAR
    return ((1.0 - alpha_bar) / alpha_bar) ** 0.5


class ModelSampling:
    """A model's σ table with σ ↔ timestep conversions and its prediction type (``eps`` or ``v``)."""

    def __init__(self, prediction: str = "eps", zsnr: bool = False) -> None:
        if prediction not in ("eps", "v"):
            raise ValueError(f"prediction: {prediction!r} is not 'eps' or 'v'")
        self.prediction = prediction
        self.sigmas = sigma_table(zsnr)
        self.log_sigmas = self.sigmas.log()

    @property
    def sigma_min(self) -> float:
        return float(self.sigmas[0])

    @property
    def sigma_max(self) -> float:
        return float(self.sigmas[-1])

    def timestep(self, sigma: Tensor) -> Tensor:
        """Nearest table index in log σ (quantised, as ComfyUI)."""
        dists = sigma.float().log().reshape(-1)[None, :] - self.log_sigmas[:, None].to(sigma.device)
        return dists.abs().argmin(dim=0).reshape(sigma.shape)

    def sigma(self, t: Tensor) -> Tensor:
        """σ at a fractional timestep, interpolating log σ linearly."""
        t = t.float().clamp(0, N_TIMESTEPS - 1)
        lo, hi = t.floor().long(), t.ceil().long()
        w = t - lo
        return ((1 - w) * self.log_sigmas[lo] + w * self.log_sigmas[hi]).exp()


# ------------------------------------------------------------------------------------------ schedules
def karras(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> Tensor:
    """Karras et al. (2022): σ_i = (σmax^(1/ρ) + i/(n−1)·(σmin^(1/ρ) − σmax^(1/ρ)))^ρ."""
    ramp = torch.linspace(0, 1, n, dtype=torch.float64)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return _append_zero((hi + ramp * (lo - hi)) ** rho)


def exponential(n: int, sigma_min: float, sigma_max: float) -> Tensor:
    """Evenly spaced in log σ."""
    return _append_zero(torch.linspace(math.log(sigma_max), math.log(sigma_min), n, dtype=torch.float64).exp())


def polyexponential(n: int, sigma_min: float, sigma_max: float, rho: float = 1.0) -> Tensor:
    """log σ = ramp^ρ·(log σmax − log σmin) + log σmin, ramp 1 → 0; ρ = 1 equals exponential."""
    ramp = torch.linspace(1, 0, n, dtype=torch.float64) ** rho
    return _append_zero((ramp * (math.log(sigma_max) - math.log(sigma_min)) + math.log(sigma_min)).exp())


def normal(ms: ModelSampling, n: int, sgm: bool = False) -> Tensor:
    """Timesteps evenly spaced from t(σmax) to t(σmin), mapped back through the table.

    ``sgm`` (sgm_uniform) takes n of n+1 points so the last table point is not hit. A zsnr table
    whose last σ is ~0 gets one extra step instead of an appended 0.
    """
    start = float(ms.timestep(torch.tensor(ms.sigma_max)))
    end = float(ms.timestep(torch.tensor(ms.sigma_min)))
    if sgm:
        ts = torch.linspace(start, end, n + 1)[:-1]
    elif math.isclose(float(ms.sigma(torch.tensor(end))), 0.0, abs_tol=1e-5):
        return ms.sigma(torch.linspace(start, end, n + 1)).double()
    else:
        ts = torch.linspace(start, end, n)
    return _append_zero(ms.sigma(ts).double())


def simple(ms: ModelSampling, n: int) -> Tensor:
    """Every (1000/n)-th table σ from the top: σ_table[−(1 + ⌊i·1000/n⌋)]."""
    stride = len(ms.sigmas) / n
    return _append_zero(torch.stack([ms.sigmas[-(1 + int(i * stride))] for i in range(n)]).double())


def get_sigmas(ms: ModelSampling, schedule: str, steps: int, *, rho: float | None = None) -> Tensor:
    """The σ sequence (steps + 1 values, decreasing, last 0) for a ComfyUI schedule name."""
    lo, hi = ms.sigma_min, ms.sigma_max
    if schedule == "karras":
        sig = karras(steps, lo, hi, rho if rho is not None else 7.0)
    elif schedule == "exponential":
        sig = exponential(steps, lo, hi)
    elif schedule == "polyexponential":
        sig = polyexponential(steps, lo, hi, rho if rho is not None else 1.0)
    elif schedule in ("normal", "sgm_uniform"):
        sig = normal(ms, steps, sgm=schedule == "sgm_uniform")
    elif schedule == "simple":
        sig = simple(ms, steps)
    else:
        raise ValueError("noise_schedule: " + _("unknown schedule {name}; use one of {known}")
                         .format(name=repr(schedule), known=", ".join(SCHEDULES)))
    return sig.float()


def img2img_sigmas(ms: ModelSampling, schedule: str, steps: int, denoise: float, *,
                   rho: float | None = None) -> Tensor:
    """The last ``steps`` steps of a ⌊steps/denoise⌋-step schedule (ComfyUI's ``denoise``)."""
    if denoise >= 0.9999:
        return get_sigmas(ms, schedule, steps, rho=rho)
    if denoise <= 0.0:
        return torch.zeros(1)
    total = int(steps / denoise)
    return get_sigmas(ms, schedule, total, rho=rho)[-(steps + 1) :]


def _append_zero(x: Tensor) -> Tensor:
    return torch.cat([x, x.new_zeros(1)])


# ------------------------------------------------------------------------------------ the denoiser
UNetFn = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]
Denoiser = Callable[[Tensor, Tensor], Tensor]


@dataclass
class Conditioning:
    """Cross-attention context [B, T, 2048] and ADM vector [B, 2816] for one side of CFG."""

    context: Tensor
    y: Tensor


def c_in(sigma: Tensor) -> Tensor:
    """Input scale 1/√(σ² + 1) (σ_data = 1)."""
    return 1.0 / (sigma**2 + 1.0) ** 0.5


def to_denoised(prediction: str, x: Tensor, out: Tensor, sigma: Tensor) -> Tensor:
    """x0 from the UNet output: EPS x − σ·ε; V x·c_skip − v·σ·c_in with c_skip = 1/(σ² + 1)."""
    if prediction == "eps":
        return x - out * sigma
    return x / (sigma**2 + 1.0) - out * sigma * c_in(sigma)


def model_denoiser(unet: UNetFn, ms: ModelSampling, concat: Tensor | None = None) -> Callable[[Tensor, Tensor, Conditioning], Tensor]:
    """``D(x, σ, cond) → x0`` for a UNet ``unet(x_in, t, context, y)``.

    ``concat`` (mask + masked-image latent) is appended to the input channels of 9-channel
    inpainting UNets.
    """

    def denoise(x: Tensor, sigma: Tensor, cond: Conditioning) -> Tensor:
        s = sigma.reshape(-1, *([1] * (x.ndim - 1))).to(x.dtype)
        x_in = x * c_in(s)
        if concat is not None:
            x_in = torch.cat([x_in, concat.to(x_in.dtype).expand(x.shape[0], -1, -1, -1)], dim=1)
        t = ms.timestep(sigma.reshape(-1).expand(x.shape[0]))
        out = unet(x_in, t, cond.context, cond.y)
        return to_denoised(ms.prediction, x, out.to(x.dtype), s)

    return denoise


def cfg_denoiser(
    denoise: Callable[[Tensor, Tensor, Conditioning], Tensor],
    cond: Conditioning,
    uncond: Conditioning,
    scale: float,
    rescale: float = 0.0,
) -> Denoiser:
    """Classifier-free guidance on x0: x0_u + s·(x0_c − x0_u); cond and uncond share one batch
    when their contexts have the same shape.

    ``scale == 1`` skips the uncond pass (ComfyUI). ``rescale`` > 0 applies CFG-rescale
    (Lin et al. 2023) in v-space with that multiplier.
    """
    if scale == 1.0:
        return lambda x, sigma: denoise(x, sigma, cond)
    batched = cond.context.shape == uncond.context.shape
    both = Conditioning(torch.cat([cond.context, uncond.context]), torch.cat([cond.y, uncond.y])) if batched else cond

    def guided(x: Tensor, sigma: Tensor) -> Tensor:
        if batched:
            x0_c, x0_u = denoise(torch.cat([x, x]), sigma, both).chunk(2)
        else:  # contexts of different lengths (see text.match_lengths): two calls
            x0_c, x0_u = denoise(x, sigma, cond), denoise(x, sigma, uncond)
        if rescale > 0.0:
            return rescaled_cfg(x, sigma, x0_c, x0_u, scale, rescale)
        return x0_u + scale * (x0_c - x0_u)

    return guided


def rescaled_cfg(x: Tensor, sigma: Tensor, x0_c: Tensor, x0_u: Tensor, scale: float, multiplier: float) -> Tensor:
    """CFG-rescale: guide in v-space, match the std of the cond v, blend by ``multiplier``."""
    s = sigma.reshape(-1, *([1] * (x.ndim - 1)))
    x_scaled = x / (s**2 + 1.0)
    v_c = (x_scaled - x0_c) * (s**2 + 1.0) ** 0.5 / s
    v_u = (x_scaled - x0_u) * (s**2 + 1.0) ** 0.5 / s
    v_cfg = v_u + scale * (v_c - v_u)
    dims = tuple(range(1, x.ndim))
    v_rescaled = v_cfg * v_c.std(dim=dims, keepdim=True) / v_cfg.std(dim=dims, keepdim=True)
    v_final = multiplier * v_rescaled + (1.0 - multiplier) * v_cfg
    return x_scaled - v_final * s / (s**2 + 1.0) ** 0.5


# ------------------------------------------------------------------------------------------- noise
def initial_noise(shape: tuple[int, ...], seeds: list[int]) -> Tensor:
    """One CPU ``randn(shape[1:], generator=manual_seed(seed))`` per batch element (as ComfyUI per image)."""
    per_image = shape[1:]
    return torch.stack([torch.randn(per_image, generator=torch.manual_seed(s)) for s in seeds])


def noise_scaling(sigma: float, noise: Tensor, latent: Tensor, max_denoise: bool) -> Tensor:
    """Start latent: ``latent + noise·√(1+σ²)`` at full denoise (txt2img), else ``latent + noise·σ``."""
    scale = math.sqrt(1.0 + sigma**2) if max_denoise else sigma
    return latent + noise * scale


def is_max_denoise(ms: ModelSampling, sigmas: Tensor) -> bool:
    first = float(sigmas[0])
    return math.isclose(first, ms.sigma_max, rel_tol=1e-5) or first > ms.sigma_max
