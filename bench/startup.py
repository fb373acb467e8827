"""Start-up to first frame: `peropix` (python -m peropix_tui) vs a minimal Textual app, same run.

Each is started under a pseudo-terminal (120x40) in a fresh temporary PeroPix home; the clock runs
from spawn until the first frame's footer ("^p palette", present in both) reaches the pty. Median of N runs each.
Both read compiled bytecode, as an installed package would: an environment with
PYTHONDONTWRITEBYTECODE=1 would otherwise recompile every PeroPix module on every start while
Textual's bytecode is already in the venv; the bytecode goes to a temporary PYTHONPYCACHEPREFIX
filled by one untimed warm-up start of each app.
Also checks that start-up does not import torch (target: peropix ≤ 1.5x the minimal app).
``--lang`` starts PeroPix in a language (``PEROPIX_LANG``; ``all``: en, ko and ja, interleaved in
each run) and reports its ratio to the minimal app per language; the marker is the footer's
palette entry in that language (English "palette" where the catalog does not translate it).

    python bench/startup.py [--runs 7] [--lang en|ko|ja|all]
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


CPU: dict[int, float] = {}
"""CPU seconds (user + system) each timed process used, by pid: a busy machine stretches the wall
clock of the bigger app more, so the CPU ratio is printed too."""


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
                    CPU[-1] = proc.pid
                    return time.perf_counter() - t0
        raise RuntimeError(f"{argv}: no {marker!r} within {timeout}s; got {seen[-300:]!r}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = -signal.SIGKILL
        CPU[proc.pid] = usage.ru_utime + usage.ru_stime
        os.close(master)


LANGS = ("en", "ko", "ja")


def palette_marker(lang: str) -> bytes:
    """The footer's palette entry as PeroPix shows it in ``lang`` (Textual's word, unless translated)."""
    import gettext

    from peropix_tui.i18n import DOMAIN, LOCALE_DIR

    if lang == "en":
        return b"palette"
    return gettext.translation(DOMAIN, LOCALE_DIR, [lang], fallback=True).gettext("palette").encode("utf-8")


def lang_env(env: dict[str, str], lang: str) -> dict[str, str]:
    return env | {"PEROPIX_LANG": lang}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--lang", choices=(*LANGS, "all"), default="en",
                    help="the language PeroPix starts in (PEROPIX_LANG); all: en, ko and ja")
    args = ap.parse_args()
    langs = LANGS if args.lang == "all" else (args.lang,)
    sys.path.insert(0, str(ROOT))
    markers = {lang: palette_marker(lang) for lang in langs}
    py = sys.executable
    minimal = "minimal textual app"
    results: dict[str, list[float]] = {minimal: []}
    cpu: dict[str, list[float]] = {}
    for lang in langs:
        results[f"peropix [{lang}]"] = []
        results[f"peropix [{lang}], first run"] = []
    def timed(name: str, argv: list[str], marker: bytes, env: dict[str, str]) -> None:
        results[name].append(time_to_marker(argv, marker, env))
        cpu.setdefault(name, []).append(CPU[CPU[-1]])

    with tempfile.TemporaryDirectory() as tmp:
        pycache = Path(tmp) / "pycache"
        warm = env_for(Path(tmp) / "warm", pycache)
        time_to_marker([py, "-c", MINIMAL], b"palette", warm)  # untimed: fills the bytecode cache
        for lang in langs:
            time_to_marker([py, "-m", "peropix_tui"], markers[lang], lang_env(warm, lang))
            first = env_for(Path(tmp) / f"warm-first-{lang}", pycache)
            del first["PEROPIX_NAI_TOKEN"]
            time_to_marker([py, "-m", "peropix_tui"], markers[lang], lang_env(first, lang))
        for i in range(args.runs):  # interleaved so machine load hits all alike
            env = env_for(Path(tmp) / f"h{i}", pycache)
            timed(minimal, [py, "-c", MINIMAL], b"palette", env)
            for lang in langs:
                env = env_for(Path(tmp) / f"h{i}-{lang}", pycache)
                timed(f"peropix [{lang}]", [py, "-m", "peropix_tui"], markers[lang], lang_env(env, lang))
                env = env_for(Path(tmp) / f"f{i}-{lang}", pycache)
                del env["PEROPIX_NAI_TOKEN"]
                timed(f"peropix [{lang}], first run", [py, "-m", "peropix_tui"], markers[lang], lang_env(env, lang))
        check = subprocess.run([py, "-c", TORCH_CHECK], env=env_for(Path(tmp) / "t", pycache), cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
    base = statistics.median(results[minimal])
    cpu_base = statistics.median(cpu[minimal])
    print(f"{'app (python -m peropix_tui)':<34} {'median s':>9} {'min s':>7} {'max s':>7} {'ratio':>6}"
          f" {'CPU s':>6} {'ratio':>6}")
    for name, xs in results.items():
        med, cpu_med = statistics.median(xs), statistics.median(cpu[name])
        print(f"{name:<34} {med:>9.3f} {min(xs):>7.3f} {max(xs):>7.3f} {med / base:>6.2f}"
              f" {cpu_med:>6.3f} {cpu_med / cpu_base:>6.2f}")
    for lang in langs:
        verdict = "OK" if statistics.median(results[f"peropix [{lang}]"]) <= 1.5 * base else "OVER"
        print(f"target ≤ 1.5x minimal [{lang}]: {verdict}")
    print(check.stdout.strip() or check.stderr.strip()[-500:])


if __name__ == "__main__":
    main()
