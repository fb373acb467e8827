"""Hypothesis fuzzing of every reader: any input gives a record or a clear error, never a crash or hang.

Each test runs a bounded number of examples (``FUZZ_EXAMPLES``) with a per-example deadline.
"""

from __future__ import annotations

import json
import struct
from datetime import timedelta
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from peropix_tui.core.metadata import MetadataRecord, NoMetadataError, png, read_metadata, write_novelai_png
from peropix_tui.core.metadata.a1111 import settings_from_parameters
from peropix_tui.core.metadata.comfyui import settings_from_graph, workflow_to_api
from peropix_tui.core.metadata.exif import ExifError, decode_user_comment
from peropix_tui.core.metadata.fields import FieldError
from peropix_tui.core.metadata.novelai import CommentReading
from peropix_tui.core.metadata.stealth import StealthError, read_stealth, write_stealth
from tests.conftest import SHARED

from .util import local_settings, nai_settings, noise_image, png_bytes

FUZZ_EXAMPLES = 300
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=timedelta(seconds=3),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)


def _seeds() -> list[bytes]:
    own = [
        write_novelai_png(noise_image(24, 24), nai_settings(), seed=1, stealth_copy=False),
        write_novelai_png(noise_image(96, 96), local_settings(), seed=2, stealth_copy=True),
        png_bytes(noise_image(16, 16, mode="RGB"), {"parameters": "a\nNegative prompt: b\nSteps: 3, Seed: 4, Size: 16x16"}),
    ]
    real = sorted((SHARED / "fixtures" / "nai" / "images").glob("*.png")) if SHARED.is_dir() else []
    return own + [p.read_bytes() for p in real]


SEEDS = _seeds()
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


def _check_record(r: MetadataRecord) -> None:
    json.dumps(r.to_json())  # always serialisable


def _read(data: bytes) -> None:
    try:
        _check_record(read_metadata(data))
    except NoMetadataError as e:
        assert str(e).startswith("no readable metadata: ") and "\n" not in str(e).strip()


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    _read(data)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_after_png_signature(data: bytes) -> None:
    _read(png.SIGNATURE + data)


@FUZZ
@given(st.sampled_from(range(len(SEEDS))), st.data())
def test_mutated_pngs(which: int, data: st.DataObject) -> None:
    """Flip, cut or insert bytes anywhere in a real/own PNG (CRC checks catch most)."""
    buf = bytearray(SEEDS[which])
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, len(buf) - 1))
        if op == "flip":
            buf[at] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del buf[at : at + data.draw(st.integers(1, 64))]
        else:
            buf[at:at] = data.draw(st.binary(min_size=1, max_size=32))
        if not buf:
            buf = bytearray(b"x")
    _read(bytes(buf))


@FUZZ
@given(st.sampled_from(range(len(SEEDS))), st.data())
def test_mutated_chunks_with_valid_crcs(which: int, data: st.DataObject) -> None:
    """Mutate the *contents* of chunks and fix the CRCs, so parsing goes past the CRC check."""
    chunks = list(png.iter_chunks(SEEDS[which]))
    out = [png.SIGNATURE]
    for c in chunks:
        body = bytearray(c.data)
        if body and c.type != b"IEND" and data.draw(st.booleans()):
            at = data.draw(st.integers(0, len(body) - 1))
            body[at : at + data.draw(st.integers(0, 8))] = data.draw(st.binary(max_size=8))
        out.append(png.make_chunk(c.type, bytes(body)))
    _read(b"".join(out))


@FUZZ
@given(st.dictionaries(st.sampled_from(["Comment", "parameters", "prompt", "workflow", "Source", "Description"]),
                       st.text(max_size=200) | json_values.map(json.dumps), max_size=4))
def test_random_text_chunks(text: dict[str, str]) -> None:
    _read(png_bytes(noise_image(8, 8, mode="RGB"), text))


_comment = json.loads(png.read_text(write_novelai_png(noise_image(8, 8), nai_settings(), seed=1))["Comment"])


@FUZZ
@given(st.dictionaries(st.sampled_from(sorted(_comment)), json_values, max_size=6), st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=3))
def test_novelai_comment_reader(changes: dict[str, Any], text: dict[str, str]) -> None:
    comment = {**_comment, **changes}
    try:
        CommentReading(comment, text).settings()
    except FieldError:
        pass


