"""The scheduler: the sole owner of queue state changes, and dispatch onto workers (pure, no I/O
of its own: the queue persists itself through its writer).

Faces post *requests* (submit, resume, retry, cancel, reorder, clear); the scheduler applies them,
and applies the service's events (progress, image saved, finished, failed, cancelled). Dispatch
hands pending jobs to idle workers. A worker is one place that runs jobs: it has an id, a
provider and a capacity (jobs in flight at once): each ComfyUI server (its ``max_jobs``), each
NovelAI account (1), the local engine (1) — see :mod:`.workers` for the list built from the config.
A job pinned to a ComfyUI server (``settings.comfyui_server``) runs on that server's worker only.

A worker that died mid-job (:class:`~.events.WorkerLost`) gives its job back (pending, or paused
with a notice when a NovelAI request may have been charged), is marked down and skipped by dispatch
until a probe answers (:meth:`Scheduler.due_probes` / :meth:`Scheduler.record_probe`, back-off in
:class:`~.health.Backoff`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ...i18n import _
from ..jobs import FINISHED, GENERATE, TOOL, WORKER_LOST, Job, JobQueue, JobState, JobStateError
from ..settings import GenerationSettings
from .admission import Account
from .events import CoreEvent, ImageSaved, JobCancelled, JobFailed, JobFinished, JobProgressed, WorkerLost
from .health import Backoff

PAUSING_STATUSES = (401, 402, 403)
"""A failure with these statuses (bad token, no Anlas) holds the rest of the queue."""


@dataclass(frozen=True)
class Worker:
    id: str
    provider: str
    capacity: int = 1
    kinds: frozenset[str] = frozenset({GENERATE})
    target: str = ""
    """The ComfyUI server's name (and ``url``) or the NovelAI account's name; "" for a provider's
    default worker (which also takes jobs pinned to a server no worker stands for)."""
    url: str = ""

    def stands_for(self, pin: str) -> bool:
        """This worker is the ComfyUI server ``pin`` names (by name or URL)."""
        return bool(self.target) and (pin == self.target or (bool(self.url) and pin.rstrip("/") == self.url))


NAI_KINDS = frozenset({GENERATE, TOOL})
"""What the (default) NovelAI account's worker runs: generations and Director Tool / upscale jobs."""

DEFAULT_WORKERS = (Worker("nai", "nai", kinds=NAI_KINDS), Worker("local", "local"),
                   Worker("comfyui", "comfyui"))
"""The NovelAI worker runs generations and tool jobs (one request in flight per account either way)."""


class QueueReadOnly(RuntimeError):
    """This process attached to a queue another process owns; the message names that process."""


@dataclass
class Applied:
    """What applying an event did beyond the job itself: jobs held after a pausing failure."""

    paused: list[Job] = field(default_factory=list)
    ended: bool = False
    lost: bool = False
    """A worker died under the job: it is waiting again (pending, or paused with a notice)."""
    held: str = ""
    """The NovelAI worker held after a 401/402/403 on one of several accounts (the others go on)."""


Run = tuple[GenerationSettings, int | None, str, int]


