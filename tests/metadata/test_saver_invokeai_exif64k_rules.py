"""Spec rules: Image Saver's dropped scheduler, InvokeAI's hires-fix scale, JPEG EXIF at the 64 KB limit."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from peropix_tui.core.metadata import NoMetadataError, read_metadata
from peropix_tui.core.metadata.dialects import invokeai_first_pass
from peropix_tui.core.metadata.exif import user_comment_exif

from .test_dialects import exif_image, graph, rgb_png

IS_TEXT = "cat\nNegative prompt: dog\nSteps: 20, Sampler: {}, CFG scale: 7, Seed: 1, Size: 512x768, Model: m, Version: ComfyUI"


# ------------------------------------------------------------------------- Image Saver
def test_image_saver_bare_label_leaves_the_scheduler_unknown() -> None:
    r = read_metadata(exif_image("JPEG", comment=IS_TEXT.format("Euler")))
    j = r.to_json()
    assert (j["dialect"], j["sampler"], j["noise_schedule"]) == ("comfyui-saver", "k_euler", None)
    assert "noise_schedule" in r.unknown()
    assert any(n.startswith("scheduler unknown: ComfyUI Image Saver writes 'Euler'") for n in r.notes)


@pytest.mark.parametrize(("sampler", "schedule"), [("DPM++ 2M Karras", "karras"), ("euler_ancestral", "native"),
                                                   ("euler_ancestral_simple", "simple")])
def test_saver_names_that_carry_the_scheduler(sampler: str, schedule: str) -> None:
    r = read_metadata(rgb_png({"parameters": IS_TEXT.format(sampler)}))
    assert r.to_json()["noise_schedule"] == schedule


def test_a1111_bare_label_is_still_automatic() -> None:
    text = "cat\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x768"
    assert read_metadata(rgb_png({"parameters": text})).to_json()["noise_schedule"] == "native"


def test_image_saver_png_takes_the_scheduler_from_its_graph() -> None:
    g = graph()
    g["3"]["inputs"].update(sampler_name="euler", scheduler="sgm_uniform")
    r = read_metadata(rgb_png({"parameters": IS_TEXT.format("Euler"), "prompt": json.dumps(g)}))
    assert (r.dialect, r.to_json()["noise_schedule"]) == ("comfyui-saver", "sgm_uniform")


# ------------------------------------------------------------------------------ InvokeAI
def _invoke(**meta: Any) -> Any:
    base = {"positive_prompt": "cat", "negative_prompt": "", "seed": 1, "steps": 30, "cfg_scale": 7,
            "scheduler": "euler", "hrf_enabled": True, "hrf_method": "ESRGAN", "hrf_strength": 0.45}
    return read_metadata(rgb_png({"invokeai_metadata": json.dumps({**base, **meta})}))


@pytest.mark.parametrize(("optimal", "out", "first"), [(1024, (1536, 1024), (1248, 832)), (512, (768, 1152), (416, 624)),
                                                       (1024, (1024, 1024), (1024, 1024)), (512, (2048, 512), (1024, 256))])
def test_invokeai_first_pass_size(optimal: int, out: tuple[int, int], first: tuple[int, int]) -> None:
    assert invokeai_first_pass(optimal, *out) == first


def test_invokeai_hires_fix_from_the_base_model() -> None:
    r = _invoke(width=1536, height=1024, model={"name": "juggernaut", "base": "sdxl", "hash": "h"})
    s = r.settings
    assert (s.width, s.height, s.hires_scale, s.hires_denoise) == (1248, 832, round(1536 / 1248, 4), 0.45)
    assert r.to_json()["hires_upscaler"] == "ESRGAN"
    assert "InvokeAI high-resolution fix: 1248x832 upscaled to 1536x1024 (first pass computed as InvokeAI does for base sdxl)" in r.notes


def test_invokeai_hires_fix_with_a_recorded_first_pass() -> None:
    r = _invoke(width=1024, height=1024, hrf_width=512, hrf_height=512, model={"name": "v15", "base": "sd-1"})
    assert (r.settings.width, r.settings.height, r.settings.hires_scale) == (512, 512, 2.0)


def test_invokeai_hires_fix_without_a_base_is_unknown() -> None:
    r = _invoke(width=1024, height=1024, model_name="old")
    assert (r.settings.width, r.settings.hires_scale) == (1024, None)
    assert "InvokeAI high-resolution fix: the model's base is not in the metadata, so its scale is unknown" in r.notes


# ------------------------------------------------------------------ JPEG EXIF at 64 KB
def _jpeg(exif: bytes | Image.Exif) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (9, 9, 9)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def test_image_saver_jpeg_without_graph_says_why() -> None:
    r = read_metadata(exif_image("JPEG", comment=IS_TEXT.format("DPM++ 2M Karras")))
    assert "no ComfyUI graph in the EXIF (savers leave it out of JPEGs whose EXIF would pass 64 KB)" in r.notes


def test_image_saver_jpeg_with_workflow_only() -> None:
    wf: dict[str, list[Any]] = {"nodes": [], "links": []}
    r = read_metadata(exif_image("JPEG", {0x010F: "workflow:" + json.dumps(wf)}, comment=IS_TEXT.format("Euler a")))
    assert r.dialect == "comfyui-saver" and r.settings.prompt == "cat"
    assert any(n.startswith("no ComfyUI API prompt in the EXIF") for n in r.notes)


def test_exif_cut_at_the_segment_limit_is_named() -> None:
    text = "cat, " * 9000 + "\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768"
    block = user_comment_exif(text).tobytes()
    assert len(block) > 65533
    with pytest.raises(NoMetadataError, match=r"EXIF is cut off: the block fills the JPEG 64 KB segment \(65533 bytes\)"):
        read_metadata(_jpeg(block[:65533]))


def test_exif_that_fills_the_segment_gets_a_note() -> None:
    def block(n: int) -> bytes:
        return user_comment_exif("c" * n + "\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768").tobytes()

    n = (65533 - len(block(0))) // 2
    data = block(n)
    assert 65533 - 64 <= len(data) <= 65533
    r = read_metadata(_jpeg(data))
    assert r.settings.seed == 1
    assert f"the EXIF block fills the JPEG 64 KB segment ({len(data)} bytes): its text may be cut off" in r.notes
    small = read_metadata(_jpeg(block(100)))
    assert not any("64 KB" in n for n in small.notes)
