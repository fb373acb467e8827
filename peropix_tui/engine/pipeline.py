"""txt2img / img2img / inpaint / hires fix on a loaded :class:`~.checkpoint.SDXLModel`.

One image at a time (image i uses ``seed + i`` for its initial and per-step noise); the prompt is
encoded once. Text encoders go back to the CPU after encoding when the UNet lives on a GPU.
Sampling runs in float32 with the UNet in its own dtype; the VAE decodes in bf16/fp32
(see :mod:`.latents`). Inpainting blends the known latent outside the mask at every model call
(ComfyUI's rule) and, for 9-channel inpainting UNets, also feeds mask + masked-image latent; the
final image keeps the original pixels outside the mask.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from .. import i18n
from ..core.backend import CancelToken, GenerationCancelled
from ..core.local.schedule import schedule, split_and, text_at_counter
from ..core.local.weights import PromptSyntaxError, check_dialect, parse
from . import latents
from .conditioning import adm_vector
from .samplers import MODEL_CALLS, NoiseSampler, sample, sampler_name, schedule_name
from .sampling import (
    Conditioning,
    Denoiser,
    ModelSampling,
    cfg_denoiser,
    get_sigmas,
    img2img_sigmas,
    initial_noise,
    is_max_denoise,
    model_denoiser,
    noise_scaling,
    rescaled_cfg,
)
from .text import TextEncoding, encode_a1111, encode_prompts, match_lengths

if TYPE_CHECKING:
    from .checkpoint import SDXLModel

# (step done, total steps, image index, current x0 estimate in sampling space)
StepFn = Callable[[int, int, int, Tensor], None]


@dataclass
class Request:
    """One local generation, in the engine's own (ComfyUI) vocabulary."""

    prompt: str = ""
    negative: str = ""
    width: int = 1024
    height: int = 1024
    steps: int = 28
    cfg: float = 5.0
    cfg_rescale: float = 0.0
    sampler: str = "euler_ancestral"
    schedule: str = "karras"
    rho: float | None = None  # polyexponential / karras ρ override
    seed: int = 0
    batch: int = 1
    image: Image.Image | None = None
    denoise: float = 1.0
    mask: Image.Image | None = None  # white = repaint
    hires_scale: float | None = None
    hires_denoise: float = 0.5
    hires_steps: int | None = None  # None = steps
    hires_mode: str = "image"  # "image" (decode, Lanczos, encode) or "latent" (bilinear)
    compile: bool = False  # torch.compile the UNet (first step of each size compiles; later steps faster)
    prompt_dialect: str = "auto"  # how prompt syntax is read: auto | comfyui | a1111 | novelai

    def total_steps(self) -> int:
        return self.steps + ((self.hires_steps or self.steps) if self.hires_scale else 0)


def check_request(req: Request, multiple: int = 8) -> None:
    """Raise ValueError naming the field for values the engine cannot run."""
    for name in ("width", "height"):
        v = getattr(req, name)
        if v <= 0 or v % multiple:
            raise ValueError(f"{name}: " + i18n.gettext("{value} must be a positive multiple of {multiple}")
                             .format(value=v, multiple=multiple))
    if req.steps < 1:
        raise ValueError("steps: " + i18n.gettext("must be at least 1"))
    if req.batch < 1:
        raise ValueError("n_samples: " + i18n.gettext("must be at least 1"))
    if not 0.0 <= req.denoise <= 1.0:
        raise ValueError("strength: " + i18n.gettext("must be between 0 and 1"))
    if req.mask is not None and req.image is None:
        raise ValueError("mask: " + i18n.gettext("inpainting needs a base image"))
    if req.hires_scale is not None and not (1.0 <= req.hires_scale <= 4.0 and 0.0 < req.hires_denoise <= 1.0):
        raise ValueError("hires: " + i18n.gettext("scale must be in [1, 4] and denoise in (0, 1]"))
    if req.hires_mode not in ("image", "latent"):
        raise ValueError("hires_mode: " + i18n.gettext("{value} is not 'image' or 'latent'")
                         .format(value=repr(req.hires_mode)))
    req.sampler = sampler_name(req.sampler)
    req.schedule = schedule_name(req.schedule)
    check_dialect(req.prompt_dialect)
    if req.prompt_dialect == "a1111":
        texts = [("prompt", t) for t, _ in split_and(req.prompt)] + [("negative", req.negative)]
        for name, text in texts:
            for _, step_text in schedule(text, max(1, req.steps)):
                try:
                    parse(step_text, "a1111")
                except PromptSyntaxError as e:
                    raise ValueError(f"{name}: " + i18n.gettext("{error} (A1111 dialect)")
                                     .format(error=str(e).split(": ", 1)[1])) from None


