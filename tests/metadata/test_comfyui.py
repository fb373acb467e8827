"""ComfyUI graphs we build (API ``prompt`` and UI ``workflow``) read back into settings."""

from __future__ import annotations

import json
from typing import Any

import pytest

from peropix_tui.core.metadata import NoMetadataError, read_metadata
from peropix_tui.core.metadata.comfyui import settings_from_graph, workflow_to_api
from peropix_tui.core.settings import LoraSpec

from .util import noise_image, png_bytes

POS = "1girl, smile, masterpiece"
NEG = "lowres, worst quality"


def api_graph(*, hires: bool = True) -> dict[str, Any]:
    """Checkpoint -> 2 LoRAs -> v-pred sampling -> KSampler (first pass) [-> upscale -> KSampler (hires)]."""
    g: dict[str, Any] = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "illu\\noobai-vpred-1.0.safetensors"}},
        "10": {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "clip": ["4", 1], "lora_name": "detail.safetensors",
                                                       "strength_model": 0.8, "strength_clip": 0.8}},
        "11": {"class_type": "LoraLoader", "inputs": {"model": ["10", 0], "clip": ["10", 1], "lora_name": "style.safetensors",
                                                       "strength_model": -0.3, "strength_clip": 1.0}},
        "12": {"class_type": "ModelSamplingDiscrete", "inputs": {"model": ["11", 0], "sampling": "v_prediction", "zsnr": True}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": POS, "clip": ["11", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": NEG, "clip": ["11", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 896, "height": 1152, "batch_size": 2}},
        "3": {"class_type": "KSampler", "inputs": {"seed": 987654321, "steps": 28, "cfg": 5.5, "sampler_name": "euler_ancestral",
                                                   "scheduler": "karras", "denoise": 1.0, "model": ["12", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    }
    if hires:
        g["1"] = {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 12, "cfg": 5.5, "sampler_name": "dpmpp_2m",
                                                       "scheduler": "normal", "denoise": 0.45, "model": ["12", 0],
                                                       "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["9", 0]}}
        g["9"] = {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["3", 0], "upscale_method": "nearest-exact", "scale_by": 1.5}}
    return g


def check(s: Any) -> None:
    assert (s.prompt, s.uc) == (POS, NEG)
    assert (s.seed, s.steps, s.scale, s.sampler, s.noise_schedule) == (987654321, 28, 5.5, "k_euler_ancestral", "karras")
    assert (s.width, s.height, s.n_samples, s.action) == (896, 1152, 2, "generate")
    assert (s.checkpoint, s.model) == ("illu\\noobai-vpred-1.0.safetensors", "noobai-vpred-1.0")
    assert s.loras == [LoraSpec("detail.safetensors", 0.8), LoraSpec("style.safetensors", -0.3)]
    assert (s.provider, s.prediction, s.quality, s.uc_preset) == ("local", "v-zsnr", False, "none")


def test_api_prompt_graph_in_png() -> None:
    r = read_metadata(png_bytes(noise_image(16, 16, mode="RGB"), {"prompt": json.dumps(api_graph())}))
    assert r.dialect == "comfyui"
    check(r.settings)


def to_workflow(graph: dict[str, Any]) -> dict[str, Any]:
    """Build the UI form of an API graph: positional widget values, link table, control widgets after seeds."""
    from peropix_tui.core.metadata.comfyui import WIDGETS

    nodes, links = [], []
    for nid, node in graph.items():
        inputs, widgets = [], []
        for name, value in node["inputs"].items():
            if isinstance(value, list):
                link_id = len(links) + 1
                links.append([link_id, int(value[0]), value[1], int(nid), len(inputs), "ANY"])
                inputs.append({"name": name, "type": "ANY", "link": link_id})
        for name in WIDGETS.get(node["class_type"], ()):
            if name == "control_after_generate":
                widgets.append("randomize")
            elif name in node["inputs"]:
                widgets.append(node["inputs"][name])
            else:
                widgets.append(None)
        nodes.append({"id": int(nid), "type": node["class_type"], "inputs": inputs, "widgets_values": widgets})
    return {"last_node_id": 12, "nodes": nodes, "links": links, "version": 0.4}


def test_ui_workflow_in_png() -> None:
    wf = to_workflow(api_graph())
    assert workflow_to_api(wf)["3"]["inputs"]["seed"] == 987654321
    r = read_metadata(png_bytes(noise_image(16, 16, mode="RGB"), {"workflow": json.dumps(wf)}))
    assert r.dialect == "comfyui"
    check(r.settings)


def test_prompt_wins_over_workflow() -> None:
    wf = to_workflow(api_graph())
    wf["nodes"][0]["widgets_values"] = ["other.safetensors"]
    r = read_metadata(png_bytes(noise_image(16, 16, mode="RGB"), {"prompt": json.dumps(api_graph()), "workflow": json.dumps(wf)}))
    check(r.settings)


def test_old_workflow_without_control_widget() -> None:
    wf = to_workflow(api_graph(hires=False))
    for node in wf["nodes"]:
        if node["type"] == "KSampler":
            node["widgets_values"].pop(1)  # files from before "control_after_generate" existed
    check(settings_from_graph(workflow_to_api(wf), "workflow"))


def test_sdxl_encoders_custom_sampler_and_primitive_seed() -> None:
    g = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "base.safetensors"}},
        "2": {"class_type": "CLIPTextEncodeSDXL", "inputs": {"text_g": "a castle", "text_l": "a castle", "clip": ["1", 1],
                                                             "width": 4096, "height": 4096}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": ["20", 0], "clip": ["1", 1]}},
        "20": {"class_type": "PrimitiveString", "inputs": {"value": "blurry"}},
        "21": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["2", 0], "conditioning_2": ["22", 0]}},
        "22": {"class_type": "CLIPTextEncode", "inputs": {"text": "night sky", "clip": ["1", 1]}},
        "4": {"class_type": "RandomNoise", "inputs": {"noise_seed": ["23", 0]}},
        "23": {"class_type": "PrimitiveInt", "inputs": {"value": 77}},
        "5": {"class_type": "CFGGuider", "inputs": {"model": ["1", 0], "positive": ["21", 0], "negative": ["3", 0], "cfg": 4.0}},
        "6": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "dpmpp_2m_sde_gpu"}},
        "7": {"class_type": "BasicScheduler", "inputs": {"model": ["1", 0], "scheduler": "exponential", "steps": 24, "denoise": 1.0}},
        "8": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 768, "batch_size": 1}},
        "9": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["4", 0], "guider": ["5", 0], "sampler": ["6", 0],
                                                                "sigmas": ["7", 0], "latent_image": ["8", 0]}},
    }
    s = settings_from_graph(g)
    assert s.prompt in ("a castle BREAK night sky", "night sky BREAK a castle")
    assert (s.uc, s.seed, s.scale, s.sampler, s.noise_schedule, s.steps) == ("blurry", 77, 4.0, "k_dpmpp_2m_sde", "exponential", 24)
    assert (s.width, s.height, s.model) == (1024, 768, "base")


def test_cycles_and_dangling_links_do_not_hang() -> None:
    g = api_graph(hires=False)
    g["6"]["inputs"]["text"] = ["99", 0]  # points nowhere
    g["12"]["inputs"]["model"] = ["12", 0]  # model loop
    s = settings_from_graph(g)
    assert s.prompt == "" and s.checkpoint is None and s.seed == 987654321


@pytest.mark.parametrize(
    ("chunk", "value", "why"),
    [
        ("prompt", '{"1": {"class_type": "VAEDecode", "inputs": {}}}', "no sampler node"),
        ("prompt", "{nope", "ComfyUI prompt is not valid JSON"),
        ("workflow", '{"nodes": 3}', "expected 'nodes' and 'links' lists"),
        ("prompt", '{"3": {"class_type": "KSampler", "inputs": {"seed": "abc"}}}', "prompt.seed: expected an integer"),
    ],
)
def test_bad_graphs(chunk: str, value: str, why: str) -> None:
    with pytest.raises(NoMetadataError, match=why):
        read_metadata(png_bytes(noise_image(8, 8, mode="RGB"), {chunk: value}))
