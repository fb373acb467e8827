"""`peropix meta` and the gallery panel on Director Tools / upscale results (the ``tool`` record)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from peropix_tui.core.metadata import read_metadata, restore_settings, write_novelai_png
from peropix_tui.core.nai.tools_save import SourceInfo, tool_record, with_tool_metadata
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.screens.gallery import meta_text

from .util import nai_settings, noise_image, png_bytes

EMOTION_OPTIONS = {"tool": "emotion", "mood": "happy", "defry": 1, "strength": "slightly_weak", "prompt": "tears"}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "peropix_tui", *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


def _source(tmp_path: Path) -> Path:
    src = tmp_path / "000_base_0000001.png"
    src.write_bytes(write_novelai_png(noise_image(), nai_settings(), seed=11))
    return src


def _emotion_result(tmp_path: Path) -> tuple[Path, Path]:
    """What ToolSaver writes for an augment answer: its Comment is the tool name, as NovelAI sends it."""
    src = _source(tmp_path)
    answer = png_bytes(noise_image(), {"Comment": "emotion"})
    rec = tool_record("emotion", EMOTION_OPTIONS, "image", SourceInfo.of(src), {"sent_size": [832, 1216]})
    out = tmp_path / "001_happy_0000002.png"
    out.write_bytes(with_tool_metadata(answer, rec))
    return src, out


def test_augment_result_reads_as_its_tool_record_with_no_recipe(tmp_path: Path) -> None:
    src, out = _emotion_result(tmp_path)
    r = read_metadata(out)
    assert r.dialect == "peropix" and r.container == "png" and not r.has_recipe
    assert r.tool is not None and r.tool["name"] == "emotion" and r.tool["part"] == "image"
    j = r.to_json()
    assert j["tool"]["options"] == EMOTION_OPTIONS
    assert j["tool"]["source"] == {"file": src.name, "sha256": hashlib.sha256(src.read_bytes()).hexdigest()}
    # nothing of a generation is claimed: every recipe key is unknown
    for key in ("prompt", "negative", "seed", "steps", "scale", "sampler", "width", "height", "model", "provider",
                "quality", "uc_preset", "n_samples", "variety", "full_prompt"):
        assert j[key] is None, key
    assert j["characters"] == [] and j["vibes"] == []
    assert any("no generation recipe in this file" in n for n in r.notes)


def test_augment_result_restores_nothing(tmp_path: Path) -> None:
    _, out = _emotion_result(tmp_path)
    into = GenerationSettings(prompt="mine", seed=5, steps=40)
    got, warnings = restore_settings(read_metadata(out), {"prompts", "parameters", "size", "seed", "charrefs"}, into)
    assert got == into  # nothing of the tool's defaults (provider, quality, …) comes in
    assert warnings == ["made by NovelAI's emotion tool from 000_base_0000001.png: no generation recipe in this file "
                        "(its source image has it)"]


def test_from_image_refuses_a_tool_result_in_one_line(tmp_path: Path) -> None:
    _, out = _emotion_result(tmp_path)
    done = _run("generate", "--from-image", str(out), "--dry-run")
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "no generation recipe in this file" in done.stderr, done.stderr


def test_gallery_index_takes_no_recipe_from_a_tool_result(tmp_path: Path) -> None:
    from peropix_tui.core.store import GalleryStore

    _, out = _emotion_result(tmp_path)
    with GalleryStore(tmp_path / "gallery", tmp_path / "g.sqlite3") as store:
        img = store.save_image(out.read_bytes(), folder="set", slot_index=1, slot_name="happy")
        assert (img.provider, img.model, img.seed, img.prompt or None) == (None, None, None, None)


def test_meta_cli_shows_the_tool_in_text_and_json(tmp_path: Path) -> None:
    src, out = _emotion_result(tmp_path)
    done = _run("meta", str(out))
    assert done.returncode == 0, done.stderr
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in done.stdout.splitlines()}
    assert lines["Dialect"] == "peropix" and lines["Tool"] == "emotion" and lines["Tool part"] == "image"
    assert lines["Tool options"] == "mood=happy, defry=1, strength=slightly_weak, prompt=tears"
    assert lines["Tool source"].startswith(f"{src.name} (SHA-256 {hashlib.sha256(src.read_bytes()).hexdigest()}")
    assert not {"Prompt", "Seed", "Steps", "Size", "Model", "Quality tags", "Samples"} & set(lines), done.stdout
    done = _run("meta", str(out), "--json")
    assert done.returncode == 0, done.stderr
    j = json.loads(done.stdout)
    assert j["dialect"] == "peropix" and j["tool"]["name"] == "emotion" and j["prompt"] is None


def test_upscale_result_keeps_the_source_recipe_and_names_the_tool(tmp_path: Path) -> None:
    src = _source(tmp_path)
    rec = tool_record("upscale", {"model": "nai-diffusion-5-curated", "declared_blur_sigma": 0, "scale": 2}, "upscale",
                      SourceInfo.of(src), {"model": "nai-diffusion-5-curated"})
    out = tmp_path / "000_base_2x_0000002.png"
    out.write_bytes(with_tool_metadata(src.read_bytes(), rec))
    r = read_metadata(out)
    assert r.has_recipe and r.settings == read_metadata(src).settings
    assert r.tool is not None and r.tool["name"] == "upscale"
    assert f"made by NovelAI's upscale tool from {src.name}; the recipe shown is the one its source image carried" in r.notes
    assert r.to_json()["tool"]["options"]["scale"] == 2


def test_gallery_panel_lists_the_tool(tmp_path: Path) -> None:
    src, out = _emotion_result(tmp_path)
    text = meta_text(out, read_metadata(out))
    lines = text.splitlines()
    assert "tool: emotion" in lines and "tool part: image" in lines
    assert any(line.startswith(f"tool source: {src.name}") for line in lines)
    assert not any(line.startswith(("prompt:", "seed:", "model:")) for line in lines), text
