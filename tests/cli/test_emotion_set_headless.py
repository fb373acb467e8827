"""The whole headless flow: one generated image → 24-mood emotion set → a background-removed copy of
each → a ZIP named by mood, as real subprocesses against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from peropix_tui.core.nai.tools import MOODS
from tests.nai_emulator.server import NaiEmulator

ROOT = Path(__file__).resolve().parents[2]


def peropix(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "peropix_tui", *argv], capture_output=True, text=True, cwd=ROOT,
                          env=os.environ.copy(), timeout=600)


def test_generated_image_to_emotion_set_to_cutouts_to_zip(nai_emulator: NaiEmulator, tmp_path: Path) -> None:
    out = Path(os.environ["PEROPIX_OUTPUT_DIR"]) / "set"
    gen = peropix("generate", "--prompt", "1girl, smile", "--seed", "3", "--out", str(tmp_path / "gen"), "--json")
    assert gen.returncode == 0, gen.stderr
    (first,) = json.loads(gen.stdout)
    out.mkdir(parents=True)
    src = out / "000_base_0000001.png"
    src.write_bytes(Path(first).read_bytes())

    cost = peropix("cost", "tool", "emotion", str(src), "--mood", "all", "--json")
    assert cost.returncode == 0 and json.loads(cost.stdout)["total"] == 0  # Opus: free at 832x1216

    emo = peropix("tool", "emotion", str(src), "--mood", "all", "--json")
    assert emo.returncode == 0, emo.stderr
    moods = [Path(p) for p in json.loads(emo.stdout)["saved"]]
    assert [p.name.split("_")[1] for p in moods] == list(MOODS)

    before = nai_emulator.account.anlas
    cut = peropix("tool", "bg-removal", *map(str, moods), "--json")
    assert cut.returncode == 0, cut.stderr
    assert "cost 1560 Anlas for 24 request(s)" in cut.stderr  # shown before sending: 24 x 65
    assert before - nai_emulator.account.anlas == 1560
    assert len(json.loads(cut.stdout)["saved"]) == 72

    z = tmp_path / "cutouts.zip"
    exp = peropix("export", str(out), "--only", "*_bg-blend", "--no-seq", "--to", str(z))
    assert exp.returncode == 0, exp.stderr
    names = zipfile.ZipFile(z).namelist()
    assert names == [f"{i:03d}_{m}_bg-blend.png" for i, m in enumerate(MOODS)]
