"""The emulator itself: it must refuse what NovelAI refuses, or the transport tests prove nothing."""

from __future__ import annotations

import base64
import copy
import io
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.nai_emulator import ENCODE, GENERATE, STREAM, SUBSCRIPTION, NaiEmulator
from tests.nai_emulator.artifacts import vibe_encoding
from tests.nai_emulator.bodies import png_b64, v45_body

Mutation = Callable[[dict[str, Any]], None]


def post(emu: NaiEmulator, body: Any, path: str = GENERATE, **headers: str) -> httpx.Response:
    h = {"Authorization": f"Bearer {emu.token}", "User-Agent": "test/1", **headers}
    return httpx.post(emu.url + path, json=body, headers=h, timeout=10)


def p(key: str, value: Any) -> Mutation:
    return lambda b: b["parameters"].__setitem__(key, value)


def drop(key: str) -> Mutation:
    return lambda b: b["parameters"].pop(key)


def chars(n: int, neg: int | None = None) -> Mutation:
    def mutate(b: dict[str, Any]) -> None:
        cap = [{"char_caption": f"c{i}", "centers": [{"x": 0, "y": 0}]} for i in range(n)]
        b["parameters"]["v4_prompt"]["caption"]["char_captions"] = cap
        b["parameters"]["v4_negative_prompt"]["caption"]["char_captions"] = copy.deepcopy(cap[: n if neg is None else neg])
        b["parameters"]["characterPrompts"] = [{"prompt": f"c{i}", "uc": "", "center": {"x": 0, "y": 0},
                                               "enabled": True} for i in range(n)]
    return mutate


def vibes(encodings: list[str], infos: list[float], strengths: list[float]) -> Mutation:
    def mutate(b: dict[str, Any]) -> None:
        b["parameters"].update(reference_image_multiple=encodings, reference_information_extracted_multiple=infos,
                               reference_strength_multiple=strengths)
    return mutate


def model(name: str, **params: Any) -> Mutation:
    def mutate(b: dict[str, Any]) -> None:
        b["model"] = name
        b["parameters"].update(params)
    return mutate


def seq(*ms: Mutation) -> Mutation:
    return lambda b: [m(b) for m in ms] and None


def infill(mask: str, size: tuple[int, int] = (64, 64)) -> Mutation:
    return seq(model("nai-diffusion-4-5-full-inpainting"), lambda b: b.__setitem__("action", "infill"),
               p("image", png_b64(*size)), p("mask", mask), p("strength", 0.7), p("noise", 0))


