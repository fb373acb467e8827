"""Gallery screen at scale: 10,000 images, first paint and memory, against a peer in the same run.

Makes N small NovelAI-format PNGs (bench/gallery.py's generator), indexes them, then for each case
starts a fresh process that opens the app headless (120x40) and times from pressing F4 to the
first painted grid (and to every visible thumbnail being drawn), with the process's peak RSS; a
task on the app's event loop watches while the key is handled (Pilot.press itself returns only
when the app is idle, which would fold everything into "first paint").
Peer: the same 10,000 rows in Textual's own DataTable (file name, folder, prompt).
Targets: first paint ≤ 300 ms, RSS ≤ 250 MB.

    python bench/gallery_tui.py [-n 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import asyncio, json, resource, sys, time
from peropix_tui.widgets.preview import prepare
prepare("halfcell")
case = sys.argv[1]

async def painted(app, t0):
    # polls on the event loop while F4 is handled: when the grid first draws a row, and when every
    # tile on screen has its thumbnail (Pilot.press returns only once the app is idle)
    from peropix_tui.widgets.thumb_grid import ThumbGrid
    first = None
    while True:
        grids = app.screen.query(ThumbGrid)
        grid = grids.first() if grids else None
        if grid is not None and grid.count and grid.rendered_rows:
            if first is None:
                first = time.perf_counter() - t0
            visible = grid.columns * max(1, grid.scrollable_content_region.height // 9)
            if len(grid._thumbs) >= min(visible, grid.count):
                return first, time.perf_counter() - t0, grid.count
        await asyncio.sleep(0.002)

async def peropix():
    from peropix_tui.app import PeroPixApp
    from peropix_tui.core.config import load_config
    app = PeroPixApp(load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        app.ensure_store()
        t0 = time.perf_counter()
        watch = asyncio.create_task(painted(app, t0))
        await pilot.press("f4")
        return await watch

async def datatable():
    from textual.app import App
    from textual.widgets import DataTable
    from peropix_tui.core.config import load_config
    from peropix_tui.core.store import GalleryStore
    store = GalleryStore(load_config().output_dir)
    class Peer(App):
        def compose(self):
            yield DataTable()
    app = Peer()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        t0 = time.perf_counter()
        table = app.query_one(DataTable)
        rows = store.page(limit=10**9)
        table.add_columns("file", "folder", "prompt")
        table.add_rows([(r.path, r.folder, r.prompt[:60]) for r in rows])
        await pilot.pause()
        first = time.perf_counter() - t0
        return first, first, len(rows)

first, thumbs, count = asyncio.run(peropix() if case == "peropix" else datatable())
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"first": first, "thumbs": thumbs, "count": count, "rss": rss}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=10_000)
    args = ap.parse_args()
    from bench.gallery import make_images  # the gallery bench's generator (same image recipe)

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        for name in ("CONFIG", "DATA", "CACHE", "STATE"):
            os.makedirs(f"{tmp}/{name}", exist_ok=True)
            env[f"PEROPIX_{name}_DIR"] = f"{tmp}/{name}"
        env |= {"PEROPIX_OUTPUT_DIR": f"{tmp}/out", "PEROPIX_IMAGE_PROTOCOL": "halfcell",
                "PEROPIX_CHECKPOINTS_DIR": tmp, "PYTHONPATH": str(ROOT)}
        os.environ.update(env)
        out = Path(f"{tmp}/out")
        make_images(out, args.n)
        from peropix_tui.core.store import GalleryStore

        with GalleryStore(out) as store:
            report = store.reindex()
        print(f"made and indexed {report.added} images in {report.seconds:.1f} s")
        rows = []
        for case in ("peropix", "datatable"):
            res = subprocess.run([sys.executable, "-c", CHILD, case], env=env, cwd=ROOT, capture_output=True,
                                 text=True, timeout=600)
            if res.returncode:
                raise SystemExit(res.stderr[-2000:])
            rows.append((case, json.loads(res.stdout.strip().splitlines()[-1])))
    names = {"peropix": "peropix gallery (virtual grid)", "datatable": "peer: Textual DataTable, all rows"}
    print(f"{'case':<36} {'images':>7} {'first paint ms':>15} {'thumbs ms':>10} {'peak RSS MB':>12}")
    for case, r in rows:
        print(f"{names[case]:<36} {r['count']:>7} {r['first'] * 1000:>15.0f} {r['thumbs'] * 1000:>10.0f} "
              f"{r['rss']:>12.0f}")
    p = rows[0][1]
    ok = p["first"] <= 0.3 and p["rss"] <= 250
    print(f"targets first paint ≤ 300 ms, RSS ≤ 250 MB: {'OK' if ok else 'OVER'}")


if __name__ == "__main__":
    main()
