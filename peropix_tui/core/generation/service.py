"""The generation service: runs one job end to end, whichever face asked for it.

check settings → pick the backend (:class:`~.backends.BackendPool`) → draw wildcards → generate
with throttled progress and a :class:`~..backend.CancelToken` → for each image: build the
``peropix`` object once, write it atomically into the job's folder, index it → events through
``emit`` (:mod:`.events`). The service never changes the queue: the scheduler applies the events.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..backend import BackendError, CancelToken, GeneratedImage, GenerationCancelled, Progress
from ..jobs import CANNOT_GENERATE, LOST_CHARGED, LOST_REQUEUED, MISSING_WILDCARD, TOOL, Job
from ..prompt import WildcardError, expand_settings, wildcards_dir
from ..settings import GenerationSettings, SettingsError
from .backends import BackendPool
from .events import (
    EventSink,
    ImageSaved,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobProgressed,
    JobStarted,
    WorkerLost,
)
from .output import ImageWriter
from .peropix import build_peropix, with_metadata
from .scheduler import Worker
from .workers import pool_key

if TYPE_CHECKING:
    from ..config import Secret
    from ..nai.tools_client import NaiToolsClient

log = logging.getLogger("peropix")

PROGRESS_INTERVAL = 0.1  # seconds: ≤ 10 progress events a second


def check_settings(settings: GenerationSettings) -> None:
    """Raise SettingsError (naming the field) for settings the provider will refuse."""
    settings.check_basic()
    if settings.provider == "nai":
        from ..nai.models import validate

        validate(settings)


def draw_wildcards(settings: GenerationSettings, rng: random.Random) -> GenerationSettings:
    """The settings to send: wildcards drawn (the same object when there are none).

    Raises :class:`BackendError` naming the wildcard when one cannot be drawn (a missing file).
    """
    try:
        return expand_settings(settings, wildcards_dir(), rng)
    except WildcardError as e:  # fixable by the user (add the file), so the job can be retried
        raise BackendError(MISSING_WILDCARD.format(error=e, folder=wildcards_dir()), retryable=True) from None


def worker_lost(e: BackendError) -> bool | None:
    """None: the job failed; else the worker died under it, True when a request may have been billed.

    A ComfyUI :class:`~..comfyui.errors.ServerUnavailable` (unreachable, reset, restarted mid-job) is
    never billed. A NovelAI network error is set apart by the client: ``unsent`` (could not connect)
    → not billed; any other transport error → the request may have reached NovelAI.
    """
    from ..comfyui.errors import ServerUnavailable

    if isinstance(e, ServerUnavailable):
        return False
    if e.network == "unsent":
        return False
    if e.network == "sent":
        return True
    return None


def lost_notice(worker: Worker, e: BackendError, maybe_charged: bool) -> str:
    """The job's notice, in English (kept in queue.json, sent in ``--json`` events); shown
    translated by :func:`~..jobs.shown`."""
    if maybe_charged:
        return LOST_CHARGED.format(worker=worker.id, error=e)
    return LOST_REQUEUED.format(worker=worker.id, error=e)


class ProgressThrottle:
    """Backend progress callback → at most one JobProgressed per ``interval`` (notes and the last
    step always pass)."""

    def __init__(self, job_id: str, emit: EventSink, clock: Callable[[], float] = time.monotonic,
                 interval: float = PROGRESS_INTERVAL) -> None:
        self.job_id, self.emit, self.clock, self.interval = job_id, emit, clock, interval
        self._last = -1e9
        self._note = ""

    def __call__(self, p: Progress) -> None:
        now = self.clock()
        final = p.total > 0 and p.step >= p.total
        if not (final or p.message != self._note) and now - self._last < self.interval:
            return
        self._last, self._note = now, p.message
        self.emit(JobProgressed(self.job_id, p.step, p.total, p.preview, p.message))


class GenerationService:
    """Runs jobs with ``backends``, saving through ``writer``. ``rng`` draws wildcard options."""

    def __init__(self, backends: BackendPool, writer: ImageWriter, *, rng: random.Random | None = None) -> None:
        self.backends = backends
        self.writer = writer
        self.rng = rng or random.Random()
        self._tools: tuple[Secret | None, NaiToolsClient] | None = None

    async def run(self, job: Job, cancel: CancelToken, emit: EventSink, *, queue_uid: str = "",
                  worker: Worker | None = None) -> None:
        """Run ``job`` on ``worker``'s backend to one final event (finished, failed, cancelled, or
        worker lost); never raises for a job's fault."""
        if job.kind == TOOL:  # a Director Tool / upscale request: same events, same save path
            from .tool_jobs import run_tool

            await run_tool(job, self.tools_client, self.writer, cancel, emit, queue_uid=queue_uid)
            return
        emit(JobStarted(job.id))
        s = job.settings
        log.info("[Generate] Job %s started - %d image(s), %dx%d, %d steps", job.id, s.n_samples,
                 s.width, s.height, s.steps)
        try:
            check_settings(s)
            backend = await asyncio.to_thread(self.backends.get, pool_key(worker, s))  # may import the engine
            sent = draw_wildcards(s, self.rng)
            await asyncio.sleep(0)  # let a UI show the job as running first
            images = await backend.generate(sent, ProgressThrottle(job.id, emit), cancel)
            for img in images:  # an image that came back is saved even when cancel came late: it was paid
                path = await asyncio.to_thread(self.save, job, img, sent, queue_uid)
                emit(ImageSaved(job.id, path, img.seed))
            emit(JobFinished(job.id))
        except (GenerationCancelled, asyncio.CancelledError):
            emit(JobCancelled(job.id))
        except SettingsError as e:
            emit(JobFailed(job.id, CANNOT_GENERATE.format(error=e), False))
        except BackendError as e:
            lost = worker_lost(e)
            if lost is not None and worker is not None:
                log.info("[Generate] Job %s: worker %s lost (%s)", job.id, worker.id, e)
                emit(WorkerLost(job.id, worker.id, str(e), maybe_charged=lost, notice=lost_notice(worker, e, lost)))
            else:
                emit(JobFailed(job.id, str(e), e.retryable, e.status))
        except Exception as e:  # one broken job must not take the face down
            log.exception("[Generate] Job %s crashed", job.id)
            emit(JobFailed(job.id, f"{type(e).__name__}: {e}", False))

    def tools_client(self) -> NaiToolsClient:
        """The NovelAI tools client: the NovelAI backend's own client when it is one (one connection,
        one per-account gate with generations), else one made for the pool's token (blocking)."""
        from ..nai.tools_client import NaiToolsClient, tools_client_from_config

        backend = self.backends.get("nai")  # raises the "no token" error when there is none
        client = getattr(backend, "client", None)
        if isinstance(client, NaiToolsClient):
            return client
        token = self.backends.token
        if self._tools is None or self._tools[0] is not token:
            self._tools = (token, tools_client_from_config(self.backends.config, token))
        return self._tools[1]

    def save(self, job: Job, img: GeneratedImage, sent: GenerationSettings | None = None,
             queue_uid: str = "") -> Path:
        """The one save path (any job kind): metadata once, atomic write, index."""
        data = with_metadata(img, build_peropix(job, sent=sent, info=img.info, queue_uid=queue_uid),
                             sent if sent is not None else job.settings)
        return self.writer.save(data, job.folder, job.slot_index, job.slot_name or None, img.extension)
