"""Tool jobs (Job.kind "tool") through the one job path: queued, priced with the queue, run by the
service on the NovelAI worker, saved through the one save path, recovered after SIGKILL without
being sent again. Real subprocesses and the loopback NovelAI emulator."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from PIL import Image

from peropix_tui.core import paths
from peropix_tui.core.config import Secret, load_config
from peropix_tui.core.generation.admission import Account, queued_cost, tools_refusal
from peropix_tui.core.generation.backends import BackendPool
from peropix_tui.core.generation.driver import BatchDriver
from peropix_tui.core.generation.output import ImageWriter
from peropix_tui.core.generation.peropix import job_tag
from peropix_tui.core.generation.scheduler import Scheduler
from peropix_tui.core.generation.service import GenerationService
from peropix_tui.core.generation.session import open_queue
from peropix_tui.core.generation.tool_jobs import tool_records, tool_runs
from peropix_tui.core.jobs import TOOL, JobQueue, JobState
from peropix_tui.core.metadata import png as pngmeta
from peropix_tui.core.nai.backend import NaiBackend
from peropix_tui.core.nai.client import RetryPolicy
from peropix_tui.core.nai.tools_client import NaiToolsClient
from peropix_tui.core.nai.tools_jobs import plan_tool
from peropix_tui.core.settings import GenerationSettings
from tests.nai_emulator.server import NaiEmulator

ROOT = Path(__file__).resolve().parents[2]
AUGMENT = "/ai/augment-image"
FAST = RetryPolicy(busy_base=0.01, busy_cap=0.05, busy_tries=100_000, error_base=0.01, cancel_poll=0.01)


def _png(path: Path, w: int, h: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.linear_gradient("L").resize((w, h)).convert("RGB").save(path)
    return path


def _source(w: int = 1024, h: int = 1536) -> Path:
    return _png(Path(os.environ["PEROPIX_OUTPUT_DIR"]) / "set" / "000_base_0000001.png", w, h)


def _peropix(path: Path) -> dict[str, object]:
    return dict(json.loads(pngmeta.read_text(path.read_bytes())["Comment"])["peropix"])


QUEUE_TOOLS = """
import asyncio, sys
from pathlib import Path
from peropix_tui.core.config import load_config, load_token
from peropix_tui.core.generation.backends import BackendPool
from peropix_tui.core.generation.driver import BatchDriver
from peropix_tui.core.generation.output import ImageWriter
from peropix_tui.core.generation.service import GenerationService
from peropix_tui.core.generation.session import open_queue
from peropix_tui.core.generation.tool_jobs import tool_records, tool_runs
from peropix_tui.core.nai.tools_jobs import plan_tool

