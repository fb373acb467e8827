"""User API-format workflows: bound inputs filled from the settings, everything else sent unchanged."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from peropix_tui.core.backend import BackendError, CancelToken
from peropix_tui.core.comfyui.workflow import UserWorkflow, WorkflowError, parse_bindings
from peropix_tui.core.settings import GenerationSettings
from tests.comfyui.helpers import backend, png_size, png_text, sent_graph, settings
from tests.comfyui_emulator import ComfyEmulator


def workflow(titles: bool = True, save: str = "SaveImage") -> dict[str, Any]:
    def meta(t: str) -> dict[str, Any]:
        return {"_meta": {"title": t}} if titles else {}

    save_inputs: dict[str, Any] = {"images": ["8", 0]}
    if save == "SaveImage":
        save_inputs["filename_prefix"] = "mine"
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "noobai-vpred-1.0.safetensors"},
              **meta("Load Checkpoint")},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "old prompt", "clip": ["4", 1]}, **meta("Positive")},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "old negative", "clip": ["4", 1]},
              **meta("Negative")},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 256, "height": 256, "batch_size": 1},
              **meta("Latent")},
        "3": {"class_type": "KSampler", "inputs": {"model": ["4", 0], "seed": 1, "steps": 3, "cfg": 6.5,
                                                   "sampler_name": "uni_pc", "scheduler": "beta",
                                                   "positive": ["6", 0], "negative": ["7", 0],
                                                   "latent_image": ["5", 0], "denoise": 1.0}, **meta("KSampler")},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": save, "inputs": save_inputs},
    }


async def test_titled_workflow_fills_prompt_negative_seed_and_keeps_the_rest(comfy_emulator: ComfyEmulator,
                                                                            tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    original = workflow()
    path.write_text(json.dumps(original), encoding="utf-8")
    b = backend(comfy_emulator, workflow=UserWorkflow.load(path))
    (img,) = await b.generate(settings(prompt="{new} prompt", uc="bad", seed=77, steps=30, checkpoint=None), lambda p: None,
                              CancelToken())
    await b.aclose()
    g = sent_graph(img.data)
    assert g["6"]["inputs"]["text"] == "(new:1.05) prompt"
    assert g["7"]["inputs"]["text"] == "bad"
    assert g["3"]["inputs"]["seed"] == 77
    expected = copy.deepcopy(original)
    for node, key in (("6", "text"), ("7", "text"), ("3", "seed")):
        expected[node]["inputs"][key] = g[node]["inputs"][key]
    assert g == expected  # steps 3, uni_pc/beta, 256x256 and the checkpoint are the workflow's own
    assert png_size(img.data) == (256, 256)
    assert img.info["workflow_file"] == str(path)


async def test_explicit_bindings_by_id_and_title(comfy_emulator: ComfyEmulator) -> None:
    wf = UserWorkflow.from_graph(workflow(), "wf.json",
                                 parse_bindings(["size=Latent", "steps=3", "sampler=3", "checkpoint=4"]))
    b = backend(comfy_emulator, workflow=wf)
    (img,) = await b.generate(settings(width=320, height=448, steps=5, sampler="k_dpmpp_2m"), lambda p: None,
                              CancelToken())
    await b.aclose()
    g = sent_graph(img.data)
    assert (g["5"]["inputs"]["width"], g["5"]["inputs"]["height"]) == (320, 448)
    assert g["3"]["inputs"]["steps"] == 5 and g["3"]["inputs"]["sampler_name"] == "dpmpp_2m"
    assert g["4"]["inputs"]["ckpt_name"] == "sdxl/illustrious-xl-v1.safetensors"
    assert png_size(img.data) == (320, 448)


def test_untitled_workflow_is_bound_through_the_sampler_links() -> None:
    wf = UserWorkflow.from_graph(workflow(titles=False), "wf.json")
    assert wf.resolve() == {"prompt": "6", "negative": "7", "seed": "3"}
    assert wf.resolve(want_checkpoint=True)["checkpoint"] == "4"


async def test_workflow_with_websocket_output_returns_images_from_frames(comfy_emulator: ComfyEmulator) -> None:
    wf = UserWorkflow.from_graph(workflow(save="SaveImageWebsocket"), "ws.json")
    b = backend(comfy_emulator, workflow=wf)
    (img,) = await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    assert img.extension == "png" and png_size(img.data) == (256, 256)
    assert img.info["server_file"] is None
    assert "prompt" not in png_text(img.data)
    assert not comfy_emulator.calls("/view")


@pytest.mark.parametrize(("data", "bindings", "fragment"), [
    ({"nodes": [], "links": []}, {}, "UI-format workflow"),
    ([], {}, "not an API-format workflow"),
    ({"1": {"inputs": {}}}, {}, "node 1 has no class_type"),
    (workflow(), {"colour": "3"}, "unknown role 'colour'"),
])
def test_unusable_workflows_are_refused_naming_the_file(data: Any, bindings: dict[str, str], fragment: str) -> None:
    with pytest.raises(WorkflowError) as e:
        UserWorkflow.from_graph(data, "my.json", bindings)
    assert str(e.value).startswith("my.json: ") and fragment in str(e.value)


def test_bad_bindings_are_refused() -> None:
    from peropix_tui.core.comfyui.discovery import ServerInfo

    info = ServerInfo(name="x", url="")
    with pytest.raises(WorkflowError, match="no node with id or title 'Nope'"):
        UserWorkflow.from_graph(workflow(), "w.json", {"prompt": "Nope"}).fill(
            settings(), info, positive="a", negative="b", seed=1)
    with pytest.raises(WorkflowError, match="input model is a link|has no input text"):
        UserWorkflow.from_graph(workflow(), "w.json", {"prompt": "3"}).fill(
            settings(), info, positive="a", negative="b", seed=1)
    with pytest.raises(WorkflowError, match="is not ROLE=NODE"):
        parse_bindings(["prompt"])


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="cannot read the workflow"):
        UserWorkflow.load(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(WorkflowError, match=r"bad.json: not a JSON workflow"):
        UserWorkflow.load(bad)


async def test_workflow_named_in_the_settings_is_read_at_run_time(comfy_emulator: ComfyEmulator,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(workflow(titles=False)), encoding="utf-8")
    b = backend(comfy_emulator)
    s = settings(workflow=str(path), workflow_bind={"steps": "3"}, steps=6, checkpoint=None, prompt="from settings")
    (img,) = await b.generate(s, lambda p: None, CancelToken())
    g = sent_graph(img.data)
    assert g["6"]["inputs"]["text"] == "from settings" and g["3"]["inputs"]["steps"] == 6
    with pytest.raises(BackendError, match=r"none.json: cannot read the workflow"):
        await b.generate(settings(workflow=str(tmp_path / "none.json")), lambda p: None, CancelToken())
    await b.aclose()
    assert GenerationSettings.from_dict(s.to_dict()).workflow_bind == {"steps": "3"}
