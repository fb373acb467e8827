"""Director Tools and upscale over a real loopback socket against the NovelAI emulator."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from peropix_tui.core.backend import BackendError
from peropix_tui.core.config import Secret
from peropix_tui.core.metadata import png as pngmeta
from peropix_tui.core.nai.client import RetryPolicy
from peropix_tui.core.nai.tools_client import NaiToolsClient
from peropix_tui.core.nai.tools_jobs import plan_tool, plan_upscale, run_tool_job
from peropix_tui.core.nai.tools_save import ToolSaver
from peropix_tui.core.store.gallery import GalleryStore
from tests.nai_emulator.server import NaiEmulator

MakePng = Callable[..., Path]
FAST = RetryPolicy(busy_base=0.01, busy_cap=0.05, busy_tries=100_000, error_base=0.01, cancel_poll=0.01)


def client(emu: NaiEmulator) -> NaiToolsClient:
    return NaiToolsClient(emu.url, Secret(emu.token), retry=FAST)


def comment(path: Path) -> dict[str, object]:
    return dict(json.loads(pngmeta.read_text(path.read_bytes())["Comment"]))


def run_plan(plan: object, saver: ToolSaver, emu: NaiEmulator) -> list[Path]:
    async def go() -> list[Path]:
        out: list[Path] = []
        async with client(emu) as c:
            for job in plan.jobs:  # type: ignore[attr-defined]
                out += await run_tool_job(job, c, saver)
        return out

    return asyncio.run(go())


def test_emotion_set_is_saved_next_to_the_source_named_by_mood(nai_emulator: NaiEmulator, tmp_path: Path,
                                                               make_png: MakePng) -> None:
    root = tmp_path / "out"
    src = make_png("000_base_0000001.png", 832, 1216, folder=root / "set")
    with GalleryStore(root, tmp_path / "g.sqlite3") as store:
        plan = plan_tool("emotion", [src], moods=["happy", "sad", "angry"], defry=1, prompt="tears", tier=3)
        assert plan.total == 0  # Opus-free at 832x1216
        paths = run_plan(plan, ToolSaver(store), nai_emulator)
        assert [p.name for p in paths] == ["001_happy_0000002.png", "002_sad_0000003.png", "003_angry_0000004.png"]
        assert all(p.parent == src.parent for p in paths)
        assert {r.path for r in store.page(folder="set")} >= {f"set/{p.name}" for p in paths}
    bodies = [r.body for r in nai_emulator.calls("/ai/augment-image")]
    assert [b["prompt"] for b in bodies] == ["happy;;tears", "sad;;tears", "angry;;tears"]
    assert all(b["defry"] == 1 for b in bodies)
    rec = comment(paths[0])["peropix"]["tool"]  # type: ignore[index]
    assert rec["name"] == "emotion" and rec["options"]["mood"] == "happy" and rec["options"]["strength"] == "slightly_weak"
    assert rec["source"] == {"file": src.name, "sha256": hashlib.sha256(src.read_bytes()).hexdigest()}


def test_bg_removal_keeps_all_three_images_and_is_billed_65(nai_emulator: NaiEmulator, tmp_path: Path,
                                                          make_png: MakePng) -> None:
    src = make_png("003_angry_0000004.png", 832, 1216)
    before = nai_emulator.account.anlas
    plan = plan_tool("bg-removal", [src], tier=3)
    assert plan.total == 65
    paths = run_plan(plan, ToolSaver(None, tmp_path / "cut"), nai_emulator)
    assert before - nai_emulator.account.anlas == 65  # the emulator bills independently
    assert [p.name for p in paths] == ["003_angry_bg-masked_0000001.png", "003_angry_bg-generated_0000002.png",
                                       "003_angry_bg-blend_0000003.png"]
    parts = [comment(p)["peropix"]["tool"]["part"] for p in paths]  # type: ignore[index]
    assert parts == ["masked", "generated", "blend"]
    assert comment(paths[0])["source_comment"] == "bg-removal"
    assert Image.open(paths[2]).mode == "RGBA"


def test_small_sources_are_sent_at_about_one_megapixel(nai_emulator: NaiEmulator, tmp_path: Path,
                                                      make_png: MakePng) -> None:
    src = make_png("tiny.png", 512, 768)
    paths = run_plan(plan_tool("lineart", [src], tier=0), ToolSaver(None, tmp_path / "o"), nai_emulator)
    body = nai_emulator.calls("/ai/augment-image")[0].body
    assert (body["width"], body["height"]) == (836, 1254) and "prompt" not in body
    assert Image.open(paths[0]).size == (836, 1254) and paths[0].name == "lineart_0000001.png"


def test_upscale_is_2x_keeps_source_metadata_and_costs_one(nai_emulator: NaiEmulator, tmp_path: Path) -> None:
    src = tmp_path / "004_smile_0000009.png"
    info = pngmeta.text_chunk("Comment", json.dumps({"prompt": "1girl, smile", "seed": 7}))
    buf = io.BytesIO()
    Image.new("RGB", (832, 1216), (10, 20, 30)).save(buf, "PNG")
    raw = buf.getvalue()
    src.write_bytes(raw[:33] + info + raw[33:])
    before = nai_emulator.account.anlas
    paths = run_plan(plan_upscale([src]), ToolSaver(None), nai_emulator)
    assert before - nai_emulator.account.anlas == 1
    assert paths[0].name == "004_smile_2x_0000010.png" and Image.open(paths[0]).size == (1664, 2432)
    c = comment(paths[0])
    assert c["prompt"] == "1girl, smile" and c["peropix"]["tool"]["name"] == "upscale"  # type: ignore[index]
    assert nai_emulator.calls("/ai/upscale")[0].body["model"] == "nai-diffusion-5-curated"


def test_two_runs_share_the_account_gate_and_never_overlap(nai_emulator: NaiEmulator, tmp_path: Path,
                                                           make_png: MakePng) -> None:
    plans = [plan_tool(tool, [make_png(f"s{i}.png", 1024, 1024)], tier=3)
             for i, tool in enumerate(("sketch", "declutter", "lineart"))]
    errors: list[BaseException] = []

    def worker(plan: object) -> None:
        try:
            run_plan(plan, ToolSaver(None, tmp_path / "o"), nai_emulator)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(p,)) for p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    calls = sorted(nai_emulator.calls("/ai/augment-image"), key=lambda c: c.arrival)
    assert [c.status for c in calls] == [200, 200, 200]  # the gate kept them apart: no 429 at all
    assert all(a.finish <= b.arrival for a, b in zip(calls, calls[1:], strict=False))


def test_a_busy_account_is_waited_for_with_back_off(nai_emulator: NaiEmulator, tmp_path: Path,
                                                    make_png: MakePng) -> None:
    plan = plan_tool("sketch", [make_png("s.png", 64, 64)], tier=3)
    nai_emulator.occupy(600)  # the website is generating on this account
    done: list[list[Path]] = []
    t = threading.Thread(target=lambda: done.append(run_plan(plan, ToolSaver(None, tmp_path / "o"), nai_emulator)))
    t.start()
    while len([c for c in nai_emulator.calls("/ai/augment-image") if c.status == 429]) < 2:
        t.join(0.01)
        assert t.is_alive()
    nai_emulator.account.busy_until = 0.0  # the other generation ends
    t.join()
    assert done and len(done[0]) == 1
    assert [c.status for c in nai_emulator.calls("/ai/augment-image")][-1] == 200


@pytest.mark.parametrize(("fault", "message"), [("402", "not enough Anlas"), ("401", "token rejected"),
                                                ("400", "refused the request")])
def test_refusals_are_one_clear_error(nai_emulator: NaiEmulator, tmp_path: Path, make_png: MakePng,
                                      fault: str, message: str) -> None:
    nai_emulator.inject(fault, endpoint="/ai/augment-image")
    with pytest.raises(BackendError, match=message):
        run_plan(plan_tool("lineart", [make_png("a.png", 64, 64)], tier=3), ToolSaver(None, tmp_path), nai_emulator)
    assert not list(tmp_path.glob("lineart_*.png"))


def test_5xx_and_truncated_answers_are_retried(nai_emulator: NaiEmulator, tmp_path: Path, make_png: MakePng) -> None:
    nai_emulator.inject("500", endpoint="/ai/augment-image")
    nai_emulator.inject("truncated_zip", endpoint="/ai/augment-image")
    paths = run_plan(plan_tool("sketch", [make_png("a.png", 64, 64)], tier=3), ToolSaver(None, tmp_path / "o"),
                     nai_emulator)
    assert len(paths) == 1 and [c.status for c in nai_emulator.calls("/ai/augment-image")] == [500, 200, 200]


def test_upscale_refusal_from_the_server_is_clear(nai_emulator: NaiEmulator) -> None:
    async def go() -> None:
        async with client(nai_emulator) as c:
            await c.upscale({"image": "AAAA", "model": "nai-diffusion-4-5-full", "declared_blur_sigma": 0})

    with pytest.raises(BackendError, match="doesn't support standalone upscaling"):
        asyncio.run(go())


def test_free_requests_are_resent_paid_ones_never(nai_emulator: NaiEmulator, tmp_path: Path,
                                                  make_png: MakePng) -> None:
    """A paid request that failed after reaching NovelAI may have been billed: it is not sent again."""
    src = make_png("a.png", 64, 64)
    nai_emulator.inject("reset", endpoint="/ai/augment-image")
    paths = run_plan(plan_tool("sketch", [src], tier=3), ToolSaver(None, tmp_path / "o"), nai_emulator)
    assert len(paths) == 1 and [c.status for c in nai_emulator.calls("/ai/augment-image")] == [-1, 200]
    for fault in ("reset", "500", "truncated_zip"):
        nai_emulator.inject(fault, endpoint="/ai/upscale")
        before = len(nai_emulator.calls("/ai/upscale"))
        with pytest.raises(BackendError, match="may have been billed, so it was not sent again"):
            run_plan(plan_upscale([src]), ToolSaver(None, tmp_path / "u"), nai_emulator)
        assert len(nai_emulator.calls("/ai/upscale")) == before + 1
    nai_emulator.inject("html", endpoint="/ai/augment-image")
    with pytest.raises(BackendError, match="HTML page"):
        run_plan(plan_tool("sketch", [src], tier=3), ToolSaver(None, tmp_path / "p"), nai_emulator)
    assert not list((tmp_path / "u").glob("*.png")) and not (tmp_path / "p").exists()


def test_an_unreachable_server_is_retried_then_one_error(tmp_path: Path, make_png: MakePng) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    c = NaiToolsClient(f"http://127.0.0.1:{port}", Secret("pst-x"), retry=FAST)
    plan = plan_upscale([make_png("a.png", 64, 64)])

    async def go() -> None:
        async with c:
            await run_tool_job(plan.jobs[0], c, ToolSaver(None, tmp_path))

    with pytest.raises(BackendError, match="network error talking to NovelAI at 127.0.0.1"):
        asyncio.run(go())


def test_a_failing_run_keeps_what_was_already_saved(nai_emulator: NaiEmulator, tmp_path: Path,
                                                    make_png: MakePng) -> None:
    src = make_png("000_x_0000001.png", 64, 64)
    plan = plan_tool("emotion", [src], moods=["happy", "sad", "love"], tier=3)
    nai_emulator.account.tier = 0  # the emulator now bills; only enough Anlas for the first
    nai_emulator.account.fixed, nai_emulator.account.purchased = 25, 0
    with pytest.raises(BackendError, match="not enough Anlas"):
        run_plan(plan, ToolSaver(None, tmp_path / "o"), nai_emulator)
    assert [p.name for p in (tmp_path / "o").glob("*.png")] == ["001_happy_0000001.png"]


def test_the_token_is_never_written_into_results_or_errors(nai_emulator: NaiEmulator, tmp_path: Path,
                                                           make_png: MakePng) -> None:
    src = make_png("a.png", 64, 64)
    paths = run_plan(plan_tool("bg-removal", [src], tier=3), ToolSaver(None, tmp_path / "o"), nai_emulator)
    assert all(nai_emulator.token.encode() not in p.read_bytes() for p in paths)
    nai_emulator.inject("500", endpoint="/ai/upscale")
    with pytest.raises(BackendError) as err:
        run_plan(plan_upscale([src]), ToolSaver(None, tmp_path / "u"), nai_emulator)
    assert nai_emulator.token not in str(err.value) and nai_emulator.token not in repr(client(nai_emulator))
