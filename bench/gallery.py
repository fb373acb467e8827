"""Gallery scale benchmark: index N small NovelAI-format PNGs and time the queries the TUI makes.

    python bench/gallery.py [-n 10000] [--keep DIR] [--repeat 20]

Makes N 64x64 PNGs with NovelAI text chunks (Comment JSON with prompt and seed) in 20 folders,
then measures, in the same run:

* full ``reindex()`` throughput (images/s) against a peer: a naive ``os.walk`` + Pillow open of
  every file + ``json.loads`` of its Comment, without any database;
* first-page queries (60 newest; one folder; a full-text search; favourites), median of
  ``--repeat`` runs, first run on a fresh connection reported separately (target <= 50 ms);
* a ``sync()`` when nothing changed against the peer ``os.walk`` + ``stat`` of every file.

With ``--keep DIR`` the images are made once in DIR and reused by later runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, PngImagePlugin  # noqa: E402

from peropix_tui.core.store import GalleryStore  # noqa: E402

TAGS = ("1girl", "1boy", "solo", "smile", "blue_hair", "red_hair", "long_hair", "twintails", "school_uniform",
        "outdoors", "night", "cherry_blossoms", "crying", "angry", "blush", "looking_at_viewer", "cat_ears",
        "maid", "armor", "beach", "rain", "sword", "glasses", "hat", "wings")


def make_images(root: Path, n: int) -> None:
    rng = random.Random(1234)
    base = Image.new("RGB", (64, 64), (90, 120, 160))
    for i in range(n):
        prompt = ", ".join(rng.sample(TAGS, 6)) + f", seed_tag_{i}"
        comment = {"prompt": prompt, "uc": "lowres, bad anatomy", "seed": rng.randrange(2**32), "steps": 28,
                   "width": 64, "height": 64, "scale": 5.0, "sampler": "k_euler_ancestral",
                   "noise_schedule": "karras", "n_samples": 1}
        info = PngImagePlugin.PngInfo()
        info.add_text("Title", "NovelAI generated image")
        info.add_text("Description", prompt)
        info.add_text("Software", "NovelAI")
        info.add_text("Source", "NovelAI Diffusion V4.5 4BDE2A90")
        info.add_text("Comment", json.dumps(comment))
        buf = io.BytesIO()
        base.save(buf, "PNG", pnginfo=info, compress_level=1)
        folder = root / f"session_{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        f = folder / f"{i % 7:03d}_slot{i % 7}_{i + 1:07d}.png"
        f.write_bytes(buf.getvalue())
        os.utime(f, ns=(1_700_000_000_000_000_000 + i * 1_000_000_000,) * 2)


def naive_scan(root: Path) -> int:
    """The peer: walk, open every image with Pillow, parse its Comment; no index."""
    n = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".png"):
                with Image.open(Path(folder) / name) as im:
                    _ = im.size
                    json.loads(im.text.get("Comment", "{}"))  # type: ignore[attr-defined]
                n += 1
    return n


def naive_stat(root: Path) -> int:
    n = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if name.endswith(".png"):
                os.stat(Path(folder) / name)
                n += 1
    return n


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    r = fn()
    return time.perf_counter() - t0, r


def query_times(out: Path, db: Path, fn: Callable[[GalleryStore], object], repeat: int) -> tuple[float, float]:
    """(first call on a fresh store, median of the next ``repeat``) in seconds."""
    store = GalleryStore(out, db)
    try:
        first, _ = timed(lambda: fn(store))
        rest = [timed(lambda: fn(store))[0] for _ in range(repeat)]
    finally:
        store.close()
    return first, statistics.median(rest)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, help="make the images here once and reuse them")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="peropix-bench-")
    out = args.keep or Path(tmp.name) / "outputs"
    db = Path(tmp.name) / "gallery.sqlite3"
    have = sum(1 for _ in out.rglob("*.png")) if out.exists() else 0
    if have != args.n:
        if have:
            sys.exit(f"{out} holds {have} images, not {args.n}: use an empty folder")
        t, _ = timed(lambda: make_images(out, args.n))
        print(f"made {args.n} images in {t:.1f} s under {out}")

    rows: list[tuple[str, str, str]] = []
    t_naive, n = timed(lambda: naive_scan(out))
    store = GalleryStore(out, db)
    t_re, rep = timed(store.reindex)
    assert store.count() == args.n == n, (store.count(), args.n, n)
    rows.append(("full reindex", f"{args.n / t_re:,.0f} img/s ({t_re:.2f} s)",
                 f"{n / t_naive:,.0f} img/s ({t_naive:.2f} s) walk+PIL+json, no index"))
    t_sync, r = timed(store.sync)
    t_stat, _ = timed(lambda: naive_stat(out))
    rows.append(("sync, nothing changed", f"{t_sync * 1000:.0f} ms", f"{t_stat * 1000:.0f} ms walk+stat"))
    for p in store.page(limit=500, offset=1000)[::5]:
        store.set_favourite(p.path, True)
    store.close()

    queries: list[tuple[str, Callable[[GalleryStore], object]]] = [
        ("page 1, 60 newest", lambda s: s.page(limit=60)),
        ("page 50, 60 newest", lambda s: s.page(limit=60, offset=49 * 60)),
        ("one folder, 60 newest", lambda s: s.page(folder="session_07", limit=60)),
        ('search "blue_hair smile"', lambda s: s.page(search="blue_hair smile", limit=60)),
        ('search "cat" + count', lambda s: (s.page(search="cat", limit=60), s.count(search="cat"))),
        ("favourites, 60", lambda s: s.page(favourites_only=True, limit=60)),
        ("count all + folders", lambda s: (s.count(), s.folders())),
    ]
    naive_first = t_naive  # without an index, every query is a full scan
    for label, fn in queries:
        first, med = query_times(out, db, fn, args.repeat)
        ok = "ok" if first <= 0.050 else "OVER 50 ms"
        rows.append((label, f"{med * 1000:.2f} ms (first {first * 1000:.1f} ms, {ok})",
                     f"{naive_first * 1000:.0f} ms full scan"))

    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"\ngallery benchmark: {args.n} images, {os.cpu_count()} CPUs, sqlite {__import__('sqlite3').sqlite_version}")
    print(f"{'measure':<{w0}}  {'PeroPix store':<{w1}}  peer")
    print(f"{'-' * w0}  {'-' * w1}  {'-' * 40}")
    for a, b, c in rows:
        print(f"{a:<{w0}}  {b:<{w1}}  {c}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
