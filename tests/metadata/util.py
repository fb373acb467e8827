"""Builders for the metadata tests: small images, PNG bytes, settings with every group filled."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from peropix_tui.core.metadata import png
from peropix_tui.core.settings import CharacterPrompt, GenerationSettings, LoraSpec, VibeReference

FIXTURE_IMAGES = ("fixtures", "nai", "images")


def fixture(shared_dir: Path, name: str) -> Path:
    return shared_dir.joinpath(*FIXTURE_IMAGES, name)


def noise_image(w: int = 64, h: int = 48, mode: str = "RGBA", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = len(mode)
    arr = rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)
    if mode == "RGBA":
        arr[:, :, 3] = 255
    return Image.fromarray(arr.squeeze() if channels == 1 else arr)


def png_bytes(image: Image.Image, text: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return png.set_text(buf.getvalue(), text or {})


def strip_text(data: bytes) -> bytes:
    """The PNG without any text chunk (what an image host that strips metadata leaves)."""
    chunks = [c.encode() for c in png.iter_chunks(data) if c.type not in png.TEXT_TYPES]
    return png.SIGNATURE + b"".join(chunks)


def nai_settings(**changes: Any) -> GenerationSettings:
    s = GenerationSettings(
        provider="nai",
        model="nai-diffusion-4-5-full",
        prompt="1girl, silver hair, smile",
        uc="bad hands, extra fingers",
        uc_preset="light",
        quality=True,
        characters=[
            CharacterPrompt(prompt="girl, red dress", uc="lowres", position="B2"),
            CharacterPrompt(prompt="boy, suit", uc="", position="D4"),
        ],
        width=832,
        height=1216,
        steps=23,
        scale=5.5,
        cfg_rescale=0.2,
        sampler="k_dpmpp_2m",
        noise_schedule="exponential",
        seed=123456789,
        n_samples=1,
        variety=True,
    )
    return s.copy(**changes)


def local_settings(**changes: Any) -> GenerationSettings:
    s = GenerationSettings(
        provider="local",
        model="noobai-vpred-1.0",
        prompt="1girl, 日本語, masterpiece",
        uc="worst quality",
        uc_preset="none",
        quality=False,
        width=1024,
        height=1024,
        steps=30,
        scale=4.5,
        cfg_rescale=0.7,
        sampler="k_euler_ancestral",
        noise_schedule="karras",
        seed=42,
        checkpoint="/models/noobai-vpred-1.0.safetensors",
        vae="/models/sdxl_vae.safetensors",
        loras=[LoraSpec(path="/loras/detail.safetensors", weight=0.8), LoraSpec(path="/loras/style.safetensors", weight=-0.3)],
        prediction="v-zsnr",
        hires_scale=1.5,
        hires_denoise=0.45,
    )
    return s.copy(**changes)


def vibe(info: float, strength: float, encoding: str | None = None, sha: str | None = None) -> VibeReference:
    return VibeReference(information_extracted=info, strength=strength, encoding=encoding, image_sha256=sha)


def comparable(s: GenerationSettings, *names: str) -> dict[str, Any]:
    d = s.to_dict()
    return {k: d[k] for k in names} if names else d


def dumps(obj: Any) -> str:
    return json.dumps(obj)
