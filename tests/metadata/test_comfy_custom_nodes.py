"""ComfyUI graphs whose prompt and size pass through custom nodes: followed generically, or unknown + note."""

from __future__ import annotations

import json
from typing import Any

import pytest

from peropix_tui.core.metadata import read_metadata
from peropix_tui.core.metadata.comfyui import workflow_to_api
from peropix_tui.core.metadata.record import MetadataRecord

from .util import noise_image, png_bytes


def read(g: dict[str, Any]) -> MetadataRecord:
    """The graph as a ComfyUI PNG ``prompt`` chunk, read back."""
    return read_metadata(png_bytes(noise_image(8, 8, mode="RGB"), {"prompt": json.dumps(g)}))


def base(pos: Any, neg: Any, latent: Any = None) -> dict[str, Any]:
    g: dict[str, Any] = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "base.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": pos, "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": neg, "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": 832, "height": 1216, "batch_size": 1}},
        "9": {"class_type": "KSampler", "inputs": {"seed": 3, "steps": 20, "cfg": 5.0, "sampler_name": "euler",
                                                   "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
                                                   "positive": ["2", 0], "negative": ["3", 0],
                                                   "latent_image": latent or ["4", 0]}},
    }
    return g


def test_rgthree_power_prompt_feeds_the_sampler() -> None:
    g = base("unused", "bad")
    g["20"] = {"class_type": "Power Prompt (rgthree)", "inputs": {"prompt": "a knight, castle", "opt_clip": ["1", 1],
                                                                 "insert_lora": "CHOOSE", "insert_embedding": "CHOOSE"}}
    g["9"]["inputs"]["positive"] = ["20", 0]
    r = read(g).settings
    assert (r.prompt, r.uc) == ("a knight, castle", "bad")


def test_comfyroll_text_and_primitive_string_through_links() -> None:
    g = base(["20", 0], ["21", 0])
    g["20"] = {"class_type": "CR Prompt Text", "inputs": {"prompt": "a wizard"}}
    g["21"] = {"class_type": "PrimitiveStringMultiline", "inputs": {"value": "lowres\nblurry"}}
    r = read(g).settings
    assert (r.prompt, r.uc) == ("a wizard", "lowres\nblurry")


@pytest.mark.parametrize(("selector", "expected"), [(1, "first text"), (2, "second text")])
def test_switch_follows_the_selected_input(selector: int, expected: str) -> None:
    g = base(["30", 0], "neg")
    g["30"] = {"class_type": "CR Text Input Switch", "inputs": {"Input": selector, "text1": ["31", 0], "text2": ["32", 0]}}
    g["31"] = {"class_type": "CR Text", "inputs": {"text": "first text"}}
    g["32"] = {"class_type": "String Literal", "inputs": {"string": "second text"}}
    assert read(g).settings.prompt == expected


def test_switch_without_selector_takes_the_first_connected() -> None:
    g = base("x", "neg")
    g["40"] = {"class_type": "Any Switch (rgthree)", "inputs": {"any_02": ["2", 0], "any_03": ["3", 0]}}
    g["9"]["inputs"]["positive"] = ["40", 0]
    assert read(g).settings.prompt == "x"


def test_conditioning_through_controlnet_advanced_keeps_roles() -> None:
    g = base("pos text", "neg text")
    g["50"] = {"class_type": "ControlNetApplyAdvanced", "inputs": {"positive": ["2", 0], "negative": ["3", 0],
                                                                   "control_net": ["51", 0], "image": ["52", 0], "strength": 1.0}}
    g["9"]["inputs"]["positive"] = ["50", 0]
    g["9"]["inputs"]["negative"] = ["50", 1]
    r = read(g).settings
    assert (r.prompt, r.uc) == ("pos text", "neg text")


def test_unfollowable_prompt_is_unknown_with_a_note() -> None:
    g = base("x", "neg")
    g["60"] = {"class_type": "MysteryConditioner", "inputs": {"a": ["2", 0], "b": ["3", 0]}}
    g["9"]["inputs"]["positive"] = ["60", 0]
    rec = read(g)
    j = rec.to_json()
    assert j["prompt"] is None and j["negative"] == "neg"
    assert any("positive prompt: could not follow the graph past node of type 'MysteryConditioner'" in n for n in rec.notes)
    assert any(n.startswith("not in the file: prompt") for n in rec.notes)


def test_unfollowable_negative_is_unknown_not_empty() -> None:
    g = base("pos", "x")
    g["61"] = {"class_type": "MysteryConditioner", "inputs": {"a": ["2", 0], "b": ["3", 0]}}
    g["9"]["inputs"]["negative"] = ["61", 0]
    j = read(g).to_json()
    assert (j["prompt"], j["negative"]) == ("pos", None)
    assert any(n.startswith("negative prompt: could not follow") for n in j["notes"])


