"""The TUI's adapter onto the generation core: requests in, Textual messages out.

It holds no generation logic. ``request`` expands the workspace, asks the one admission check
(:mod:`peropix_tui.core.generation.admission`) and submits the jobs to the scheduler; ``kick``
starts what the scheduler dispatches, each job in a Textual worker running
:meth:`GenerationService.run` (the local engine's torch work runs in the backend's own thread);
the service's core events become the Textual messages of :mod:`peropix_tui.messages`, posted to
the host, which applies them back through :meth:`Runner.apply` on the main thread (the
scheduler's only caller) and broadcasts them to the screens.

Before a job's request goes out, its worker waits (off the event loop) until the queue's
"running" record is on disk: the intent the recovery scan relies on after a crash.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from textual.message import Message

from .core.backend import Backend, CancelToken
from .core.config import Config, Secret
from .core.generation import events as ev
from .core.generation.account import fetch_account
from .core.generation.admission import Account, pooled, refusal
from .core.generation.backends import NO_TOKEN, BackendPool
from .core.generation.peropix import build_peropix as peropix_extra  # noqa: F401  (older name)
from .core.generation.peropix import with_metadata  # noqa: F401  (re-exported for callers)
from .core.generation.scheduler import Applied, QueueReadOnly, Scheduler, Worker
from .core.generation.service import GenerationService, check_settings
from .core.generation.workers import DEFAULT_ACCOUNT, NaiAccount, nai_worker_id
from .core.jobs import TOOL, Job
from .core.settings import SettingsError
from .core.slots import SlotSet
from .i18n import _
from .messages import (
    BalanceUpdated,
    ImageSaved,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobProgressed,
    JobsQueued,
    JobStarted,
    QueueChanged,
    WorkerLost,
)

if TYPE_CHECKING:
    from .core.nai.tools_jobs import ToolPlan
    from .core.nai.usage import UsageQuota

log = logging.getLogger("peropix")

JobMessage = JobStarted | JobProgressed | ImageSaved | JobFinished | JobFailed | JobCancelled | WorkerLost


class RunRefused(Exception):
    """A run that must not start (no token, over balance/budget, invalid settings); message for the user."""


class RunnerHost(Protocol):
    """What the runner needs of the app: the workspace, the account, messages and workers."""

    config: Config
    token: Secret | None
    workspace: SlotSet
    balance: BalanceUpdated | None

    def post_message(self, message: Message) -> bool: ...

    def run_worker(self, work: Any, name: str | None = "", group: str = "default", description: str = "",
                   exit_on_error: bool = True, start: bool = True, exclusive: bool = False,
                   thread: bool = False) -> Any: ...


def to_message(event: ev.CoreEvent) -> JobMessage:
    """A core event as the Textual message of the same name."""
    if isinstance(event, ev.JobStarted):
        return JobStarted(event.job_id)
    if isinstance(event, ev.JobProgressed):
        return JobProgressed(event.job_id, event.step, event.total, event.preview, event.note)
    if isinstance(event, ev.ImageSaved):
        return ImageSaved(event.job_id, event.path, event.seed)
    if isinstance(event, ev.JobFinished):
        return JobFinished(event.job_id)
    if isinstance(event, ev.JobFailed):
        return JobFailed(event.job_id, event.error, event.retryable, event.status)
    if isinstance(event, ev.WorkerLost):
        return WorkerLost(event.job_id, event.worker, event.error, event.maybe_charged, event.notice)
    return JobCancelled(event.job_id)


def to_event(msg: JobMessage) -> ev.CoreEvent:
    """The core event a Textual job message stands for."""
    if isinstance(msg, JobStarted):
        return ev.JobStarted(msg.job_id)
    if isinstance(msg, JobProgressed):
        return ev.JobProgressed(msg.job_id, msg.step, msg.total, msg.preview, msg.note)
    if isinstance(msg, ImageSaved):
        return ev.ImageSaved(msg.job_id, msg.path, msg.seed)
    if isinstance(msg, JobFinished):
        return ev.JobFinished(msg.job_id)
    if isinstance(msg, JobFailed):
        return ev.JobFailed(msg.job_id, msg.error, msg.retryable, msg.status)
    if isinstance(msg, WorkerLost):
        return ev.WorkerLost(msg.job_id, msg.worker, msg.error, msg.maybe_charged, msg.notice)
    return ev.JobCancelled(msg.job_id)


def account_of(balance: BalanceUpdated | None) -> Account:
    if balance is None:
        return Account()
    return Account(balance.anlas, balance.tier, balance.active)


class Runner:
    def __init__(self, host: RunnerHost, scheduler: Scheduler, service: GenerationService, *,
                 folder: Callable[[], str], durable: Callable[[], object] = lambda: None,
                 accounts: list[NaiAccount] | None = None) -> None:
        self.host = host
        self.scheduler = scheduler
        self.accounts = list(accounts or [])
        """The NovelAI accounts the workers run on; with two or more, each one's balance is fetched
        (:meth:`refresh_accounts`) and gates dispatch, and a 401/402 holds only its worker."""
        scheduler.hold_accounts = self.several_accounts
        self.service = service
        self.folder = folder
        """The folder new jobs write into (the app's session folder)."""
        self.durable = durable
        """Blocks until the queue's saves so far are on disk (run in a thread before each request)."""
        self._cancel: dict[str, CancelToken] = {}
        self._workers: dict[str, Any] = {}
        self._probing = False

    @property
    def backends(self) -> BackendPool:
        return self.service.backends

    @property
    def rng(self) -> random.Random:
        """Draws wildcard options; tests may seed it."""
        return self.service.rng

    @rng.setter
    def rng(self, value: random.Random) -> None:
        self.service.rng = value

    @property
    def busy(self) -> dict[str, str]:
        """provider → a running job id (any of its workers'; see ``scheduler.worker_states()`` for all)."""
        out: dict[str, str] = {}
        for job_id in self.scheduler.running_ids():
            worker = self.scheduler.worker_of(job_id)
            if worker is not None:
                out[worker.provider] = job_id
        return out

    # ---------------------------------------------------------------- request
    def request(self, all_slots: bool) -> list[Job]:
        """Expand the workspace into jobs, check the cost, queue them and start; raises RunRefused."""
        ws = self.host.workspace
        runs = (ws if all_slots else SlotSet(base=ws.base, slots=[], repeats=1)).expand()
        if not runs:
            raise RunRefused(_("Nothing to generate: every slot is locked."))
        for run in runs:
            try:
                check_settings(run.settings)
            except SettingsError as e:
                raise RunRefused(_("Cannot generate: {error}").format(error=e)) from None
        if any(r.settings.provider == "nai" for r in runs) and not (self.host.token or self.backends.has_nai_token()):
            raise RunRefused(_(NO_TOKEN))
        reason = refusal(ws, all_slots, self.scheduler.queue, self.admission_account(),
                         self.host.config.generation.budget)
        if reason:
            raise RunRefused(reason)
        try:
            jobs = self.scheduler.submit(((r.settings, r.slot_index, r.slot_name, r.repeat) for r in runs),
                                         folder=self.folder(), base_prompt=ws.base.prompt)
        except QueueReadOnly as e:
            raise RunRefused(_("Not queued: the queue is {reason}.").format(reason=e)) from None
        s = runs[0].settings
        log.info("[Queue] %d job(s) queued - %s, %dx%d, %d steps", len(jobs), s.provider,
                 s.width, s.height, s.steps)
        self.host.post_message(JobsQueued([j.id for j in jobs]))
        self.kick()
        return jobs

    def request_tools(self, plan: ToolPlan, *, tier: int | None, active: bool = True) -> list[Job]:
        """Queue a priced Director Tools plan (one job per request, in each source's folder) and
        start; raises RunRefused (no token, over budget / balance with what is queued already)."""
        from .core.generation.admission import tools_refusal
        from .core.generation.tool_jobs import by_folder, tool_records, tool_runs

        if not plan.jobs:
            raise RunRefused(_("Nothing to run: no image or no mood chosen."))
        if not self.host.token:
            raise RunRefused(_(NO_TOKEN))
        reason = tools_refusal(plan.total, self.scheduler.queue, account_of(self.host.balance),
                               self.host.config.generation.budget)
        if reason:
            raise RunRefused(reason)
        jobs: list[Job] = []
        try:
            for folder, records in by_folder(tool_records(plan, tier=tier, active=active)).items():
                jobs += self.scheduler.submit(tool_runs(records), folder=folder, kind=TOOL, tools=records)
        except QueueReadOnly as e:
            raise RunRefused(_("Not queued: the queue is {reason}.").format(reason=e)) from None
        log.info("[Queue] %d tool job(s) queued - %s, %d Anlas", len(jobs), plan.jobs[0].kind, plan.total)
        self.host.post_message(JobsQueued([j.id for j in jobs]))
        self.kick()
        return jobs

    # ------------------------------------------------------------- scheduling
    def kick(self) -> None:
        """Start every job the scheduler dispatches onto an idle worker."""
        for worker, job in self.scheduler.dispatch():
            token = self._cancel[job.id] = CancelToken()
            self._workers[job.id] = self.host.run_worker(
                self._run(job, token, worker), group=f"gen-{worker.id}", exit_on_error=False, name=f"job {job.id}",
            )

    def apply(self, msg: JobMessage) -> Applied:
        """Apply a job message to the queue (main thread); a job that ended frees its worker."""
        applied = self.scheduler.apply(to_event(msg))
        if applied.ended:
            self._cancel.pop(msg.job_id, None)
            self._workers.pop(msg.job_id, None)
            self.kick()
        if applied.lost:
            self.watch_health()
        return applied

    # ----------------------------------------------------------------- health
    def watch_health(self) -> None:
        """Probe down workers with back-off (on the event loop, like the jobs) until none has work waiting."""
        if not self._probing:
            self._probing = True
            self.host.run_worker(self._probe_loop(), group="worker-health", exit_on_error=False, name="probes")

    async def _probe_loop(self) -> None:
        from .core.generation.health import probe_worker

        try:
            while (wait := self.scheduler.next_probe_in()) is not None:
                await asyncio.sleep(wait)
                for worker in self.scheduler.due_probes():
                    ok, error = await probe_worker(worker, self.host.config)
                    self.scheduler.record_probe(worker.id, ok, error)
                    log.info("[Workers] %s %s", worker.id, "is back" if ok else f"still down ({error})")
                    if ok:
                        self.host.post_message(QueueChanged())  # the app kicks the queue
        finally:
            self._probing = False

    async def _run(self, job: Job, cancel: CancelToken, worker: Worker | None = None) -> None:
        post = self.host.post_message
        failed: list[bool] = []

        def emit(event: ev.CoreEvent) -> None:
            if isinstance(event, ev.JobFailed):
                failed.append(True)
            post(to_message(event))

        try:
            await asyncio.to_thread(self.durable)  # the "running" record is on disk before anything is sent
        except asyncio.CancelledError:  # cancelled before it began: nothing was sent
            post(JobCancelled(job.id))
            return
        await self.service.run(job, cancel, emit, queue_uid=self.scheduler.queue.uid, worker=worker)
        if job.settings.provider == "nai" and not failed and not cancel.cancelled:
            if self.several_accounts and worker is not None:
                await self.refresh_accounts([worker.id])
            else:
                await self.refresh_balance()

    # ------------------------------------------------------------- cancelling
    def cancel_current(self) -> list[str]:
        ids = self.scheduler.running_ids()
        for job_id in ids:
            self._cancel_running(job_id)
        return ids

    def _cancel_running(self, job_id: str) -> None:
        if token := self._cancel.get(job_id):
            token.cancel()
        worker = self._workers.get(job_id)
        if worker is not None and self.scheduler.queue.get(job_id).settings.provider == "nai":
            worker.cancel()  # aborts the HTTP request; the local engine stops at its next step

    def cancel_all(self) -> None:
        running = self.scheduler.running_ids()
        self.scheduler.cancel_waiting()
        for job_id in running:
            self._cancel_running(job_id)

    # ---------------------------------------------------------------- backends
    def use_backend(self, provider: str, backend: Backend | None) -> None:
        """Install a backend for ``provider`` (None: forget it, e.g. after a token change)."""
        self.backends.use(provider, backend)

    # ----------------------------------------------------------------- balance
    @property
    def several_accounts(self) -> bool:
        return len(self.accounts) > 1

    def admission_account(self) -> Account:
        """The account a run is checked against: the default token's, or with several accounts all
        usable ones pooled (:func:`~.core.generation.admission.pooled`, as ``peropix run`` does)."""
        if not self.several_accounts:
            return account_of(self.host.balance)
        held = self.scheduler.held()
        ids = [nai_worker_id(a.name) for a in self.accounts if nai_worker_id(a.name) not in held]
        return pooled(self.scheduler.accounts.get(i, Account()) for i in ids)

    def account_balances(self) -> dict[str, Account]:
        """Account name → what is known of its balance (unknown until fetched), for a balance display."""
        return {a.name: self.scheduler.accounts.get(nai_worker_id(a.name), Account()) for a in self.accounts}

    async def refresh_accounts(self, worker_ids: list[str] | None = None) -> dict[str, BalanceUpdated]:
        """Ask NovelAI for the balance of every account (of ``worker_ids`` only, when given), all at
        once, and hand them to the scheduler, which then dispatches a NovelAI job only to an account
        whose balance covers it. The default account's answer is also posted as BalanceUpdated (the
        cost meter); then QueueChanged (the app starts what can start now)."""
        chosen = [a for a in self.accounts if worker_ids is None or nai_worker_id(a.name) in worker_ids]

        async def one(account: NaiAccount) -> BalanceUpdated:
            wid = nai_worker_id(account.name)  # also its backend pool key
            client = getattr(self.backends.peek(wid), "client", None)
            msg = await fetch_balance(self.host.config, account.token, client=client)
            if msg.error:
                log.info("[Account] %s: balance unknown (%s)", account.name, msg.error)
            self.scheduler.accounts[wid] = Account(msg.anlas, msg.tier, msg.active) if not msg.error else Account()
            return msg

        answers = await asyncio.gather(*(one(a) for a in chosen))
        out = {a.name: m for a, m in zip(chosen, answers, strict=True)}
        self.post_pooled(out[DEFAULT_ACCOUNT].quota if DEFAULT_ACCOUNT in out else None)
        self.host.post_message(QueueChanged())
        return out

    def post_pooled(self, quota: UsageQuota | None = None) -> None:
        """Post the usable accounts pooled as the app's balance (the cost meter then shows what the
        admission check uses), with each account's own Anlas in ``per_account``."""
        pooled_account = self.admission_account()
        held = self.scheduler.held()
        per = tuple((a.name, self.scheduler.accounts.get(nai_worker_id(a.name), Account()).anlas)
                    for a in self.accounts if nai_worker_id(a.name) not in held)
        if quota is None and self.host.balance is not None:
            quota = self.host.balance.quota
        self.host.post_message(BalanceUpdated(pooled_account.anlas, pooled_account.tier, pooled_account.active,
                                              quota=quota, per_account=per))

    async def refresh_balance(self) -> BalanceUpdated:
        """Ask NovelAI for the balance, on the NovelAI backend's connection when it has one."""
        client = getattr(self.backends.peek("nai"), "client", None)
        msg = await fetch_balance(self.host.config, self.host.token, client=client)
        self.host.post_message(msg)
        return msg


async def fetch_balance(config: Any, token: Any, *, client: Any = None) -> BalanceUpdated:
    """Ask NovelAI for the tier and Anlas; errors become a BalanceUpdated with ``error`` set."""
    report = await fetch_account(config, token, client=client)
    if report.account is None:
        return BalanceUpdated(None, None, False, report.error)
    a = report.account
    return BalanceUpdated(a.anlas, a.tier, a.active, quota=report.quota)
