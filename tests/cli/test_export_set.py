"""Export of a set: names by slot / mood, formats, metadata kept or stripped (stealth too), no overwrite."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peropix_tui.cli import main
from peropix_tui.core.export import ExportError, ExportOptions, collect, plan_export, run_export
from peropix_tui.core.metadata import png as pngmeta
from peropix_tui.core.metadata import read_metadata
from peropix_tui.core.metadata.exif import read_user_comment
from peropix_tui.core.metadata.stealth import StealthError, read_stealth, write_stealth

ROOT = Path(__file__).resolve().parents[2]
COMMENT = json.dumps({"prompt": "1girl, happy", "uc": "lowres", "steps": 28, "seed": 5, "width": 64, "height": 64,
                      "scale": 5, "sampler": "k_euler_ancestral", "noise_schedule": "karras"})


def nai_png(path: Path, *, alpha_hole: bool = False) -> Path:
    """A NovelAI-like PNG: Comment chunk plus the same data as stealth alpha."""
    rgba = np.full((64, 64, 4), 200, dtype=np.uint8)
    rgba[:, :, 3] = 255
    if alpha_hole:
        rgba[40:, 40:, 3] = 0
    im = write_stealth(Image.fromarray(rgba, "RGBA"), json.dumps({"Comment": COMMENT}).encode())
    buf = io.BytesIO()
    im.save(buf, "PNG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pngmeta.set_text(buf.getvalue(), {"Software": "NovelAI", "Comment": COMMENT}))
    return path


@pytest.fixture
def emotion_set(tmp_path: Path) -> Path:
    folder = tmp_path / "set"
    for i, (idx, mood) in enumerate(((1, "happy"), (2, "sad"), (1, "happy"), (3, "angry"))):
        nai_png(folder / f"{idx:03d}_{mood}_{i + 1:07d}.png", alpha_hole=mood == "angry")
    return folder


def test_folder_to_zip_named_by_mood_without_sequence(emotion_set: Path, tmp_path: Path) -> None:
    opts = ExportOptions(keep_seq=False)
    (z,) = run_export(plan_export(collect([emotion_set]), tmp_path / "set.zip", opts, as_zip=True), opts)
    names = zipfile.ZipFile(z).namelist()
    assert names == ["001_happy.png", "001_happy-2.png", "002_sad.png", "003_angry.png"]
    with zipfile.ZipFile(z) as zf:
        assert zf.read("002_sad.png") == (emotion_set / "002_sad_0000002.png").read_bytes()  # kept byte for byte


def test_only_selects_moods(emotion_set: Path) -> None:
    assert [p.name for p in collect([emotion_set], frozenset({"happy"}))] == ["001_happy_0000001.png",
                                                                              "001_happy_0000003.png"]
    with pytest.raises(ExportError, match="nothing to export"):
        collect([emotion_set], frozenset({"love"}))


def test_strip_removes_chunks_and_the_stealth_copy_but_keeps_transparency(emotion_set: Path, tmp_path: Path) -> None:
    src = emotion_set / "003_angry_0000004.png"
    assert read_stealth(Image.open(src))[0] == "pngcomp"
    opts = ExportOptions(strip=True)
    (out,) = run_export(plan_export([src], tmp_path / "clean", opts, as_zip=False), opts)
    assert pngmeta.read_text(out.read_bytes()) == {}
    im = Image.open(out)
    with pytest.raises(StealthError):
        read_stealth(im)
    alpha = np.asarray(im)[:, :, 3]
    assert im.mode == "RGBA" and alpha[50, 50] == 0 and alpha[0, 0] == 255
    opaque = emotion_set / "002_sad_0000002.png"
    (out2,) = run_export(plan_export([opaque], tmp_path / "clean2", opts, as_zip=False), opts)
    assert Image.open(out2).mode == "RGB"


def test_webp_and_jpeg_keep_the_recipe_in_exif(emotion_set: Path, tmp_path: Path) -> None:
    src = emotion_set / "002_sad_0000002.png"
    for fmt, ext in (("webp", "webp"), ("jpeg", "jpg")):
        opts = ExportOptions(fmt=fmt, quality=80)
        (out,) = run_export(plan_export([src], tmp_path / fmt, opts, as_zip=False), opts)
        assert out.name == f"002_sad_0000002.{ext}"
        assert json.loads(read_user_comment(Image.open(out)))["prompt"] == "1girl, happy"
        assert read_metadata(out).settings.seed == 5


def test_existing_targets_are_refused_and_nothing_is_written(emotion_set: Path, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "002_sad_0000002.png").write_bytes(b"mine")
    with pytest.raises(ExportError, match="002_sad_0000002.png: already exists"):
        plan_export(collect([emotion_set]), dest, ExportOptions(), as_zip=False)
    assert sorted(p.name for p in dest.iterdir()) == ["002_sad_0000002.png"]
    opts = ExportOptions(overwrite=True)
    run_export(plan_export(collect([emotion_set]), dest, opts, as_zip=False), opts)
    assert (dest / "002_sad_0000002.png").read_bytes() != b"mine"


def test_cli_export_zip_and_refusal(emotion_set: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    z = tmp_path / "out.zip"
    assert main(["export", str(emotion_set), "--to", str(z), "--no-seq", "--format", "webp", "--only", "sad"]) == 0
    assert zipfile.ZipFile(z).namelist() == ["002_sad.webp"]
    capsys.readouterr()
    proc = subprocess.run([sys.executable, "-m", "peropix_tui", "export", str(emotion_set), "--to", str(z)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1 and "out.zip: already exists (pass --overwrite" in proc.stderr
    assert zipfile.ZipFile(z).namelist() == ["002_sad.webp"]
