"""What the emulator sends back: NovelAI-format PNGs, JPEG previews, ZIPs, msgpack frames, vibes.

Pixels are cheap (a gradient that depends on the seed); the metadata chunks are written the way
NovelAI writes them (specs/nai-api.md §11 and the real PNGs in shared/fixtures/nai/images/).
"""

from __future__ import annotations

import base64
import functools
import gzip
import io
import json
import os
import struct
import zipfile
from typing import Any

import msgpack
import numpy as np
from PIL import Image, PngImagePlugin

from .rules import VIBE_MAGIC

SOURCES = {
    "nai-diffusion-3": "Stable Diffusion XL C1E1DE52",
    "nai-diffusion-furry-3": "Stable Diffusion XL 9CC2F394",
    "nai-diffusion-4-curated-preview": "NovelAI Diffusion V4 7ABFFA2A",
    "nai-diffusion-4-full": "NovelAI Diffusion V4 37442FCA",
    "nai-diffusion-4-5-curated": "NovelAI Diffusion V4.5 C02D4F98",
    "nai-diffusion-4-5-full": "NovelAI Diffusion V4.5 B9F340FD",
    "nai-diffusion-5-full": "NovelAI Diffusion V5 0ADF9AB7",
    "nai-diffusion-5-curated": "NovelAI Diffusion V5 DB276663",
}
COMMENT_KEYS = (
    "steps", "height", "width", "scale", "uncond_scale", "cfg_rescale", "seed", "n_samples", "noise_schedule",
    "legacy_v3_extend", "reference_information_extracted_multiple", "reference_strength_multiple", "sampler",
    "controlnet_strength", "dynamic_thresholding", "sm", "sm_dyn", "skip_cfg_above_sigma",
    "deliberate_euler_ancestral_bug", "prefer_brownian", "strength", "noise", "extra_noise_seed",
    "v4_prompt", "v4_negative_prompt",
)


def _pixels(width: int, height: int, seed: int, alpha: bool) -> np.ndarray:
    """A seed-dependent gradient: cheap to make, different per seed."""
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    r = (x + seed) % 256
    g = (y + (seed >> 8)) % 256
    b = np.full((height, width), seed % 251, dtype=np.float32)
    chans = [np.broadcast_to(c, (height, width)) for c in (r, g, b)]
    if alpha:
        chans.append(np.full((height, width), 255, dtype=np.float32))
    return np.stack(chans, axis=-1).astype(np.uint8)


def embed_stealth(rgba: np.ndarray, info: dict[str, str]) -> None:
    """Write NovelAI's stealth metadata into the alpha LSBs, in place (spec §11.2).

    Column-major (x outer, y inner), MSB first: ``stealth_pngcomp``, a 32-bit big-endian bit
    count, then gzip(JSON of the text chunks without Title). Payload pixels get alpha 0xFE|bit.
    Images too small to hold the payload get none (the text chunks still carry it).
    """
    payload = gzip.compress(json.dumps({k: v for k, v in info.items() if k != "Title"}).encode())
    data = b"stealth_pngcomp" + struct.pack(">I", len(payload) * 8) + payload
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    alpha = rgba[:, :, 3].T.copy()  # rows of the transpose are image columns
    flat = alpha.reshape(-1)
    if bits.size > flat.size:
        return
    flat[: bits.size] = 0xFE | bits
    rgba[:, :, 3] = alpha.T


def comment_json(body: dict[str, Any], seed: int) -> str:
    params = body["parameters"]
    comment: dict[str, Any] = {"prompt": body["input"]}
    for key in COMMENT_KEYS:
        if key in params:
            comment[key] = params[key]
    comment["seed"] = seed
    comment["uncond_scale"] = params.get("uncond_scale", 1.0)
    comment["uc"] = params.get("negative_prompt", "")
    comment["request_type"] = {"img2img": "Img2ImgRequest", "infill": "Img2ImgRequest"}.get(
        body["action"], "PromptGenerateRequest")
    comment["signed_hash"] = base64.b64encode(os.urandom(64)).decode()
    return json.dumps(comment)


def novelai_image(body: dict[str, Any], index: int, seconds: float) -> tuple[bytes, str]:
    """One finished image as NovelAI sends it: RGBA PNG (or lossless WebP) with its text chunks."""
    params = body["parameters"]
    seed = params["seed"] + index
    pixels = _pixels(params["width"], params["height"], seed, alpha=True)
    info = {
        "Title": "AI generated image",
        "Description": body["input"],
        "Software": "NovelAI",
        "Source": SOURCES.get(body["model"].replace("-inpainting", ""), "NovelAI Diffusion 00000000"),
        "Generation time": repr(seconds),
        "Comment": comment_json(body, seed),
    }
    embed_stealth(pixels, info)
    img = Image.fromarray(pixels, "RGBA")
    out = io.BytesIO()
    if params.get("image_format") == "webp":
        exif = Image.Exif()
        exif[0x9286] = info["Comment"]
        img.save(out, "WEBP", lossless=True, exif=exif)
        return out.getvalue(), "webp"
    png = PngImagePlugin.PngInfo()
    for k, v in info.items():
        png.add_text(k, v)
    img.save(out, "PNG", pnginfo=png, compress_level=1)
    return out.getvalue(), "png"


def preview_jpeg(width: int, height: int, seed: int, step: int) -> bytes:
    """An intermediate frame: a small JPEG (1/8 size), as NovelAI streams previews."""
    w, h = max(8, width // 8), max(8, height // 8)
    img = Image.fromarray(_pixels(w, h, seed + step, alpha=False), "RGB")
    out = io.BytesIO()
    img.save(out, "JPEG", quality=70)
    return out.getvalue()


def make_zip(files: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            zf.writestr(name, data)
    return out.getvalue()


@functools.cache
def zip_bomb() -> bytes:
    """A small ZIP that inflates to 64 MB of zeros (ratio ~1000)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("image_0.png", "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(64):
                f.write(chunk)
    return out.getvalue()


def frame(payload: dict[str, Any]) -> bytes:
    """One msgpack stream frame: 4-byte big-endian length, then the msgpack map."""
    packed = msgpack.packb(payload, use_bin_type=True)
    return struct.pack(">I", len(packed)) + packed


def vibe_encoding(family: str) -> bytes:
    """An opaque vibe encoding; like the real one, not deterministic (random tail)."""
    return VIBE_MAGIC + family.encode() + b"\0" + os.urandom(256)