@FUZZ
@given(st.lists(st.text(max_size=40) | st.sampled_from(["Negative prompt: x", "Steps: 20, Sampler: Euler a", "<lora:a:b>"]), max_size=4),
       st.dictionaries(st.sampled_from(["Steps", "Sampler", "CFG scale", "Seed", "Size", "Model", "Denoising strength",
                                        "Hires upscale", "Schedule type", "Lora hashes"]), st.text(max_size=15), max_size=6))
def test_a1111_parser(lines: list[str], pairs: dict[str, str]) -> None:
    text = "\n".join([*lines, "Steps: 1, " + ", ".join(f"{k}: {v}" for k, v in pairs.items())])
    try:
        settings_from_parameters(text)
    except FieldError:
        pass


_node_types = st.sampled_from(["KSampler", "KSamplerAdvanced", "SamplerCustomAdvanced", "CLIPTextEncode", "EmptyLatentImage",
                               "CheckpointLoaderSimple", "LoraLoader", "ModelSamplingDiscrete", "RandomNoise", "CFGGuider",
                               "BasicScheduler", "KSamplerSelect", "PrimitiveNode", "ConditioningCombine"])
_inputs = st.dictionaries(
    st.sampled_from(["seed", "noise_seed", "steps", "cfg", "sampler_name", "scheduler", "denoise", "model", "positive",
                     "negative", "latent_image", "text", "width", "height", "batch_size", "ckpt_name", "lora_name",
                     "strength_model", "conditioning_1", "guider", "noise", "sampler", "sigmas", "value", "sampling"]),
    scalars | st.tuples(st.sampled_from(["1", "2", "3", "4", "9"]), st.integers(0, 2)).map(list),
    max_size=8,
)


@FUZZ
@given(st.dictionaries(st.sampled_from(["1", "2", "3", "4", "5"]), st.fixed_dictionaries({"class_type": _node_types, "inputs": _inputs}), max_size=5))
def test_comfyui_api_graph(graph: dict[str, Any]) -> None:
    try:
        settings_from_graph(graph)
    except FieldError:
        pass


@FUZZ
@given(st.fixed_dictionaries({
    "nodes": st.lists(st.fixed_dictionaries({"id": st.integers(1, 5), "type": _node_types,
                                            "inputs": st.lists(st.fixed_dictionaries({"name": st.text(max_size=8), "link": st.integers(0, 6)}), max_size=3),
                                            "widgets_values": st.lists(scalars, max_size=8)}), max_size=5),
    "links": st.lists(st.lists(st.integers(0, 6) | st.text(max_size=3), min_size=0, max_size=6), max_size=6),
}))
def test_comfyui_workflow(workflow: dict[str, Any]) -> None:
    try:
        settings_from_graph(workflow_to_api(workflow), "workflow")
    except FieldError:
        pass


@FUZZ
@given(st.sampled_from([b"stealth_pngcomp", b"stealth_pnginfo"]), st.integers(0, 2**32 - 1), st.binary(max_size=400),
       st.integers(8, 48), st.integers(8, 48))
def test_stealth_reader(magic: bytes, nbits: int, body: bytes, w: int, h: int) -> None:
    bits = np.unpackbits(np.frombuffer(magic + struct.pack(">I", nbits) + body, dtype=np.uint8))[: w * h]
    alpha = np.full(w * h, 255, dtype=np.uint8)
    alpha[: bits.size] = 0xFE | bits
    rgba = np.zeros((h, w, 4), dtype=np.uint8)
    rgba[:, :, 3] = alpha.reshape(w, h).T
    image = Image.fromarray(rgba)
    try:
        read_stealth(image)
    except StealthError:
        pass
    _read(png_bytes(image))


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([b"", b"UNICODE\x00", b"ASCII\x00\x00\x00", b"JIS\x00\x00\x00\x00\x00", b"\x00" * 8]))
def test_exif_user_comment_decoder(body: bytes, prefix: bytes) -> None:
    try:
        assert isinstance(decode_user_comment(prefix + body), str)
    except ExifError:
        pass


@FUZZ
@given(st.text(max_size=200), st.booleans())
def test_stealth_write_read_round_trip(text: str, compressed: bool) -> None:
    payload = text.encode()
    assert read_stealth(write_stealth(noise_image(64, 64), payload, compressed=compressed))[1] == payload


def test_fuzz_seeds_are_readable() -> None:
    """The fuzz seeds are valid inputs (so mutations start from something that reads)."""
    for seed in SEEDS:
        assert isinstance(read_metadata(seed), MetadataRecord)
