"""Dispatch onto many workers, pins, health and per-account balance (the scheduler alone, no I/O)."""

from __future__ import annotations

from pathlib import Path

import pytest

from peropix_tui.core.config import ConfigError, Secret, load_config, save_config
from peropix_tui.core.generation.admission import Account, pooled
from peropix_tui.core.generation.events import JobFinished, WorkerLost
from peropix_tui.core.generation.health import Backoff
from peropix_tui.core.generation.scheduler import Scheduler, Worker
from peropix_tui.core.generation.workers import NaiAccount, load_accounts, pool_key, workers_from_config
from peropix_tui.core.jobs import JobQueue, JobState
from peropix_tui.core.settings import GenerationSettings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def comfy(seed: int, pin: str | None = None) -> tuple[GenerationSettings, int, str, int]:
    return (GenerationSettings(provider="comfyui", checkpoint="x", seed=seed, comfyui_server=pin), 0, "", 0)


def nai(seed: int, steps: int = 28) -> tuple[GenerationSettings, int, str, int]:
    return (GenerationSettings(provider="nai", seed=seed, steps=steps, width=1024, height=1024), 0, "", 0)


SERVERS = (Worker("comfyui:a", "comfyui", 2, target="a", url="http://h1:8188"),
           Worker("comfyui:b", "comfyui", 1, target="b", url="http://h2:8188"))


def test_jobs_spread_in_turn_and_each_worker_keeps_to_its_capacity() -> None:
    s = Scheduler(JobQueue(None), SERVERS)
    s.submit([comfy(i) for i in range(5)], folder="/tmp/x")
    started = s.dispatch()
    assert [w.id for w, _ in started] == ["comfyui:a", "comfyui:b", "comfyui:a"]
    assert [j.worker for _, j in started] == ["comfyui:a", "comfyui:b", "comfyui:a"]
    assert s.dispatch() == []  # both full
    s.apply(JobFinished(started[1][1].id))
    assert [w.id for w, _ in s.dispatch()] == ["comfyui:b"]


def test_a_job_pinned_to_a_server_runs_there_only_and_an_unknown_pin_goes_to_the_default_worker() -> None:
    workers = (*SERVERS, Worker("comfyui", "comfyui"))
    s = Scheduler(JobQueue(None), workers)
    s.submit([comfy(1, "b"), comfy(2, "b"), comfy(3, "http://h1:8188/"), comfy(4, "http://elsewhere:1")],
             folder="/tmp/x")
    got = {j.settings.seed: w.id for w, j in s.dispatch()}
    assert got == {1: "comfyui:b", 3: "comfyui:a", 4: "comfyui"}  # seed 2 waits for b
    assert s.queue.jobs[1].state is JobState.PENDING


def test_a_lost_worker_gives_its_job_back_is_skipped_then_rejoins_after_a_probe() -> None:
    clock = Clock()
    s = Scheduler(JobQueue(None), SERVERS)
    for w in SERVERS:
        s.health[w.id] = Backoff(clock=clock)
    s.submit([comfy(1, "b"), comfy(2)], folder="/tmp/x")
    started = dict((j.settings.seed, (w, j)) for w, j in s.dispatch())
    w, job = started[1]
    applied = s.apply(WorkerLost(job.id, w.id, "connection refused"))
    assert applied.lost and applied.ended
    assert job.state is JobState.PENDING and job.images == []
    assert not s.health["comfyui:b"].healthy
    assert s.dispatch() == []  # pinned to b, and b is down
    assert s.stranded() == [job]
    assert s.due_probes() == [] and s.next_probe_in() == pytest.approx(1.0)
    clock.now += 1.0
    assert [x.id for x in s.due_probes()] == ["comfyui:b"]
    s.record_probe("comfyui:b", False, "still refused")
    assert s.next_probe_in() == pytest.approx(2.0)  # back-off doubles
    clock.now += 2.0
    s.record_probe("comfyui:b", True)
    assert [(x.id, j.id) for x, j in s.dispatch()] == [("comfyui:b", job.id)]
    assert [st for _, st, _ in s.worker_states()] == ["busy", "full"]


def test_a_novelai_request_that_may_have_been_charged_is_paused_with_the_notice() -> None:
    s = Scheduler(JobQueue(None), (Worker("nai", "nai"), Worker("nai:b", "nai", target="b")))
    s.submit([nai(1), nai(2), nai(3)], folder="/tmp/x")
    (w1, j1), (w2, j2) = s.dispatch()
    s.apply(WorkerLost(j1.id, w1.id, "reset", maybe_charged=True, notice="NovelAI may have charged it"))
    assert j1.state is JobState.PAUSED and "may have charged" in j1.notice
    s.apply(WorkerLost(j2.id, w2.id, "refused", maybe_charged=False))
    assert j2.state is JobState.PENDING
    assert s.dispatch() == []  # both accounts down: nothing is sent


