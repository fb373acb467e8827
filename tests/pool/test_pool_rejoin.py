"""A ComfyUI server that restarts mid-job (queue and history lost): the job comes back, the server
is marked down, probed with back-off, rejoins when it answers, and the job finishes there, once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from peropix_tui.core.comfyui.config import ComfyServer
from peropix_tui.core.config import Config
from peropix_tui.core.generation import events as ev
from peropix_tui.core.generation.backends import BackendPool
from peropix_tui.core.generation.driver import BatchDriver
from peropix_tui.core.generation.output import ImageWriter
from peropix_tui.core.generation.scheduler import Scheduler, Worker
from peropix_tui.core.generation.service import GenerationService
from peropix_tui.core.generation.workers import workers_from_config
from peropix_tui.core.jobs import Job, JobQueue, JobState
from peropix_tui.core.settings import GenerationSettings
from tests.comfyui_emulator import ComfyEmulator


def test_a_restarted_server_is_probed_rejoins_and_finishes_its_pinned_job(tmp_path: Path) -> None:
    with ComfyEmulator(step_delay=0.02) as emu:
        emu.inject("restart", at_step=2, seconds=1.2)
        config = Config()
        config.comfyui.servers = [ComfyServer(emu.url, name="gpu")]
        workers = workers_from_config(config, [])
        writer = ImageWriter(tmp_path / "out")
        scheduler = Scheduler(JobQueue(None), workers)
        (job,) = scheduler.submit([(GenerationSettings(provider="comfyui", checkpoint="illustrious-xl-v1",
                                                       prompt="1girl", steps=6, width=512, height=512, seed=9,
                                                       comfyui_server="gpu"), 0, "", 0)],
                                  folder=str(tmp_path / "out"))
        seen: list[ev.CoreEvent] = []
        probes: list[tuple[str, bool]] = []

        def on_probe(w: Worker, ok: bool, _error: str) -> None:
            probes.append((w.id, ok))

        async def go() -> None:
            pool = BackendPool(config, None)
            try:
                await BatchDriver(scheduler, GenerationService(pool, writer),
                                  lambda e, _j: seen.append(e), on_probe=on_probe, down_wait=30.0).run()
            finally:
                await pool.aclose()

        asyncio.run(go())
        writer.close()
        final: Job = scheduler.queue.get(job.id)
        lost = [e for e in seen if isinstance(e, ev.WorkerLost)]
        assert len(lost) == 1 and lost[0].worker == "comfyui:gpu" and not lost[0].maybe_charged
        assert final.state is JobState.DONE and len(final.images) == 1, (final.state, final.error, final.notice)
        assert probes and probes[-1] == ("comfyui:gpu", True)  # it rejoined after answering a probe
        assert scheduler.health["comfyui:gpu"].healthy
        assert len(list((tmp_path / "out").glob("*.png"))) == 1
