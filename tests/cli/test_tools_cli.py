"""``peropix tool`` / ``peropix upscale`` / ``peropix cost tool|upscale`` against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from peropix_tui.cli import main
from tests.nai_emulator.server import NaiEmulator

MakePng = Callable[..., Path]
ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_tool_emotion_all_as_a_subprocess_makes_24_images_named_by_mood(
        nai_emulator: NaiEmulator, tmp_path: Path, make_png: MakePng) -> None:
    src = make_png("000_base_0000001.png", 832, 1216, folder=Path(os.environ["PEROPIX_OUTPUT_DIR"]) / "set")
    proc = subprocess.run([sys.executable, "-m", "peropix_tui", "tool", "emotion", str(src), "--mood", "all",
                           "--json"], capture_output=True, text=True, cwd=ROOT, env=os.environ.copy(), timeout=240)
    assert proc.returncode == 0, proc.stderr
    assert "cost 0 Anlas for 24 request(s), 24 free (Opus)" in proc.stderr
    data = json.loads(proc.stdout)
    names = [Path(p).name for p in data["saved"]]
    assert len(names) == 24 and names[0] == "000_neutral_0000002.png" and names[23] == "023_playful_0000025.png"
    assert all(Path(p).parent == src.parent for p in data["saved"])


def test_cost_is_shown_before_and_over_budget_nothing_is_sent(
        nai_emulator: NaiEmulator, make_png: MakePng, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEROPIX_BUDGET", "100")
    src = make_png("a.png", 832, 1216)
    code, out, err = run_cli(capsys, "tool", "bg-removal", str(src), str(src))
    assert code == 1 and out == ""
    assert "cost 130 Anlas for 2 request(s)" in err
    assert "over your budget of 100 (generation.budget); nothing was sent" in err
    assert not nai_emulator.calls("/ai/augment-image")


def test_over_balance_is_refused(nai_emulator: NaiEmulator, make_png: MakePng,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    nai_emulator.account.fixed, nai_emulator.account.purchased = 10, 0
    code, _, err = run_cli(capsys, "tool", "bg-removal", str(make_png("a.png", 64, 64)))
    assert code == 1 and "but the balance is 10 Anlas" in err and not nai_emulator.calls("/ai/augment-image")


def test_dry_run_sends_nothing(nai_emulator: NaiEmulator, make_png: MakePng,
                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "tool", "colorize", str(make_png("a.png", 64, 64)), "--prompt", "red",
                             "--defry", "3", "--dry-run", "--json")
    assert code == 0 and "nothing sent" in err and not nai_emulator.calls()
    body = json.loads(out)["bodies"][0]
    assert body["prompt"] == "red" and body["defry"] == 3 and body["image"].startswith("<base64 ")


@pytest.mark.parametrize(("argv", "message"), [
    (["tool", "emotion", "X", "--mood", "grumpy"], "--mood: 'grumpy' is not one of the 24 moods"),
    (["tool", "lineart", "X", "--defry", "2"], "--defry: only colorize and emotion"),
    (["tool", "emotion", "X"], "--mood: emotion needs a mood"),
    (["tool", "sketch", "missing.png"], "missing.png: file not found"),
    (["upscale", "X", "--model", "nai-diffusion-4-5-full"], "standalone upscaling is V5 only"),
])
def test_bad_input_is_one_line(nai_emulator: NaiEmulator, make_png: MakePng, capsys: pytest.CaptureFixture[str],
                               argv: list[str], message: str) -> None:
    src = str(make_png("x.png", 64, 64))
    code, _, err = run_cli(capsys, *[src if a == "X" else a for a in argv])
    usage = "file not found" not in message  # an invalid value is a usage error (2); a missing file is 1
    assert code == (2 if usage else 1) and message in err and len(err.strip().splitlines()) == 1
    assert not nai_emulator.calls("/ai/augment-image", "/ai/upscale")


def test_cost_tool_and_cost_upscale(nai_emulator: NaiEmulator, make_png: MakePng,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    src = str(make_png("a.png", 1024, 1536))
    code, out, _ = run_cli(capsys, "cost", "tool", "emotion", src, "--mood", "happy", "--mood", "sad", "--json")
    data = json.loads(out)
    assert code == 0 and data["total"] == 60 and data["tier"] == 3 and data["balance"] == nai_emulator.account.anlas
    code, out, _ = run_cli(capsys, "cost", "tool", "lineart", src, "--tier", "0")
    assert code == 0 and "Cost: 30 Anlas for 1 request(s)" in out
    code, out, _ = run_cli(capsys, "cost", "upscale", src, "--json")
    assert code == 0 and json.loads(out)["total"] == 2
    assert not nai_emulator.calls("/ai/augment-image", "/ai/upscale")


def test_generation_cost_still_works_beside_the_subcommands(nai_emulator: NaiEmulator,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "cost", "--width", "832", "--height", "1216", "--steps", "28", "--tier", "2",
                           "--json")
    assert code == 0 and json.loads(out)["total"] == 20


def test_upscale_cli_writes_2x_next_to_the_source(nai_emulator: NaiEmulator, make_png: MakePng,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    src = make_png("005_shy_0000003.png", 640, 640)
    code, out, err = run_cli(capsys, "upscale", str(src))
    assert code == 0, err
    assert "cost 1 Anlas for 1 request(s)" in err
    (path,) = [Path(p) for p in out.split()]
    assert path.parent == src.parent and path.name == "005_shy_2x_0000004.png"


def test_mood_sets_are_saved_and_used_by_name(nai_emulator: NaiEmulator, make_png: MakePng,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    from peropix_tui.core.mood_presets import list_moodsets, load_moodset

    src = str(make_png("a.png", 64, 64))
    code, _, err = run_cli(capsys, "tool", "emotion", src, "--mood", "shy", "--mood", "smug",
                           "--save-moods", "my set", "--dry-run", "--tier", "3")
    assert code == 0, err
    assert list_moodsets() == ["my set"] and load_moodset("my set") == ["shy", "smug"]
    code, out, _ = run_cli(capsys, "cost", "tool", "emotion", src, "--mood", "@my set", "--mood", "love",
                           "--tier", "3", "--json")
    assert code == 0 and [j["mood"] for j in json.loads(out)["jobs"]] == ["shy", "smug", "love"]
    code, _, err = run_cli(capsys, "cost", "tool", "emotion", src, "--mood", "@nope", "--tier", "3")
    assert code == 1 and "no such mood set (saved: my set)" in err


def test_without_a_token_dry_run_works_and_a_real_run_says_why(make_png: MakePng,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    src = str(make_png("a.png", 64, 64))
    code, out, _ = run_cli(capsys, "tool", "sketch", src, "--dry-run", "--json")
    assert code == 0 and json.loads(out)["total"] == 20  # tier unknown: nothing assumed free
    code, out, err = run_cli(capsys, "tool", "sketch", src)
    assert code == 1 and out == "" and "no NovelAI token" in err and len(err.strip().splitlines()) == 1
