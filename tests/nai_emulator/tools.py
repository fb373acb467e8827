"""Emulated Director Tools, upscaler and tag suggestions, written from specs/nai-tools.md alone.

``POST /ai/augment-image`` (ZIP: ``image_0.png``, or ``image_0..2`` for bg-removal),
``POST /ai/upscale`` (ZIP with the 2x ``image_0.png``, the source's text chunks kept) and
``GET /ai/generate-image/suggest-tags`` (JSON ``{"tags": [...]}``, no token needed). Requests are
validated strictly (400 naming the field), billed with the spec's formulas, held to one request
at a time per account (429) and open to the same injected faults as generation.
Shares no code with ``peropix_tui.core.nai``.
"""

from __future__ import annotations

import io
import json
import math
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image, PngImagePlugin

from . import artifacts
from .rules import Rejected, check_headers, decode_b64, decode_image

if TYPE_CHECKING:
    from .server import _Handler

AUGMENT = "/ai/augment-image"
UPSCALE = "/ai/upscale"
SUGGEST = "/ai/generate-image/suggest-tags"
TOOL_PATHS = (AUGMENT, UPSCALE, SUGGEST)

REQ_TYPES = {"bg-removal", "lineart", "sketch", "colorize", "emotion", "declutter", "declutter-keep-bubbles"}
MOODS = set(
    "neutral happy sad angry scared surprised tired excited nervous thinking confused shy disgusted smug bored "
    "laughing irritated aroused embarrassed worried love determined hurt playful".split()
)
AUGMENT_FIELDS = {"req_type", "width", "height", "image", "prompt", "defry", "use_new_shared_trial"}
AUGMENT_MAX = 3_145_728
UPSCALE_MODELS = {"nai-diffusion-5-curated", "nai-diffusion-5-full"}
UPSCALE_MAX = 3_145_728
SIGMAS = (0, 0.3, 0.35, 0.4, 0.45, 0.5)
SUGGEST_MODELS = {
    "nai-diffusion-3", "nai-diffusion-furry-3", "nai-diffusion-4-curated-preview", "nai-diffusion-4-full",
    "nai-diffusion-4-5-curated", "nai-diffusion-4-5-full", "nai-diffusion-5-full", "nai-diffusion-5-curated",
}
VOCABULARY = (
    ("smile", 2_400_000), ("smiling", 12_000), ("small breasts", 900_000), ("short hair", 1_800_000),
    ("shirt", 1_500_000), ("school uniform", 800_000), ("long hair", 3_500_000), ("looking at viewer", 3_000_000),
    ("blue eyes", 1_700_000), ("blush", 2_100_000), ("blonde hair", 1_100_000), ("1girl", 5_000_000),
)
JP = {"smile": "笑顔", "short hair": "ショートヘア", "long hair": "ロングヘア", "blush": "赤面"}


def _bad(message: str) -> Rejected:
    return Rejected(400, f"Validation error: {message}")


