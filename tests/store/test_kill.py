"""A process killed (SIGKILL) in the middle of saving leaves no half-written image and an index
that :meth:`GalleryStore.sync` makes consistent again."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from store_helpers import all_rows, disk_images

from peropix_tui.core.store import GalleryStore, seq_of

REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from peropix_tui.core.store import GalleryStore

    data = Path(sys.argv[2]).read_bytes()
    store = GalleryStore(Path(sys.argv[1]))
    i = 0
    while True:
        store.save_image(data, folder="run", slot_index=i % 4, slot_name="slot")
        i += 1
    """
)


def _big_png() -> bytes:
    """A ~7 MB PNG (noise, stored uncompressed) so that each write takes a measurable time."""
    pixels = np.random.default_rng(0).integers(0, 256, (1536, 1536, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG", compress_level=0)
    return buf.getvalue()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkill_during_save_leaves_only_complete_images(out_dir: Path, tmp_path: Path) -> None:
    data = _big_png()
    src = tmp_path / "payload.png"
    src.write_bytes(data)
    folder = out_dir / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(out_dir), str(src)], env=env, cwd=REPO)
    saw_part = False
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and child.poll() is None:
            if folder.is_dir() and len(disk_images(out_dir)) >= 3:
                names = os.listdir(folder)
                if any(n.endswith(".part") for n in names):
                    saw_part = True
                    break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert saw_part, "the child was never caught in the middle of a write"

    pngs = disk_images(out_dir)
    assert len(pngs) >= 3
    for rel in pngs:  # every visible image is complete: byte-identical to what was written
        assert (out_dir / rel).read_bytes() == data, rel

    store = GalleryStore(out_dir)
    try:
        report = store.sync()
        assert {i.path for i in store.page(limit=10_000)} == pngs
        assert store.count() == len(pngs) == report.total
        assert all(i.width == 1536 for i in store.page(limit=10_000))
        store.index.fts_integrity()
        synced = all_rows(store)
        store.reindex()  # the rebuilt index agrees with the synced one
        assert all_rows(store) == synced
        # numbering goes on after the highest number drawn, even the one the kill interrupted
        nxt = store.save_image(data, folder="run", slot_index=0, slot_name="after")
        assert (seq_of(nxt.path) or 0) > max(seq_of(p) or 0 for p in pngs)
        # a leftover temp file from the killed write is not an image, and is cleaned once stale
        parts = [p for p in folder.iterdir() if p.name.endswith(".part")]
        for p in parts:
            os.utime(p, (time.time() - 7200,) * 2)
        store.sync()
        assert not [p for p in folder.iterdir() if p.name.endswith(".part")]
    finally:
        store.close()