cfg = load_config()
src = Path(sys.argv[1])
writer = ImageWriter(cfg.output_dir)
session = open_queue(images=writer)
recs = tool_records(plan_tool("emotion", [src], moods=sys.argv[2:], tier=3), tier=3)
session.scheduler.submit(tool_runs(recs), folder=str(src.parent), kind="tool", tools=recs)
asyncio.run(BatchDriver(session.scheduler, GenerationService(BackendPool(cfg, load_token()), writer)).run())
"""


def test_a_tool_job_whose_image_landed_is_recovered_and_not_sent_again(nai_emulator: NaiEmulator) -> None:
    src = _source()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEROPIX_CRASH_AFTER_SAVE": "1"}
    proc = subprocess.run([sys.executable, "-c", QUEUE_TOOLS, str(src), "happy", "sad"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr  # killed right after the first image's rename
    assert [c.body["prompt"].split(";")[0] for c in nai_emulator.calls(AUGMENT)] == ["happy"]
    (landed,) = [p for p in src.parent.glob("*.png") if p != src]
    assert landed.name.startswith("001_happy_")

    queue = JobQueue.read(paths.state_dir() / "queue.json")
    first, second = list(queue)
    assert (first.kind, first.state, second.state) == (TOOL, JobState.RUNNING, JobState.PENDING)
    assert job_tag(landed.read_bytes()) == (queue.uid, first.id)  # the image names its queue and job

    session = open_queue(images=ImageWriter(load_config().output_dir))
    try:
        got = session.queue.get(first.id)
        assert got.state is JobState.DONE and got.images == [str(landed)]
        assert [j.id for j in session.recovered] == [first.id] and not session.interrupted
        assert session.queue.get(second.id).state is JobState.PAUSED
    finally:
        session.close()

    resumed = subprocess.run([sys.executable, "-m", "peropix_tui", "queue", "resume"], cwd=ROOT, env={
        **os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    moods = [c.body["prompt"].split(";")[0] for c in nai_emulator.calls(AUGMENT)]
    assert moods == ["happy", "sad"]  # the landed one was never sent again
    final = JobQueue.read(paths.state_dir() / "queue.json")
    assert [j.state for j in final] == [JobState.DONE, JobState.DONE]
    assert sorted(Path(p).name.split("_")[1] for j in final for p in j.images) == ["happy", "sad"]


def test_tool_jobs_are_priced_with_the_queue_and_refused_over_balance(tmp_path: Path) -> None:
    src = _source()
    plan = plan_tool("emotion", [src], moods=["happy", "sad"], tier=3)
    assert plan.total == 60  # 30 each over 1 MP, not Opus-free
    queue = JobQueue(None)
    sched = Scheduler(queue)
    recs = tool_records(plan, tier=3)
    sched.submit(tool_runs(recs), folder=str(src.parent), kind=TOOL, tools=recs)
    gen = GenerationSettings(provider="nai", width=1024, height=1536, steps=28)
    sched.submit([(gen, None, "", 0)], folder=str(tmp_path))
    opus = Account(anlas=100, tier=3)
    gen_cost = queued_cost([j for j in queue if j.kind != TOOL], opus)
    assert gen_cost > 0 and queued_cost(queue, opus) == 60 + gen_cost
    assert queued_cost(queue, Account(anlas=100, tier=None)) >= 60  # unknown tier: nothing free
    assert tools_refusal(30, queue, Account(anlas=None), budget=0) is None
    reason = tools_refusal(60, queue, opus, budget=0)
    assert reason is not None and "already queued" in reason and "balance is 100" in reason
    assert "over your budget of 50" in (tools_refusal(60, [], opus, budget=50) or "")
    # the NovelAI worker takes tool jobs; a tool job round-trips through queue.json
    started = sched.dispatch()
    assert [(w.id, j.kind) for w, j in started][:1] == [("nai", TOOL)]
    back = [type(j).from_dict(j.to_dict()) for j in queue]
    assert back[0].tool == queue.jobs[0].tool and back[0].tool["mood"] == "happy"
    assert back[2].tool == {} and "tool" not in queue.jobs[2].to_dict()  # generations unchanged


def test_the_service_runs_a_tool_job_and_saves_through_the_writer(nai_emulator: NaiEmulator) -> None:
    src = _source(832, 1216)
    root = Path(os.environ["PEROPIX_OUTPUT_DIR"])
    queue = JobQueue(None)
    sched = Scheduler(queue)
    recs = tool_records(plan_tool("bg-removal", [src], tier=3), tier=3)
    (job,) = sched.submit(tool_runs(recs), folder=str(src.parent), kind=TOOL, tools=recs)
    writer = ImageWriter(root)
    pool = BackendPool(load_config(), Secret(nai_emulator.token))
    pool.use("nai", NaiBackend(NaiToolsClient(nai_emulator.url, Secret(nai_emulator.token), retry=FAST)))
    events: list[str] = []

    def hook(event: object, _job: object) -> None:
        events.append(type(event).__name__)

    asyncio.run(BatchDriver(sched, GenerationService(pool, writer), hook).run())
    writer.close()
    assert events[0] == "JobStarted" and events[-1] == "JobFinished" and events.count("ImageSaved") == 3
    assert job.state is JobState.DONE and len(job.images) == 3
    assert sorted(Path(p).name.rsplit("_", 1)[0] for p in job.images) == [
        "000_base_bg-blend", "000_base_bg-generated", "000_base_bg-masked"]
    assert {Path(p).parent for p in job.images} == {src.parent}
    for p in job.images:
        obj = _peropix(Path(p))
        assert obj["job"] == job.id and obj["kind"] == TOOL
        assert isinstance(obj["tool"], dict) and obj["tool"]["name"] == "bg-removal"
    assert nai_emulator.account.anlas == 10_500 - 65  # 3 x base + 5, never free
