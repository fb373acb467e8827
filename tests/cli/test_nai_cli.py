"""``peropix generate`` / ``peropix cost`` end to end against the emulator (in-process and a subprocess)."""

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
from tests.nai_emulator import GENERATE, STREAM, SUBSCRIPTION, NaiEmulator

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--prompt", "1girl, smile", "--width", "64", "--height", "64", "--steps", "4"]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_writes_the_servers_pngs_atomically(
    nai_emulator: NaiEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "generate", *SMALL, "--seed", "5", "--n-samples", "2", "--out", str(tmp_path))
    assert code == 0, err
    paths = [Path(line) for line in out.splitlines()]
    assert len(paths) == 2 and all(p.parent == tmp_path for p in paths)
    assert [p.name for p in paths] == ["0000001.png", "0000002.png"]  # the app's names: no slot, sequence
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".part")]  # no temp files left
    assert sorted(n for n in os.listdir(tmp_path) if not n.startswith(".")) == sorted(p.name for p in paths)
    for seed, path in zip((5, 6), paths, strict=True):
        img = Image.open(path)
        comment = json.loads(img.text["Comment"])
        assert img.text["Software"] == "NovelAI" and comment["seed"] == seed  # NovelAI's chunks kept
        assert comment["peropix"]["provider"] == "nai" and comment["peropix"]["base_prompt"] == "1girl, smile"
    assert [c.path for c in nai_emulator.calls()] == [STREAM]


def test_generate_json_lists_paths_and_default_out_is_a_session_folder_in_the_gallery(
    nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    from peropix_tui.core.store import GalleryStore

    code, out, _ = run_cli(capsys, "generate", *SMALL, "--json")
    assert code == 0
    (path,) = json.loads(out)
    root = Path(os.environ["PEROPIX_OUTPUT_DIR"])
    assert Path(path).parent.parent == root and Path(path).parent.name.startswith("session_")
    assert Image.open(path).size == (64, 64)
    with GalleryStore(root) as store:  # indexed, as the app's images are
        (row,) = store.page()
        assert row.file == Path(path) and row.prompt.startswith("1girl, smile")


def test_dry_run_sends_nothing_and_prints_the_redacted_body(
    nai_emulator: NaiEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src.png"
    Image.new("RGB", (64, 64), (9, 9, 9)).save(src)
    code, out, _ = run_cli(capsys, "generate", *SMALL, "--image", str(src), "--strength", "0.4", "--seed", "7",
                           "--character", "girl", "--character-pos", "B2", "--dry-run", "--json")
    assert code == 0
    body = json.loads(out)
    assert body["action"] == "img2img" and body["parameters"]["seed"] == 7
    assert body["parameters"]["image"].startswith("<base64 ") and body["parameters"]["image"].endswith(" bytes>")
    assert body["parameters"]["v4_prompt"]["caption"]["char_captions"][0]["centers"] == [{"x": 0.3, "y": 0.3}]
    assert nai_emulator.calls() == []
    code, out, _ = run_cli(capsys, "generate", *SMALL, "--image", str(src), "--seed", "7", "--dry-run")
    full = json.loads(out)
    assert len(full["parameters"]["image"]) > 100 and full["input"] == body["input"]
    assert nai_emulator.calls() == [] and not list(Path(os.environ["PEROPIX_OUTPUT_DIR"]).glob("*"))


def test_cost_with_tier_asks_no_server(nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "cost", "--prompt", "x", "--tier", "1", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["total"], data["per_image"], data["opus_free"]) == (20, 20, False)  # spec §10.4
    assert isinstance(data["breakdown"], dict)
    code, out, _ = run_cli(capsys, "cost", "--prompt", "x", "--tier", "3", "--json")
    assert json.loads(out)["opus_free"] is True and json.loads(out)["total"] == 0
    assert nai_emulator.calls() == []


def test_cost_without_tier_reads_the_subscription(nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    nai_emulator.account.tier = 2
    code, out, _ = run_cli(capsys, "cost", "--prompt", "x", "--steps", "50", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["total"] == 33 and data["tier"] == 2 and data["balance"] == nai_emulator.account.anlas
    assert [c.path for c in nai_emulator.calls()] == [SUBSCRIPTION]
    code, out, _ = run_cli(capsys, "cost", "--prompt", "x")
    assert code == 0 and "Cost: 20 Anlas" in out and "Balance:" in out


def test_cost_without_tier_or_token_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "cost", "--prompt", "x", "--json")
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and "token" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--width", "100"], "width"),
        (["--steps", "60"], "steps"),
        (["--model", "nai-diffusion-9"], "model"),
        (["--model", "nai-diffusion-5-full", "--schedule", "exponential"], "schedule"),
        (["--vibe", "/nonexistent/v.png"], "v.png"),
        (["--mask", "/nonexistent/m.png", "--image", "/nonexistent/i.png"], "i.png"),
    ],
)
def test_bad_input_is_one_line_and_sends_nothing(
    nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str], args: list[str], words: str
) -> None:
    code, out, err = run_cli(capsys, "generate", "--prompt", "x", *args)
    assert code != 0 and out == ""
    assert len(err.strip().splitlines()) == 1 and words in err
    assert [c for c in nai_emulator.calls() if c.path in (GENERATE, STREAM)] == []


def test_server_refusal_is_one_line_and_writes_nothing(
    nai_emulator: NaiEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nai_emulator.inject("402")
    code, out, err = run_cli(capsys, "generate", *SMALL, "--out", str(tmp_path))
    assert code == 1 and out == "" and "not enough Anlas" in err
    assert len(err.strip().splitlines()) == 1 and nai_emulator.token not in err
    assert list(tmp_path.iterdir()) == []


def test_local_provider_without_engine_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "peropix_tui.engine.backend", None)  # as if the [local] extra were absent
    code, out, err = run_cli(capsys, "generate", "--provider", "local", "--prompt", "x")
    assert code == 1 and out == "" and "local engine is not available" in err
    assert len(err.strip().splitlines()) == 1


def test_local_dry_run_prints_settings_without_loading_the_engine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "generate", "--provider", "local", "--prompt", "x", "--seed", "3",
                           "--dry-run", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["provider"], data["prompt"], data["seed"]) == ("local", "x", 3)


def test_generate_in_a_subprocess(nai_emulator: NaiEmulator, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "peropix_tui", "generate", *SMALL, "--seed", "11", "--out", str(tmp_path), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    (path,) = json.loads(proc.stdout)
    data = Path(path).read_bytes()
    img = Image.open(io.BytesIO(data))
    assert json.loads(img.text["Comment"])["seed"] == 11
    assert img.text["Source"].startswith("NovelAI Diffusion V4.5")
    assert nai_emulator.token not in proc.stderr + proc.stdout


def test_cost_of_v5_on_opus_depends_on_the_usage_allowance(
    nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("cost", "--model", "nai-diffusion-5-full", "--prompt", "x", "--json")
    code, out, _ = run_cli(capsys, *argv)
    assert code == 0 and json.loads(out)["opus_free"] is True
    nai_emulator.usage_negative = True
    code, out, _ = run_cli(capsys, *argv)
    assert json.loads(out)["opus_free"] is False and json.loads(out)["total"] == 30  # V5 = 1.5 x 20
