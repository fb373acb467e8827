"""The emulator answers /prompt as ComfyUI does: graphs validated node by node, errors in ComfyUI's shape."""

from __future__ import annotations

import copy
import io
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.comfyui_emulator import ComfyEmulator


def txt2img() -> dict[str, Any]:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "noobai-vpred-1.0.safetensors"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "cat", "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
        "3": {"class_type": "KSampler", "inputs": {"model": ["4", 0], "seed": 1, "steps": 2, "cfg": 7.0,
                                                   "sampler_name": "euler", "scheduler": "normal",
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0], "denoise": 1.0}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "t"}},
    }


def post(emu: ComfyEmulator, graph: Any) -> httpx.Response:
    return httpx.post(f"{emu.url}/prompt", json={"prompt": graph}, timeout=10)


def first_error(r: httpx.Response, node: str) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    err: dict[str, Any] = body["node_errors"][node]["errors"][0]
    return err


def test_valid_graph_is_queued(comfy_emulator: ComfyEmulator) -> None:
    r = post(comfy_emulator, txt2img())
    assert r.status_code == 200
    body = r.json()
    assert body["node_errors"] == {} and len(body["prompt_id"]) == 36


def test_unknown_class_type(comfy_emulator: ComfyEmulator) -> None:
    g = txt2img()
    g["8"]["class_type"] = "VAEDecodeMagic"
    r = post(comfy_emulator, g)
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "missing_node_type"


def test_no_output_node(comfy_emulator: ComfyEmulator) -> None:
    g = txt2img()
    del g["9"]
    assert post(comfy_emulator, g).json()["error"]["type"] == "prompt_no_outputs"


@pytest.mark.parametrize(("node", "change", "kind", "input_name"), [
    ("3", lambda i: i.pop("steps"), "required_input_missing", "steps"),
    ("3", lambda i: i.update(sampler_name="k_euler"), "value_not_in_list", "sampler_name"),
    ("3", lambda i: i.update(scheduler="polyexponential"), "value_not_in_list", "scheduler"),
    ("4", lambda i: i.update(ckpt_name="missing.safetensors"), "value_not_in_list", "ckpt_name"),
    ("3", lambda i: i.update(cfg=101), "value_bigger_than_max", "cfg"),
    ("3", lambda i: i.update(denoise=-0.1), "value_smaller_than_min", "denoise"),
    ("5", lambda i: i.update(width=8), "value_smaller_than_min", "width"),
    ("3", lambda i: i.update(steps="many"), "invalid_input_type", "steps"),
    ("3", lambda i: i.update(positive=["5", 0]), "return_type_mismatch", "positive"),
    ("3", lambda i: i.update(model=["4", 0, 1]), "bad_linked_input", "model"),
])
def test_input_errors_name_node_and_input(comfy_emulator: ComfyEmulator, node: str, change: Any, kind: str,
                                          input_name: str) -> None:
    g = txt2img()
    change(g[node]["inputs"])
    err = first_error(post(comfy_emulator, g), node)
    assert err["type"] == kind
    assert err["extra_info"]["input_name"] == input_name


def test_step_is_not_checked_and_undeclared_inputs_are_ignored(comfy_emulator: ComfyEmulator) -> None:
    g = txt2img()
    g["5"]["inputs"]["width"] = 513  # not a multiple of the step 8: ComfyUI accepts it
    g["3"]["inputs"]["not_an_input"] = 5
    assert post(comfy_emulator, g).status_code == 200


def test_unreachable_nodes_are_not_validated(comfy_emulator: ComfyEmulator) -> None:
    g = txt2img()
    g["99"] = {"class_type": "CLIPTextEncode", "inputs": {"text": 1}}  # missing clip, but nothing uses it
    assert post(comfy_emulator, g).status_code == 200


def test_loadimage_needs_an_uploaded_file(comfy_emulator: ComfyEmulator) -> None:
    g = copy.deepcopy(txt2img())
    g["10"] = {"class_type": "LoadImage", "inputs": {"image": "peropix/x.png"}}
    g["11"] = {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}}
    g["3"]["inputs"]["latent_image"] = ["11", 0]
    assert first_error(post(comfy_emulator, g), "10")["type"] == "custom_validation_failed"
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buf, format="PNG")
    up = httpx.post(f"{comfy_emulator.url}/upload/image", files={"image": ("x.png", buf.getvalue(), "image/png")},
                    data={"subfolder": "peropix"}, timeout=10)
    assert up.json() == {"name": "x.png", "subfolder": "peropix", "type": "input"}
    assert post(comfy_emulator, g).status_code == 200


def test_prompt_id_must_be_a_uuid_and_unique(comfy_emulator: ComfyEmulator) -> None:
    bad = httpx.post(f"{comfy_emulator.url}/prompt", json={"prompt": txt2img(), "prompt_id": "job-1"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_prompt_id"
    pid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    ok = httpx.post(f"{comfy_emulator.url}/prompt", json={"prompt": txt2img(), "prompt_id": pid}, timeout=10)
    assert ok.json()["prompt_id"] == pid
    again = httpx.post(f"{comfy_emulator.url}/prompt", json={"prompt": txt2img(), "prompt_id": pid}, timeout=10)
    assert again.status_code == 409


def test_object_info_lists_combos_from_the_server_folders(comfy_emulator: ComfyEmulator) -> None:
    info = httpx.get(f"{comfy_emulator.url}/object_info/CheckpointLoaderSimple", timeout=10).json()
    assert info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] == comfy_emulator.folders["checkpoints"]
    assert httpx.get(f"{comfy_emulator.url}/object_info/Nope", timeout=10).json() == {}
    assert httpx.get(f"{comfy_emulator.url}/api/models/loras", timeout=10).json() == comfy_emulator.folders["loras"]
    assert httpx.get(f"{comfy_emulator.url}/models/nope", timeout=10).status_code == 404


def test_view_refuses_paths_outside_its_folders(comfy_emulator: ComfyEmulator) -> None:
    base = f"{comfy_emulator.url}/view"
    assert httpx.get(base, params={"filename": "../x.png"}, timeout=10).status_code == 400
    assert httpx.get(base, params={"filename": "x.png", "subfolder": "../../etc"}, timeout=10).status_code == 403
    assert httpx.get(base, params={"filename": "none.png"}, timeout=10).status_code == 404


def test_upload_mask_puts_the_alpha_on_the_original(comfy_emulator: ComfyEmulator) -> None:
    def png(im: Image.Image) -> bytes:
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        return buf.getvalue()

    url = comfy_emulator.url
    httpx.post(f"{url}/upload/image", files={"image": ("base.png", png(Image.new("RGB", (8, 8), "red")), "image/png")},
               timeout=10)
    mask = Image.new("RGBA", (8, 8), (0, 0, 0, 255))
    mask.putpixel((0, 0), (0, 0, 0, 0))
    r = httpx.post(f"{url}/upload/mask", files={"image": ("m.png", png(mask), "image/png")},
                   data={"original_ref": '{"filename": "base.png", "type": "input"}'}, timeout=10)
    assert r.json()["name"] == "m.png"
    got = Image.open(io.BytesIO(httpx.get(f"{url}/view", params={"filename": "m.png", "type": "input"},
                                          timeout=10).content))
    assert got.mode == "RGBA" and got.getpixel((0, 0)) == (255, 0, 0, 0) and got.getpixel((1, 1)) == (255, 0, 0, 255)
