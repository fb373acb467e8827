"""What the emulator "computes" for a validated graph: real images of the right size, no model.

Values flowing along links are small records: a MODEL/CLIP/VAE/CONDITIONING says what made it, a
LATENT has a size, a batch, an optional base image (img2img) and the sampler's recipe, an IMAGE is a
list of Pillow images. A KSampler's picture is a deterministic pattern of (seed, batch index, steps,
cfg, sampler, scheduler, prompt, denoise), blended over the base image when denoise < 1, so two
different recipes give two different PNGs and the same recipe the same PNG.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field, replace
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo


@dataclass
class Latent:
    width: int
    height: int
    batch: int
    base: list[Image.Image] | None = None
    recipe: str = ""
    noise_mask: bool = False


@dataclass
class Images:
    frames: list[Image.Image] = field(default_factory=list)


def pattern(key: str, width: int, height: int) -> Image.Image:
    """A cheap deterministic picture for ``key`` (a gradient in two colours from the hash)."""
    h = hashlib.sha256(key.encode("utf-8")).digest()
    small = Image.new("RGB", (4, 4))
    small.putdata([(h[i % 32], h[(i + 7) % 32], h[(i + 13) % 32]) for i in range(16)])
    return small.resize((width, height), Image.Resampling.BILINEAR)


def preview_jpeg(key: str, step: int) -> bytes:
    buf = io.BytesIO()
    pattern(f"{key}/{step}", 64, 64).save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def png_bytes(image: Image.Image, prompt: dict[str, Any] | None, extra_pnginfo: dict[str, Any] | None) -> bytes:
    """PNG with ComfyUI's tEXt chunks: ``prompt`` and one per ``extra_pnginfo`` key (JSON)."""
    info = PngInfo()
    if prompt is not None:
        info.add_text("prompt", json.dumps(prompt))
    for k, v in (extra_pnginfo or {}).items():
        info.add_text(k, json.dumps(v))
    buf = io.BytesIO()
    image.save(buf, format="PNG", pnginfo=info, compress_level=1)
    return buf.getvalue()


def scaled(lat: Latent, width: int, height: int) -> Latent:
    base = [b.resize((width, height)) for b in lat.base] if lat.base else None
    return replace(lat, width=width, height=height, base=base)


def decode(lat: Latent) -> Images:
    frames = []
    for i in range(lat.batch):
        img = pattern(f"{lat.recipe}/{i}", lat.width, lat.height)
        if lat.base:
            base = lat.base[i % len(lat.base)].convert("RGB").resize((lat.width, lat.height))
            strength = float(lat.recipe.rsplit("|", 1)[-1]) if "|" in lat.recipe else 1.0
            img = Image.blend(base, img, max(0.0, min(1.0, strength)))
        frames.append(img)
    return Images(frames)