def route(handler: _Handler, method: str, headers: dict[str, str]) -> None:
    """Answer one request to a tools path (called by the server's router)."""
    path = urlsplit(handler.path).path
    emu = handler.emulator
    if path == SUGGEST:
        if method != "GET":
            raise Rejected(404, "Not Found")
        if headers.get("authorization"):  # optional here, but a wrong token is still refused
            check_headers(headers, emu.token, post=False)
        elif not headers.get("user-agent"):
            raise Rejected(403, "blocked: send an explicit User-Agent")
        fault = emu.take_fault(SUGGEST)
        if fault is not None and handler._early_fault(fault):
            return
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay)
        _suggest(handler)
        return
    if method != "POST":
        raise Rejected(404, "Not Found")
    raw = handler._read_body(headers)
    check_headers(headers, emu.token, post=True)
    fault = emu.take_fault(path)
    if fault is not None and handler._early_fault(fault):
        return
    body = handler._parse_json(raw)
    if not emu.try_lock():
        raise Rejected(429, "Concurrent generation is locked")
    try:
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.delay)
        if path == AUGMENT:
            files = _augment(emu, body)
        else:
            files = _upscale(emu, body)
        payload = artifacts.make_zip(files)
        if fault is not None and fault.kind == "truncated_zip":
            payload = payload[: len(payload) // 2]
        if fault is not None and fault.kind == "zip_bomb":
            payload = artifacts.zip_bomb()
        handler._send(200, payload, "binary/octet-stream")
    finally:
        emu.unlock()


# ----------------------------------------------------------------------------- augment
def augment_price(req_type: str, width: int, height: int, tier: int, active: bool) -> int:
    area = min(max(width * height, 1_048_576), 3_145_728)
    base = math.ceil(2.951823174884865e-6 * area + 5.753298233447344e-7 * area * 28)
    if req_type == "bg-removal":
        return 3 * base + 5
    if tier >= 3 and active and area <= 1_048_576:
        return 0
    return base


def check_augment(body: Any) -> tuple[str, Image.Image]:
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    extra = set(body) - AUGMENT_FIELDS
    if extra:
        raise _bad(f"unknown field(s) {sorted(extra)}")
    req = body.get("req_type")
    if req not in REQ_TYPES:
        raise _bad(f"req_type {req!r} is not one of {sorted(REQ_TYPES)}")
    for name in ("width", "height"):
        v = body.get(name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise _bad(f"{name} must be a positive integer")
    width, height = body["width"], body["height"]
    if width * height > AUGMENT_MAX:
        raise _bad(f"image is {width}x{height}, over {AUGMENT_MAX} pixels")
    image = body.get("image")
    if isinstance(image, str) and image.startswith("data:"):
        raise _bad("image must be bare base64, not a data: URL")
    data = decode_b64(image, "image")
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise _bad("image must be a PNG")
    img = decode_image(image, "image")
    if img.size != (width, height):
        raise _bad(f"image is {img.size[0]}x{img.size[1]} but width/height say {width}x{height}")
    if "use_new_shared_trial" in body and not isinstance(body["use_new_shared_trial"], bool):
        raise _bad("use_new_shared_trial must be a boolean")
    _check_prompt_and_defry(req, body)
    return req, img


def _check_prompt_and_defry(req: str, body: dict[str, Any]) -> None:
    prompt, defry = body.get("prompt"), body.get("defry")
    if req in ("emotion", "colorize"):
        if defry is not None and (isinstance(defry, bool) or not isinstance(defry, int) or not 0 <= defry <= 5):
            raise _bad("defry must be an integer 0..5")
    elif defry is not None:
        raise _bad(f"defry is only for colorize and emotion, not {req}")
    if req == "emotion":
        if not isinstance(prompt, str) or ";;" not in prompt:
            raise _bad('emotion needs prompt "<mood>;;<extra>"')
        mood = prompt.split(";;", 1)[0]
        if mood not in MOODS:
            raise _bad(f"emotion mood {mood!r} is not one of the 24 moods")
    elif req == "colorize":
        if prompt is not None and not isinstance(prompt, str):
            raise _bad("prompt must be a string")
    elif prompt is not None:
        raise _bad(f"prompt is only for colorize and emotion, not {req}")


def _png(img: Image.Image, text: dict[str, str]) -> bytes:
    info = PngImagePlugin.PngInfo()
    for k, v in text.items():
        info.add_text(k, v)
    out = io.BytesIO()
    img.save(out, "PNG", pnginfo=info, compress_level=1)
    return out.getvalue()


def _augment(emu: Any, body: Any) -> list[tuple[str, bytes]]:
    req, img = check_augment(body)
    acc = emu.account
    if not acc.charge(augment_price(req, img.width, img.height, acc.tier, acc.active)):
        raise Rejected(402, "Not enough Anlas")
    rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    text = {"Software": "NovelAI", "Comment": req}
    if req != "bg-removal":
        out = Image.fromarray(255 - rgb if req != "colorize" else rgb[:, :, ::-1].copy(), "RGB")
        return [("image_0.png", _png(out, text))]
    alpha = np.where(np.arange(img.width)[None, :] < img.width // 2, 255, 0).astype(np.uint8)
    alpha = np.broadcast_to(alpha, rgb.shape[:2])
    masked = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    generated = Image.fromarray(np.dstack([255 - rgb, alpha]), "RGBA")
    blend = Image.fromarray(np.dstack([rgb // 2 + 64, alpha]), "RGBA")
    return [(f"image_{i}.png", _png(im, text)) for i, im in enumerate((masked, generated, blend))]


# ----------------------------------------------------------------------------- upscale
def upscale_price(width: int, height: int) -> int:
    pixels = width * height
    for limit, price in ((1_048_576, 1), (1_747_627, 2), (2_446_678, 3), (3_145_728, 4)):
        if pixels <= limit:
            return price
    raise _bad(f"image is too large to upscale: {pixels} pixels, maximum is 3145728")


def check_upscale(body: Any) -> Image.Image:
    if not isinstance(body, dict):
        raise _bad("body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _bad("model  doesn't exist")
    if set(body) - {"image", "model", "declared_blur_sigma"}:
        raise _bad(f"unknown field(s) {sorted(set(body) - {'image', 'model', 'declared_blur_sigma'})}")
    if model not in UPSCALE_MODELS:
        raise _bad(f"model {model} doesn't support standalone upscaling")
    sigma = body.get("declared_blur_sigma", 0)
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not any(abs(sigma - s) < 1e-9 for s in SIGMAS):
        raise _bad("declared_blur_sigma must be one of 0, 0.3, 0.35, 0.4, 0.45, 0.5")
    img = decode_image(body.get("image"), "image")
    if img.width * img.height > UPSCALE_MAX:
        raise _bad(f"image is too large to upscale: {img.width * img.height} pixels, maximum is {UPSCALE_MAX}")
    return img


def _upscale(emu: Any, body: Any) -> list[tuple[str, bytes]]:
    img = check_upscale(body)
    if not emu.account.charge(upscale_price(img.width, img.height)):
        raise Rejected(402, "Not enough Anlas")
    text = {k: v for k, v in getattr(img, "text", {}).items() if isinstance(v, str)}
    big = img.resize((img.width * 2, img.height * 2), Image.Resampling.NEAREST)
    return [("image_0.png", _png(big, text))]


# ------------------------------------------------------------------------ suggest-tags
def _suggest(handler: _Handler) -> None:
    query = parse_qs(urlsplit(handler.path).query, keep_blank_values=True)
    model = (query.get("model") or [""])[0]
    prompt = query.get("prompt")
    lang = (query.get("lang") or ["en"])[0]
    handler.rec.body = {"model": model, "prompt": prompt[0] if prompt else None, "lang": lang}
    if not model or model not in SUGGEST_MODELS:
        raise Rejected(400, "Model not found")
    if prompt is None:
        raise _bad("prompt is required")
    if lang not in ("en", "jp"):
        raise _bad("lang must be en or jp")
    last = prompt[0].split(",")[-1].strip().lower()
    tags = []
    for tag, count in VOCABULARY:
        if last and tag.startswith(last):
            shown = JP.get(tag, tag) if lang == "jp" else tag
            tags.append({"tag": shown, "count": count, "confidence": 0 if count < 20_000 else round(count / 5e6, 4)})
    handler._send(200, json.dumps({"tags": tags}).encode(), "application/json")
