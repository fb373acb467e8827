"""A NovelAI worker that dies, over real loopback sockets: refused before sending → the job waits
again (pending, nothing charged); the connection reset after sending → the job fails once with the
"may have been charged" message (the user retries it with `r`), never re-sent behind their back."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from peropix_tui.core.config import Config, Secret
from peropix_tui.core.generation import events as ev
from peropix_tui.core.generation.backends import BackendPool
from peropix_tui.core.generation.driver import BatchDriver
from peropix_tui.core.generation.output import ImageWriter
from peropix_tui.core.generation.scheduler import Scheduler, Worker
from peropix_tui.core.generation.service import GenerationService
from peropix_tui.core.jobs import Job, JobQueue, JobState
from peropix_tui.core.nai.backend import NaiBackend
from peropix_tui.core.nai.client import NaiClient, RetryPolicy
from peropix_tui.core.settings import GenerationSettings
from tests.nai_emulator.server import NaiEmulator

FAST = RetryPolicy(error_base=0.01, busy_base=0.01)


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run_one(tmp_path: Path, url: str, token: str) -> tuple[Job, list[ev.CoreEvent], Scheduler]:
    config = Config()
    config.nai.base_url = url
    pool = BackendPool(config, Secret(token))
    pool.use("nai", NaiBackend(NaiClient(url, Secret(token), timeout=10.0, retry=FAST)))
    writer = ImageWriter(tmp_path / "out")
    scheduler = Scheduler(JobQueue(None), (Worker("nai", "nai"),))
    (job,) = scheduler.submit([(GenerationSettings(provider="nai", prompt="1girl", steps=12, width=512,
                                                   height=512, seed=3), 0, "", 0)], folder=str(tmp_path / "out"))
    seen: list[ev.CoreEvent] = []

    async def go() -> None:
        try:
            await BatchDriver(scheduler, GenerationService(pool, writer), lambda e, _j: seen.append(e),
                              down_wait=0.3).run()
        finally:
            await pool.aclose()

    asyncio.run(go())
    writer.close()
    return job, seen, scheduler


def test_refused_connection_puts_the_job_back_as_pending_and_marks_the_account_down(tmp_path: Path) -> None:
    job, seen, scheduler = run_one(tmp_path, dead_url(), "pst-dead-0123456789")
    lost = [e for e in seen if isinstance(e, ev.WorkerLost)]
    assert len(lost) == 1 and not lost[0].maybe_charged and lost[0].worker == "nai"
    assert not any(isinstance(e, ev.JobFailed) for e in seen)
    assert job.state is JobState.PENDING and job.images == []
    assert not scheduler.health["nai"].healthy
    assert "pst-dead" not in lost[0].error + lost[0].notice + job.notice


def test_reset_after_sending_fails_the_job_once_with_the_charge_message(tmp_path: Path) -> None:
    with NaiEmulator() as emu:
        emu.inject("reset", times=10)
        job, seen, _ = run_one(tmp_path, emu.url, emu.token)
        sent = len(emu.calls("/ai/generate-image-stream", "/ai/generate-image"))
    assert not [e for e in seen if isinstance(e, ev.WorkerLost)]
    (failed,) = [e for e in seen if isinstance(e, ev.JobFailed)]
    assert job.state is JobState.FAILED and job.retryable and "may have been charged" in failed.error
    assert sent == 1  # the request reached NovelAI: neither the client nor the driver sends it again
    assert not list((tmp_path / "out").glob("*.png"))
