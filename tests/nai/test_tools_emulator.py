"""The emulator's tools endpoints refuse what the spec says NovelAI refuses (raw HTTP, no project code)."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.nai_emulator.server import NaiEmulator


def png_b64(w: int, h: int) -> str:
    out = io.BytesIO()
    Image.new("RGB", (w, h), (1, 2, 3)).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


IMG = png_b64(64, 64)


def post(emu: NaiEmulator, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(emu.url + path, json=body, timeout=30,
                      headers={"Authorization": f"Bearer {emu.token}", "User-Agent": "test/1"})


def augment(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"req_type": "lineart", "width": 64, "height": 64, "image": IMG,
                            "use_new_shared_trial": True}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(("body", "message"), [
    (augment(req_type="upscale"), "req_type 'upscale'"),
    (augment(width=65), "width/height say 65x64"),
    (augment(defry=1), "defry is only for colorize and emotion"),
    (augment(prompt="x"), "prompt is only for colorize and emotion"),
    (augment(req_type="emotion", prompt="happy"), "<mood>;;<extra>"),
    (augment(req_type="emotion", prompt="grumpy;;"), "not one of the 24 moods"),
    (augment(req_type="emotion", prompt="happy;;", defry=6), "defry must be an integer 0..5"),
    (augment(image="data:image/png;base64," + IMG), "bare base64"),
    (augment(extra=1), "unknown field"),
])
def test_augment_validation(nai_emulator: NaiEmulator, body: dict[str, Any], message: str) -> None:
    r = post(nai_emulator, "/ai/augment-image", body)
    assert r.status_code == 400 and message in r.json()["message"]


def test_augment_accepts_a_valid_emotion(nai_emulator: NaiEmulator) -> None:
    r = post(nai_emulator, "/ai/augment-image", augment(req_type="emotion", prompt="love;;", defry=0))
    assert r.status_code == 200 and r.content.startswith(b"PK")


@pytest.mark.parametrize(("body", "message"), [
    ({"image": IMG, "width": 64, "height": 64, "scale": 4}, "model  doesn't exist"),
    ({"image": IMG, "model": "nai-diffusion-4-5-full", "declared_blur_sigma": 0}, "doesn't support standalone"),
    ({"image": IMG, "model": "nai-diffusion-5-full", "declared_blur_sigma": 0.33}, "declared_blur_sigma"),
    ({"image": png_b64(2048, 1976), "model": "nai-diffusion-5-full"},
     "image is too large to upscale: 4046848 pixels, maximum is 3145728"),
])
def test_upscale_validation(nai_emulator: NaiEmulator, body: dict[str, Any], message: str) -> None:
    r = post(nai_emulator, "/ai/upscale", body)
    assert r.status_code == 400 and message in r.json()["message"]


def test_suggest_tags_rules(nai_emulator: NaiEmulator) -> None:
    base = nai_emulator.url + "/ai/generate-image/suggest-tags"
    ua = {"User-Agent": "test/1"}
    assert httpx.get(base, params={"model": "x", "prompt": "a"}, headers=ua).json()["message"] == "Model not found"
    assert httpx.get(base, params={"model": "nai-diffusion-3"}, headers=ua).status_code == 400
    assert httpx.get(base, params={"model": "nai-diffusion-3", "prompt": "a", "lang": "de"}, headers=ua).status_code == 400
    bad = {**ua, "Authorization": "Bearer wrong"}
    assert httpx.get(base, params={"model": "nai-diffusion-3", "prompt": "a"}, headers=bad).status_code == 401


def test_tools_share_the_account_lock_with_generation(nai_emulator: NaiEmulator) -> None:
    nai_emulator.occupy(600)
    r = post(nai_emulator, "/ai/augment-image", augment())
    assert r.status_code == 429 and r.json()["message"] == "Concurrent generation is locked"
