"""The real app against the loopback ComfyUI emulator: ComfyUI chosen in Parameters, its lists
discovered from the server, one image generated into the gallery with its preview; a server that
does not answer shows one line and keeps the form usable."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Input, Label, Select, TabbedContent

from peropix_tui.core.jobs import JobState
from peropix_tui.core.metadata import read_metadata
from peropix_tui.core.slots import Slot
from peropix_tui.messages import ImageSaved
from peropix_tui.widgets.param_form import ParamForm
from tests.comfyui.helpers import dead_url
from tests.comfyui_emulator import ComfyEmulator
from tests.comfyui_emulator.fixtures import comfy_emulator  # noqa: F401  (pytest fixture)
from tests.tui_app.conftest import settle


async def _params(app: Any, pilot: Any) -> ParamForm:
    await pilot.press("f2")  # without a NovelAI token the app opens on Settings
    await pilot.pause()
    app.screen.query_one(TabbedContent).active = "tab-params"
    await pilot.pause()
    await pilot.pause()
    return app.screen.query_one(ParamForm)


async def _discovered(app: Any, pilot: Any, form: ParamForm) -> str:
    """Wait for the discovery worker; the state line's text."""
    label = form.query_one("#p-comfy-state", Label)
    for _ in range(200):
        await settle(app, pilot, 1)
        text = str(label.render())
        if "asking" not in text and "not asked" not in text:
            return text
    raise AssertionError(f"discovery never answered: {label.render()}")


def _options(form: ParamForm, wid: str) -> list[str]:
    select = form.query_one(f"#{wid}", Select)
    return [str(value) for _, value in select._options if value is not Select.BLANK]


async def test_pick_comfyui_lists_from_the_server_generate_into_gallery(
        make_app: Any, comfy_emulator: ComfyEmulator) -> None:  # noqa: F811
    app = make_app()
    base = app.workspace.base
    base.width, base.height, base.steps, base.seed, base.prompt = 256, 256, 3, 77, "1girl, {smile}"
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        form = await _params(app, pilot)
        assert not form.query_one("#p-comfy_server").display  # NovelAI: no ComfyUI fields
        form.query_one("#p-provider", Select).focus()
        await pilot.press("enter", "down", "down", "enter")
        await pilot.pause()
        assert base.provider == "comfyui"
        state = await _discovered(app, pilot, form)
        assert "2 checkpoints, 2 LoRAs" in state, state
        assert form.query_one("#p-comfy_server").display and form.query_one("#p-checkpoint").display
        assert not form.query_one("#p-model").display and not form.query_one("#p-compile").display
        assert _options(form, "p-comfy_checkpoints")[1:] == comfy_emulator.folders["checkpoints"]
        assert _options(form, "p-comfy_loras")[1:] == comfy_emulator.folders["loras"]
        samplers = _options(form, "p-sampler")
        assert "euler_ancestral" in samplers and "uni_pc" in samplers and "k_euler" not in samplers[:-1]
        assert "sgm_uniform" in _options(form, "p-schedule")
        # pick a checkpoint and a LoRA from the server's lists
        form.query_one("#p-comfy_checkpoints", Select).value = "noobai-vpred-1.0.safetensors"
        form.query_one("#p-comfy_loras", Select).value = "detail-tweaker.safetensors"
        await pilot.pause()
        assert form.query_one("#p-checkpoint", Input).value == "noobai-vpred-1.0.safetensors"
        assert base.checkpoint == "noobai-vpred-1.0.safetensors"
        assert [lo.path for lo in base.loras] == ["detail-tweaker.safetensors"]
        form.query_one("#p-sampler", Select).value = "dpmpp_2m"
        form.query_one("#p-clip_skip", Input).value = "2"
        await pilot.pause()
        assert base.sampler == "dpmpp_2m" and base.clip_skip == 2
        await pilot.press("ctrl+g")
        for _ in range(300):
            await settle(app, pilot, 1)
            if app.queue.jobs and app.queue.jobs[-1].state in (JobState.DONE, JobState.FAILED):
                break
        job = app.queue.jobs[-1]
        assert job.state is JobState.DONE, job.error
        saved = list({m.path: m for m in seen if isinstance(m, ImageSaved)}.values())
        assert len(saved) == 1 and saved[0].path.read_bytes().startswith(b"\x89PNG")
        # the server ran what the form chose
        (post,) = comfy_emulator.calls("/prompt", "POST")
        nodes = {n["class_type"]: n["inputs"] for n in post.body["prompt"].values()}
        assert nodes["CheckpointLoaderSimple"]["ckpt_name"] == "noobai-vpred-1.0.safetensors"
        assert nodes["LoraLoader"]["lora_name"] == "detail-tweaker.safetensors"
        assert nodes["KSampler"]["sampler_name"] == "dpmpp_2m" and nodes["KSampler"]["seed"] == 77
        assert nodes["CLIPSetLastLayer"]["stop_at_clip_layer"] == -2
        texts = [n["inputs"]["text"] for n in post.body["prompt"].values() if n["class_type"] == "CLIPTextEncode"]
        assert "1girl, (smile:1.05)" in texts
        record = read_metadata(saved[0].path)
        assert record.peropix is not None and record.peropix["provider"] == "comfyui"
        # the preview shows it, and the gallery lists it
        preview = app.screen.query_one("#preview")
        assert getattr(preview, "image", None) is not None
        await pilot.press("f4")
        await settle(app, pilot)
        assert app.screen.current is not None and app.screen.current.file == saved[0].path


