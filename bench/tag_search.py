"""Tag completion speed: TagIndex (sorted keys + bisect + top-k) vs a naive scan, same data, same run,
and one-off ``peropix tags search`` queries through the persistent SQLite index (core/tag_db.py).

Builds a synthetic tagcomplete CSV of 240k tags (1-3 words, one alias each, Zipf-like counts), then
times, in the same run:

* in-process: loading the CSV and prefix searches of 1-4 characters (what typing produces);
* the SQLite index: its build, then ``--queries`` fresh Python processes that each open the index
  and run one search, timed from just after Python started (import + open + query): p50 / p99;
* the whole CLI (``python -m peropix_tui tags search``), ``--queries`` fresh processes: the time from
  the first statement after Python started to the command's end (through runpy, as ``-m`` runs it:
  imports, language, config, argparse, query, output), both with the config recorded by an earlier
  command (core/config_stamp.py: the usual case) and without (the first command after a config
  change: full TOML load and validation); and the wall clock, also minus a bare ``python -c pass``
  run just before (the part no code of ours can remove).

Run: ``python bench/tag_search.py [--queries 100]``. Prints tables; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peropix_tui.core.tags import TagIndex, normalize  # noqa: E402

N_TAGS = 240_000


def make_csv(path: Path, rng: random.Random) -> None:
    rows = []
    for i in range(N_TAGS):
        name = "_".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8))) for _ in range(rng.randint(1, 3)))
        count = int(5_000_000 / (i + 1) ** 0.9)
        rows.append(f'{name},{i % 6},{count},"{name[::-1]}"')
    path.write_text("\n".join(rows), encoding="utf-8")


class NaiveIndex:
    """The peer: a list of (tag, count, aliases) scanned with startswith for every keystroke."""

    def __init__(self, path: Path) -> None:
        self.rows: list[tuple[str, int, list[str]]] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            tag, _cat, count, aliases = line.split(",", 3)
            self.rows.append((normalize(tag), int(count), [normalize(a) for a in aliases.strip('"').split(",")]))

    def search(self, prefix: str, limit: int = 10) -> list[str]:
        p = normalize(prefix)
        hits = [(c, t) for t, c, al in self.rows if t.startswith(p) or any(a.startswith(p) for a in al)]
        return [t for _, t in sorted(hits, reverse=True)[:limit]]


def timed(fn, *args) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def cold_search(index: TagIndex, prefix: str) -> None:
    index._memo.clear()  # time the search itself, not the per-prefix memo
    index.search(prefix)


ROOT = Path(__file__).resolve().parents[1]
_ONE_QUERY = (
    "import time; t0 = time.perf_counter()\n"
    "import sys\n"
    "from peropix_tui.core.tag_db import open_index\n"
    "db = open_index(sys.argv[1], sys.argv[2]); found = db.search(sys.argv[3], 10)\n"
    "print('\\n'.join(m.tag for m in found)); print(time.perf_counter() - t0)\n"
)


_FLOOR = "import time; t0 = time.perf_counter(); import sqlite3; print(time.perf_counter() - t0)"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def one_off(directory: Path, db: Path, prefixes: list[str]) -> None:
    from peropix_tui.core.tag_db import build

    build_s = timed(build, directory, db)
    # bytecode as an installed package has it (a dev shell may set PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    subprocess.run([sys.executable, "-c", _ONE_QUERY, str(directory), str(db), "warm"], env=env, check=True,
                   capture_output=True)  # writes the .pyc files once
    times = []
    for p in prefixes:
        out = subprocess.run([sys.executable, "-c", _ONE_QUERY, str(directory), str(db), p],
                             capture_output=True, text=True, env=env, check=True).stdout.split("\n")
        times.append(float([x for x in out if x][-1]))
    ms = [t * 1000 for t in times]
    print()
    print(f"SQLite index: build {build_s:.1f} s, {db.stat().st_size / 1e6:.0f} MB")
    print(f"{'one-off query, fresh process':<36}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'n':>5}")
    print(f"{'import + open + search':<36}{percentile(ms, 0.5):>8.1f}{percentile(ms, 0.99):>8.1f}{max(ms):>8.1f}"
          f"{len(ms):>5}")
    data = directory.parent / "data"
    data.mkdir()
    os.link(db, data / "tag-index.sqlite")  # the index just built, where the CLI looks for it
    config = directory.parent / "config.toml"
    config.write_text(f"[paths]\ntags_dir = {json.dumps(str(directory))}\n", encoding="utf-8")
    cli_env = {**env, "PEROPIX_DATA_DIR": str(data), "PEROPIX_CONFIG": str(config),
               "PEROPIX_CONFIG_DIR": str(directory.parent / "cfg"), "PEROPIX_CACHE_DIR": str(directory.parent / "cache"),
               "PEROPIX_STATE_DIR": str(directory.parent / "st")}
    subprocess.run([sys.executable, "-m", "peropix_tui", "tags", "search", "warm"], env=cli_env,
                   capture_output=True, check=True)  # .pyc files of the CLI; records the clean config
    stamp = Path(cli_env["PEROPIX_CACHE_DIR"]) / "config-ok"
    rows: dict[str, list[float]] = {k: [] for k in (
        "in-process, config recorded", "  CPU time of that", "in-process, config loaded", "  CPU time of that ",
        "wall - python -c pass, recorded",
        "wall clock, recorded", "python -c pass (wall clock)")}
    for p in prefixes:
        bare = timed(subprocess.run, [sys.executable, "-c", "pass"]) * 1000
        t0 = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "peropix_tui", "tags", "search", p], env=cli_env,
                             capture_output=True, check=True)
        wall = (time.perf_counter() - t0) * 1000
        assert stamp.exists() and run.stderr == b"", run.stderr
        rows["python -c pass (wall clock)"].append(bare)
        rows["wall clock, recorded"].append(wall)
        rows["wall - python -c pass, recorded"].append(wall - bare)
        elapsed, cpu = _in_process(cli_env, p)
        rows["in-process, config recorded"].append(elapsed)
        rows["  CPU time of that"].append(cpu)
        stamp.unlink()  # the first command after a config change: full load and validation
        elapsed, cpu = _in_process(cli_env, p)
        rows["in-process, config loaded"].append(elapsed)
        rows["  CPU time of that "].append(cpu)
    print()
    print("peropix tags search PREFIX (python -m peropix_tui), fresh process each; 'in-process' is from the")
    print("first statement after Python started (site done) to the command's return, through runpy as -m does")
    print(f"{'measure':<36}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'n':>5}")
    for name, ms in rows.items():
        print(f"{name:<36}{percentile(ms, 0.5):>8.1f}{percentile(ms, 0.99):>8.1f}{max(ms):>8.1f}{len(ms):>5}")
    floor = []
    for _ in range(15):
        out = subprocess.run([sys.executable, "-c", _FLOOR], capture_output=True, text=True, env=env, check=True)
        floor.append(float(out.stdout) * 1000)
    print(f"{'import sqlite3 alone, in-process':<36}{percentile(floor, 0.5):>8.1f}{percentile(floor, 0.99):>8.1f}"
          f"{max(floor):>8.1f}{len(floor):>5}")


_TIMED_CLI = (
    "import time; t0 = time.perf_counter(); c0 = time.process_time()\n"
    "import runpy, sys\n"
    "sys.argv = ['peropix', 'tags', 'search', sys.argv[1]]\n"
    "try:\n"
    "    runpy.run_module('peropix_tui', run_name='__main__', alter_sys=True)\n"
    "except SystemExit as e:\n"
    "    code = e.code\n"
    "sys.stdout.flush()\n"
    "sys.stderr.write(f'{code}:{time.perf_counter() - t0}:{time.process_time() - c0}\\n')\n"
)


def _in_process(env: dict[str, str], prefix: str) -> tuple[float, float]:
    """ms from just after Python started to the end of ``python -m peropix_tui tags search PREFIX``:
    (elapsed, CPU time of the process: what a busy shared machine inflates least)."""
    out = subprocess.run([sys.executable, "-c", _TIMED_CLI, prefix], env=env, capture_output=True, text=True,
                         check=True)
    code, seconds, cpu = out.stderr.strip().split("\n")[-1].split(":")
    assert code == "0", out.stderr
    return float(seconds) * 1000, float(cpu) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=100, help="one-off queries (fresh processes)")
    args = ap.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as d:
        tags_dir = Path(d) / "tags"
        tags_dir.mkdir()
        csv = tags_dir / "tags.csv"
        make_csv(csv, rng)
        index = TagIndex()
        load_fast = timed(index.load_csv, csv)
        t0 = time.perf_counter()
        naive = NaiveIndex(csv)
        load_naive = time.perf_counter() - t0
        index.search("warm")  # builds the sorted keys once
        print(f"{N_TAGS} tags + {N_TAGS} aliases")
        print(f"{'operation':<28}{'TagIndex':>12}{'naive scan':>14}{'speed-up':>10}")
        print(f"{'load CSV (s)':<28}{load_fast:>12.3f}{load_naive:>14.3f}{load_naive / load_fast:>9.1f}x")
        for length in (1, 2, 3, 4):
            prefixes = ["".join(rng.choices(string.ascii_lowercase, k=length)) for _ in range(20)]
            fast = [timed(cold_search, index, p) for p in prefixes]
            slow = [timed(naive.search, p) for p in prefixes[:5]]
            f_ms, s_ms = statistics.median(fast) * 1000, statistics.median(slow) * 1000
            print(f"{f'search, {length}-char prefix (ms)':<28}{f_ms:>12.2f}{s_ms:>14.2f}{s_ms / f_ms:>9.0f}x")
        del index, naive
        prefixes = ["".join(rng.choices(string.ascii_lowercase, k=1 + i % 5)) for i in range(args.queries)]
        one_off(tags_dir, Path(d) / "tag-index.sqlite", prefixes)


if __name__ == "__main__":
    main()
