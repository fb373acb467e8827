"""Run a scheduler's queue to the end on one asyncio loop (the command line's driver).

Dispatch → one task per started job (``GenerationService.run`` on its worker's backend), so every
free worker runs at once → its events are applied to the scheduler as they come (same loop, in
order) and passed to ``on_event`` → dispatch again, until nothing can start. A worker that died
(:class:`~.events.WorkerLost`) is probed with back-off (:func:`~.health.probe_worker`) while jobs
wait for it; when nothing else runs the driver waits at most ``down_wait`` seconds for it, then
ends with those jobs still queued. :meth:`stop_soon` (first Ctrl+C) stops dispatching and lets
running jobs end; :meth:`stop_now` (second) stops them at once: they come back paused, with a notice.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..backend import CancelToken
from ..jobs import INTERRUPTED, Job, interrupted_notice
from .events import CoreEvent, JobCancelled
from .scheduler import Scheduler, Worker
from .service import GenerationService

EventHook = Callable[[CoreEvent, Job | None], None]
Prober = Callable[[Worker], Awaitable[tuple[bool, str]]]

DOWN_WAIT = 120.0
"""Seconds the driver keeps probing a dead worker when only jobs waiting for it are left."""


class BatchDriver:
    def __init__(self, scheduler: Scheduler, service: GenerationService, on_event: EventHook | None = None, *,
                 prober: Prober | None = None, down_wait: float = DOWN_WAIT,
                 on_probe: Callable[[Worker, bool, str], None] | None = None) -> None:
        self.scheduler = scheduler
        self.service = service
        self.on_event = on_event
        self.prober = prober
        """Asks a down worker whether it answers (default: :func:`~.health.probe_worker` on the config)."""
        self.down_wait = down_wait
        self.on_probe = on_probe
        self._tasks: dict[asyncio.Task[None], tuple[str, CancelToken]] = {}
        self._probes: dict[asyncio.Task[tuple[bool, str]], Worker] = {}
        self.stopping = False
        self.stopped_now = False

    def stop_soon(self) -> None:
        self.stopping = True

    def stop_now(self) -> None:
        self.stopping = self.stopped_now = True
        for task, (_, token) in list(self._tasks.items()):
            token.cancel()
            task.cancel()

    def _emit(self, event: CoreEvent) -> None:
        if self.stopped_now and isinstance(event, JobCancelled):
            job = self._job(event.job_id)
            if job is not None:
                self.scheduler.interrupt(event.job_id, interrupted_notice(job))
        else:
            self.scheduler.apply(event)
        if self.on_event is not None:
            self.on_event(event, self._job(event.job_id))

    def _job(self, job_id: str) -> Job | None:
        try:
            return self.scheduler.queue.get(job_id)
        except KeyError:
            return None

    async def _probe(self, worker: Worker) -> tuple[bool, str]:
        if self.prober is not None:
            return await self.prober(worker)
        from .health import probe_worker

        return await probe_worker(worker, self.service.backends.config)

    def _start_probes(self) -> None:
        probing = set(self._probes.values())
        for worker in self.scheduler.due_probes():
            if worker not in probing:
                self._probes[asyncio.create_task(self._probe(worker))] = worker

    async def run(self) -> None:
        uid = self.scheduler.queue.uid
        stranded_since: float | None = None
        while True:
            if not self.stopping:
                self._start_probes()
                for worker, job in self.scheduler.dispatch():
                    token = CancelToken()
                    task = asyncio.create_task(self.service.run(job, token, self._emit, queue_uid=uid, worker=worker))
                    self._tasks[task] = (job.id, token)
            wait = None if self.stopping else self.scheduler.next_probe_in()
            if not self._tasks:
                if self.stopping or (wait is None and not self._probes):
                    return
                stranded_since = stranded_since or time.monotonic()
                if time.monotonic() - stranded_since >= self.down_wait:
                    return  # the jobs stay pending for `queue resume`
            else:
                stranded_since = None
            pending: set[asyncio.Task[Any]] = {*self._tasks, *self._probes}
            if not pending:
                await asyncio.sleep(wait or 0.05)
                continue
            done, _ = await asyncio.wait(pending, timeout=wait if wait else None,
                                         return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                if finished in self._probes:
                    self._probe_done(finished)
                    continue
                job_id, _token = self._tasks.pop(finished)
                if finished.cancelled() and job_id in self.scheduler.running_ids():
                    stopped = self._job(job_id)
                    self.scheduler.interrupt(job_id, interrupted_notice(stopped) if stopped else INTERRUPTED)

    def _probe_done(self, task: asyncio.Task[tuple[bool, str]]) -> None:
        worker = self._probes.pop(task)
        try:
            ok, error = task.result()
        except Exception as e:  # a probe that broke counts as no answer
            ok, error = False, f"{type(e).__name__}: {e}"
        self.scheduler.record_probe(worker.id, ok, error)
        if self.on_probe is not None:
            self.on_probe(worker, ok, error)
