"""An API-format ComfyUI graph from :class:`GenerationSettings` (specs/comfyui-api.md §4, §5).

CheckpointLoaderSimple → LoraLoader chain → (ModelSamplingDiscrete for v-prediction / zsnr) →
(RescaleCFG) → KSampler; CLIPSetLastLayer for clip skip; CLIPTextEncode ×2; the latent is an
EmptyLatentImage (generate), an uploaded image through VAEEncode (img2img, denoise = strength), or
for inpainting VAEEncodeForInpaint (strength 1) / VAEEncode + SetLatentNoiseMask (strength < 1);
hires fix upscales the latent (LatentUpscaleBy) or the decoded image (ImageScale) and samples again;
VAEDecode → SaveImage (the server writes the ``prompt`` chunk into the PNG).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...i18n import _
from ..backend import BackendError
from ..settings import GenerationSettings
from .discovery import ServerInfo, match_model
from .names import comfy_sampler, comfy_scheduler

SAVE_PREFIX = "PeroPix/peropix"
Link = list[Any]


@dataclass
class Uploads:
    """``LoadImage`` names of the images already uploaded for this job."""

    image: str | None = None
    mask: str | None = None


@dataclass
class BuiltGraph:
    graph: dict[str, Any]
    checkpoint: str
    sampler: str
    scheduler: str
    loras: list[tuple[str, float]] = field(default_factory=list)


class _Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, Any] = {}

    def add(self, class_type: str, title: str, **inputs: Any) -> str:
        node_id = str(len(self.nodes) + 1)
        self.nodes[node_id] = {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}
        return node_id


def _out(node: str, index: int = 0) -> Link:
    return [node, index]


def choose_checkpoint(settings: GenerationSettings, info: ServerInfo) -> str:
    if settings.checkpoint:
        return match_model("checkpoint", settings.checkpoint, info.checkpoints, info.name)
    if len(info.checkpoints) == 1:
        return info.checkpoints[0]
    if not info.checkpoints:
        raise BackendError(_("ComfyUI server {server} lists no checkpoints").format(server=info.name))
    raise BackendError(_("no checkpoint chosen: pass --checkpoint NAME (ComfyUI server {server} has: {files})").format(
        server=info.name, files=", ".join(info.checkpoints[:8])))


def _round8(x: float) -> int:
    return max(16, int(round(x / 8)) * 8)


def build_graph(settings: GenerationSettings, info: ServerInfo, *, positive: str, negative: str, seed: int,
                uploads: Uploads | None = None, hires_upscale: str = "latent") -> BuiltGraph:
    """The graph for one job. Names are checked against the server's lists (``info``)."""
    uploads = uploads or Uploads()
    g = _Graph()
    ckpt_name = choose_checkpoint(settings, info)
    sampler = comfy_sampler(settings.sampler, info.samplers)
    scheduler = comfy_scheduler(settings.noise_schedule, info.schedulers)

    ckpt = g.add("CheckpointLoaderSimple", "checkpoint", ckpt_name=ckpt_name)
    model, clip, vae = _out(ckpt, 0), _out(ckpt, 1), _out(ckpt, 2)
    if settings.vae:
        vae_name = match_model("VAE", settings.vae, info.vaes, info.name)
        vae = _out(g.add("VAELoader", "vae", vae_name=vae_name))
    loras: list[tuple[str, float]] = []
    for spec in settings.loras:
        name = match_model("LoRA", spec.path, info.loras, info.name)
        node = g.add("LoraLoader", f"lora {name}", model=model, clip=clip, lora_name=name,
                     strength_model=spec.weight, strength_clip=spec.weight)
        model, clip = _out(node, 0), _out(node, 1)
        loras.append((name, spec.weight))
    if settings.clip_skip:
        clip = _out(g.add("CLIPSetLastLayer", "clip skip", clip=clip, stop_at_clip_layer=-int(settings.clip_skip)))
    if settings.prediction in ("v", "v-zsnr"):
        model = _out(g.add("ModelSamplingDiscrete", "prediction", model=model, sampling="v_prediction",
                           zsnr=settings.prediction == "v-zsnr"))
    if settings.cfg_rescale > 0:
        model = _out(g.add("RescaleCFG", "cfg rescale", model=model, multiplier=float(settings.cfg_rescale)))
    pos = _out(g.add("CLIPTextEncode", "prompt", text=positive, clip=clip))
    neg = _out(g.add("CLIPTextEncode", "negative", text=negative, clip=clip))

    denoise = 1.0
    if settings.action == "generate":
        latent = _out(g.add("EmptyLatentImage", "size", width=settings.width, height=settings.height,
                            batch_size=settings.n_samples))
    else:
        if uploads.image is None:
            raise BackendError(_("action {action}: the base image was not uploaded").format(action=settings.action))
        pixels = _out(g.add("LoadImage", "image", image=uploads.image))
        if settings.action == "infill":
            if uploads.mask is None:
                raise BackendError(_("action infill: the mask was not uploaded"))
            mask = _out(g.add("LoadImageMask", "mask", image=uploads.mask, channel="red"))
            if settings.strength >= 1.0:
                latent = _out(g.add("VAEEncodeForInpaint", "encode", pixels=pixels, vae=vae, mask=mask,
                                    grow_mask_by=6))
            else:
                enc = _out(g.add("VAEEncode", "encode", pixels=pixels, vae=vae))
                latent = _out(g.add("SetLatentNoiseMask", "mask latent", samples=enc, mask=mask))
                denoise = float(settings.strength)
        else:
            latent = _out(g.add("VAEEncode", "encode", pixels=pixels, vae=vae))
            denoise = float(settings.strength)
        if settings.n_samples > 1:
            latent = _out(g.add("RepeatLatentBatch", "batch", samples=latent, amount=settings.n_samples))

    def sample(title: str, latent_in: Link, d: float) -> Link:
        return _out(g.add("KSampler", title, model=model, seed=seed, steps=settings.steps,
                          cfg=float(settings.scale), sampler_name=sampler, scheduler=scheduler,
                          positive=pos, negative=neg, latent_image=latent_in, denoise=round(d, 4)))

    samples = sample("sampler", latent, denoise)
    if settings.hires_scale and settings.hires_scale > 1.0:
        if hires_upscale == "image":
            image = _out(g.add("VAEDecode", "decode", samples=samples, vae=vae))
            scaled = _out(g.add("ImageScale", "hires upscale", image=image, upscale_method="lanczos",
                                width=_round8(settings.width * settings.hires_scale),
                                height=_round8(settings.height * settings.hires_scale), crop="disabled"))
            up = _out(g.add("VAEEncode", "hires encode", pixels=scaled, vae=vae))
        else:
            up = _out(g.add("LatentUpscaleBy", "hires upscale", samples=samples, upscale_method="nearest-exact",
                            scale_by=float(settings.hires_scale)))
        samples = sample("hires sampler", up, float(settings.hires_denoise))
    image = _out(g.add("VAEDecode", "decode", samples=samples, vae=vae))
    g.add("SaveImage", "save", images=image, filename_prefix=SAVE_PREFIX)
    return BuiltGraph(graph=g.nodes, checkpoint=ckpt_name, sampler=sampler, scheduler=scheduler, loras=loras)
