"""`peropix meta`, `peropix generate --from-image … --dry-run`, and restore_settings groups."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peropix_tui.cli import main
from peropix_tui.core.metadata import GROUPS, read_metadata, restore_settings, write_novelai_png
from peropix_tui.core.settings import GenerationSettings

from .util import fixture, local_settings, nai_settings, noise_image, vibe


@pytest.fixture
def nai_png(tmp_path: Path) -> Path:
    path = tmp_path / "nai.png"
    path.write_bytes(write_novelai_png(noise_image(), nai_settings(), seed=123456789))
    return path


def test_meta_json_contract(nai_png: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["meta", str(nai_png), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    s = nai_settings()
    for key in ("prompt", "negative", "seed", "steps", "scale", "sampler", "noise_schedule", "width", "height",
                "model", "characters", "dialect"):
        assert key in data, key
    assert (data["prompt"], data["negative"], data["seed"], data["dialect"]) == (s.prompt, s.uc, 123456789, "peropix")
    assert data["characters"][0] == {"prompt": "girl, red dress", "uc": "lowres", "position": "B2", "enabled": True}
    assert data["full_prompt"].endswith("no text")


def test_meta_text_on_real_fixture(shared_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["meta", str(fixture(shared_dir, "sample-0316.png"))]) == 0
    out = capsys.readouterr().out
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in out.splitlines()}
    assert lines["Seed"] == "1148692016" and lines["Sampler"] == "k_euler" and lines["Model"] == "nai-diffusion-3"
    assert lines["UC preset"] == "heavy" and lines["Prompt"] == "silvery white" and lines["Negative"] == "small"
    assert lines["Sent prompt"] == "silvery white, best quality, amazing quality, very aesthetic, absurdres"


def test_meta_bad_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert main(["meta", str(bad)]) != 0
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("no readable metadata: bad.png: truncated PNG")


def test_generate_from_image_dry_run_rebuilds_the_same_prompt(nai_png: Path, capsys: pytest.CaptureFixture[str]) -> None:
    comment = read_metadata(nai_png).raw["comment"]
    assert main(["generate", "--from-image", str(nai_png), "--dry-run", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    p = body["parameters"]
    assert body["input"] == comment["prompt"]
    assert body["model"] == "nai-diffusion-4-5-full"
    assert p["negative_prompt"] == comment["uc"]
    assert (p["seed"], p["steps"], p["scale"], p["sampler"], p["noise_schedule"]) == (123456789, 23, 5.5, "k_dpmpp_2m", "exponential")
    assert p["v4_prompt"]["caption"]["char_captions"] == comment["v4_prompt"]["caption"]["char_captions"]


def test_generate_from_image_flags_override(nai_png: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--from-image", str(nai_png), "--seed", "5", "--steps", "12", "--dry-run", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)["parameters"]
    assert (p["seed"], p["steps"], p["scale"]) == (5, 12, 5.5)


def test_generate_from_local_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = local_settings()
    path = tmp_path / "local.png"
    path.write_bytes(write_novelai_png(noise_image(), s, seed=42))
    assert main(["generate", "--from-image", str(path), "--dry-run", "--json"]) == 0
    assert GenerationSettings.from_dict(json.loads(capsys.readouterr().out)) == s


def test_generate_from_unreadable_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.png"
    path.write_bytes(b"nope")
    assert main(["generate", "--from-image", str(path), "--dry-run"]) != 0
    assert "no readable metadata: x.png" in capsys.readouterr().err


# -------------------------------------------------------------------------- restore
def test_restore_groups_take_only_their_fields() -> None:
    record = read_metadata(write_novelai_png(noise_image(), nai_settings(), seed=77))
    into = GenerationSettings(prompt="mine", steps=40, width=512, height=512, seed=None)
    got, warnings = restore_settings(record, {"prompts"}, into)
    assert (got.prompt, got.uc, got.uc_preset, got.quality) == ("1girl, silver hair, smile", "bad hands, extra fingers", "light", True)
    assert (got.steps, got.width, got.seed, got.characters) == (40, 512, None, [])
    assert warnings == [] and into.prompt == "mine"  # input untouched
    got, _ = restore_settings(record, {"size", "seed"}, into)
    assert (got.prompt, got.width, got.height, got.seed, got.steps) == ("mine", 832, 1216, 77, 40)
    got, _ = restore_settings(record, {"parameters", "characters"}, into)
    assert (got.steps, got.scale, got.sampler, got.variety, got.prompt) == (23, 5.5, "k_dpmpp_2m", True, "mine")
    assert [c.position for c in got.characters] == ["B2", "D4"]
    got, _ = restore_settings(record, set(GROUPS), into)
    assert got == record.settings


def test_restore_warns_about_what_cannot_come_back() -> None:
    s = nai_settings(vibes=[vibe(1.0, 0.6, None, "a" * 64)], action="img2img", image="/x.png", strength=0.5)
    record = read_metadata(write_novelai_png(noise_image(), s, seed=1))
    got, warnings = restore_settings(record, {"vibes", "parameters"}, GenerationSettings())
    assert "vibe source images are not recoverable" in warnings
    assert "base image / mask not recoverable" in warnings
    assert [v.image_sha256 for v in got.vibes] == ["a" * 64]
    s2 = nai_settings(vibes=[vibe(0.7, 0.3, "RU5D", None)])
    got, warnings = restore_settings(read_metadata(write_novelai_png(noise_image(), s2, seed=1)), {"vibes"}, GenerationSettings())
    assert [v.encoding for v in got.vibes] == ["RU5D"]
    assert warnings == ["vibe source images are not recoverable; their encodings were restored from the metadata"]


def test_restore_unknown_group() -> None:
    record = read_metadata(write_novelai_png(noise_image(), nai_settings(), seed=1))
    with pytest.raises(ValueError, match="unknown restore group"):
        restore_settings(record, {"prompts", "colours"}, GenerationSettings())
