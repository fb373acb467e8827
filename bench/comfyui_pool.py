"""Benchmark: jobs/minute through the ComfyUI provider on 1 vs 3 emulated servers.

Each emulated server (tests/comfyui_emulator, loopback) sleeps ``--step-delay`` seconds per
sampler step, so one job costs a fixed ``steps × step_delay`` of "GPU" time plus the protocol
(WebSocket connect, /prompt, events, previews, /history, /view of a real PNG). ``N`` jobs are
driven concurrently: one ComfyUIBackend per server, each taking the next job from a shared list
as soon as its last one is done (max 1 job in flight per server, ComfyUI's own rule). A second
table, with no step delay, gives the protocol overhead per job.

    python bench/comfyui_pool.py [--jobs 12] [--steps 10] [--step-delay 0.05] [--size 512]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peropix_tui.core.backend import CancelToken  # noqa: E402
from peropix_tui.core.comfyui.backend import ComfyUIBackend  # noqa: E402
from peropix_tui.core.comfyui.config import ComfyServer  # noqa: E402
from peropix_tui.core.comfyui.discovery import Discovery  # noqa: E402
from peropix_tui.core.settings import GenerationSettings  # noqa: E402
from tests.comfyui_emulator import ComfyEmulator  # noqa: E402


async def drive(urls: list[str], jobs: int, steps: int, size: int) -> tuple[float, list[float], int]:
    """(wall seconds, per-job seconds, images) for ``jobs`` jobs spread over the servers."""
    backends = [ComfyUIBackend(ComfyServer(u, name=f"s{i}"), discovery=Discovery()) for i, u in enumerate(urls)]
    for b in backends:  # discovery once per server, outside the timing (the cache would hold it)
        await b.info()
    todo = list(range(jobs))
    per_job: list[float] = []
    images = 0

    async def worker(b: ComfyUIBackend) -> None:
        nonlocal images
        while todo:
            seed = todo.pop()
            s = GenerationSettings(provider="comfyui", prompt="1girl, {smile}", checkpoint="illustrious-xl-v1",
                                   steps=steps, width=size, height=size, seed=seed)
            t = time.perf_counter()
            out = await b.generate(s, lambda p: None, CancelToken())
            per_job.append(time.perf_counter() - t)
            images += len(out)

    start = time.perf_counter()
    await asyncio.gather(*(worker(b) for b in backends))
    wall = time.perf_counter() - start
    for b in backends:
        await b.aclose()
    return wall, per_job, images


def _serve(delay: float, conn: Connection, stop: EventType) -> None:
    emu = ComfyEmulator(step_delay=delay).start()
    conn.send(emu.url)
    stop.wait()
    emu.stop()


def run(n_servers: int, jobs: int, steps: int, delay: float, size: int, *,
        in_process: bool = False) -> tuple[float, list[float], int]:
    """Each emulated server in its own process (as real servers are), unless ``in_process``."""
    if in_process:
        emus = [ComfyEmulator(step_delay=delay).start() for _ in range(n_servers)]
        try:
            return asyncio.run(drive([e.url for e in emus], jobs, steps, size))
        finally:
            for e in emus:
                e.stop()
    with emulator_processes(n_servers, delay) as urls:
        return asyncio.run(drive(urls, jobs, steps, size))


@contextmanager
def emulator_processes(n: int, delay: float) -> Iterator[list[str]]:
    """``n`` emulated ComfyUI servers, each in its own process (as real servers are); their URLs."""
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    procs, urls = [], []
    try:
        for _ in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(delay, child, stop), daemon=True)
            proc.start()
            procs.append(proc)
            urls.append(parent.recv())
        yield urls
    finally:
        stop.set()
        for proc in procs:
            proc.join(timeout=10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=12)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--step-delay", type=float, default=0.05)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--in-process", action="store_true",
                    help="run the emulators in this process (they then share its GIL with the client)")
    a = ap.parse_args()
    gpu = a.steps * a.step_delay
    where = "in this process" if a.in_process else "one process per server"
    print(f"emulated servers: {where}; {a.jobs} jobs, {a.steps} steps x {a.step_delay * 1000:.0f} ms = {gpu:.2f} s emulated GPU time per job, "
          f"{a.size}x{a.size} PNG")
    print(f"{'servers':>7} {'wall s':>7} {'jobs/min':>9} {'speed-up':>8} {'median job s':>12} {'images':>6}")
    base = 0.0
    for n in (1, 3):
        wall, per, images = run(n, a.jobs, a.steps, a.step_delay, a.size, in_process=a.in_process)
        rate = a.jobs / wall * 60
        base = base or rate
        print(f"{n:>7} {wall:>7.2f} {rate:>9.1f} {rate / base:>7.2f}x {statistics.median(per):>12.3f} {images:>6}")
    ideal = a.jobs * gpu
    print(f"ideal for 1 server (GPU time only): {ideal:.2f} s = {a.jobs / ideal * 60:.1f} jobs/min")
    wall, per, _ = run(1, a.jobs, a.steps, 0.0, a.size, in_process=a.in_process)
    print(f"protocol overhead, no step delay, 1 server: median {statistics.median(per) * 1000:.1f} ms/job "
          f"(min {min(per) * 1000:.1f}, max {max(per) * 1000:.1f}), {a.jobs / wall * 60:.0f} jobs/min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
