"""What an EXIF UserComment holds is named by its own dialect; ``container`` says where it was found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peropix_tui.cli import main
from peropix_tui.core.metadata import read_metadata, write_novelai_png
from peropix_tui.core.metadata.writer import text_chunks

from .test_dialects import exif_image, rgb_png
from .util import fixture, nai_settings, noise_image, strip_text

A1111 = "cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768"


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
@pytest.mark.parametrize(("comment", "dialect"), [
    (A1111, "a1111"),
    (A1111 + ", App: SD.Next, Version: 431bcc3", "sdnext"),
    (json.dumps({"prompt": "cat", "negative_prompt": "dog", "num_inference_steps": 20, "seed": 4}), "json"),
    (json.dumps({"sui_image_params": {"prompt": "cat", "seed": 4, "steps": 20, "cfgscale": 7}}), "swarmui"),
])
def test_user_comment_is_named_by_what_it_holds(fmt: str, comment: str, dialect: str) -> None:
    r = read_metadata(exif_image(fmt, comment=comment))
    assert (r.dialect, r.container) == (dialect, "exif")
    assert (r.settings.prompt, r.to_json()["container"]) == ("cat", "exif")


def test_novelai_text_map_in_exif_is_novelai() -> None:
    s = nai_settings()
    chunks = text_chunks(s, seed=5, software="NovelAI")
    comment = json.loads(chunks["Comment"])
    del comment["peropix"]  # what NovelAI itself writes into its WebP
    chunks["Comment"] = json.dumps(comment)
    chunks["Source"] = "NovelAI Diffusion V4.5 4BDE2A90"
    r = read_metadata(exif_image("WEBP", comment=json.dumps(chunks)))
    assert (r.dialect, r.container, r.settings.seed) == ("novelai", "exif", 5)


def test_png_carriers_are_named_too(shared_dir: Path) -> None:
    assert read_metadata(rgb_png({"parameters": A1111})).container == "png"
    real = read_metadata(fixture(shared_dir, "sample-0316.png"))
    assert (real.dialect, real.container) == ("novelai", "png")
    ours = write_novelai_png(noise_image(128, 128), nai_settings(), seed=1, stealth_copy=True)
    r = read_metadata(strip_text(ours))
    assert (r.dialect, r.container) == ("novelai-stealth", "stealth")


def test_meta_text_says_where_the_metadata_was(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "a.jpg"
    p.write_bytes(exif_image("JPEG", comment=A1111))
    assert main(["meta", str(p)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["Dialect:       a1111", "Stored in:     exif"]
