"""Run a scheduler's queue to the end on one asyncio loop (the command line's driver).

Dispatch → one task per started job (``GenerationService.run``) → its events are applied to the
scheduler as they come (same loop, in order) and passed to ``on_event`` → dispatch again, until
nothing can start. :meth:`stop_soon` (first Ctrl+C) stops dispatching and lets running jobs end;
:meth:`stop_now` (second) stops them at once: they come back paused, with a notice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..backend import CancelToken
from ..jobs import Job, interrupted_notice
from .events import CoreEvent, JobCancelled
from .scheduler import Scheduler
from .service import GenerationService

EventHook = Callable[[CoreEvent, Job | None], None]


class BatchDriver:
    def __init__(self, scheduler: Scheduler, service: GenerationService, on_event: EventHook | None = None) -> None:
        self.scheduler = scheduler
        self.service = service
        self.on_event = on_event
        self._tasks: dict[asyncio.Task[None], tuple[str, CancelToken]] = {}
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

    async def run(self) -> None:
        uid = self.scheduler.queue.uid
        while True:
            if not self.stopping:
                for _worker, job in self.scheduler.dispatch():
                    token = CancelToken()
                    task = asyncio.create_task(self.service.run(job, token, self._emit, queue_uid=uid))
                    self._tasks[task] = (job.id, token)
            if not self._tasks:
                return
            done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                job_id, _token = self._tasks.pop(task)
                if task.cancelled() and job_id in self.scheduler.running_ids():
                    stopped = self._job(job_id)
                    self.scheduler.interrupt(job_id, interrupted_notice(stopped) if stopped else "interrupted")
