"""The one job path of every face (no Textual, no torch at import).

- :mod:`.events`: typed events of a job's life (started, progressed, image saved, finished, …).
- :mod:`.service`: :class:`GenerationService` runs one job end to end.
- :mod:`.scheduler`: :class:`Scheduler`, the sole owner of queue state; workers and dispatch.
- :mod:`.admission`: the one cost check (queued + this run against balance and budget).
- :mod:`.backends`: the one backend factory and pool. :mod:`.output`: the one save path.
- :mod:`.peropix`: the one builder of the ``peropix`` metadata object.
- :mod:`.recovery`, :mod:`.lock`, :mod:`.statefile`: durable queue state, one owner, saves off-thread.
- :mod:`.session`: opening the queue as its owner (lock + recovery) for any face.
"""

from __future__ import annotations

from .backends import BackendPool, make_backend
from .events import (
    CoreEvent,
    EventSink,
    ImageSaved,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobProgressed,
    JobStarted,
)
from .scheduler import DEFAULT_WORKERS, QueueReadOnly, Scheduler, Worker
from .service import GenerationService

__all__ = [
    "DEFAULT_WORKERS",
    "BackendPool",
    "CoreEvent",
    "EventSink",
    "GenerationService",
    "ImageSaved",
    "JobCancelled",
    "JobFailed",
    "JobFinished",
    "JobProgressed",
    "JobStarted",
    "QueueReadOnly",
    "Scheduler",
    "Worker",
    "make_backend",
]