def test_a_novelai_job_starts_only_on_an_account_whose_balance_covers_it() -> None:
    s = Scheduler(JobQueue(None), (Worker("nai", "nai"), Worker("nai:rich", "nai", target="rich")))
    s.accounts = {"nai": Account(anlas=5, tier=0), "nai:rich": Account(anlas=10_000, tier=0)}
    s.submit([nai(1), nai(2)], folder="/tmp/x")
    assert [w.id for w, _ in s.dispatch()] == ["nai:rich"]


def test_pooled_accounts_add_balances_and_unknown_stays_unknown() -> None:
    assert pooled([Account(10, 3), Account(5, 1)]) == Account(15, 1, True)
    assert pooled([Account(10, 3), Account()]).anlas is None


def test_workers_and_pool_keys_from_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tf = tmp_path / "b.token"
    tf.write_text("pst-bbbb\n", encoding="utf-8")
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text(
        f'[nai]\naccounts = [{{ name = "b", token_file = "{tf}" }}, {{ name = "c", token_env = "TOK_C" }}]\n'
        '[comfyui]\nservers = [{ url = "http://h1:8188", name = "g1", max_jobs = 2 }, "http://h2:8188"]\n',
        encoding="utf-8")
    cfg = load_config(cfg_file, env={"TOK_C": "pst-cccc"})
    accounts = load_accounts(cfg, Secret("pst-aaaa"), env={"TOK_C": "pst-cccc"})
    assert [a.name for a in accounts] == ["default", "b", "c"]
    assert [a.token.get() for a in accounts] == ["pst-aaaa", "pst-bbbb", "pst-cccc"]
    assert "pst-" not in repr(accounts) + repr(cfg.accounts)
    ws = workers_from_config(cfg, accounts)
    assert [(w.id, w.capacity) for w in ws] == [("nai", 1), ("nai:b", 1), ("nai:c", 1), ("local", 1),
                                                ("comfyui:g1", 2), ("comfyui:h2:8188", 1)]
    assert pool_key(ws[1], GenerationSettings()) == "nai:b"
    assert pool_key(ws[0], GenerationSettings()) == "nai"
    assert pool_key(ws[4], GenerationSettings(provider="comfyui")) == "comfyui:g1"
    assert [w.id for w in workers_from_config(load_config(tmp_path / "none.toml", env={}), [])] == [
        "nai", "local", "comfyui"]
    # saved and read back: the same accounts, no token in the file
    saved = save_config(cfg, tmp_path / "saved.toml")
    assert "pst-" not in saved.read_text(encoding="utf-8")
    assert load_config(saved, env={}).accounts == cfg.accounts


@pytest.mark.parametrize(("entry", "message"), [
    ('{ name = "b" }', "exactly one of token_file"),
    ('{ name = "b", token_file = "x", token_env = "Y" }', "exactly one of token_file"),
    ('{ name = "default", token_env = "Y" }', "nai.accounts[0].name"),
    ('{ name = "b", token_env = "Y", token = "pst-x" }', "unknown key 'token'"),
    ('"pst-inline"', "nai.accounts[0]: expected a table"),
])
def test_bad_account_entries_are_one_line_errors_naming_the_entry(tmp_path: Path, entry: str, message: str) -> None:
    f = tmp_path / "c.toml"
    f.write_text(f"[nai]\naccounts = [{entry}]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(f, env={})
    assert message in str(e.value) and str(f) in str(e.value) and "pst-" not in str(e.value)


def test_an_account_whose_token_is_missing_is_named(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text(f'[nai]\naccounts = [{{ name = "b", token_file = "{tmp_path / "nope"}" }}, '
                 '{ name = "c", token_env = "UNSET_VAR" }]\n', encoding="utf-8")
    cfg = load_config(f, env={})
    with pytest.raises(ConfigError, match=r"nai.accounts\[0\] \(b\).token_file: .*nope: cannot read"):
        load_accounts(cfg, None, env={})
    cfg.accounts = cfg.accounts[1:]
    with pytest.raises(ConfigError, match=r"\(c\).token_env: \$UNSET_VAR is not set"):
        load_accounts(cfg, None, env={})
    assert load_accounts(load_config(tmp_path / "none.toml", env={}), None, env={}) == []
    assert NaiAccount("x", Secret("pst-z")).__repr__() == "NaiAccount(name='x')"


def test_one_shot_scheduler_fails_a_job_whose_worker_died() -> None:
    s = Scheduler(JobQueue(None), SERVERS, requeue_lost=False)
    s.submit([comfy(1)], folder="/tmp/x")
    ((w, job),) = s.dispatch()
    s.apply(WorkerLost(job.id, w.id, "ComfyUI a: connection refused"))
    assert job.state is JobState.FAILED and job.retryable and job.error == "ComfyUI a: connection refused"
