"""A 401/402 on a NovelAI account: several accounts hold only that worker; one account (or the
command line's scheduler) pauses every pending job; a finished job's cost comes off its account."""

from __future__ import annotations

from peropix_tui.core.generation.admission import Account
from peropix_tui.core.generation.events import JobFailed, JobFinished
from peropix_tui.core.generation.scheduler import NAI_KINDS, Scheduler, Worker
from peropix_tui.core.jobs import JobQueue, JobState
from peropix_tui.core.settings import GenerationSettings

TWO = (Worker("nai", "nai", kinds=NAI_KINDS), Worker("nai:b", "nai", target="b"), Worker("local", "local"))


def runs(n: int, provider: str = "nai") -> list[tuple[GenerationSettings, int, str, int]]:
    return [(GenerationSettings(provider=provider, seed=i, steps=28, width=1024, height=1536), 0, "", 0)
            for i in range(n)]


def test_a_402_on_one_of_two_accounts_holds_that_worker_only_until_resume() -> None:
    s = Scheduler(JobQueue(None), TWO)
    s.hold_accounts = True
    s.submit(runs(4) + runs(1, "local"), folder="/tmp/x")
    started = {w.id: j for w, j in s.dispatch()}
    out = s.apply(JobFailed(started["nai:b"].id, "Not enough Anlas", False, 402))
    assert out.held == "nai:b" and out.paused == []
    assert s.held() == {"nai:b": "Not enough Anlas"}
    assert s.due_probes() == [] and s.next_probe_in() is None
    s.apply(JobFinished(started["nai"].id))
    assert [w.id for w, _ in s.dispatch()] == ["nai"]  # the other account goes on
    s.resume()
    assert s.held() == {}


def test_a_402_with_one_account_or_without_holding_pauses_every_pending_job() -> None:
    for workers, hold in (((TWO[0], TWO[2]), True), (TWO, False)):
        s = Scheduler(JobQueue(None), workers)
        s.hold_accounts = hold
        s.submit(runs(4), folder="/tmp/x")
        first = s.dispatch()[0][1]
        out = s.apply(JobFailed(first.id, "Invalid token", False, 401))
        assert out.held == "" and s.held() == {}
        assert len(out.paused) == len(s.queue.in_state(JobState.PAUSED)) >= 2


def test_jobs_only_a_held_account_can_run_are_paused_not_left_waiting() -> None:
    s = Scheduler(JobQueue(None), TWO)
    s.hold_accounts = True
    s.submit(runs(1), folder="/tmp/x")
    tool_like = s.submit(runs(1), folder="/tmp/x", kind="tool")  # only the default account takes tools
    s.health["nai:b"].hold("x")
    (worker, job), = s.dispatch()
    out = s.apply(JobFailed(job.id, "Invalid token", False, 401))
    assert out.held == "nai" and [j.id for j in out.paused] == [tool_like[0].id]


def test_a_finished_job_comes_off_its_accounts_known_balance() -> None:
    s = Scheduler(JobQueue(None), TWO)
    s.accounts = {"nai": Account(1000, 3, True)}
    s.submit(runs(1), folder="/tmp/x")
    (worker, job), = [(w, j) for w, j in s.dispatch() if w.id == "nai"]
    s.apply(JobFinished(job.id))
    left = s.accounts["nai"].anlas
    assert left is not None and left < 1000
