"""Event-loop lag while a local generation runs (tiny SDXL-shaped checkpoint on CPU).

A probe task on the app's event loop sleeps 10 ms at a time and records how late it wakes up.
Cases in the same run: idle app; the app generating through its runner (thread worker — what
PeroPix does) with Compose shown (cold: includes loading the model; warm) and with the Slots/Queue
screen shown; and a naive peer calling the engine directly on the event loop. Target: p99
≤ 50 ms for the runner.

    python bench/loop_lag.py [--steps 40] [--size 256]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TICK = 0.01


async def probe(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(TICK)
        lags.append(max(0.0, time.perf_counter() - t - TICK))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")


async def run_case(case: str, ckpt: Path, steps: int, size: int, screen: str) -> tuple[list[float], float]:
    from peropix_tui.app import PeroPixApp
    from peropix_tui.core.backend import CancelToken
    from peropix_tui.core.config import load_config
    from peropix_tui.core.jobs import JobState

    app = PeroPixApp(load_config())
    b = app.workspace.base
    b.provider, b.checkpoint, b.device, b.dtype = "local", str(ckpt), "cpu", "fp32"
    b.width = b.height = size
    b.steps, b.sampler, b.prompt, b.seed = steps, "k_euler", "1girl", 1
    lags: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(screen)
        await pilot.pause(0.5)
        stop = asyncio.Event()
        task = asyncio.create_task(probe(stop, lags))
        t0 = time.perf_counter()
        if case == "idle app":
            await asyncio.sleep(3.0)
        elif case.startswith("peropix runner"):
            for _ in range(2 if "warm" in case else 1):  # warm: the model is loaded by a first job
                if "warm" in case and app.queue.jobs:
                    lags.clear()
                    t0 = time.perf_counter()
                app.runner.request(all_slots=False)
                while app.queue.jobs[-1].state not in (JobState.DONE, JobState.FAILED):
                    await asyncio.sleep(0.05)
                assert app.queue.jobs[-1].state is JobState.DONE, app.queue.jobs[-1].error
        else:  # naive peer: the engine's synchronous call made on the event loop itself
            await asyncio.sleep(0.05)  # the probe is asleep now
            backend = app.runner.backend("local")
            backend.generate_sync(b.copy(), lambda p: None, CancelToken())  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
        took = time.perf_counter() - t0
        stop.set()
        await task
    return lags, took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--size", type=int, default=256)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("CONFIG", "DATA", "CACHE", "STATE"):
            os.makedirs(f"{tmp}/{name}", exist_ok=True)
            os.environ[f"PEROPIX_{name}_DIR"] = f"{tmp}/{name}"
        os.environ |= {"PEROPIX_OUTPUT_DIR": f"{tmp}/out", "PEROPIX_IMAGE_PROTOCOL": "halfcell",
                       "PEROPIX_CHECKPOINTS_DIR": tmp}
        from peropix_tui.widgets.preview import prepare
        from tests.engine.tiny import make_tiny_checkpoint

        prepare("halfcell")
        ckpt = make_tiny_checkpoint(Path(tmp) / "tiny.safetensors", seed=1)
        rows = []
        cases = (("idle app", "f2"), ("peropix runner, cold (model load)", "f2"),
                 ("peropix runner, warm model", "f2"), ("peropix runner, warm, Slots screen", "f3"),
                 ("naive: engine on the event loop", "f2"))
        for case, screen in cases:
            lags, took = asyncio.run(run_case(case, ckpt, args.steps, args.size, screen))
            rows.append((case, len(lags), statistics.median(lags) * 1000 if lags else float("nan"),
                         pct(lags, 0.99), max(lags, default=float("nan")) * 1000, took))
    print(f"{'case':<34} {'ticks':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'run s':>7}")
    for case, n, p50, p99, mx, took in rows:
        print(f"{case:<34} {n:>6} {p50:>8.1f} {p99:>8.1f} {mx:>8.1f} {took:>7.2f}")
    print(f"target: runner p99 ≤ 50 ms (warm): {'OK' if rows[2][3] <= 50 else 'OVER'}")


if __name__ == "__main__":
    main()