def _jpeg_b64(size: tuple[int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", size).save(out, "JPEG", quality=95)
    return base64.b64encode(out.getvalue()).decode()


def charref(size: tuple[int, int]) -> Mutation:
    return lambda b: b["parameters"].update(
        director_reference_images=[_jpeg_b64(size)], director_reference_information_extracted=[1],
        director_reference_strength_values=[1], director_reference_secondary_strength_values=[0],
        director_reference_descriptions=[{"caption": {"base_caption": "character", "char_captions": []},
                                          "legacy_uc": False}])


ENC45 = base64.b64encode(vibe_encoding("v4.5-full")).decode()
ENC4 = base64.b64encode(vibe_encoding("v4-full")).decode()
GREY_MASK = png_b64(64, 64, (128, 128, 128), mode="L")
WHITE_MASK = png_b64(64, 64, (255, 255, 255), mode="L")

REJECTED: list[tuple[str, Mutation, int, str]] = [
    ("unknown model", model("nai-diffusion-9"), 400, "unknown model"),
    ("generate on inpaint model", model("nai-diffusion-4-5-full-inpainting"), 400, "only be used with action infill"),
    ("params_version 2 on V4.5", p("params_version", 2), 400, "params_version"),
    ("params_version 3 on V5", model("nai-diffusion-5-full"), 400, "params_version"),
    ("width not multiple of 64", p("width", 100), 400, "width=100"),
    ("area too large", seq(p("width", 2048), p("height", 2048)), 400, "exceeds"),
    ("steps over 50", p("steps", 51), 400, "steps=51"),
    ("steps as text", p("steps", "28"), 400, "steps"),
    ("scale over 10", p("scale", 11), 400, "scale"),
    ("n_samples 9", p("n_samples", 9), 400, "n_samples"),
    ("negative seed", p("seed", -1), 400, "seed"),
    ("boolean as text", p("qualityToggle", "true"), 400, "qualityToggle"),
    ("sampler not on V4.5", p("sampler", "k_lms"), 400, "sampler"),
    ("native schedule on V4.5", p("noise_schedule", "native"), 400, "noise_schedule"),
    ("exponential on V5", model("nai-diffusion-5-full", params_version=4, noise_schedule="exponential"), 400,
     "noise_schedule"),
    ("missing negative_prompt", drop("negative_prompt"), 400, "negative_prompt"),
    ("missing v4_prompt", drop("v4_prompt"), 400, "v4_prompt"),
    ("base_caption differs from input", lambda b: b.__setitem__("input", "other"), 400, "base_caption must equal"),
    ("negative captions missing", chars(2, neg=1), 400, "one char_caption per character"),
    ("seven characters on V4.5", chars(7), 400, "at most 6"),
    ("characterPrompts disagree", seq(chars(2), lambda b: b["parameters"]["characterPrompts"].pop()), 400,
     "characterPrompts"),
    ("use_coords disagree", p("use_coords", True), 400, "use_coords"),
    ("SMEA on V4.5", p("sm", True), 400, "SMEA"),
    ("SMEA on V5", model("nai-diffusion-5-full", params_version=4, sm=True), 500, "Internal"),
    ("Variety+ on V5", model("nai-diffusion-5-full", params_version=4, skip_cfg_above_sigma=19), 400,
     "skip_cfg_above_sigma"),
    ("vibe arrays unequal", vibes([ENC45], [1, 1], [0.6]), 400, "equal lengths"),
    ("raw image as V4.5 vibe", vibes([png_b64(8, 8)], [1], [0.6]), 400, "not a vibe encoding"),
    ("V4 encoding on V4.5", vibes([ENC4], [1], [0.6]), 400, "encoded for v4-full"),
    ("vibe on V5", seq(model("nai-diffusion-5-full", params_version=4), vibes([ENC45], [1], [0.6])), 500, "Internal"),
    ("seventeen vibes", vibes([ENC45] * 17, [1] * 17, [0.6] * 17), 400, "16"),
    ("img2img wrong size", seq(lambda b: b.__setitem__("action", "img2img"), p("image", png_b64(60, 64)),
                               p("strength", 0.5), p("noise", 0)), 400, "expected exactly 64x64"),
    ("img2img no image", seq(lambda b: b.__setitem__("action", "img2img"), p("strength", 0.5)), 400,
     "parameters.image"),
    ("infill on base model", lambda b: b.__setitem__("action", "infill"), 400, "not an inpainting model"),
    ("infill grey mask", infill(GREY_MASK), 400, "black and white"),
    ("infill mask wrong size", infill(png_b64(32, 32, (255, 255, 255), mode="L")), 400, "parameters.mask"),
    ("vibe with infill", seq(infill(WHITE_MASK), vibes([ENC45], [1], [0.6])), 400, "not available with infill"),
    ("charref wrong canvas", charref((1000, 1000)), 400, "director references"),
    ("charref on V5", seq(model("nai-diffusion-5-full", params_version=4), charref((1024, 1536))), 400,
     "director references"),
    ("charref with vibe", seq(charref((1024, 1536)), vibes([ENC45], [1], [0.6])), 400, "cannot be combined"),
    ("stream field on zip endpoint", p("stream", "msgpack"), 400, "stream"),
]


@pytest.mark.parametrize(("name", "mutate", "status", "words"), REJECTED, ids=[r[0] for r in REJECTED])
def test_emulator_refuses_what_novelai_refuses(
    nai_emulator: NaiEmulator, name: str, mutate: Mutation, status: int, words: str
) -> None:
    body = v45_body()
    mutate(body)
    resp = post(nai_emulator, body)
    assert resp.status_code == status, resp.text
    assert resp.json()["statusCode"] == status and words in resp.json()["message"]


ACCEPTED: list[tuple[str, Mutation]] = [
    ("plain", lambda b: None),
    ("two characters with negatives", chars(2)),
    ("vibe encodings", vibes([ENC45, ENC45], [1, 0.5], [0.6, 0.4])),
    ("empty vibe arrays", vibes([], [], [])),
    ("infill with 1/8 mask", infill(png_b64(8, 8, (255, 255, 255), mode="L"))),
    ("charref portrait", charref((1024, 1536))),
]


@pytest.mark.parametrize(("name", "mutate"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_emulator_accepts_valid_variants(nai_emulator: NaiEmulator, name: str, mutate: Mutation) -> None:
    body = v45_body()
    mutate(body)
    resp = post(nai_emulator, body)
    assert resp.status_code == 200, resp.text
    assert resp.content[:2] == b"PK"


def test_headers_are_checked(nai_emulator: NaiEmulator) -> None:
    body = v45_body()
    assert httpx.post(nai_emulator.url + GENERATE, json=body, headers={"User-Agent": "t/1"}).status_code == 401
    assert post(nai_emulator, body, Authorization="Bearer pst-other").status_code == 401
    assert post(nai_emulator, body, **{"User-Agent": "python-httpx/0.28"}).status_code == 403
    raw = httpx.post(nai_emulator.url + GENERATE, content=json.dumps(body),
                     headers={"Authorization": f"Bearer {nai_emulator.token}", "User-Agent": "t/1",
                              "Content-Type": "text/plain"})
    assert raw.status_code == 400 and "Content-Type" in raw.json()["message"]
    assert httpx.get(nai_emulator.url + SUBSCRIPTION, headers={"User-Agent": "t/1"}).status_code == 401


def test_stream_endpoint_requires_msgpack(nai_emulator: NaiEmulator) -> None:
    assert post(nai_emulator, v45_body(), STREAM).status_code == 400
    body = v45_body()
    body["parameters"]["stream"] = "msgpack"
    resp = post(nai_emulator, body, STREAM)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/msgpack"


def test_encode_vibe_payload_rules(nai_emulator: NaiEmulator) -> None:
    good = {"image": png_b64(16, 16), "information_extracted": 1, "model": "nai-diffusion-4-5-full"}
    resp = post(nai_emulator, good, ENCODE)
    assert resp.status_code == 200 and resp.content.startswith(b"EMUVIBE1v4.5-full")
    assert post(nai_emulator, good, ENCODE).content != resp.content  # not deterministic, like NovelAI
    camel = {"image": good["image"], "informationExtracted": 1, "model": good["model"]}
    assert "snake_case" in post(nai_emulator, camel, ENCODE).json()["message"]
    v5 = {**good, "model": "nai-diffusion-5-full"}
    assert post(nai_emulator, v5, ENCODE).status_code == 400


def test_overlapping_generations_get_429(nai_emulator: NaiEmulator) -> None:
    nai_emulator.inject("delay", delay=0.4)
    first: list[httpx.Response] = []
    t = threading.Thread(target=lambda: first.append(post(nai_emulator, v45_body())))
    t.start()
    while not nai_emulator.calls():
        pass
    second = post(nai_emulator, v45_body())
    t.join()
    assert first[0].status_code == 200
    assert second.status_code == 429 and second.json()["message"] == "Concurrent generation is locked"


def test_png_carries_novelai_chunks(nai_emulator: NaiEmulator) -> None:
    import zipfile

    body = v45_body(width=128, height=192, seed=4242)
    resp = post(nai_emulator, body)
    png = zipfile.ZipFile(io.BytesIO(resp.content)).read("image_0.png")
    img = Image.open(io.BytesIO(png))
    assert img.size == (128, 192) and img.mode == "RGBA"
    assert set(img.text) >= {"Title", "Description", "Software", "Source", "Generation time", "Comment"}
    c = json.loads(img.text["Comment"])
    assert c["prompt"] == body["input"] and c["uc"] == body["parameters"]["negative_prompt"]
    assert (c["seed"], c["width"], c["height"], c["sampler"], c["noise_schedule"]) == (
        4242, 128, 192, "k_euler_ancestral", "karras")
    assert img.text["Description"] == body["input"]


@pytest.mark.parametrize("name", ["text2image.json", "text2image_v3.json", "text2image_v4.json"])
def test_real_website_requests_are_accepted(nai_emulator: NaiEmulator, shared_dir: Path, name: str) -> None:
    body = json.loads((shared_dir / "fixtures/nai/web-requests" / name).read_text())
    resp = post(nai_emulator, body)
    assert resp.status_code == 200, resp.text


def test_png_carries_stealth_alpha_metadata_like_novelai(nai_emulator: NaiEmulator) -> None:
    import gzip
    import zipfile

    import numpy as np

    body = v45_body(width=256, height=192, seed=31)
    png = zipfile.ZipFile(io.BytesIO(post(nai_emulator, body).content)).read("image_0.png")
    alpha = np.asarray(Image.open(io.BytesIO(png)))[:, :, 3]
    bits = (alpha.T.reshape(-1) & 1).astype(np.uint8)  # column-major LSBs
    data = np.packbits(bits).tobytes()
    assert data[:15] == b"stealth_pngcomp"
    n = int.from_bytes(data[15:19], "big") // 8
    meta = json.loads(gzip.decompress(data[19 : 19 + n]))
    assert "Title" not in meta and meta["Software"] == "NovelAI"
    assert json.loads(meta["Comment"])["seed"] == 31
