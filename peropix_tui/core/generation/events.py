"""Typed events of one job's life, reported by :class:`~.service.GenerationService` (no Textual).

Every face turns them into its own output: the TUI into Textual messages, ``peropix run`` into
terminal lines or JSON objects. The scheduler applies them to the queue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class JobStarted:
    job_id: str


@dataclass(frozen=True)
class JobProgressed:
    """Step progress (throttled); ``preview`` an encoded image when the backend sent one; ``note``
    carries states like "account busy (another generation running), retrying in 6 s"."""

    job_id: str
    step: int
    total: int
    preview: bytes | None = None
    note: str = ""


@dataclass(frozen=True)
class ImageSaved:
    """One image is on disk (complete, renamed into place) and indexed when the gallery allows."""

    job_id: str
    path: Path
    seed: int


@dataclass(frozen=True)
class JobFinished:
    job_id: str


@dataclass(frozen=True)
class JobFailed:
    """``retryable``: the same job may succeed later; ``status``: the HTTP status when there was one."""

    job_id: str
    error: str
    retryable: bool = False
    status: int | None = None


@dataclass(frozen=True)
class JobCancelled:
    job_id: str


@dataclass(frozen=True)
class WorkerLost:
    """The worker running the job died (server unreachable, connection reset, restarted mid-job).

    Nothing of the job was saved. ``maybe_charged``: a NovelAI request may have been billed, so the
    job is paused with ``notice`` (never re-sent behind the user's back); otherwise it is pending
    again for any worker that can run it.
    """

    job_id: str
    worker: str
    error: str
    maybe_charged: bool = False
    notice: str = ""


CoreEvent = JobStarted | JobProgressed | ImageSaved | JobFinished | JobFailed | JobCancelled | WorkerLost
EventSink = Callable[[CoreEvent], Any]

FINAL_EVENTS = (JobFinished, JobFailed, JobCancelled, WorkerLost)


def event_name(event: CoreEvent) -> str:
    """``job_started``, ``image_saved``, … (the ``event`` field of ``peropix run --json``)."""
    name = type(event).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def event_dict(event: CoreEvent) -> dict[str, Any]:
    """A JSON-ready view of ``event`` (previews left out: they are bytes)."""
    out: dict[str, Any] = {"event": event_name(event)}
    for key, value in vars(event).items():
        if key == "preview":
            continue
        out["job" if key == "job_id" else key] = str(value) if isinstance(value, Path) else value
    return out