@dataclass
class _Run:
    """Everything fixed for one request: model, σ table, encoded prompts, progress plumbing."""

    model: SDXLModel
    req: Request
    ms: ModelSampling
    cond: TextEncoding
    uncond: TextEncoding
    on_step: StepFn | None
    cancel: CancelToken | None
    done: int = 0
    index: int = 0
    # A1111: per pass, (last denoiser call, [(sub-prompt encoding, AND weight)]); empty = ``cond``
    cond_schedule: list[tuple[int, list[tuple[TextEncoding, float]]]] = field(default_factory=list)
    hires_schedule: list[tuple[int, list[tuple[TextEncoding, float]]]] = field(default_factory=list)

    @property
    def device(self) -> torch.device:
        return self.model.device

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise GenerationCancelled()


@torch.inference_mode()
def generate(
    model: SDXLModel, req: Request, *, on_step: StepFn | None = None, cancel: CancelToken | None = None
) -> list[Image.Image]:
    """Run ``req`` and return ``req.batch`` PIL images (raises GenerationCancelled between steps)."""
    check_request(req, model.info.vae.downscale if model.info.vae else 8)
    ms = ModelSampling(model.info.prediction, model.info.ztsnr)
    if req.prompt_dialect == "a1111":
        run = _a1111_run(model, req, ms, on_step, cancel)
    else:
        cond, uncond = _encode_prompts(model, req)
        run = _Run(model, req, ms, cond, uncond, on_step, cancel)
    start = _Start(*_init_latent(run, req.width, req.height),
                   _inpaint_concat(run, req.width, req.height) if _is_inpaint_unet(model) else None)
    images: list[Image.Image] = []
    for i in range(req.batch):
        run.index, run.done = i, 0
        images.append(_one_image(run, start, image_seed(req.seed, i)))
    return images


@dataclass
class _Start:
    """What every image of a batch starts from: latent, latent-size mask, inpainting-UNet extra input."""

    latent: Tensor
    mask: Tensor | None
    concat: Tensor | None


def image_seed(seed: int, index: int) -> int:
    """Seed of image ``index`` of a batch: ``seed + index`` (wrapping at 2³², NovelAI's seed range)."""
    return (seed + index) % 2**32


# Recent prompt encodings per text encoder (weakly keyed, so an unloaded model's entries go too):
# a set of slots sharing a negative prompt, or a re-run, skips the encoders and their GPU round trip.
_ENCODINGS: weakref.WeakKeyDictionary[nn.Module, OrderedDict[tuple[object, ...], TextEncoding]] = (
    weakref.WeakKeyDictionary())
ENCODING_CACHE_SIZE = 32
_A1111_ENCODINGS: weakref.WeakKeyDictionary[nn.Module, OrderedDict[tuple[object, ...], list[TextEncoding]]] = (
    weakref.WeakKeyDictionary())


def _encode_prompts(model: SDXLModel, req: Request) -> tuple[TextEncoding, TextEncoding]:
    """Encodings of the prompt and the negative, from the cache or with the encoders on the UNet's device."""
    cache = _ENCODINGS.setdefault(model.clip_g, OrderedDict())
    loras = tuple((h.path, h.weight, h.clip_weight) for h in model.loras)
    keys = [(loras, req.prompt_dialect, text) for text in (req.prompt, req.negative)]
    missing = list(dict.fromkeys(k for k in keys if k not in cache))
    if missing:
        encodings = encode_prompts(model.clip_l, model.clip_g, [str(k[2]) for k in missing],
                                   resident=lambda tower: _resident(tower, model.device), dialect=req.prompt_dialect)
        cache.update(zip(missing, encodings, strict=True))
    for key in keys:
        cache.move_to_end(key)
    while len(cache) > ENCODING_CACHE_SIZE:
        cache.popitem(last=False)
    return cache[keys[0]], cache[keys[1]]


