"""A ComfyUI image keeps the server's ``prompt`` / ``workflow`` chunks (it still opens in ComfyUI) and
gains our Comment: it reads back as provider comfyui with checkpoint, LoRAs and server, and
restores into ComfyUI settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from peropix_tui.core.metadata import png, read_metadata, restore_settings
from peropix_tui.core.metadata.writer import add_comment, default_source
from peropix_tui.core.settings import GenerationSettings, LoraSpec
from tests.comfyui.helpers import png_text
from tests.comfyui_emulator import ComfyEmulator


def _generate(tmp_path: Path, *args: str) -> Path:
    r = subprocess.run([sys.executable, "-m", "peropix_tui", "generate", "--provider", "comfyui", "--checkpoint",
                        "illustrious-xl-v1", "--prompt", "{cat}, [[hat]]", "--steps", "3", "--width", "256",
                        "--height", "256", "--seed", "11", "--sampler", "k_dpmpp_2m", "--out", str(tmp_path),
                        "--json", *args], capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    (path,) = json.loads(r.stdout)
    return Path(path)


def test_comfyui_image_reads_back_as_comfyui_and_still_opens_in_comfyui(
        comfy_emulator: ComfyEmulator, tmp_path: Path) -> None:
    path = _generate(tmp_path, "--lora", "flat-color:0.6", "--clip-skip", "2")
    data = path.read_bytes()
    (server_png,) = (comfy_emulator.root / "output").rglob("*.png")
    ours, theirs = png_text(data), png_text(server_png.read_bytes())
    # ComfyUI loads the image from these chunks (an API-driven server writes no "workflow")
    assert {k: ours.get(k) for k in ("prompt", "workflow")} == {k: theirs.get(k) for k in ("prompt", "workflow")}
    assert json.loads(ours["prompt"])
    assert ours["Source"].startswith("PeroPix ComfyUI 127.0.0.1:") and ours["Source"].endswith(" illustrious-xl-v1")
    record = read_metadata(path)
    s, pp = record.settings, record.peropix
    assert pp is not None and s.provider == "comfyui" and pp["provider"] == "comfyui"
    assert s.checkpoint == "illustrious-xl-v1" and [(lo.path, lo.weight) for lo in s.loras] == [("flat-color", 0.6)]
    assert s.clip_skip == 2 and s.comfyui_server is None  # no pin: any server
    assert pp["server"] == comfy_emulator.url.removeprefix("http://")
    assert pp["comfyui"]["checkpoint"] == "sdxl/illustrious-xl-v1.safetensors"  # the server's own file
    assert pp["comfyui"]["loras"] == [{"name": "style/flat-color.safetensors", "weight": 0.6}]
    assert pp["comfyui"]["sampler"] == "dpmpp_2m" and pp["comfyui"]["server_url"] == comfy_emulator.url
    assert (s.prompt, s.seed, s.sampler, s.width) == ("{cat}, [[hat]]", 11, "k_dpmpp_2m", 256)
    got, warnings = restore_settings(record, {"prompts", "parameters", "size", "seed"}, GenerationSettings())
    assert (got.provider, got.checkpoint, got.clip_skip, got.prompt) == ("comfyui", "illustrious-xl-v1", 2, "{cat}, [[hat]]")
    assert [lo.path for lo in got.loras] == ["flat-color"] and not [w for w in warnings if "clip skip" in w]


def test_add_comment_keeps_every_other_chunk(tmp_path: Path) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buf, format="PNG")
    graph = json.dumps({"3": {"class_type": "KSampler", "inputs": {"seed": 5}}})
    data = png.set_text(buf.getvalue(), {"prompt": graph, "workflow": "{\"nodes\": []}"})
    s = GenerationSettings(provider="comfyui", checkpoint="/m/anima.safetensors", comfyui_server="gpu2",
                           workflow="/w/flow.json", workflow_bind={"prompt": "Positive", "seed": "3"},
                           loras=[LoraSpec("detail", 0.5)], clip_skip=1, prompt="a (b) [c]")
    out = add_comment(data, s, seed=5, peropix={"server": "gpu2"})
    text = png.read_text(out)
    assert text["prompt"] == graph and text["workflow"] == "{\"nodes\": []}"
    assert text["Source"] == default_source(s, "gpu2") == "PeroPix ComfyUI gpu2 anima"
    with Image.open(io.BytesIO(out)) as im:
        assert im.getpixel((3, 3)) == (10, 20, 30)
    back = read_metadata(out).settings
    assert (back.provider, back.comfyui_server, back.workflow, back.workflow_bind) == (
        "comfyui", "gpu2", "/w/flow.json", {"prompt": "Positive", "seed": "3"})
    assert (back.checkpoint, back.clip_skip, back.prompt) == ("/m/anima.safetensors", 1, "a (b) [c]")
