"""`peropix meta` on several files, damaged EXIF without printed warnings, unknown values, restore of them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from peropix_tui.cli import main
from peropix_tui.core.metadata import read_metadata, restore_settings, write_novelai_png
from peropix_tui.core.metadata.exif import user_comment_exif
from peropix_tui.core.settings import GenerationSettings

from .util import nai_settings, noise_image, png_bytes

A1111 = "cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Clip skip: 2"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    return subprocess.run([sys.executable, "-m", "peropix_tui", *args], capture_output=True, text=True, timeout=120, env=env)


def test_several_files_json_array_with_errors(tmp_path: Path) -> None:
    good = tmp_path / "a.png"
    good.write_bytes(write_novelai_png(noise_image(), nai_settings(), seed=5))
    other = tmp_path / "b.png"
    other.write_bytes(png_bytes(noise_image(8, 8, mode="RGB"), {"parameters": A1111}))
    bad = tmp_path / "c.png"
    bad.write_bytes(b"not an image")
    done = _run("meta", str(good), str(other), str(bad), "--json")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert [d["file"] for d in data] == [str(good), str(other), str(bad)]
    assert (data[0]["dialect"], data[0]["seed"], data[1]["dialect"], data[1]["prompt"]) == ("peropix", 5, "a1111", "cat")
    assert data[2]["error"].startswith("no readable metadata: c.png: ")


def test_several_files_all_good_exit_0_and_text_headers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = []
    for i in range(2):
        p = tmp_path / f"{i}.png"
        p.write_bytes(png_bytes(noise_image(8, 8, mode="RGB"), {"parameters": A1111.replace("Seed: 1", f"Seed: {i + 10}")}))
        paths.append(str(p))
    assert main(["meta", *paths]) == 0
    out = capsys.readouterr().out
    assert f"== {paths[0]} ==" in out and f"== {paths[1]} ==" in out
    assert "Seed:          10" in out and "Seed:          11" in out and "Clip skip:     2" in out


def test_unknown_values_are_null_in_json_and_absent_in_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "hf.png"
    p.write_bytes(png_bytes(noise_image(8, 8, mode="RGB"), {"parameters": json.dumps({"prompt": "a boat", "seed": 4})}))
    assert main(["meta", str(p), "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    for key in ("width", "height", "steps", "scale", "sampler", "noise_schedule", "model"):
        assert j[key] is None, key
    assert (j["prompt"], j["seed"]) == ("a boat", 4)
    assert main(["meta", str(p)]) == 0
    out = capsys.readouterr().out
    labels = {line.split(":", 1)[0] for line in out.splitlines()}
    assert not labels & {"Size", "Steps", "Scale", "Sampler", "Model", "Schedule"}, out
    assert "Note:          not in the file: model, width, height, steps, scale, sampler, noise_schedule" in out


def test_jpeg_with_damaged_exif_prints_no_warning(tmp_path: Path) -> None:
    exif = user_comment_exif(A1111).tobytes()
    # the UserComment's value lies past the end of the block: Pillow warns "Possibly corrupt EXIF data"
    damaged = exif[: len(exif) - 40]
    p = tmp_path / "d.jpg"
    noise_image(16, 16, mode="RGB").save(p, "JPEG", exif=damaged)
    with Image.open(p) as im:  # the file really is one Pillow warns about
        with pytest.warns(UserWarning):
            im.getexif().get_ifd(0x8769)
    done = _run("meta", str(p))
    assert "Warning" not in done.stderr and "warn" not in done.stdout.lower(), done.stderr
    assert done.returncode in (0, 1) and done.stderr.count("\n") <= 1


def test_restore_keeps_what_the_image_does_not_have() -> None:
    data = png_bytes(noise_image(8, 8, mode="RGB"), {"parameters": json.dumps({"prompt": "a boat", "seed": 4})})
    record = read_metadata(data)
    into = GenerationSettings(width=1024, height=1024, steps=40, scale=6.0, sampler="k_dpmpp_2m", model="nai-diffusion-3")
    got, warnings = restore_settings(record, {"prompts", "parameters", "size", "seed"}, into)
    assert (got.prompt, got.seed) == ("a boat", 4)
    assert (got.width, got.height, got.steps, got.scale, got.sampler, got.model) == (1024, 1024, 40, 6.0, "k_dpmpp_2m", "nai-diffusion-3")
    assert any(w.startswith("not in the image, kept as they were: ") for w in warnings)


def test_restore_brings_back_vae_loras_hires_and_says_clip_skip_is_not() -> None:
    text = ("cat <lora:style:0.5>\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 1, Size: 512x512, VAE: v.safetensors, "
            "Clip skip: 2, Denoising strength: 0.4, Hires upscale: 1.5")
    record = read_metadata(png_bytes(noise_image(8, 8, mode="RGB"), {"parameters": text}))
    got, warnings = restore_settings(record, {"parameters"}, GenerationSettings(provider="local"))
    assert (got.vae, [(lo.path, lo.weight) for lo in got.loras], got.hires_scale, got.hires_denoise) == (
        "v.safetensors", [("style", 0.5)], 1.5, 0.4)
    assert "clip skip 2 is not restored (no clip-skip setting here)" in warnings


def test_from_image_does_not_take_defaults_as_the_recipe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "hf.png"
    p.write_bytes(png_bytes(noise_image(8, 8, mode="RGB"), {"parameters": json.dumps({"prompt": "a boat", "seed": 4})}))
    assert main(["generate", "--from-image", str(p), "--provider", "nai", "--dry-run", "--json"]) == 0
    captured = capsys.readouterr()
    assert "note: not in the file: model, width, height" in captured.err
    body = json.loads(captured.out)
    assert body["input"].startswith("a boat") and body["parameters"]["seed"] == 4


def test_webp_exif_image_reads(tmp_path: Path) -> None:
    buf = io.BytesIO()
    noise_image(16, 16, mode="RGB").save(buf, "WEBP", exif=user_comment_exif(A1111))
    r = read_metadata(buf.getvalue())
    assert r.to_json()["clip_skip"] == 2


def test_gallery_index_does_not_record_a_default_model_for_foreign_images(isolated_dirs: Path) -> None:
    from peropix_tui.core.store import GalleryStore

    store = GalleryStore(Path(os.environ["PEROPIX_OUTPUT_DIR"]))
    try:
        data = png_bytes(noise_image(8, 8, mode="RGB"), {"parameters": json.dumps({"prompt": "a boat", "seed": 4})})
        img = store.save_image(data, folder="x", slot_index=0, slot_name="boat")
        assert (img.model, img.seed, img.prompt) == (None, 4, "a boat")
    finally:
        store.close()