def expected_calls(sampler: str, steps: int) -> int:
    """Denoiser calls a pass of ``steps`` makes (A1111's ``total_steps`` for prompt editing)."""
    return steps * MODEL_CALLS.get(sampler, 1)


def _a1111_group(model: SDXLModel, texts: list[str], negative: bool) -> list[TextEncoding]:
    """A1111 encodings of one prompt's schedule texts (encoded together: they share the emphasis mean)."""
    cache = _A1111_ENCODINGS.setdefault(model.clip_g, OrderedDict())
    loras = tuple((h.path, h.weight, h.clip_weight) for h in model.loras)
    key = (loras, negative, tuple(texts))
    if key not in cache:
        cache[key] = encode_a1111(model.clip_l, model.clip_g, texts,
                                  resident=lambda tower: _resident(tower, model.device), negative=negative)
    cache.move_to_end(key)
    while len(cache) > ENCODING_CACHE_SIZE:
        cache.popitem(last=False)
    return cache[key]


def _a1111_run(model: SDXLModel, req: Request, ms: ModelSampling, on_step: StepFn | None,
               cancel: CancelToken | None) -> _Run:
    """A1111 dialect: the prompt's ``AND`` sub-prompts, each with its editing schedule per pass
    (base, hires) encoded together; the negative as one text."""
    subs = split_and(req.prompt)
    passes = [expected_calls(req.sampler, req.steps)]
    if req.hires_scale:
        passes.append(expected_calls(req.sampler, req.hires_steps or req.steps))
    plans: list[list[tuple[int, list[tuple[TextEncoding, float]]]]] = []
    per_sub: list[list[list[tuple[int, str]]]] = []  # [sub][pass] -> schedule
    for text, _ in subs:
        per_sub.append([schedule(text, calls, base_steps=req.steps if k else None) for k, calls in enumerate(passes)])
    for k in range(len(passes)):  # each pass's texts of one sub-prompt share the emphasis mean, as in A1111
        encoded: list[dict[str, TextEncoding]] = []
        for schedules in per_sub:
            texts = list(dict.fromkeys(t for _, t in schedules[k]))
            encoded.append(dict(zip(texts, _a1111_group(model, texts, negative=False), strict=True)))
        ends = sorted({end for schedules in per_sub for end, _ in schedules[k]})
        plans.append([(end, [(encoded[i][text_at_counter(per_sub[i][k], end)], w) for i, (_, w) in enumerate(subs)])
                      for end in ends])
    uncond = _a1111_group(model, [req.negative], negative=True)[0]
    run = _Run(model, req, ms, plans[0][0][1][0][0], uncond, on_step, cancel)
    run.cond_schedule = plans[0]
    if len(plans) > 1:
        run.hires_schedule = plans[1]
    return run


@contextmanager
def _resident(module: nn.Module, device: torch.device) -> Iterator[None]:
    """``module`` on ``device`` for the block, back on the CPU after (text encoders rest there)."""
    if device.type == "cpu":
        yield
        return
    with torch.inference_mode(False):  # moved weights must stay normal tensors (LoRA merges them later)
        module.to(device)
    try:
        yield
    finally:
        with torch.inference_mode(False):
            module.to("cpu")


def _one_image(run: _Run, start: _Start, seed: int) -> Image.Image:
    req = run.req
    f = _downscale(run.model)
    sigmas = (img2img_sigmas(run.ms, req.schedule, req.steps, req.denoise, rho=req.rho) if req.image is not None
              else get_sigmas(run.ms, req.schedule, req.steps, rho=req.rho))
    x = _sample_pass(run, start.latent, sigmas, seed, (req.height, req.width), start.mask, start.concat)
    size = (req.width, req.height)
    if req.hires_scale:
        size = (_round(req.width * req.hires_scale, f), _round(req.height * req.hires_scale, f))
        x = _hires_pass(run, x, size, seed)
    pixels = latents.decode(run.model.vae, x)
    if not torch.isfinite(pixels).all():
        raise ValueError("vae: " + i18n.gettext("decoding produced NaN even in float32 (corrupt VAE weights?)"))
    image = latents.tensor_to_images(pixels)[0]
    if req.mask is not None and req.image is not None:
        image = _keep_unmasked(image, req.image, req.mask)
    return image


