"""Director Tools overhead on our side: preparing (load, website resize, PNG, base64) and pricing a
24-mood emotion set, against a bare PIL peer (open + resize + PNG) in the same run, and one
augment round trip to the loopback emulator.

    python bench/tools.py            # 832x1216 and 512x768 sources, 5 repeats

Prints ms per source for our preparation and for the peer, the ratio, ms to plan a whole
24-mood set (prepare once + 24 priced bodies), and ms per augment request over loopback.
"""

from __future__ import annotations

import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peropix_tui.core.config import Secret  # noqa: E402
from peropix_tui.core.nai.tools import prepare_augment_image, web_size  # noqa: E402
from peropix_tui.core.nai.tools_client import NaiToolsClient  # noqa: E402
from peropix_tui.core.nai.tools_jobs import plan_tool  # noqa: E402
from tests.nai_emulator.server import NaiEmulator  # noqa: E402

REPEATS = 5


def timed(fn: object, repeats: int = REPEATS) -> float:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def peer(path: Path) -> None:
    with Image.open(path) as im:
        im.load()
        out = im.resize(web_size(*im.size), Image.Resampling.LANCZOS) if web_size(*im.size) != im.size else im
        out.save(io.BytesIO(), "PNG")


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        rows = []
        for w, h in ((832, 1216), (512, 768)):
            src = Path(d) / f"{w}x{h}.png"
            Image.linear_gradient("L").resize((w, h)).convert("RGB").save(src)
            ours = timed(lambda src=src: prepare_augment_image(src))
            base = timed(lambda src=src: peer(src))
            plan = timed(lambda src=src: [j.body() for j in plan_tool("emotion", [src], moods=["all"], tier=3).jobs])
            rows.append((f"{w}x{h}", ours, base, ours / base, plan))
        with NaiEmulator() as emu:
            src = Path(d) / "832x1216.png"
            job = plan_tool("lineart", [src], tier=3).jobs[0]
            client = NaiToolsClient(emu.url, Secret(emu.token))

            async def go() -> float:
                body = job.body()
                await client.augment(body)
                t0 = time.perf_counter()
                for _ in range(REPEATS):
                    await client.augment(body)
                await client.aclose()
                return (time.perf_counter() - t0) * 1000 / REPEATS

            rtt = asyncio.run(go())
    print("| source | prepare ms (ours) | prepare ms (PIL peer) | ratio | plan 24 moods ms |")
    print("|---|---|---|---|---|")
    for name, ours, base, ratio, plan in rows:
        print(f"| {name} | {ours:.1f} | {base:.1f} | {ratio:.2f} | {plan:.1f} |")
    print(f"\naugment round trip to the loopback emulator (832x1216, lineart): {rtt:.1f} ms/request")


if __name__ == "__main__":
    main()
