"""Many workers at once, over real loopback sockets: 3 emulated ComfyUI servers + 2 NovelAI accounts.

30 jobs through the one scheduler and BatchDriver: every job done with exactly one image, no NovelAI
account ever has two requests in flight (the emulator's arrival/finish times), every worker takes
work, and killing one ComfyUI server mid-job loses nothing and runs nothing twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from peropix_tui.core.config import load_config
from peropix_tui.core.generation import events as ev
from peropix_tui.core.generation.backends import BackendPool
from peropix_tui.core.generation.driver import BatchDriver
from peropix_tui.core.generation.output import ImageWriter
from peropix_tui.core.generation.service import GenerationService
from peropix_tui.core.generation.session import open_queue
from peropix_tui.core.generation.workers import load_accounts, workers_from_config
from peropix_tui.core.jobs import Job, JobState
from peropix_tui.core.settings import GenerationSettings
from tests.comfyui_emulator import ComfyEmulator
from tests.nai_emulator.server import NaiEmulator

SECOND_TOKEN = "pst-second-account-fedcba9876543210"


def write_config(path: Path, comfy: list[ComfyEmulator], token_file: Path) -> Path:
    servers = ", ".join(f'{{ url = "{e.url}", name = "s{i}" }}' for i, e in enumerate(comfy))
    path.write_text(f'[nai]\nstream = true\n\n[[nai.accounts]]\nname = "second"\ntoken_file = "{token_file}"\n\n'
                    f"[comfyui]\nservers = [{servers}]\n", encoding="utf-8")
    return path


def comfy_settings(seed: int) -> GenerationSettings:
    return GenerationSettings(provider="comfyui", prompt="1girl, smile", checkpoint="illustrious-xl-v1",
                              steps=8, width=512, height=512, seed=seed)


def nai_settings(seed: int) -> GenerationSettings:
    return GenerationSettings(provider="nai", prompt="1girl, smile", steps=12, width=512, height=512, seed=seed)


def overlapping(spans: list[tuple[float, float]]) -> bool:
    spans = sorted(spans)
    return any(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))


@pytest.fixture
def servers() -> Iterator[list[ComfyEmulator]]:
    emus = [ComfyEmulator(step_delay=0.03).start() for _ in range(3)]
    yield emus
    for e in emus:
        if not getattr(e, "killed", False):
            e.stop()


def test_thirty_jobs_spread_over_five_workers_and_survive_a_dead_server(
        tmp_path: Path, nai_emulator: NaiEmulator, servers: list[ComfyEmulator]) -> None:
    nai_emulator.step_delay = 0.01
    second = nai_emulator.add_account("second", SECOND_TOKEN)
    token_file = tmp_path / "second.token"
    token_file.write_text(SECOND_TOKEN + "\n", encoding="utf-8")
    config = load_config(write_config(tmp_path / "config.toml", servers, token_file))
    from peropix_tui.core.config import load_token

    accounts = load_accounts(config, load_token())
    assert [a.name for a in accounts] == ["default", "second"]
    workers = workers_from_config(config, accounts)
    assert [w.id for w in workers] == ["nai", "nai:second", "local", "comfyui:s0", "comfyui:s1", "comfyui:s2"]

    out = tmp_path / "out"
    writer = ImageWriter(out)
    pool = BackendPool(config, load_token(), {"second": accounts[1].token})
    service = GenerationService(pool, writer)
    session = open_queue(tmp_path / "state", images=writer, workers=workers)
    scheduler = session.scheduler
    runs = [(comfy_settings(100 + i), i, f"c{i}", 0) for i in range(18)]
    runs += [(nai_settings(500 + i), 18 + i, f"n{i}", 0) for i in range(12)]
    jobs = scheduler.submit(runs, folder=str(out), base_prompt="1girl")

    victim = servers[1]
    started_on: dict[str, list[str]] = {}
    lost: list[ev.WorkerLost] = []
    saved: list[ev.ImageSaved] = []

    def on_event(event: ev.CoreEvent, job: Job | None) -> None:
        if isinstance(event, ev.JobStarted) and job is not None:
            started_on.setdefault(job.worker, []).append(job.id)
            # the victim's second job: stop that server while the job runs on it
            if job.worker == "comfyui:s1" and len(started_on[job.worker]) == 2:
                def kill() -> None:
                    while victim.running_id() is None:
                        threading.Event().wait(0.005)
                    victim.killed = True  # type: ignore[attr-defined]
                    victim.stop()

                threading.Thread(target=kill, daemon=True).start()
        elif isinstance(event, ev.WorkerLost):
            lost.append(event)
        elif isinstance(event, ev.ImageSaved):
            saved.append(event)

    import asyncio

    async def go() -> None:
        driver = BatchDriver(scheduler, service, on_event, down_wait=2.0)
        try:
            await driver.run()
        finally:
            await pool.aclose()

    asyncio.run(go())
    session.close()
    writer.close()

    final = [scheduler.queue.get(j.id) for j in jobs]
    assert [j.state for j in final] == [JobState.DONE] * 30, [(j.id, j.state, j.error, j.notice) for j in final]
    assert all(len(j.images) == 1 for j in final)
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 30 and len(saved) == 30  # nothing lost, nothing saved twice
    assert len({e.job_id for e in saved}) == 30

    # the dead server's job came back and ran elsewhere; the server was marked down
    assert lost and {e.worker for e in lost} == {"comfyui:s1"}
    assert all(not e.maybe_charged for e in lost)
    for e in lost:
        assert scheduler.queue.get(e.job_id).worker in {"comfyui:s0", "comfyui:s2"}
    assert not scheduler.health["comfyui:s1"].healthy

    # every worker took work
    assert set(started_on) == {"nai", "nai:second", "comfyui:s0", "comfyui:s1", "comfyui:s2"}

    # each NovelAI account: 6-ish generations, never two in flight at once
    by_account: dict[str, list[tuple[float, float]]] = {}
    for rec in nai_emulator.generations():
        by_account.setdefault(rec.account, []).append((rec.arrival, rec.finish))
    assert set(by_account) == {"default", "second"}
    assert sum(len(v) for v in by_account.values()) == 12  # each NovelAI job sent once
    for name, spans in by_account.items():
        assert not overlapping(spans), name
    assert second.anlas <= 10_500
    # each ComfyUI job executed to the end on exactly one server
    executed = [p for e in servers for p in e.executed_prompts]
    assert len(executed) == 18 + len(lost)  # one finished run per job; the lost runs never finished