class Scheduler:
    def __init__(self, queue: JobQueue, workers: Iterable[Worker] = DEFAULT_WORKERS, *,
                 readonly_reason: str = "", requeue_lost: bool = True) -> None:
        self.queue = queue
        self.requeue_lost = requeue_lost
        """False (one-shot ``peropix generate``): a job whose worker died fails with the error at once."""
        self.workers = list(workers)
        self.in_flight: dict[str, list[str]] = {w.id: [] for w in self.workers}
        self.health: dict[str, Backoff] = {w.id: Backoff() for w in self.workers}
        self.accounts: dict[str, Account] = {}
        """NovelAI worker id → what is known of its account (balance checked before each dispatch)."""
        self.hold_accounts = False
        """True (the TUI): a 401/402/403 on one of several NovelAI accounts holds only that account's
        worker, and pauses only the jobs no other worker can run. False, or a single account: it
        pauses every pending job."""
        self.readonly_reason = readonly_reason
        if readonly_reason:
            queue.readonly = True

    @property
    def readonly(self) -> bool:
        return bool(self.readonly_reason)

    def _writable(self) -> None:
        if self.readonly_reason:
            raise QueueReadOnly(self.readonly_reason)

    # ------------------------------------------------------------- requests
    def submit(self, runs: Iterable[Run], *, folder: str, base_prompt: str = "", kind: str = GENERATE,
               tools: Sequence[dict[str, Any]] | None = None) -> list[Job]:
        self._writable()
        return self.queue.add(runs, folder=folder, base_prompt=base_prompt, kind=kind, tools=tools)

    def resume(self) -> list[Job]:
        """Paused jobs back to pending; workers held for their account are usable again."""
        self._writable()
        self.release_holds()
        return self.queue.resume()

    def release_holds(self, worker_id: str | None = None) -> None:
        """Held workers (``worker_id`` only, when given) are usable again (e.g. after a token change)."""
        for wid, h in self.health.items():
            if h.held and worker_id in (None, wid):
                h.recovered()

    def held(self) -> dict[str, str]:
        """Held worker id → the reason (a rejected token, an empty balance)."""
        return {wid: h.last_error for wid, h in self.health.items() if h.held}

    def retry_failed(self) -> list[Job]:
        self._writable()
        return self.queue.retry_failed()

    def pause_pending(self) -> list[Job]:
        return self.queue.pause_pending()

    def reorder(self, job_id: str, delta: int) -> int:
        return self.queue.reorder(job_id, delta)

    def clear_finished(self) -> list[Job]:
        return self.queue.clear_finished()

    def clear_all(self) -> list[Job]:
        """Remove every job that is not running."""
        gone = [j for j in self.queue if j.state is not JobState.RUNNING]
        self.queue.jobs = [j for j in self.queue if j.state is JobState.RUNNING]
        self.queue.save()
        return gone

    def cancel(self, job_id: str) -> bool:
        """Cancel a waiting job now; True when it is running (the driver stops it, then it ends)."""
        job = self.queue.get(job_id)
        if job.state is JobState.RUNNING:
            return True
        if job.state in FINISHED:
            raise JobStateError(_("job {job} is {state} already").format(job=job_id, state=job.state.value))
        self.queue.cancel(job_id)
        return False

    def cancel_waiting(self) -> list[Job]:
        """Cancel every pending and paused job (running ones are the driver's to stop)."""
        hit = self.queue.in_state(JobState.PENDING, JobState.PAUSED)
        for job in hit:
            self.queue.cancel(job.id)
        return hit

    def running_ids(self) -> list[str]:
        return [j for ids in self.in_flight.values() for j in ids]

    def worker_of(self, job_id: str) -> Worker | None:
        for w in self.workers:
            if job_id in self.in_flight[w.id]:
                return w
        return None

    # ------------------------------------------------------------- dispatch
    def dispatch(self) -> list[tuple[Worker, Job]]:
        """Start the next pending job on every healthy worker with room; the queue saves each as running.

        Workers take turns (one job each per round), so a batch spreads over all of them.
        """
        if self.readonly:
            return []
        started: list[tuple[Worker, Job]] = []
        progress = True
        while progress:
            progress = False
            for worker in self.workers:
                if not self.health[worker.id].healthy or len(self.in_flight[worker.id]) >= worker.capacity:
                    continue
                job = self._next_for(worker)
                if job is None:
                    continue
                self.queue.start(job.id, worker.id)
                self.in_flight[worker.id].append(job.id)
                started.append((worker, job))
                progress = True
        return started

    def accepts(self, worker: Worker, job: Job) -> bool:
        """``worker`` can run ``job``: its provider and kind, and the ComfyUI server it is pinned to."""
        if job.settings.provider != worker.provider or job.kind not in worker.kinds:
            return False
        pin = job.settings.comfyui_server if worker.provider == "comfyui" else None
        if not pin:
            return True
        if worker.stands_for(pin):
            return True
        # a pin no worker stands for (e.g. a URL given with --server) goes to the default worker
        return not worker.target and not any(w.stands_for(pin) for w in self.workers)

    def _next_for(self, worker: Worker) -> Job | None:
        account = self.accounts.get(worker.id)
        for job in self.queue:
            if job.state is JobState.PENDING and self.accepts(worker, job):
                if account is not None and not self._affordable(worker, job, account):
                    continue
                return job
        return None

    def _affordable(self, worker: Worker, job: Job, account: Account) -> bool:
        """The job's cost fits the balance of the account it would run on (unknown balance: it fits)."""
        if account.anlas is None:
            return True
        from ..costing import pending_cost

        mine = [self.queue.get(i).settings for i in self.in_flight[worker.id]] + [job.settings]
        return pending_cost(mine, tier=account.tier, active=account.active) <= account.anlas

    def idle(self) -> bool:
        """Nothing runs and nothing pending can start."""
        return not self.running_ids() and not any(
            self._next_for(w) for w in self.workers if self.health[w.id].healthy)

    # ---------------------------------------------------------------- health
    def mark_down(self, worker_id: str, error: str) -> None:
        if worker_id in self.health:
            self.health[worker_id].failed(error)

    def due_probes(self) -> list[Worker]:
        """Down workers whose back-off has passed and that have a job waiting for them."""
        return [w for w in self.workers if not self.health[w.id].healthy and self.health[w.id].due()
                and self._waiting_for(w)]

    def next_probe_in(self) -> float | None:
        """Seconds until the next down worker with work waiting is due a probe (None: none is down)."""
        waits = [self.health[w.id].wait() for w in self.workers
                 if not self.health[w.id].healthy and not self.health[w.id].held and self._waiting_for(w)]
        return min(waits) if waits else None

    def record_probe(self, worker_id: str, ok: bool, error: str = "") -> None:
        """A probe's answer: healthy again (rejoins dispatch) or down for a longer back-off."""
        if worker_id in self.health:
            if ok:
                self.health[worker_id].recovered()
            else:
                self.health[worker_id].failed(error)

    def _waiting_for(self, worker: Worker) -> bool:
        return any(j.state is JobState.PENDING and self.accepts(worker, j) for j in self.queue)

    def stranded(self) -> list[Job]:
        """Pending jobs that no healthy worker can run (they wait for a down one)."""
        healthy = [w for w in self.workers if self.health[w.id].healthy]
        return [j for j in self.queue.in_state(JobState.PENDING) if not any(self.accepts(w, j) for w in healthy)]

    def worker_states(self) -> list[tuple[Worker, str, str]]:
        """(worker, state, last error) for a queue screen: idle | busy | full | down."""
        out = []
        for w in self.workers:
            h, n = self.health[w.id], len(self.in_flight[w.id])
            state = "down" if not h.healthy else "idle" if n == 0 else "full" if n >= w.capacity else "busy"
            out.append((w, state, h.last_error))
        return out

    # --------------------------------------------------------------- events
    def apply(self, event: CoreEvent) -> Applied:
        """Apply one event of the service to the queue (called by the owner only, in order)."""
        out = Applied()
        try:
            job = self.queue.get(event.job_id)
        except KeyError:  # removed meanwhile (e.g. cleared): nothing to record
            self._release(event.job_id)
            out.ended = isinstance(event, JobFinished | JobFailed | JobCancelled)
            return out
        running = job.state is JobState.RUNNING
        if isinstance(event, JobProgressed):
            self.queue.progress(job.id, event.step, event.total, event.note)
        elif isinstance(event, ImageSaved):
            if str(event.path) not in job.images:
                self.queue.add_image(job.id, event.path)
        elif isinstance(event, JobFinished):
            if running:
                self._spent(job)
                self.queue.finish(job.id)
            out.ended = True
        elif isinstance(event, JobFailed):
            worker = self.worker_of(job.id)
            if running:
                self.queue.fail(job.id, event.error, retryable=event.retryable)
            if event.status in PAUSING_STATUSES:
                if self.hold_accounts and worker is not None and self._several_accounts(worker):
                    self.health[worker.id].hold(event.error)
                    out.held = worker.id
                    out.paused = self.queue.pause_pending(self._orphan)
                else:
                    out.paused = self.queue.pause_pending()
            out.ended = True
        elif isinstance(event, JobCancelled):
            if running:
                self.queue.cancel(job.id)
            out.ended = True
        elif isinstance(event, WorkerLost):
            worker = self.worker_of(job.id)
            if worker is not None:
                self.mark_down(worker.id, event.error)
            if running and not self.requeue_lost:
                self.queue.fail(job.id, event.error, retryable=True)
            elif running:
                if event.maybe_charged:
                    self.queue.interrupt(job.id, event.notice or WORKER_LOST)
                else:
                    self.queue.requeue(job.id, event.notice)
            out.ended = out.lost = True
        if out.ended:
            self._release(job.id)
        return out

    def _several_accounts(self, worker: Worker) -> bool:
        return worker.provider == "nai" and sum(w.provider == "nai" for w in self.workers) > 1

    def _orphan(self, job: Job) -> bool:
        """Only held workers can run ``job`` (it would wait for the user anyway: paused instead)."""
        able = [w for w in self.workers if self.accepts(w, job)]
        return bool(able) and all(self.health[w.id].held for w in able)

    def _spent(self, job: Job) -> None:
        """Take a finished NovelAI job's cost off its account's known balance until NovelAI's own
        answer replaces it, so the next dispatch does not count on Anlas already spent."""
        worker = self.worker_of(job.id)
        account = self.accounts.get(worker.id) if worker is not None else None
        if worker is None or account is None or account.anlas is None or job.settings.provider != "nai":
            return
        from ..costing import pending_cost

        cost = pending_cost([job.settings], tier=account.tier, active=account.active)
        self.accounts[worker.id] = replace(account, anlas=max(0, account.anlas - cost))

    def interrupt(self, job_id: str, notice: str) -> None:
        """A running job stopped at once (not cancelled by the user): paused, to run again on resume."""
        if self.queue.get(job_id).state is JobState.RUNNING:
            self.queue.interrupt(job_id, notice)
        self._release(job_id)

    def _release(self, job_id: str) -> None:
        for ids in self.in_flight.values():
            if job_id in ids:
                ids.remove(job_id)
