"""Benchmark: NovelAI request build + response parse + PNG atomic write for one 832x1216 image.

No network: the responses are built in memory the way NovelAI sends them (a ZIP with
``image_0.png``; a msgpack stream of 28 JPEG previews and the final PNG). The PNG is noisy, so
it is about as large as a real one. Compared in the same run with a naive peer: ``json.dumps``
of the same body, ``zipfile`` read, ``open().write`` (no temp file, no fsync, no guards).

    python bench/nai_request.py [--runs N]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import struct
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import msgpack
import numpy as np
from PIL import Image, PngImagePlugin

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peropix_tui.core.fsutil import atomic_write  # noqa: E402
from peropix_tui.core.nai.request import build_request  # noqa: E402
from peropix_tui.core.nai.responses import FrameReader, finals_in_order, unpack_images  # noqa: E402
from peropix_tui.core.settings import CharacterPrompt, GenerationSettings  # noqa: E402

W, H, STEPS = 832, 1216, 28


def novelai_png() -> bytes:
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, W, dtype=np.float32)[None, :, None] + rng.normal(0, 12, (H, W, 3))
    rgba = np.concatenate([np.clip(base, 0, 255), np.full((H, W, 1), 255.0)], axis=2).astype(np.uint8)
    info = PngImagePlugin.PngInfo()
    for k, v in (("Title", "AI generated image"), ("Software", "NovelAI"), ("Comment", json.dumps({"seed": 1}))):
        info.add_text(k, v)
    out = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(out, "PNG", pnginfo=info)
    return out.getvalue()


def zip_body(png: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("image_0.png", png)
    return out.getvalue()


def stream_body(png: bytes) -> bytes:
    small = io.BytesIO()
    Image.new("RGB", (W // 8, H // 8), (90, 90, 90)).save(small, "JPEG", quality=70)
    frames = []
    for step in range(STEPS):
        frames.append({"event_type": "intermediate", "samp_ix": 0, "step_ix": step, "gen_id": "g", "sigma": 1.0,
                       "image": small.getvalue()})
    frames.append({"event_type": "final", "samp_ix": 0, "step_ix": STEPS - 1, "gen_id": "g", "sigma": 0.0,
                   "image": png})
    packed = [msgpack.packb(f, use_bin_type=True) for f in frames]
    return b"".join(struct.pack(">I", len(p)) + p for p in packed)


def parse_stream(body: bytes, chunk: int = 65536) -> list[bytes]:
    reader, frames = FrameReader(), []
    for i in range(0, len(body), chunk):
        frames.extend(reader.feed(body[i : i + chunk]))
    return finals_in_order(frames)


def parse_stream_naive(body: bytes) -> list[bytes]:
    """Peer: the whole body at once, frame by frame, no sanity checks."""
    i, finals = 0, []
    while i < len(body):
        (n,) = struct.unpack(">I", body[i : i + 4])
        frame = msgpack.unpackb(body[i + 4 : i + 4 + n])
        if frame["event_type"] == "final":
            finals.append(frame["image"])
        i += 4 + n
    return finals


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    runs = ap.parse_args().runs
    settings = GenerationSettings(prompt="1girl, smile, looking at viewer", seed=1234,
                                  characters=[CharacterPrompt("girl, red hair", "", "B3")])
    png = novelai_png()
    zbody, sbody = zip_body(png), stream_body(png)
    body = build_request(settings)
    folder = Path(tempfile.mkdtemp(prefix="peropix-bench-"))

    ours = {
        "build request (+json)": lambda: json.dumps(build_request(settings)),
        "parse ZIP": lambda: unpack_images(zbody),
        "parse msgpack stream": lambda: parse_stream(sbody),
        "PNG atomic write": lambda: atomic_write(folder / "ours.png", png),
    }
    peer = {
        "build request (+json)": lambda: json.dumps(body),
        "parse ZIP": lambda: zipfile.ZipFile(io.BytesIO(zbody)).read("image_0.png"),
        "parse msgpack stream": lambda: parse_stream_naive(sbody),
        "PNG atomic write": lambda: (folder / "peer.png").write_bytes(png),
    }
    print(f"one {W}x{H} image: PNG {len(png) / 1e6:.2f} MB, ZIP {len(zbody) / 1e6:.2f} MB, "
          f"stream {len(sbody) / 1e6:.2f} MB ({STEPS} previews); median of {runs} runs, ms")
    print(f"{'step':<24}{'peropix':>10}{'naive peer':>12}")
    total_ours = total_peer = 0.0
    for name in ours:
        a, b = median_ms(ours[name], runs), median_ms(peer[name], runs)
        total_ours += a
        total_peer += b
        print(f"{name:<24}{a:>10.2f}{b:>12.2f}")
    zip_path = ours["build request (+json)"], ours["parse ZIP"], ours["PNG atomic write"]
    zip_total = sum(median_ms(f, runs) for f in zip_path)
    print(f"{'sum (all rows)':<24}{total_ours:>10.2f}{total_peer:>12.2f}")
    print(f"build + ZIP parse + write: {zip_total:.2f} ms (target <= 50 ms)")
    print("naive peer: json.dumps of a ready body (no prompt/preset/validation work), zipfile without bomb "
          "guards, whole-body msgpack framing (not incremental), write without temp file/fsync")


if __name__ == "__main__":
    main()
