"""The scheduler: the sole owner of queue state changes, and dispatch onto workers (pure, no I/O
of its own: the queue persists itself through its writer).

Faces post *requests* (submit, resume, retry, cancel, reorder, clear); the scheduler applies them,
and applies the service's events (progress, image saved, finished, failed, cancelled). Dispatch
hands pending jobs to idle workers. A worker is one place that runs jobs: it has an id, a
provider and a capacity (jobs in flight at once). Today: the local engine (1) and one NovelAI
account (1); more ComfyUI servers or NovelAI accounts are more workers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..jobs import FINISHED, GENERATE, TOOL, Job, JobQueue, JobState, JobStateError
from ..settings import GenerationSettings
from .events import CoreEvent, ImageSaved, JobCancelled, JobFailed, JobFinished, JobProgressed

PAUSING_STATUSES = (401, 402, 403)
"""A failure with these statuses (bad token, no Anlas) holds the rest of the queue."""


@dataclass(frozen=True)
class Worker:
    id: str
    provider: str
    capacity: int = 1
    kinds: frozenset[str] = frozenset({GENERATE})


DEFAULT_WORKERS = (Worker("nai", "nai", kinds=frozenset({GENERATE, TOOL})), Worker("local", "local"),
                   Worker("comfyui", "comfyui"))
"""The NovelAI worker runs generations and tool jobs (one request in flight per account either way)."""


class QueueReadOnly(RuntimeError):
    """This process attached to a queue another process owns; the message names that process."""


@dataclass
class Applied:
    """What applying an event did beyond the job itself: jobs held after a pausing failure."""

    paused: list[Job] = field(default_factory=list)
    ended: bool = False


Run = tuple[GenerationSettings, int | None, str, int]


class Scheduler:
    def __init__(self, queue: JobQueue, workers: Iterable[Worker] = DEFAULT_WORKERS, *,
                 readonly_reason: str = "") -> None:
        self.queue = queue
        self.workers = list(workers)
        self.in_flight: dict[str, list[str]] = {w.id: [] for w in self.workers}
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
        self._writable()
        return self.queue.resume()

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
            raise JobStateError(f"job {job_id} is {job.state} already")
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
        """Start the next pending job on every worker with room; the queue saves each as running."""
        if self.readonly:
            return []
        started: list[tuple[Worker, Job]] = []
        for worker in self.workers:
            while len(self.in_flight[worker.id]) < worker.capacity:
                job = self._next_for(worker)
                if job is None:
                    break
                self.queue.start(job.id, worker.id)
                self.in_flight[worker.id].append(job.id)
                started.append((worker, job))
        return started

    def _next_for(self, worker: Worker) -> Job | None:
        for job in self.queue:
            if job.state is JobState.PENDING and job.settings.provider == worker.provider and job.kind in worker.kinds:
                return job
        return None

    def idle(self) -> bool:
        """Nothing runs and nothing pending can start."""
        return not self.running_ids() and not any(
            self._next_for(w) for w in self.workers)

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
                self.queue.finish(job.id)
            out.ended = True
        elif isinstance(event, JobFailed):
            if running:
                self.queue.fail(job.id, event.error, retryable=event.retryable)
            if event.status in PAUSING_STATUSES:
                out.paused = self.queue.pause_pending()
            out.ended = True
        elif isinstance(event, JobCancelled):
            if running:
                self.queue.cancel(job.id)
            out.ended = True
        if out.ended:
            self._release(job.id)
        return out

    def interrupt(self, job_id: str, notice: str) -> None:
        """A running job stopped at once (not cancelled by the user): paused, to run again on resume."""
        if self.queue.get(job_id).state is JobState.RUNNING:
            self.queue.interrupt(job_id, notice)
        self._release(job_id)

    def _release(self, job_id: str) -> None:
        for ids in self.in_flight.values():
            if job_id in ids:
                ids.remove(job_id)
