"""Stealth alpha LSB: bit order, both modes, and damaged payloads."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pytest
from PIL import Image

from peropix_tui.core.metadata import NoMetadataError, read_metadata
from peropix_tui.core.metadata.stealth import StealthError, read_stealth, write_stealth

from .util import local_settings, noise_image, png_bytes


def _bits_by_hand(image: Image.Image, count: int) -> list[int]:
    """Alpha LSBs read the slow, obvious way: x outer, y inner."""
    alpha = image.getchannel("A")
    w, h = image.size
    return [alpha.getpixel((x, y)) & 1 for x in range(w) for y in range(h)][:count]  # type: ignore[operator]


def _bytes_msb_first(bits: list[int]) -> bytes:
    return bytes(sum(b << (7 - i) for i, b in enumerate(bits[k : k + 8])) for k in range(0, len(bits), 8))


@pytest.mark.parametrize("compressed", [True, False])
def test_layout_is_column_major_msb_first(compressed: bool) -> None:
    payload = b'{"Comment": "{\\"prompt\\": \\"x\\"}"}'
    img = write_stealth(noise_image(40, 30), payload, compressed=compressed)
    head = _bytes_msb_first(_bits_by_hand(img, 19 * 8))
    assert head[:15] == (b"stealth_pngcomp" if compressed else b"stealth_pnginfo")
    nbits = int.from_bytes(head[15:19], "big")
    body = _bytes_msb_first(_bits_by_hand(img, 19 * 8 + nbits))[19:]
    assert (gzip.decompress(body) if compressed else body) == payload
    assert read_stealth(img) == ("pngcomp" if compressed else "pnginfo", payload)


def test_only_alpha_lsbs_change() -> None:
    src = noise_image(40, 30)
    out = write_stealth(src, b"hello", compressed=False)
    a, b = np.asarray(src), np.asarray(out)
    assert np.array_equal(a[:, :, :3], b[:, :, :3])
    assert np.all((a[:, :, 3] ^ b[:, :, 3]) <= 1)


def _stealth_png(payload: bytes, *, compressed: bool, size: tuple[int, int] = (64, 64)) -> bytes:
    return png_bytes(write_stealth(noise_image(*size), payload, compressed=compressed))


@pytest.mark.parametrize("compressed", [True, False])
def test_both_modes_read_as_novelai_stealth(compressed: bool) -> None:
    comment = {"prompt": "cat", "uc": "dog", "seed": 5, "steps": 12, "width": 64, "height": 64, "sampler": "k_euler",
               "noise_schedule": "karras", "scale": 6.0}
    payload = json.dumps({"Software": "NovelAI", "Source": "NovelAI Diffusion V4.5 B9F340FD", "Comment": json.dumps(comment)})
    r = read_metadata(_stealth_png(payload.encode(), compressed=compressed, size=(96, 96)))
    assert r.dialect == "novelai-stealth"
    assert r.raw["stealth"]["mode"] == ("pngcomp" if compressed else "pnginfo")
    assert (r.settings.model, r.settings.prompt, r.settings.seed, r.settings.steps) == ("nai-diffusion-4-5-full", "cat", 5, 12)


def test_plain_mode_with_a1111_parameters() -> None:
    text = "a cat\nNegative prompt: a dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 11, Size: 64x64"
    r = read_metadata(_stealth_png(text.encode(), compressed=False))
    assert r.dialect == "a1111" and r.raw["stealth"]["mode"] == "pnginfo"
    assert (r.settings.prompt, r.settings.uc, r.settings.seed, r.settings.sampler) == ("a cat", "a dog", 11, "k_euler_ancestral")


def _with_header(magic: bytes, nbits: int, body: bytes, size: tuple[int, int] = (32, 32)) -> Image.Image:
    bits = np.unpackbits(np.frombuffer(magic + nbits.to_bytes(4, "big") + body, dtype=np.uint8))
    w, h = size
    alpha = np.full(w * h, 0xFF, dtype=np.uint8)
    alpha[: bits.size] = 0xFE | bits
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[:, :, 3] = alpha.reshape(w, h).T
    return Image.fromarray(rgba)


@pytest.mark.parametrize(
    ("nbits", "why"),
    [(10**6, "exceeds what the image holds"), (13, "not a whole number of bytes"), (0, "neither JSON nor A1111")],
)
def test_wrong_stealth_length(nbits: int, why: str) -> None:
    data = png_bytes(_with_header(b"stealth_pnginfo", nbits, b"{}"))
    with pytest.raises(NoMetadataError, match=why):
        read_metadata(data)


def test_bad_gzip_payload() -> None:
    data = png_bytes(_with_header(b"stealth_pngcomp", 8 * 12, b"not gzip at all"[:12]))
    with pytest.raises(NoMetadataError, match="bad compressed data"):
        read_metadata(data)


def test_gzip_bomb_is_refused_quickly() -> None:
    bomb = gzip.compress(b"\x00" * (17 * 1024 * 1024), compresslevel=9)
    side = int((len(bomb) * 8 + 200) ** 0.5) + 2
    img = _with_header(b"stealth_pngcomp", 8 * len(bomb), bomb, size=(side, side))
    with pytest.raises(NoMetadataError, match="decompression bomb"):
        read_metadata(png_bytes(img))


def test_alpha_less_and_magic_less_images_say_why() -> None:
    with pytest.raises(NoMetadataError, match="has no alpha channel"):
        read_metadata(png_bytes(noise_image(mode="RGB")))
    with pytest.raises(NoMetadataError, match="no stealth magic"):
        read_metadata(png_bytes(noise_image()))
    with pytest.raises(StealthError, match="too few"):
        read_stealth(noise_image(4, 4))


def test_write_refuses_when_the_image_is_too_small() -> None:
    with pytest.raises(StealthError, match="pixels"):
        write_stealth(noise_image(8, 8), b"x" * 100, compressed=False)


def test_lossless_webp_keeps_stealth_data() -> None:
    s = local_settings()
    payload = json.dumps({"Comment": json.dumps({"prompt": s.prompt, "seed": 9, "peropix": {"provider": "local"}})})
    img = write_stealth(noise_image(96, 96), payload.encode())
    buf = io.BytesIO()
    img.save(buf, format="WEBP", lossless=True)
    r = read_metadata(buf.getvalue())
    assert r.dialect == "novelai-stealth" and r.settings.prompt == s.prompt and r.settings.seed == 9


def _write_rgb_stealth(image: Image.Image, payload: bytes, compressed: bool) -> Image.Image:
    """The RGB variant, written here from the layout: magic, 32-bit bit count, payload in R, G, B LSBs, column-major."""
    body = gzip.compress(payload, mtime=0) if compressed else payload
    data = (b"stealth_rgbcomp" if compressed else b"stealth_rgbinfo") + (8 * len(body)).to_bytes(4, "big") + body
    bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    rgb = np.array(image.convert("RGB"), dtype=np.uint8)
    h, w = rgb.shape[:2]
    flat = rgb.transpose(1, 0, 2).copy().reshape(-1)
    flat[: bits.size] = (flat[: bits.size] & 0xFE) | bits
    return Image.fromarray(flat.reshape(w, h, 3).transpose(1, 0, 2).copy())


@pytest.mark.parametrize("compressed", [True, False])
def test_rgb_stealth_with_a1111_parameters(compressed: bool) -> None:
    text = "cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 64x64"
    image = _write_rgb_stealth(noise_image(64, 64, mode="RGB"), text.encode(), compressed)
    r = read_metadata(png_bytes(image))
    assert (r.dialect, r.settings.prompt, r.settings.uc, r.settings.seed) == ("a1111", "cat", "dog", 5)
    assert r.raw["stealth"]["mode"] == ("rgbcomp" if compressed else "rgbinfo")
