"""Pixels ↔ SDXL latents: VAE encode/decode with the scale factor, the fp16/NaN rule, tiled decode
on out-of-memory, mask resizing and a cheap latent → RGB preview for progress reports.

Sampling space is ``vae_latent · 0.13025``; pixels are [-1, 1] inside, PIL images outside.
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

SCALE_FACTOR = 0.13025

# Linear SDXL latent → RGB approximation (published preview factors), applied to the scaled latent.
LATENT_RGB = torch.tensor([
    [0.3651, 0.4232, 0.4341],
    [-0.2533, -0.0042, 0.1068],
    [0.1076, 0.1111, -0.0362],
    [-0.3165, -0.2492, -0.2188],
])
LATENT_RGB_BIAS = torch.tensor([0.1084, -0.0175, -0.0011])


def image_to_tensor(image: Image.Image, width: int, height: int) -> Tensor:
    """PIL → [1, 3, H, W] in [-1, 1], resized (Lanczos) to ``width`` × ``height``."""
    rgb = image.convert("RGB")
    if rgb.size != (width, height):
        rgb = rgb.resize((width, height), Image.Resampling.LANCZOS)
    arr = torch.from_numpy(np.asarray(rgb, dtype=np.float32) / 255.0)
    return arr.permute(2, 0, 1)[None] * 2.0 - 1.0


def tensor_to_images(pixels: Tensor) -> list[Image.Image]:
    """[B, 3, H, W] in [-1, 1] → PIL RGB images (clamped, rounded)."""
    arr = ((pixels.float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return [Image.fromarray(a.permute(1, 2, 0).cpu().numpy(), "RGB") for a in arr]


def mask_to_tensor(mask: Image.Image, width: int, height: int) -> Tensor:
    """Mask image (white = repaint) → [1, 1, H, W] in [0, 1]; alpha is used when it carries the mask."""
    if mask.mode in ("RGBA", "LA") and mask.getchannel("A").getextrema() != (255, 255):
        gray = mask.getchannel("A")
    else:
        gray = mask.convert("L")
    if gray.size != (width, height):
        gray = gray.resize((width, height), Image.Resampling.BILINEAR)
    return torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255.0)[None, None]


def to_latent_size(mask: Tensor, latent_hw: tuple[int, int]) -> Tensor:
    """Pixel mask [1, 1, H, W] → latent resolution (bilinear, as ComfyUI's noise mask)."""
    return F.interpolate(mask, size=latent_hw, mode="bilinear", align_corners=False).clamp(0, 1)


@torch.inference_mode()
def encode(vae: nn.Module, pixels: Tensor) -> Tensor:
    """[-1, 1] pixels → scaled latent (float32) on the VAE's device."""
    device = next(vae.parameters()).device
    result: Tensor = vae.encode(pixels.to(device)).float() * SCALE_FACTOR  # type: ignore[operator]
    return result


@torch.inference_mode()
def decode(vae: nn.Module, latent: Tensor, *, tile: int | None = None) -> Tensor:
    """Scaled latent → [-1, 1] pixels (float32).

    Decodes in the VAE's dtype; a NaN/inf result (the fp16 overflow of the SDXL VAE) is retried
    in float32, and the VAE stays in float32 afterwards. Out of memory → tiled decode.
    """
    z = latent / SCALE_FACTOR
    try:
        out = _decode_any(vae, z, tile)
    except torch.OutOfMemoryError:
        _free_cuda()
        out = _decode_any(vae, z, tile or min(64, max(8, max(z.shape[-2:]) // 2)))
    if not torch.isfinite(out).all() and next(vae.parameters()).dtype != torch.float32:
        with torch.inference_mode(False):  # the converted weights must stay normal tensors
            vae.to(torch.float32)
        out = _decode_any(vae, z, tile)
    return out


def _decode_any(vae: nn.Module, z: Tensor, tile: int | None) -> Tensor:
    device = next(vae.parameters()).device
    z = z.to(device)
    if tile is not None and max(z.shape[-2:]) > tile:
        return decode_tiled(vae, z, tile)
    return vae.decode(z).float()  # type: ignore[operator,no-any-return]


def decode_tiled(vae: nn.Module, z: Tensor, tile: int = 64, overlap: int = 16) -> Tensor:
    """Decode latent tiles of ``tile``² with ``overlap`` and blend them with linear ramps."""
    b, _, h, w = z.shape
    up = None
    acc = weight = None
    overlap = min(overlap, tile // 4)
    step = tile - overlap
    for y0 in _starts(h, tile, step):
        for x0 in _starts(w, tile, step):
            part = vae.decode(z[:, :, y0 : y0 + tile, x0 : x0 + tile]).float()  # type: ignore[operator]
            if up is None:
                up = part.shape[-1] // min(tile, w)
                acc = part.new_zeros(b, part.shape[1], h * up, w * up)
                weight = part.new_zeros(1, 1, h * up, w * up)
            ramp = _ramp(part.shape[-2], part.shape[-1], overlap * up, part.device)
            ys, xs = slice(y0 * up, y0 * up + part.shape[-2]), slice(x0 * up, x0 * up + part.shape[-1])
            acc[:, :, ys, xs] += part * ramp  # type: ignore[index]
            weight[:, :, ys, xs] += ramp  # type: ignore[index]
    assert acc is not None and weight is not None
    result: Tensor = acc / weight
    return result


def _starts(size: int, tile: int, step: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, step))
    return [*starts, size - tile]


def _ramp(h: int, w: int, fade: int, device: torch.device) -> Tensor:
    """Blend weights: 1 inside, rising linearly over ``fade`` pixels at every edge (never 0)."""
    def axis(n: int) -> Tensor:
        i = torch.arange(n, device=device, dtype=torch.float32)
        edge = torch.minimum(i + 1, n - i)
        return (edge / max(1, fade)).clamp(max=1.0)

    return (axis(h)[:, None] * axis(w)[None, :])[None, None]


def preview_jpeg(x0: Tensor, max_side: int = 192, quality: int = 70) -> bytes:
    """Cheap preview of a scaled latent [B, 4, h, w] (first image): linear RGB map, small JPEG."""
    lat = x0[0].float().cpu()
    if lat.shape[0] != LATENT_RGB.shape[0]:
        lat = lat[: LATENT_RGB.shape[0]]
    rgb = torch.einsum("chw,cr->rhw", lat, LATENT_RGB) + LATENT_RGB_BIAS[:, None, None]
    arr = ((rgb.clamp(-1, 1) + 1) * 127.5).to(torch.uint8).permute(1, 2, 0).numpy()
    img = Image.fromarray(arr, "RGB")
    img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _free_cuda() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
