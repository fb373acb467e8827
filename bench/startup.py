"""Start-up to first frame: `peropix` (python -m peropix_tui) vs a minimal Textual app, same run.

Each is started under a pseudo-terminal (120x40) in a fresh temporary PeroPix home; the clock runs
from spawn until the first frame's footer ("^p palette", present in both) reaches the pty. Median of N runs each.
Both read compiled bytecode, as an installed package would: an environment with
PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every PeroPix module on every start while
Textual's bytecode is already in the venv; the bytecode goes to a temporary PYTHONPYCACHEPREFIX
filled by one untimed warm-up start of each app.
Also checks that start-up does not import torch (target: peropix ≤ 1.5x the minimal app).

    python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = """
from textual.app import App
from textual.widgets import Footer, Header, Static
class Minimal(App):
    TITLE = "MinimalApp"
    def compose(self):
        yield Header(); yield Static("hello"); yield Footer()
Minimal().run()
"""
TORCH_CHECK = """
import asyncio, sys
from peropix_tui.widgets.preview import prepare
prepare("halfcell")
from peropix_tui.app import PeroPixApp
from peropix_tui.core.config import load_config
async def main():
    app = PeroPixApp(load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f2"); await pilot.pause()
        await pilot.press("f3"); await pilot.pause()
        await pilot.press("f4"); await pilot.pause()
asyncio.run(main())
print("torch imported:", "torch" in sys.modules)
"""


def env_for(home: Path, pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEROPIX_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    for name in ("CONFIG", "DATA", "CACHE", "STATE"):
        (home / name.lower()).mkdir(parents=True, exist_ok=True)
        env[f"PEROPIX_{name}_DIR"] = str(home / name.lower())
    env |= {"PEROPIX_OUTPUT_DIR": str(home / "out"), "PEROPIX_NAI_TOKEN": "pst-bench-token-0000",
            "PEROPIX_NAI_URL": "http://127.0.0.1:9", "TERM": "xterm-256color", "PYTHONPATH": str(ROOT),
            "PEROPIX_IMAGE_PROTOCOL": "halfcell"}
    return env


def time_to_marker(argv: list[str], marker: bytes, env: dict[str, str], timeout: float = 60.0) -> float:
    master, slave = pty.openpty()
    fcntl_size = struct.pack("HHHH", 40, 120, 0, 0)
    import fcntl

    fcntl.ioctl(slave, termios.TIOCSWINSZ, fcntl_size)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT,
                            start_new_session=True)
    os.close(slave)
    seen = b""
    try:
        while time.perf_counter() - t0 < timeout:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
                if marker in seen:
                    return time.perf_counter() - t0
        raise RuntimeError(f"{argv}: no {marker!r} within {timeout}s; got {seen[-300:]!r}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    py = sys.executable
    first_run = "peropix, first run (settings home)"
    results: dict[str, list[float]] = {"minimal textual app": [], "peropix (python -m peropix_tui)": [],
                                       first_run: []}
    with tempfile.TemporaryDirectory() as tmp:
        pycache = Path(tmp) / "pycache"
        warm = env_for(Path(tmp) / "warm", pycache)
        time_to_marker([py, "-c", MINIMAL], b"palette", warm)  # untimed: fills the bytecode cache
        time_to_marker([py, "-m", "peropix_tui"], b"palette", warm)
        warm = env_for(Path(tmp) / "warm-first", pycache)
        del warm["PEROPIX_NAI_TOKEN"]
        time_to_marker([py, "-m", "peropix_tui"], b"palette", warm)
        for i in range(args.runs):  # interleaved so machine load hits both alike
            env = env_for(Path(tmp) / f"h{i}", pycache)
            results["minimal textual app"].append(time_to_marker([py, "-c", MINIMAL], b"palette", env))
            results["peropix (python -m peropix_tui)"].append(
                time_to_marker([py, "-m", "peropix_tui"], b"palette", env))
            env = env_for(Path(tmp) / f"f{i}", pycache)
            del env["PEROPIX_NAI_TOKEN"]
            results[first_run].append(time_to_marker([py, "-m", "peropix_tui"], b"palette", env))
        check = subprocess.run([py, "-c", TORCH_CHECK], env=env_for(Path(tmp) / "t", pycache), cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
    base = statistics.median(results["minimal textual app"])
    print(f"{'app':<34} {'median s':>9} {'min s':>7} {'max s':>7} {'ratio':>6}")
    for name, xs in results.items():
        med = statistics.median(xs)
        print(f"{name:<34} {med:>9.3f} {min(xs):>7.3f} {max(xs):>7.3f} {med / base:>6.2f}")
    verdict = "OK" if statistics.median(results["peropix (python -m peropix_tui)"]) <= 1.5 * base else "OVER"
    print(f"target ≤ 1.5x minimal: {verdict}")
    print(check.stdout.strip() or check.stderr.strip()[-500:])


if __name__ == "__main__":
    main()
