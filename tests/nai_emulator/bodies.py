"""Hand-written valid request bodies for transport tests (independent of the project's builder)."""

from __future__ import annotations

import base64
import io
from typing import Any

from PIL import Image

HEAVY_UC = ("nsfw, lowres, artistic error, film grain, scan artifacts, worst quality, bad quality, jpeg artifacts, "
            "very displeasing, chromatic aberration, dithering, halftone, screentone, multiple views, logo, "
            "too many watermarks, negative space, blank page")


def png_b64(width: int, height: int, color: tuple[int, int, int] = (200, 120, 40), mode: str = "RGB") -> str:
    out = io.BytesIO()
    Image.new(mode, (width, height), color if mode != "L" else color[0]).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def v45_body(prompt: str = "1girl, smile", *, width: int = 64, height: int = 64, steps: int = 4,
             seed: int = 1234, n_samples: int = 1, model: str = "nai-diffusion-4-5-full") -> dict[str, Any]:
    """A minimal but complete V4.5 txt2img body, shaped like the website's."""
    text = f"{prompt}, very aesthetic, masterpiece, no text"
    return {
        "input": text,
        "model": model,
        "action": "generate",
        "parameters": {
            "params_version": 3,
            "width": width,
            "height": height,
            "scale": 5,
            "sampler": "k_euler_ancestral",
            "steps": steps,
            "n_samples": n_samples,
            "ucPreset": 0,
            "qualityToggle": True,
            "dynamic_thresholding": False,
            "controlnet_strength": 1,
            "legacy": False,
            "add_original_image": True,
            "cfg_rescale": 0,
            "noise_schedule": "karras",
            "legacy_v3_extend": False,
            "skip_cfg_above_sigma": None,
            "use_coords": False,
            "legacy_uc": False,
            "normalize_reference_strength_multiple": True,
            "seed": seed,
            "characterPrompts": [],
            "v4_prompt": {"caption": {"base_caption": text, "char_captions": []}, "use_coords": False,
                          "use_order": True},
            "v4_negative_prompt": {"caption": {"base_caption": HEAVY_UC, "char_captions": []}, "legacy_uc": False},
            "negative_prompt": HEAVY_UC,
            "deliberate_euler_ancestral_bug": False,
            "prefer_brownian": True,
        },
    }
