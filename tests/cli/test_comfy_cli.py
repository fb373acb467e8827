"""The CLI contract as real subprocesses: ``generate --provider comfyui`` and ``comfyui list``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.comfyui.helpers import dead_url, png_text
from tests.comfyui_emulator import ComfyEmulator


def peropix(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "peropix_tui", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


GEN = ("generate", "--provider", "comfyui", "--checkpoint", "illustrious-xl-v1", "--prompt", "{cat}",
       "--steps", "3", "--width", "512", "--height", "512")


def test_generate_saves_the_server_png(comfy_emulator: ComfyEmulator, tmp_path: Path) -> None:
    r = peropix(*GEN, "--seed", "11", "--sampler", "k_dpmpp_2m", "--lora", "flat-color:0.6", "--clip-skip", "2",
                "--out", str(tmp_path), "--json")
    assert r.returncode == 0, r.stderr
    (path,) = json.loads(r.stdout)
    data = Path(path).read_bytes()
    graph = json.loads(png_text(data)["prompt"])
    classes = sorted(n["class_type"] for n in graph.values())
    assert "LoraLoader" in classes and "CLIPSetLastLayer" in classes
    (ks,) = [n for n in graph.values() if n["class_type"] == "KSampler"]
    assert ks["inputs"]["seed"] == 11 and ks["inputs"]["sampler_name"] == "dpmpp_2m"


def test_server_chosen_by_name(comfy_pool: Any, tmp_path: Path) -> None:
    one, two = comfy_pool(2)
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.toml").write_text(
        f'[comfyui]\nservers = [{{ url = "{one.url}", name = "one" }}, {{ url = "{two.url}", name = "two" }}]\n',
        encoding="utf-8")
    r = peropix(*GEN, "--server", "two", "--out", str(tmp_path / "out"), env={"PEROPIX_CONFIG_DIR": str(cfg)})
    assert r.returncode == 0, r.stderr
    assert not one.calls("/prompt", "POST") and len(two.calls("/prompt", "POST")) == 1
    r = peropix(*GEN, "--server", "three", env={"PEROPIX_CONFIG_DIR": str(cfg)})
    assert r.returncode == 1
    assert r.stderr.strip() == "peropix: error: --server: no ComfyUI server named 'three' (servers: one, two)"


def test_workflow_file_and_bindings(comfy_emulator: ComfyEmulator, tmp_path: Path) -> None:
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
    r = peropix("generate", "--provider", "comfyui", "--workflow", str(path), "--bind", "prompt=Pos",
                "--bind", "size=3", "--prompt", "hello", "--width", "128", "--height", "96", "--seed", "3",
                "--out", str(tmp_path / "out"), "--json")
    assert r.returncode == 0, r.stderr
    graph = json.loads(png_text(Path(json.loads(r.stdout)[0]).read_bytes())["prompt"])
    assert graph["2"]["inputs"]["text"] == "hello"
    assert (graph["3"]["inputs"]["width"], graph["3"]["inputs"]["height"]) == (128, 96)
    assert graph["4"]["inputs"]["seed"] == 3 and graph["4"]["inputs"]["steps"] == 2


def test_dry_run_sends_nothing(comfy_emulator: ComfyEmulator) -> None:
    r = peropix(*GEN, "--seed", "5", "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert {n["class_type"] for n in body["prompt"].values()} >= {"CheckpointLoaderSimple", "KSampler", "SaveImage"}
    assert "nothing sent" in r.stderr
    assert not comfy_emulator.calls()


def test_bad_checkpoint_is_one_line_and_exit_1(comfy_emulator: ComfyEmulator) -> None:
    r = peropix("generate", "--provider", "comfyui", "--checkpoint", "sd15", "--prompt", "x")
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1
    assert "checkpoint 'sd15' is not on ComfyUI server" in r.stderr


def test_list_shows_health_queue_and_checkpoints(comfy_emulator: ComfyEmulator) -> None:
    env = {"PEROPIX_COMFYUI_URLS": f"{comfy_emulator.url},{dead_url()}"}
    r = peropix("comfyui", "list", "--json", "--timeout", "2", env=env)
    assert r.returncode == 0, r.stderr
    up, down = json.loads(r.stdout)
    assert up["healthy"] is True and up["running"] == 0 and up["pending"] == 0
    assert up["checkpoints"] == comfy_emulator.folders["checkpoints"] and up["version"] == "0.3.66"
    assert down["healthy"] is False and "unreachable" in down["error"] and down["checkpoints"] is None
    text = peropix("comfyui", "list", "--timeout", "2", env=env)
    assert text.returncode == 0
    assert "up, 0 running, 0 queued" in text.stdout and "DOWN:" in text.stdout


def test_list_without_servers_says_how_to_configure() -> None:
    r = peropix("comfyui", "list")
    assert r.returncode == 2  # a configuration error, as every command reports it
    assert "no ComfyUI server configured" in r.stderr and "PEROPIX_COMFYUI_URLS" in r.stderr


def test_cost_of_a_comfyui_run_is_zero_anlas() -> None:
    r = peropix("cost", "--provider", "comfyui", "--prompt", "x", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"total": 0, "per_image": 0, "opus_free": False, "breakdown": {},
                                    "provider": "comfyui"}
    assert peropix("cost", "--provider", "comfyui", "--prompt", "x").stdout.strip() == "Cost: 0 Anlas (ComfyUI server)"


def test_models_lists_what_the_server_offers(comfy_emulator: ComfyEmulator) -> None:
    r = peropix("comfyui", "models", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["checkpoints"] == comfy_emulator.folders["checkpoints"]
    assert info["loras"] == comfy_emulator.folders["loras"] and info["vaes"] == comfy_emulator.folders["vae"]
    assert "euler_ancestral" in info["samplers"] and "karras" in info["schedulers"]
    text = peropix("comfyui", "models")
    assert "loras (2): style/flat-color.safetensors, detail-tweaker.safetensors" in text.stdout