async def test_unreachable_server_shows_one_line_and_form_still_works(
        make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEROPIX_COMFYUI_URLS", dead_url())
    app = make_app()
    app.workspace.base.provider = "comfyui"
    async with app.run_test(size=(120, 40)) as pilot:
        form = await _params(app, pilot)
        state = await _discovered(app, pilot, form)
        assert "lists not known" in state and "\n" not in state, state
        assert "-down" in form.query_one("#p-comfy-state").classes
        assert _options(form, "p-comfy_checkpoints") == ["__pick__0"]
        form.query_one("#p-checkpoint", Input).value = "anything.safetensors"
        await pilot.pause()
        assert app.workspace.base.checkpoint == "anything.safetensors"


async def test_slots_run_queues_comfyui_jobs(make_app: Any, comfy_emulator: ComfyEmulator) -> None:  # noqa: F811
    app = make_app()
    base = app.workspace.base
    base.provider, base.checkpoint, base.prompt = "comfyui", "illustrious-xl-v1", "1girl"
    base.width, base.height, base.steps = 256, 256, 2
    app.workspace.slots = [Slot("smile", "smile"), Slot("cry", "crying")]
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await pilot.press("f3", "ctrl+g")
        for _ in range(300):
            await settle(app, pilot, 1)
            if len(app.queue) == 2 and all(j.state in (JobState.DONE, JobState.FAILED) for j in app.queue):
                break
        assert [j.state for j in app.queue] == [JobState.DONE, JobState.DONE], [j.error for j in app.queue]
        saved = sorted({m.path for m in seen if isinstance(m, ImageSaved)})
        assert [p.name[:9] for p in saved] == ["000_smile", "001_cry_0"]
    texts = sorted(n["inputs"]["text"] for call in comfy_emulator.calls("/prompt", "POST")
                   for n in call.body["prompt"].values() if n["class_type"] == "CLIPTextEncode" and n["inputs"]["text"])
    assert texts == ["1girl, crying", "1girl, smile"]


async def test_workflow_field_and_bindings_run_the_users_graph(
        make_app: Any, comfy_emulator: ComfyEmulator, tmp_path: Any) -> None:  # noqa: F811
    import json

    wf = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "noobai-vpred-1.0.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "x", "clip": ["1", 1]}, "_meta": {"title": "Pos"}},
        "3": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "4": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "seed": 1, "steps": 2, "cfg": 7.0,
                                                   "sampler_name": "euler", "scheduler": "normal",
                                                   "positive": ["2", 0], "negative": ["2", 0],
                                                   "latent_image": ["3", 0], "denoise": 1.0}},
        "5": {"class_type": "VAEDecode", "inputs": {"samples": ["4", 0], "vae": ["1", 2]}},
        "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "wf"}},
    }
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf), encoding="utf-8")
    app = make_app()
    base = app.workspace.base
    base.provider, base.prompt, base.width, base.height, base.seed = "comfyui", "hello", 128, 96, 3
    async with app.run_test(size=(120, 40)) as pilot:
        form = await _params(app, pilot)
        await _discovered(app, pilot, form)
        bind = form.query_one("#p-workflow_bind", Input)
        bind.value = "prompt=Pos, colour=3"
        await pilot.pause()
        assert "-invalid" in bind.classes and "unknown role 'colour'" in str(bind.tooltip)
        bind.value = "prompt=Pos, size=3"
        form.query_one("#p-workflow", Input).value = str(path)
        await pilot.pause()
        assert base.workflow == str(path) and base.workflow_bind == {"prompt": "Pos", "size": "3"}
        await pilot.press("ctrl+g")
        for _ in range(300):
            await settle(app, pilot, 1)
            if app.queue.jobs and app.queue.jobs[-1].state in (JobState.DONE, JobState.FAILED):
                break
        assert app.queue.jobs[-1].state is JobState.DONE, app.queue.jobs[-1].error
    (post,) = comfy_emulator.calls("/prompt", "POST")
    graph = post.body["prompt"]
    assert graph["2"]["inputs"]["text"] == "hello" and graph["4"]["inputs"]["seed"] == 3
    assert (graph["3"]["inputs"]["width"], graph["3"]["inputs"]["height"]) == (128, 96)