def test_size_through_upscale_and_linked_primitives() -> None:
    g = base("x", "y", latent=["70", 0])
    g["70"] = {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["4", 0], "upscale_method": "nearest-exact", "scale_by": 1.5}}
    g["4"]["inputs"]["width"] = ["71", 0]
    g["4"]["inputs"]["height"] = ["72", 0]
    g["71"] = {"class_type": "PrimitiveInt", "inputs": {"value": 512}}
    g["72"] = {"class_type": "CR SDXL Aspect Ratio", "inputs": {"width": 1024, "height": 768, "aspect_ratio": "custom"}}
    r = read(g).settings
    assert (r.width, r.height) == (768, 1152)


def test_size_from_a_loaded_image_is_unknown() -> None:
    g = base("x", "y", latent=["80", 0])
    g["80"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["81", 0], "vae": ["1", 2]}}
    g["81"] = {"class_type": "LoadImage", "inputs": {"image": "in.png"}}
    g["9"]["inputs"]["denoise"] = 0.6
    rec = read(g)
    j = rec.to_json()
    assert (j["width"], j["height"], j["action"], j["strength"]) == (None, None, "img2img", 0.6)
    assert any("loaded image" in n for n in rec.notes)


def test_hires_pass_fields_clip_skip_vae_and_power_lora() -> None:
    g = base("x", "y")
    g["90"] = {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["9", 0], "upscale_method": "bislerp", "scale_by": 2.0}}
    g["91"] = {"class_type": "KSampler", "inputs": {"seed": 3, "steps": 12, "cfg": 5.0, "sampler_name": "euler",
                                                    "scheduler": "normal", "denoise": 0.4, "model": ["95", 0],
                                                    "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["90", 0]}}
    g["92"] = {"class_type": "CLIPSetLastLayer", "inputs": {"clip": ["1", 1], "stop_at_clip_layer": -2}}
    g["93"] = {"class_type": "VAELoader", "inputs": {"vae_name": "sdxl_vae.safetensors"}}
    g["95"] = {"class_type": "Power Lora Loader (rgthree)", "inputs": {
        "model": ["1", 0], "clip": ["1", 1], "lora_1": {"on": True, "lora": "style.safetensors", "strength": 0.7},
        "lora_2": {"on": False, "lora": "off.safetensors", "strength": 1.0}}}
    g["9"]["inputs"]["model"] = ["95", 0]
    j = read(g).to_json()
    assert (j["hires_scale"], j["hires_denoise"], j["hires_steps"], j["hires_upscaler"]) == (2.0, 0.4, 12, "bislerp")
    assert (j["clip_skip"], j["vae"], j["loras"]) == (2, "sdxl_vae.safetensors", [{"path": "style.safetensors", "weight": 0.7}])
    assert (j["width"], j["steps"]) == (832, 20)


def test_ui_workflow_with_reroute_bypass_and_unknown_string_node() -> None:
    wf = {
        "nodes": [
            {"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["m.safetensors"], "inputs": []},
            {"id": 2, "type": "CLIPTextEncode", "widgets_values": [""], "inputs": [{"name": "text", "link": 11}]},
            {"id": 3, "type": "CLIPTextEncode", "widgets_values": ["neg"], "inputs": []},
            {"id": 4, "type": "EmptyLatentImage", "widgets_values": [640, 960, 1], "inputs": []},
            {"id": 5, "type": "KSampler", "widgets_values": [8, "fixed", 15, 4.0, "euler", "karras", 1.0],
             "inputs": [{"name": "model", "link": 1}, {"name": "positive", "link": 2}, {"name": "negative", "link": 3},
                        {"name": "latent_image", "link": 4}]},
            {"id": 6, "type": "Reroute", "inputs": [{"name": "", "link": 10}]},
            {"id": 7, "type": "SomeTextBox|pysssss", "widgets_values": ["from a custom box"], "inputs": []},
            {"id": 8, "type": "SomeFilter", "mode": 4, "inputs": [{"name": "conditioning", "link": 12}]},
        ],
        "links": [[1, 1, 0, 5, 0, "MODEL"], [2, 8, 0, 5, 1, "CONDITIONING"], [3, 3, 0, 5, 2, "CONDITIONING"],
                  [4, 4, 0, 5, 3, "LATENT"], [10, 7, 0, 6, 0, "STRING"], [11, 6, 0, 2, 0, "STRING"],
                  [12, 2, 0, 8, 0, "CONDITIONING"]],
    }
    g = workflow_to_api(wf)
    r = read(g).settings
    assert (r.prompt, r.uc, r.width, r.height, r.seed, r.steps) == ("from a custom box", "neg", 640, 960, 8, 15)
    rec = read_metadata(png_bytes(noise_image(8, 8, mode="RGB"), {"workflow": json.dumps(wf)}))
    assert rec.settings.prompt == "from a custom box"


@pytest.mark.parametrize(
    "change",
    [
        {"70": {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["4", 0], "scale_by": 1e308}}},
        {"²": {"class_type": "KSampler", "inputs": {"positive": ["2", 0], "negative": ["3", 0], "steps": 1, "seed": 1}}},
        {"2": {"class_type": "Odd", "inputs": {"text": ["80", 0]}}, "80": {"class_type": "X", "inputs": {"_widgets": 5}}},
    ],
    ids=["huge-scale", "unicode-digit-id", "bad-widgets"],
)
def test_hostile_graphs_fail_with_a_reason_or_read(change: dict[str, Any]) -> None:
    from peropix_tui.core.metadata import NoMetadataError

    g = {**base("x", "y", latent=["70", 0] if "70" in change else None), **change}
    try:
        read_metadata(png_bytes(noise_image(8, 8, mode="RGB"), {"prompt": json.dumps(g)}))
    except NoMetadataError as e:
        assert "\n" not in str(e)


def test_pixel_space_hires_with_an_upscale_model() -> None:
    g = base("x", "y")
    g["100"] = {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["1", 2]}}
    g["101"] = {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x-UltraSharp.pth"}}
    g["102"] = {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["101", 0], "image": ["100", 0]}}
    g["103"] = {"class_type": "ImageScaleBy", "inputs": {"image": ["102", 0], "upscale_method": "lanczos", "scale_by": 0.5}}
    g["104"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["103", 0], "vae": ["1", 2]}}
    g["105"] = {"class_type": "KSampler", "inputs": {"seed": 3, "steps": 8, "cfg": 5.0, "sampler_name": "euler",
                                                     "scheduler": "normal", "denoise": 0.35, "model": ["1", 0],
                                                     "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["104", 0]}}
    rec = read(g)
    j = rec.to_json()
    assert (j["width"], j["steps"], j["action"]) == (832, 20, "generate")
    assert (j["hires_scale"], j["hires_denoise"], j["hires_steps"], j["hires_upscaler"]) == (2.0, 0.35, 8, "4x-UltraSharp.pth")
    assert any("taken from the upscale model's name" in n for n in rec.notes)


def test_hires_pass_to_an_explicit_size_and_an_image_scale_is_not_a_first_pass() -> None:
    g = base("x", "y")
    g["110"] = {"class_type": "VAEDecode", "inputs": {"samples": ["9", 0], "vae": ["1", 2]}}
    g["111"] = {"class_type": "ImageScale", "inputs": {"image": ["110", 0], "upscale_method": "lanczos", "width": 1248,
                                                       "height": 1824, "crop": "disabled"}}
    g["112"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["111", 0], "vae": ["1", 2]}}
    g["0"] = {"class_type": "KSampler", "inputs": {"seed": 3, "steps": 8, "cfg": 5.0, "sampler_name": "euler",
                                                   "scheduler": "normal", "denoise": 0.5, "model": ["1", 0],
                                                   "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["112", 0]}}
    j = read(g).to_json()
    assert (j["width"], j["height"], j["steps"], j["hires_scale"], j["hires_denoise"]) == (832, 1216, 20, 1.5, 0.5)


def test_efficiency_nodes_loader_and_sampler() -> None:
    g = {
        "1": {"class_type": "Efficient Loader", "inputs": {
            "ckpt_name": "eff.safetensors", "vae_name": "Baked VAE", "clip_skip": -2, "lora_name": "None",
            "positive": "an efficient cat", "negative": "an efficient dog", "empty_latent_width": 896,
            "empty_latent_height": 1152, "batch_size": 1}},
        "2": {"class_type": "KSampler (Efficient)", "inputs": {
            "model": ["1", 0], "positive": ["1", 1], "negative": ["1", 2], "latent_image": ["1", 3], "seed": 11,
            "steps": 25, "cfg": 6.5, "sampler_name": "dpmpp_2m", "scheduler": "karras", "denoise": 1.0}},
    }
    j = read(g).to_json()
    assert (j["prompt"], j["negative"], j["width"], j["height"], j["seed"], j["steps"]) == (
        "an efficient cat", "an efficient dog", 896, 1152, 11, 25)
    assert (j["model"], j["clip_skip"], j["vae"], j["loras"]) == ("eff", 2, None, [])