def _downscale(model: SDXLModel) -> int:
    return model.info.vae.downscale if model.info.vae else 8


def _round(v: float, multiple: int) -> int:
    return max(multiple, int(round(v / multiple)) * multiple)


def _init_latent(run: _Run, width: int, height: int) -> tuple[Tensor, Tensor | None]:
    """Start latent (zeros for txt2img) and the latent-size inpaint mask, if any."""
    f = _downscale(run.model)
    shape = (1, 4, height // f, width // f)
    req = run.req
    if req.image is None:
        return torch.zeros(shape, device=run.device), None
    latent = latents.encode(run.model.vae, latents.image_to_tensor(req.image, width, height))
    if req.mask is None:
        return latent, None
    mask = latents.to_latent_size(latents.mask_to_tensor(req.mask, width, height), shape[-2:])
    return latent, mask.to(run.device)


def _is_inpaint_unet(model: SDXLModel) -> bool:
    return model.info.unet.in_channels == 9


def _inpaint_concat(run: _Run, width: int, height: int) -> Tensor:
    """Extra UNet input of 9-channel inpainting models: mask (1) ‖ latent of the masked image (4)."""
    req = run.req
    f = _downscale(run.model)
    if req.image is None or req.mask is None:
        mask_px = torch.ones(1, 1, height, width)
        pixels = torch.zeros(1, 3, height, width)
    else:
        mask_px = latents.mask_to_tensor(req.mask, width, height)
        pixels = latents.image_to_tensor(req.image, width, height) * (1.0 - mask_px)
    masked = latents.encode(run.model.vae, pixels)
    mask_lat = latents.to_latent_size(mask_px, (height // f, width // f)).to(run.device)
    return torch.cat([mask_lat, masked], dim=1)


def _conditioning(run: _Run, height: int, width: int, cond: TextEncoding | None = None
                  ) -> tuple[Conditioning, Conditioning]:
    adm_in = run.model.info.adm_in
    cond = cond or run.cond
    c_ctx, u_ctx = match_lengths(cond.context, run.uncond.context)
    y_c = adm_vector(cond.pooled, adm_in, height=height, width=width)
    y_u = adm_vector(run.uncond.pooled, adm_in, height=height, width=width)
    dev = run.device
    return Conditioning(c_ctx.to(dev), y_c.to(dev)), Conditioning(u_ctx.to(dev), y_u.to(dev))


def _sample_pass(run: _Run, init: Tensor, sigmas: Tensor, seed: int, hw: tuple[int, int],
                 mask: Tensor | None, concat: Tensor | None, hires: bool = False) -> Tensor:
    req = run.req
    run.check_cancel()
    if len(sigmas) < 2:
        return init
    unet = run.model.denoiser_unet(req.compile)
    model = model_denoiser(unet, run.ms, concat)
    plan = run.hires_schedule if hires else run.cond_schedule
    if plan:
        steps = [(end, _composed(run, model, hw, subs)) for end, subs in plan]
        denoiser = steps[0][1] if len(steps) == 1 else scheduled_denoiser(steps)
    else:
        cond, uncond = _conditioning(run, *hw)
        denoiser = cfg_denoiser(model, cond, uncond, req.cfg, req.cfg_rescale)
    noise = initial_noise(tuple(init.shape), [seed]).to(run.device)
    if mask is not None:
        denoiser = _inpaint_blend(denoiser, init, noise, mask)
    x = noise_scaling(float(sigmas[0]), noise, init, is_max_denoise(run.ms, sigmas))
    x = sample(req.sampler, denoiser, x, sigmas, NoiseSampler([seed]), callback=lambda i, _x, x0: _step(run, x0))
    return x if mask is None else x * mask + init * (1.0 - mask)


def _inpaint_blend(denoiser: Denoiser, known: Tensor, noise: Tensor, mask: Tensor) -> Denoiser:
    """Outside the mask, the model sees the known latent noised to σ and must return it unchanged."""
    def blended(x: Tensor, sigma: Tensor) -> Tensor:
        x = x * mask + (known + noise * sigma) * (1.0 - mask)
        return denoiser(x, sigma) * mask + known * (1.0 - mask)

    return blended


def _step(run: _Run, x0: Tensor) -> None:
    run.done += 1
    if run.on_step is not None:
        run.on_step(run.done, run.req.total_steps(), run.index, x0)
    run.check_cancel()


def _hires_pass(run: _Run, x: Tensor, size: tuple[int, int], seed: int) -> Tensor:
    """Upscale (latent or image) and refine with an img2img pass at ``hires_denoise``."""
    req = run.req
    width, height = size
    f = _downscale(run.model)
    if req.hires_mode == "latent":
        up = F.interpolate(x, size=(height // f, width // f), mode="bilinear", align_corners=False)
    else:
        image = latents.tensor_to_images(latents.decode(run.model.vae, x))[0]
        up = latents.encode(run.model.vae, latents.image_to_tensor(image, width, height))
    concat = None
    if _is_inpaint_unet(run.model):
        concat = _inpaint_concat(run, width, height)
    sigmas = img2img_sigmas(run.ms, req.schedule, req.hires_steps or req.steps, req.hires_denoise, rho=req.rho)
    return _sample_pass(run, up, sigmas, seed, (height, width), None, concat, hires=True)


def _composed(run: _Run, model: Callable[[Tensor, Tensor, Conditioning], Tensor], hw: tuple[int, int],
              subs: list[tuple[TextEncoding, float]]) -> Denoiser:
    """CFG over A1111 sub-prompts: one plain prompt (weight 1) is the usual CFG denoiser."""
    req = run.req
    if len(subs) == 1 and subs[0][1] == 1.0:
        return cfg_denoiser(model, *_conditioning(run, *hw, subs[0][0]), req.cfg, req.cfg_rescale)
    conds = [(_conditioning(run, *hw, enc)[0], w) for enc, w in subs]
    uncond = _conditioning(run, *hw, subs[0][0])[1]
    return composed_denoiser(model, conds, uncond, req.cfg, req.cfg_rescale)


def composed_denoiser(model: Callable[[Tensor, Tensor, Conditioning], Tensor], conds: list[tuple[Conditioning, float]],
                      uncond: Conditioning, scale: float, rescale: float = 0.0) -> Denoiser:
    """A1111's composable CFG: ``x0_u + scale · Σ wᵢ (x0_cᵢ − x0_u)`` (CFG-rescale on the sum)."""
    def guided(x: Tensor, sigma: Tensor) -> Tensor:
        x0_u = model(x, sigma, uncond)
        x0_c = x0_u.clone()
        for cond, w in conds:
            x0_c = x0_c + w * (model(x, sigma, cond) - x0_u)
        if rescale > 0.0:
            return rescaled_cfg(x, sigma, x0_c, x0_u, scale, rescale)
        return x0_u + scale * (x0_c - x0_u)

    return guided


def scheduled_denoiser(plan: list[tuple[int, Denoiser]]) -> Denoiser:
    """A1111's per-step conditioning: call ``k`` (from 0) uses the first entry with k ≤ its end."""
    calls = [0]

    def switching(x: Tensor, sigma: Tensor) -> Tensor:
        k = calls[0]
        calls[0] += 1
        for end, denoiser in plan:
            if k <= end:
                return denoiser(x, sigma)
        return plan[-1][1](x, sigma)

    return switching


def _keep_unmasked(image: Image.Image, original: Image.Image, mask: Image.Image) -> Image.Image:
    """Original pixels outside the mask (resized to the output), generated pixels inside."""
    size = image.size
    base = original.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    m = latents.mask_to_tensor(mask, *size)[0, 0]
    alpha = Image.fromarray((m * 255).round().to(torch.uint8).numpy(), "L")
    return Image.composite(image, base, alpha)
