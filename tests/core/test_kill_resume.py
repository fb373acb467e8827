"""``peropix run`` killed with SIGKILL, then ``peropix queue resume``: every job ends with exactly one
image and no job is generated twice. Real subprocesses against the loopback NovelAI emulator.

Two ways of killing: the process kills itself right after an image's rename, before anything
records it (``PEROPIX_CRASH_AFTER_SAVE``: the exact crash window), and the test kills it from
outside as soon as an image appears in the output folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from peropix_tui.core import paths
from peropix_tui.core.generation.peropix import job_tag
from peropix_tui.core.jobs import JobQueue, JobState
from peropix_tui.core.store import GalleryStore
from tests.nai_emulator import GENERATE, STREAM, NaiEmulator

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--prompt", "1girl", "--width", "64", "--height", "64", "--steps", "4"]
BATCH = ["run", *SMALL, "--slot", "smile=smile", "--slot", "cry=crying", "--slot", "wink=wink"]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "peropix_tui", *args]


def _images() -> list[Path]:
    root = Path(os.environ["PEROPIX_OUTPUT_DIR"])
    return sorted(p for p in root.rglob("*.png") if not p.name.startswith("."))


def _queue() -> JobQueue:
    return JobQueue.read(paths.state_dir() / "queue.json")


def _check_one_image_per_job(emu: NaiEmulator) -> tuple[list[Path], Counter[int]]:
    queue = _queue()
    jobs = list(queue)
    assert [j.state for j in jobs] == [JobState.DONE] * len(jobs)
    images = _images()
    tags = [job_tag(p.read_bytes()) for p in images]
    assert sorted(t[1] for t in tags if t) == sorted(j.id for j in jobs)  # one image per job, none extra
    assert {t[0] for t in tags if t} == {queue.uid}
    for job in jobs:
        assert len(job.images) == 1 and Path(job.images[0]).is_file()
    answered = Counter(int(r.body["parameters"]["seed"]) for r in emu.generations())
    assert answered == Counter({int(j.settings.seed or 0): 1 for j in jobs})  # each job generated once
    with GalleryStore(Path(os.environ["PEROPIX_OUTPUT_DIR"])) as store:  # recovered images are indexed too
        assert {s.file for s in store.page(limit=1000)} == set(images)
    return images, answered


def test_crash_right_after_each_rename_is_recovered_and_never_sent_again(nai_emulator: NaiEmulator) -> None:
    env = _env(PEROPIX_CRASH_AFTER_SAVE="1")  # every process dies right after its first image lands
    first = subprocess.run(_cmd(*BATCH, "--repeat", "2"), env=env, cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
    assert first.returncode == -signal.SIGKILL, first.stderr
    kills, notes = 1, []
    for _ in range(12):
        proc = subprocess.run(_cmd("queue", "resume"), env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
        notes.append(proc.stderr)
        if proc.returncode != -signal.SIGKILL:
            break
        kills += 1
    assert proc.returncode == 0, proc.stderr
    jobs = list(_queue())
    assert len(jobs) == 6 and kills == 6  # each process wrote exactly one image, then was killed
    images, _ = _check_one_image_per_job(nai_emulator)
    assert len(images) == 6
    received = Counter(int(r.body["parameters"]["seed"]) for r in nai_emulator.calls(GENERATE, STREAM))
    assert sum(received.values()) == 6 and set(received.values()) == {1}  # not one request sent twice
    assert all("not sent again" in n for n in notes)  # every resume found the last image on disk
    assert nai_emulator.token not in "".join(notes)


def _wait_for_image(proc: subprocess.Popen[bytes], count: int) -> None:
    deadline = time.monotonic() + 120
    while len(_images()) < count:
        assert proc.poll() is None, "the batch ended before the image it was watched for"
        assert time.monotonic() < deadline, "no image came"
        time.sleep(0.002)


def test_sigkill_after_each_image_lands_then_resume_finishes_with_one_image_per_job(
    nai_emulator: NaiEmulator,
) -> None:
    """Each process gets one generation through; the next request finds the account busy (429) and
    waits, so the kill falls after an image and before any other job was generated."""
    env = _env()
    kills = 0
    for n in range(1, 4):
        nai_emulator.allow(1)
        proc = subprocess.Popen(_cmd(*BATCH, "--repeat", "2") if n == 1 else _cmd("queue", "resume"), env=env,
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_for_image(proc, n)
        finally:
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err.decode()
        kills += 1
    listed = subprocess.run(_cmd("queue", "list"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "running" in listed.stdout and "interrupted" in listed.stdout  # the killed owner's job
    nai_emulator.allow(None)
    final = subprocess.run(_cmd("queue", "resume"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    images, answered = _check_one_image_per_job(nai_emulator)
    assert (kills, len(list(_queue())), len(images), sum(answered.values())) == (3, 6, 6, 6)


def test_sigkill_mid_request_comes_back_paused_with_a_charge_notice(nai_emulator: NaiEmulator) -> None:
    nai_emulator.allow(0)  # the account is busy: the first request is answered 429 and the client waits
    proc = subprocess.Popen(_cmd(*BATCH), env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not [r for r in nai_emulator.calls(STREAM, GENERATE) if r.status == 429]:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert [j.state for j in _queue()] == [JobState.RUNNING, JobState.PENDING, JobState.PENDING]
    nai_emulator.allow(None)
    final = subprocess.run(_cmd("queue", "resume", "--json"), env=_env(), cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert "NovelAI may have charged it" in final.stdout  # said before it is sent again
    _check_one_image_per_job(nai_emulator)
