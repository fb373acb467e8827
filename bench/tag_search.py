"""Tag completion speed: TagIndex (sorted keys + bisect + top-k) vs a naive scan, same data, same run.

Builds a synthetic tagcomplete CSV the size of Danbooru's (150k tags, one alias each, Zipf-like
counts), then times loading and prefix searches of 1-4 characters (what typing produces).
Run: ``python bench/tag_search.py``. Prints a table; nothing is asserted.
"""

from __future__ import annotations

import random
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peropix_tui.core.tags import TagIndex, normalize  # noqa: E402

N_TAGS = 150_000


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


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as d:
        csv = Path(d) / "tags.csv"
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


if __name__ == "__main__":
    main()
