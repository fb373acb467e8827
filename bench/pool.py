"""Benchmark: jobs/minute through the scheduler (BatchDriver + GenerationService) on 1 vs 3 servers.

Each emulated ComfyUI server (tests/comfyui_emulator, loopback, one process each) sleeps
``--step-delay`` per sampler step, so a job costs a fixed ``steps × step_delay`` of "GPU" time plus
the protocol. The jobs go through the real path: queue → dispatch onto the workers built from the
config (one per server) → the service → atomic PNG save.

    python bench/pool.py [--jobs 12] [--steps 10] [--step-delay 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.comfyui_pool import emulator_processes  # noqa: E402
from peropix_tui.core.comfyui.config import ComfyServer  # noqa: E402
from peropix_tui.core.config import Config  # noqa: E402
from peropix_tui.core.generation.backends import BackendPool  # noqa: E402
from peropix_tui.core.generation.driver import BatchDriver  # noqa: E402
from peropix_tui.core.generation.output import ImageWriter  # noqa: E402
from peropix_tui.core.generation.scheduler import Scheduler  # noqa: E402
from peropix_tui.core.generation.service import GenerationService  # noqa: E402
from peropix_tui.core.generation.workers import workers_from_config  # noqa: E402
from peropix_tui.core.jobs import JobQueue, JobState  # noqa: E402
from peropix_tui.core.settings import GenerationSettings  # noqa: E402


def through_scheduler(urls: list[str], jobs: int, steps: int) -> tuple[float, int]:
    config = Config()
    config.comfyui.servers = [ComfyServer(u, name=f"s{i}") for i, u in enumerate(urls)]
    with tempfile.TemporaryDirectory() as out:
        writer = ImageWriter(Path(out))
        scheduler = Scheduler(JobQueue(None), workers_from_config(config, []))
        service = GenerationService(BackendPool(config, None), writer)
        runs = [(GenerationSettings(provider="comfyui", prompt="1girl, smile", checkpoint="illustrious-xl-v1",
                                    steps=steps, width=512, height=512, seed=i), i, f"j{i}", 0) for i in range(jobs)]
        scheduler.submit(runs, folder=out)

        async def go() -> float:
            start = time.perf_counter()
            try:
                await BatchDriver(scheduler, service).run()
            finally:
                await service.backends.aclose()
            return time.perf_counter() - start

        wall = asyncio.run(go())
        writer.close()
        done = len(scheduler.queue.in_state(JobState.DONE))
    return wall, done


def run(n: int, jobs: int, steps: int, delay: float) -> tuple[float, int]:
    with emulator_processes(n, delay) as urls:
        return through_scheduler(urls, jobs, steps)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=12)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--step-delay", type=float, default=0.05)
    a = ap.parse_args()
    gpu = a.steps * a.step_delay
    print(f"{a.jobs} jobs through the scheduler, {a.steps} steps x {a.step_delay * 1000:.0f} ms = {gpu:.2f} s "
          "emulated GPU time per job, one process per server")
    print(f"{'servers':>7} {'wall s':>7} {'jobs/min':>9} {'speed-up':>8} {'done':>5}")
    base = 0.0
    for n in (1, 3):
        wall, done = run(n, a.jobs, a.steps, a.step_delay)
        rate = done / wall * 60
        base = base or rate
        print(f"{n:>7} {wall:>7.2f} {rate:>9.1f} {rate / base:>7.2f}x {done:>5}")
    print(f"ideal for 1 server: {a.jobs * gpu:.2f} s = {60 / gpu:.1f} jobs/min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
