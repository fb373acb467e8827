"""``peropix run`` as a real process across two emulated ComfyUI servers (and a NovelAI token): one
server is stopped mid-batch, and every image is still made exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from peropix_tui.core import paths
from tests.comfyui_emulator import ComfyEmulator
from tests.nai_emulator.server import NaiEmulator


def test_run_loses_a_server_mid_batch_and_finishes_every_image_once(tmp_path: Path, nai_emulator: NaiEmulator) -> None:
    a, b = ComfyEmulator(step_delay=0.05).start(), ComfyEmulator(step_delay=0.05).start()
    b_stopped = False
    try:
        paths.config_file().write_text(
            f'[comfyui]\nservers = [{{ url = "{a.url}", name = "gpu-a" }}, {{ url = "{b.url}", name = "gpu-b" }}]\n',
            encoding="utf-8")
        out = tmp_path / "out"

        def stop_b() -> None:  # once gpu-b runs its second job, the server goes away
            nonlocal b_stopped
            while len(b.executed_prompts) < 2 or b.running_id() is None:
                threading.Event().wait(0.01)
            b_stopped = True
            b.stop()

        killer = threading.Thread(target=stop_b, daemon=True)
        killer.start()
        proc = subprocess.run(
            [sys.executable, "-m", "peropix_tui", "run", "--provider", "comfyui", "--checkpoint", "illustrious-xl-v1",
             "--prompt", "1girl, smile", "--steps", "6", "--width", "512", "--height", "512", "--seed", "7",
             "--slot", "a=red hair", "--slot", "b=blue hair", "--repeat", "4", "--out", str(out), "--json"],
            capture_output=True, text=True, timeout=180, env=dict(os.environ))
        killer.join(timeout=5)
        assert b_stopped, "the second server never ran a second job"
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "pst-" not in proc.stdout + proc.stderr  # the NovelAI token is never shown
        lost = [e for e in events if e["event"] == "worker_lost"]
        assert lost and all(e["worker"] == "comfyui:gpu-b" for e in lost)
        saved = [e for e in events if e["event"] == "image_saved"]
        assert len(saved) == 8 and len({e["job"] for e in saved}) == 8
        assert len(list(out.glob("*.png"))) == 8
        assert len(a.executed_prompts) + len(b.executed_prompts) == 8 + len(lost)

        listed = subprocess.run([sys.executable, "-m", "peropix_tui", "queue", "list", "--json"],
                                capture_output=True, text=True, timeout=60, env=dict(os.environ))
        records = json.loads(listed.stdout)
        assert {r["worker"] for r in records} <= {"comfyui:gpu-a", "comfyui:gpu-b"}
        assert all(r["state"] == "done" for r in records)
        on_b = [r for r in records if r["worker"] == "comfyui:gpu-b"]  # it finished one job before it stopped
        assert on_b and all(r["worker_state"].startswith("down") for r in on_b)
        text = subprocess.run([sys.executable, "-m", "peropix_tui", "queue", "list"],
                              capture_output=True, text=True, timeout=60, env=dict(os.environ)).stdout
        assert "comfyui:gpu-a idle" in text and "comfyui:gpu-b down" in text
    finally:
        a.stop()
        if not b_stopped:
            b.stop()


def test_resume_runs_comfyui_and_novelai_jobs_at_once_and_survives_a_stopped_server(
        tmp_path: Path, nai_emulator: NaiEmulator) -> None:
    from peropix_tui.core.generation.session import open_queue
    from peropix_tui.core.settings import GenerationSettings

    nai_emulator.step_delay = 0.02
    a, b = ComfyEmulator(step_delay=0.05).start(), ComfyEmulator(step_delay=0.05).start()
    b_stopped = False
    try:
        paths.config_file().write_text(
            f'[comfyui]\nservers = [{{ url = "{a.url}", name = "gpu-a" }}, {{ url = "{b.url}", name = "gpu-b" }}]\n',
            encoding="utf-8")
        out = tmp_path / "out"
        session = open_queue()
        runs = [(GenerationSettings(provider="comfyui", checkpoint="illustrious-xl-v1", prompt="1girl", steps=6,
                                    width=512, height=512, seed=10 + i), i, f"c{i}", 0) for i in range(6)]
        runs += [(GenerationSettings(provider="nai", prompt="1girl", steps=12, width=512, height=512, seed=50 + i),
                  6 + i, f"n{i}", 0) for i in range(3)]
        session.scheduler.submit(runs, folder=str(out))
        session.close()

        def stop_b() -> None:
            nonlocal b_stopped
            while len(b.executed_prompts) < 2 or b.running_id() is None:
                threading.Event().wait(0.01)
            b_stopped = True
            b.stop()

        killer = threading.Thread(target=stop_b, daemon=True)
        killer.start()
        proc = subprocess.run([sys.executable, "-m", "peropix_tui", "queue", "resume", "--json"],
                              capture_output=True, text=True, timeout=180, env=dict(os.environ))
        killer.join(timeout=5)
        assert b_stopped
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert nai_emulator.token not in proc.stdout + proc.stderr
        events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        saved = [e for e in events if e["event"] == "image_saved"]
        assert len(saved) == 9 and len({e["job"] for e in saved}) == 9
        assert len(list(out.glob("*.png"))) == 9
        assert len(nai_emulator.generations()) == 3  # each NovelAI job sent once
        lost = [e for e in events if e["event"] == "worker_lost"]
        assert lost and {e["worker"] for e in lost} == {"comfyui:gpu-b"}
        assert len(a.executed_prompts) + len(b.executed_prompts) == 6 + len(lost)
        records = json.loads(subprocess.run([sys.executable, "-m", "peropix_tui", "queue", "list", "--json"],
                                            capture_output=True, text=True, timeout=60,
                                            env=dict(os.environ)).stdout)
        assert {r["worker"] for r in records} == {"nai", "comfyui:gpu-a", "comfyui:gpu-b"}
    finally:
        a.stop()
        if not b_stopped:
            b.stop()
