"""Ctrl+C on ``peropix run`` (a real subprocess): once stops after the current image, twice at once;
the jobs not done stay in the queue for ``peropix queue resume``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peropix_tui.core import paths
from peropix_tui.core.jobs import JobQueue, JobState
from tests.nai_emulator import GENERATE, STREAM, NaiEmulator

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs POSIX signals")

ROOT = Path(__file__).resolve().parents[2]
BATCH = [sys.executable, "-m", "peropix_tui", "run", "--prompt", "1girl", "--width", "64", "--height", "64",
         "--steps", "4", "--slot", "a=smile", "--slot", "b=cry", "--slot", "c=wink"]


def _states() -> list[JobState]:
    return [j.state for j in JobQueue.read(paths.state_dir() / "queue.json")]


def _start_and_wait_for_busy(emu: NaiEmulator) -> subprocess.Popen[str]:
    """The first job gets through; the second finds the account busy (429) and waits to retry."""
    emu.allow(1)
    proc = subprocess.Popen(BATCH, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not [r for r in emu.calls(STREAM, GENERATE) if r.status == 429]:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    return proc


def test_one_ctrl_c_finishes_the_current_job_and_keeps_the_rest_queued(nai_emulator: NaiEmulator) -> None:
    proc = _start_and_wait_for_busy(nai_emulator)
    proc.send_signal(signal.SIGINT)
    nai_emulator.allow(None)  # the account is free again: the running job completes
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopping after the current image" in err and "peropix queue resume" in err
    assert _states() == [JobState.DONE, JobState.DONE, JobState.PENDING]
    assert len(nai_emulator.generations()) == 2


def test_two_ctrl_c_stop_at_once_and_the_running_job_comes_back_paused(nai_emulator: NaiEmulator) -> None:
    proc = _start_and_wait_for_busy(nai_emulator)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.2)  # two separate presses
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert _states() == [JobState.DONE, JobState.PAUSED, JobState.PENDING]
    assert len(nai_emulator.generations()) == 1
