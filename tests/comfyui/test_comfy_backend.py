"""ComfyUIBackend against the emulator over real loopback sockets: graphs, images, progress, previews."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from peropix_tui.core.backend import Backend, BackendError, CancelToken, Progress
from peropix_tui.core.comfyui.run import PREVIEW_IMAGE, PREVIEW_IMAGE_WITH_METADATA, parse_binary
from peropix_tui.core.settings import LoraSpec, SettingsError
from tests.comfyui.helpers import backend, by_class, png_size, png_text, sent_graph, settings
from tests.comfyui_emulator import ComfyEmulator


def test_backend_implements_the_protocol(comfy_emulator: ComfyEmulator) -> None:
    assert isinstance(backend(comfy_emulator), Backend)


async def test_txt2img_batch_returns_server_pngs_with_comfy_chunks(comfy_emulator: ComfyEmulator) -> None:
    b = backend(comfy_emulator)
    progress: list[Progress] = []
    images = await b.generate(settings(n_samples=2), progress.append, CancelToken())
    await b.aclose()
    assert len(images) == 2
    for i, img in enumerate(images):
        assert img.extension == "png" and img.index == i and img.seed == 1234
        assert png_size(img.data) == (512, 768)
        assert img.info["provider"] == "comfyui" and img.info["server"] == "gpu1"
        assert img.info["checkpoint"] == "sdxl/illustrious-xl-v1.safetensors"
        assert "prompt" in png_text(img.data)
    assert images[0].data != images[1].data
    graph = sent_graph(images[0].data)
    (ks,) = by_class(graph, "KSampler")
    assert ks["inputs"]["seed"] == 1234 and ks["inputs"]["steps"] == 4
    assert ks["inputs"]["sampler_name"] == "euler_ancestral" and ks["inputs"]["scheduler"] == "karras"
    texts = sorted(n["inputs"]["text"] for n in by_class(graph, "CLIPTextEncode"))
    assert texts == ["(cat:1.05), artist \\(style\\)", "(lowres:0.9524)"]
    assert by_class(graph, "EmptyLatentImage")[0]["inputs"]["batch_size"] == 2
    steps = [p.step for p in progress if p.total == 4 and p.preview is None]
    assert steps == [1, 2, 3, 4]
    previews = [p.preview for p in progress if p.preview]
    assert len(previews) == 4 and all(p.startswith(b"\xff\xd8") for p in previews)


async def test_same_seed_same_image_new_seed_new_image(comfy_emulator: ComfyEmulator) -> None:
    b = backend(comfy_emulator)
    a = (await b.generate(settings(seed=5), lambda p: None, CancelToken()))[0]
    again = (await b.generate(settings(seed=5), lambda p: None, CancelToken()))[0]
    other = (await b.generate(settings(seed=6), lambda p: None, CancelToken()))[0]
    await b.aclose()
    assert png_size(a.data) == png_size(again.data)
    assert Image.open(io.BytesIO(a.data)).tobytes() == Image.open(io.BytesIO(again.data)).tobytes()
    assert Image.open(io.BytesIO(a.data)).tobytes() != Image.open(io.BytesIO(other.data)).tobytes()


async def test_model_chain_lora_clip_skip_vpred_rescale(comfy_emulator: ComfyEmulator) -> None:
    b = backend(comfy_emulator)
    s = settings(loras=[LoraSpec("flat-color", 0.7), LoraSpec("/home/me/loras/detail-tweaker.safetensors", -0.5)],
                 clip_skip=2, prediction="v-zsnr", cfg_rescale=0.4, sampler="dpmpp_2m", noise_schedule="native",
                 vae="sdxl_vae")
    (img,) = await b.generate(s, lambda p: None, CancelToken())
    await b.aclose()
    g = sent_graph(img.data)
    loras = by_class(g, "LoraLoader")
    assert [(n["inputs"]["lora_name"], n["inputs"]["strength_model"], n["inputs"]["strength_clip"]) for n in loras] == [
        ("style/flat-color.safetensors", 0.7, 0.7), ("detail-tweaker.safetensors", -0.5, -0.5)]
    assert by_class(g, "CLIPSetLastLayer")[0]["inputs"]["stop_at_clip_layer"] == -2
    msd = by_class(g, "ModelSamplingDiscrete")[0]["inputs"]
    assert (msd["sampling"], msd["zsnr"]) == ("v_prediction", True)
    assert by_class(g, "RescaleCFG")[0]["inputs"]["multiplier"] == 0.4
    ks = by_class(g, "KSampler")[0]["inputs"]
    assert (ks["sampler_name"], ks["scheduler"]) == ("dpmpp_2m", "normal")
    # the sampler's model comes through RescaleCFG <- ModelSamplingDiscrete <- the last LoRA
    rescale_id = ks["model"][0]
    assert g[rescale_id]["class_type"] == "RescaleCFG"
    assert g[g[rescale_id]["inputs"]["model"][0]]["class_type"] == "ModelSamplingDiscrete"
    assert by_class(g, "VAEDecode")[0]["inputs"]["vae"][0] != ks["model"][0]
    assert img.info["loras"] == [{"name": "style/flat-color.safetensors", "weight": 0.7},
                                 {"name": "detail-tweaker.safetensors", "weight": -0.5}]


@pytest.mark.parametrize("mode", ["latent", "image"])
async def test_hires_fix_second_pass(comfy_emulator: ComfyEmulator, mode: str) -> None:
    b = backend(comfy_emulator, hires_upscale=mode)
    progress: list[Progress] = []
    (img,) = await b.generate(settings(width=512, height=512, hires_scale=1.5, hires_denoise=0.45),
                              progress.append, CancelToken())
    await b.aclose()
    assert png_size(img.data) == (768, 768)
    g = sent_graph(img.data)
    samplers = by_class(g, "KSampler")
    assert sorted(s["inputs"]["denoise"] for s in samplers) == [0.45, 1.0]
    assert by_class(g, "LatentUpscaleBy" if mode == "latent" else "ImageScale")
    # one count over both passes: 4 steps, then 4 more
    assert [(p.step, p.total) for p in progress if p.preview is None] == [(i, 8) for i in range(1, 9)]


def _png(path: Path, size: tuple[int, int], color: str, mode: str = "RGB") -> str:
    Image.new(mode, size, color).save(path)
    return str(path)


async def test_img2img_uploads_and_denoises(comfy_emulator: ComfyEmulator, tmp_path: Path) -> None:
    base = _png(tmp_path / "base.png", (300, 200), "blue")
    b = backend(comfy_emulator)
    images = await b.generate(settings(action="img2img", image=base, strength=0.6, n_samples=2, width=512, height=512),
                              lambda p: None, CancelToken())
    await b.aclose()
    uploads = comfy_emulator.calls("/upload/image")
    assert len(uploads) == 1 and uploads[0].body["subfolder"] == "peropix"
    assert len(images) == 2 and png_size(images[0].data) == (512, 512)
    g = sent_graph(images[0].data)
    assert by_class(g, "LoadImage")[0]["inputs"]["image"].startswith("peropix/image_")
    assert by_class(g, "VAEEncode") and by_class(g, "RepeatLatentBatch")[0]["inputs"]["amount"] == 2
    assert by_class(g, "KSampler")[0]["inputs"]["denoise"] == 0.6


@pytest.mark.parametrize(("strength", "node"), [(1.0, "VAEEncodeForInpaint"), (0.7, "SetLatentNoiseMask")])
async def test_inpaint_mask_upload(comfy_emulator: ComfyEmulator, tmp_path: Path, strength: float, node: str) -> None:
    base = _png(tmp_path / "base.png", (512, 512), "green")
    mask = _png(tmp_path / "mask.png", (256, 256), "white", "L")
    b = backend(comfy_emulator)
    (img,) = await b.generate(settings(action="infill", image=base, mask=mask, strength=strength, width=512,
                                       height=512), lambda p: None, CancelToken())
    await b.aclose()
    assert len(comfy_emulator.calls("/upload/image")) == 2
    g = sent_graph(img.data)
    assert by_class(g, node)
    assert by_class(g, "LoadImageMask")[0]["inputs"]["channel"] == "red"
    assert by_class(g, "KSampler")[0]["inputs"]["denoise"] == strength


async def test_checkpoint_not_on_server_lists_what_is(comfy_emulator: ComfyEmulator) -> None:
    b = backend(comfy_emulator)
    with pytest.raises(BackendError, match=r"checkpoint 'sd15' is not on ComfyUI server gpu1 \(it has: sdxl/"):
        await b.generate(settings(checkpoint="sd15"), lambda p: None, CancelToken())
    with pytest.raises(BackendError, match="pass --checkpoint NAME"):
        await b.generate(settings(checkpoint=None), lambda p: None, CancelToken())
    await b.aclose()
    assert not comfy_emulator.calls("/prompt", "POST")


async def test_sampler_the_server_lacks_is_a_settings_error(comfy_emulator: ComfyEmulator) -> None:
    b = backend(comfy_emulator)
    with pytest.raises(SettingsError, match="^noise_schedule: 'polyexponential'"):
        await b.generate(settings(noise_schedule="polyexponential"), lambda p: None, CancelToken())
    await b.aclose()


async def test_discovery_is_cached_and_refreshable(comfy_emulator: ComfyEmulator) -> None:
    b = backend(comfy_emulator)
    await b.generate(settings(), lambda p: None, CancelToken())
    await b.generate(settings(seed=2), lambda p: None, CancelToken())
    assert len(comfy_emulator.calls("/object_info")) == 1
    comfy_emulator.folders["checkpoints"].append("new-model.safetensors")
    info = await b.info(refresh=True)
    await b.aclose()
    assert "new-model.safetensors" in info.checkpoints
    assert "euler_ancestral" in info.samplers and "karras" in info.schedulers
    assert info.version == "0.3.66"
    assert len(comfy_emulator.calls("/object_info")) == 2


def test_binary_preview_frames_are_parsed() -> None:
    assert parse_binary(b"\x00\x00\x00\x01\x00\x00\x00\x01JPEG") == (PREVIEW_IMAGE, {"image_type": "image/jpeg"},
                                                                     b"JPEG")
    meta = b'{"node_id": "3", "prompt_id": "p"}'
    frame = b"\x00\x00\x00\x04" + len(meta).to_bytes(4, "big") + meta + b"IMG"
    assert parse_binary(frame) == (PREVIEW_IMAGE_WITH_METADATA, {"node_id": "3", "prompt_id": "p"}, b"IMG")
    assert parse_binary(b"\x00\x00\x00\x03\x00\x00\x00\x01xy") is None
    assert parse_binary(b"\x00") is None
