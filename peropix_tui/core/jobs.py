"""Generation jobs and the queue state machine (pure: no Textual, no network).

One :class:`Job` is one request to a provider (one slot × one repeat). Its life::

    pending ──start──▶ running ──finish──▶ done
       │  ▲               ├──fail────▶ failed ──retry──▶ pending
       │  │               └──cancel──▶ cancelled
     pause resume
       ▼  │
      paused

The queue is saved atomically to ``queue.json`` after every change (through ``writer`` when one
is given: the app hands the write to a background thread). A job that starts is saved as
*running* before its request is sent (the intent record). Loading the file after a crash or a quit
brings pending jobs back *paused*; a job that was running is handed to ``finder`` (the generation
core's recovery scan): when its image is already on disk it is *done* with that image, never sent
again; otherwise it comes back *paused* with a notice (NovelAI may have charged it).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..i18n import N_, _
from .fsutil import atomic_write
from .settings import GenerationSettings

QUEUE_FILE = "queue.json"
FORMAT_VERSION = 1
GENERATE = "generate"
"""The job kind of an image generation (other kinds: NovelAI tools, upscales)."""
TOOL = "tool"
"""The job kind of one NovelAI Director Tool / upscale request (``Job.tool`` says which)."""


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PAUSED = "paused"


FINISHED = frozenset({JobState.DONE, JobState.FAILED, JobState.CANCELLED})


class JobStateError(ValueError):
    """An operation that the job's current state does not allow."""


@dataclass
class Job:
    id: str
    settings: GenerationSettings
    slot_index: int | None = None
    slot_name: str = ""
    repeat: int = 0
    state: JobState = JobState.PENDING
    step: int = 0
    total: int = 0
    note: str = ""
    error: str = ""
    retryable: bool = False
    images: list[str] = field(default_factory=list)
    created: float = field(default_factory=time.time)
    kind: str = GENERATE
    folder: str = ""
    """Absolute folder its images go to (chosen when queued, so a resumed job writes where it began)."""
    base_prompt: str = ""
    """The base prompt of the slot set it came from (kept in the image's ``peropix`` object)."""
    started: float = 0.0
    """When it last started (wall clock); the recovery scan looks at files written after it."""
    worker: str = ""
    notice: str = ""
    """A note kept across restarts (e.g. "interrupted mid-request")."""
    tool: dict[str, Any] = field(default_factory=dict)
    """For a ``tool`` job: the request (tool, source image, mood, options, size sent); JSON-safe."""

    @property
    def label(self) -> str:
        if self.kind == TOOL and self.slot_name:  # "emotion happy ← 000_base_0000001.png"
            return self.slot_name
        name = self.slot_name or "base"
        return f"{name} #{self.repeat + 1}"

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.step / self.total)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "settings": self.settings.to_dict(), "slot_index": self.slot_index,
            "slot_name": self.slot_name, "repeat": self.repeat, "state": self.state.value,
            "step": self.step, "total": self.total, "error": self.error, "retryable": self.retryable,
            "images": list(self.images), "created": self.created, "kind": self.kind, "folder": self.folder,
            "base_prompt": self.base_prompt, "started": self.started, "worker": self.worker,
            "notice": self.notice, **({"tool": dict(self.tool)} if self.tool else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Job:
        return cls(
            id=str(d["id"]), settings=GenerationSettings.from_dict(d.get("settings", {})),
            slot_index=d.get("slot_index"), slot_name=str(d.get("slot_name", "")),
            repeat=int(d.get("repeat", 0)), state=JobState(d.get("state", "pending")),
            step=int(d.get("step", 0)), total=int(d.get("total", 0)), error=str(d.get("error", "")),
            retryable=bool(d.get("retryable", False)), images=[str(p) for p in d.get("images", [])],
            created=float(d.get("created", 0.0)), kind=str(d.get("kind", GENERATE)),
            folder=str(d.get("folder", "")), base_prompt=str(d.get("base_prompt", "")),
            started=float(d.get("started", 0.0)), worker=str(d.get("worker", "")),
            notice=str(d.get("notice", "")),
            tool=dict(d["tool"]) if isinstance(d.get("tool"), dict) else {},
        )


Writer = Callable[[Path, bytes], None]
"""Writes one serialised queue to its file (atomically); may hand the write to another thread."""

Finder = Callable[[Job, str], list[str]]
"""(interrupted job, queue uid) -> images of that job already on disk."""


def _write_now(path: Path, data: bytes) -> None:
    atomic_write(path, data)


class JobQueue:
    """Ordered jobs with a state machine; persisted to ``path`` (None = in memory only).

    ``uid`` names this queue in every image's ``peropix`` object (with the job id), so the recovery
    scan never mistakes another queue's image for one of ours; ``next_id`` is kept in the file so
    an id is never given twice.
    """

    def __init__(self, path: Path | None = None, *, writer: Writer | None = None) -> None:
        self.path = path
        self.jobs: list[Job] = []
        self.uid = os.urandom(6).hex()
        self.next_id = 1
        self.writer: Writer = writer or _write_now
        self.readonly = False
        """Attached read-only (another process owns the file): changes stay in memory."""

    # ----------------------------------------------------------------- lookup
    def __iter__(self) -> Iterator[Job]:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)

    def get(self, job_id: str) -> Job:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise KeyError(f"no job {job_id!r} in the queue")

    def in_state(self, *states: JobState) -> list[Job]:
        return [j for j in self.jobs if j.state in states]

    @property
    def running(self) -> Job | None:
        found = self.in_state(JobState.RUNNING)
        return found[0] if found else None

    def next_pending(self, provider: str | None = None) -> Job | None:
        """The first pending job (for ``provider`` when given)."""
        for job in self.jobs:
            if job.state is JobState.PENDING and provider in (None, job.settings.provider):
                return job
        return None

    # ------------------------------------------------------------- transitions
    def new_id(self) -> str:
        taken = {j.id for j in self.jobs}
        while True:
            candidate = f"j{self.next_id:04d}"
            self.next_id += 1
            if candidate not in taken:
                return candidate

    def add(self, runs: Iterable[tuple[GenerationSettings, int | None, str, int]], *, folder: str = "",
            base_prompt: str = "", kind: str = GENERATE,
            tools: Sequence[dict[str, Any]] | None = None) -> list[Job]:
        """Append jobs for (settings, slot_index, slot_name, repeat) tuples; returns them. ``tools``:
        one request record per run, for tool jobs (saved with the jobs in the same write)."""
        added = [Job(self.new_id(), s, index, name, repeat, kind=kind, folder=folder, base_prompt=base_prompt)
                 for s, index, name, repeat in runs]
        if tools is not None:
            if len(tools) != len(added):
                raise ValueError(f"{len(added)} job(s) but {len(tools)} tool request(s)")
            for job, record in zip(added, tools, strict=True):
                job.tool = dict(record)
        self.jobs.extend(added)
        self.save()
        return added

    def _move(self, job_id: str, allowed: Iterable[JobState], to: JobState) -> Job:
        job = self.get(job_id)
        if job.state not in set(allowed):
            raise JobStateError(_("job {job} is {state}, cannot become {to}").format(
                job=job_id, state=job.state.value, to=to.value))
        job.state = to
        return job

    def start(self, job_id: str, worker: str = "") -> Job:
        """pending → running, saved before the job's request goes out (the intent record)."""
        job = self._move(job_id, [JobState.PENDING], JobState.RUNNING)
        job.step, job.error, job.note, job.notice = 0, "", "", ""
        job.started, job.worker = time.time(), worker
        self.save()
        return job

    def interrupt(self, job_id: str, notice: str) -> Job:
        """running → paused: stopped at once (e.g. a second Ctrl+C); resuming runs it again."""
        job = self._move(job_id, [JobState.RUNNING], JobState.PAUSED)
        job.step, job.note, job.notice = 0, notice, notice
        self.save()
        return job

    def requeue(self, job_id: str, notice: str = "") -> Job:
        """running → pending: its worker died before anything was saved; another worker takes it."""
        job = self._move(job_id, [JobState.RUNNING], JobState.PENDING)
        job.step, job.note, job.notice = 0, notice, notice
        self.save()
        return job

    def progress(self, job_id: str, step: int, total: int, note: str = "") -> Job:
        """Record progress (not saved: progress is transient, the state is what matters)."""
        job = self.get(job_id)
        if job.state is JobState.RUNNING:
            job.step, job.total, job.note = step, total, note
        return job

    def add_image(self, job_id: str, path: Path | str) -> Job:
        job = self.get(job_id)
        job.images.append(str(path))
        self.save()
        return job

    def finish(self, job_id: str) -> Job:
        job = self._move(job_id, [JobState.RUNNING], JobState.DONE)
        job.step, job.note = max(job.step, job.total), ""
        self.save()
        return job

    def fail(self, job_id: str, error: str, *, retryable: bool = False) -> Job:
        job = self._move(job_id, [JobState.RUNNING, JobState.PENDING], JobState.FAILED)
        job.error, job.retryable, job.note = error, retryable, ""
        self.save()
        return job

    def cancel(self, job_id: str) -> Job:
        job = self._move(job_id, [JobState.PENDING, JobState.RUNNING, JobState.PAUSED], JobState.CANCELLED)
        job.note = ""
        self.save()
        return job

    def cancel_all(self) -> list[Job]:
        """Cancel every job that has not finished (the running one included)."""
        hit = self.in_state(JobState.PENDING, JobState.RUNNING, JobState.PAUSED)
        for job in hit:
            job.state, job.note = JobState.CANCELLED, ""
        self.save()
        return hit

    def pause_pending(self, which: Callable[[Job], bool] | None = None) -> list[Job]:
        """Hold every pending job (``which`` of them, when given), e.g. after a bad token or an empty balance."""
        hit = [j for j in self.in_state(JobState.PENDING) if which is None or which(j)]
        for job in hit:
            job.state = JobState.PAUSED
        self.save()
        return hit

    def resume(self) -> list[Job]:
        hit = self.in_state(JobState.PAUSED)
        for job in hit:
            job.state = JobState.PENDING
        self.save()
        return hit

    def retry_failed(self) -> list[Job]:
        """Failed and cancelled jobs go back to pending at the end of the queue, keeping their seeds."""
        hit = self.in_state(JobState.FAILED, JobState.CANCELLED)
        for job in hit:
            job.state, job.error, job.step, job.note = JobState.PENDING, "", 0, ""
            self.jobs.remove(job)
            self.jobs.append(job)
        self.save()
        return hit

    def reorder(self, job_id: str, delta: int) -> int:
        """Move a job ``delta`` places (negative = earlier); returns its new index."""
        job = self.get(job_id)
        old = self.jobs.index(job)
        new = max(0, min(len(self.jobs) - 1, old + delta))
        self.jobs.insert(new, self.jobs.pop(old))
        self.save()
        return new

    def clear_finished(self) -> list[Job]:
        gone = self.in_state(*FINISHED)
        self.jobs = [j for j in self.jobs if j.state not in FINISHED]
        self.save()
        return gone

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "uid": self.uid, "next_id": self.next_id,
                "jobs": [j.to_dict() for j in self.jobs]}

    def snapshot(self) -> bytes:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")

    def save(self) -> None:
        if self.path is None or self.readonly:
            return
        self.writer(self.path, self.snapshot())

    @classmethod
    def read(cls, path: Path) -> JobQueue:
        """The file exactly as saved (states untouched: a job may read as running); for listing."""
        queue = cls(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            queue.jobs = [Job.from_dict(d) for d in raw.get("jobs", [])]
            queue.uid = str(raw.get("uid") or queue.uid)
            queue.next_id = int(raw.get("next_id", 1))
        except FileNotFoundError:
            return queue
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise QueueFileError(_("{file}: unreadable queue ({error})").format(file=path, error=e)) from None
        return queue

    @classmethod
    def load(cls, path: Path, *, finder: Finder | None = None, writer: Writer | None = None) -> JobQueue:
        """Read ``path`` for running it. Pending jobs come back paused; a job that was running is done
        when ``finder`` finds its images on disk, else paused with a notice. A missing file is an empty
        queue; an unreadable one is kept aside as ``queue.json.bad`` (nothing is silently lost)."""
        try:
            queue = cls.read(path)
        except QueueFileError as e:
            bad = path.with_name(path.name + ".bad")
            path.replace(bad)
            raise QueueFileError(_("{error}; kept as {name}").format(error=e, name=bad.name)) from None
        if writer is not None:
            queue.writer = writer
        changed = False
        for job in queue.jobs:
            if job.state is JobState.RUNNING:
                changed = True
                found = finder(job, queue.uid) if finder is not None else []
                if found:
                    job.images = list(dict.fromkeys([*job.images, *found]))
                    job.state, job.step, job.note = JobState.DONE, max(job.step, job.total), ""
                    job.notice = FOUND_NOTICE
                else:
                    job.state, job.step = JobState.PAUSED, 0
                    job.notice = interrupted_notice(job)
            elif job.state is JobState.PENDING:
                job.state, job.step, job.note = JobState.PAUSED, 0, ""
            if job.state is JobState.PAUSED and job.notice:
                job.note = job.notice
        if changed:
            queue.save()  # the recovery is a fact now: a second crash finds the same state
        return queue


# Notices and errors kept in queue.json (and sent in ``--json`` events) are English; ``shown``
# translates the ones the core writes when they are displayed.
FOUND_NOTICE = N_("finished before PeroPix stopped: image found on disk, not sent again")
INTERRUPTED_NAI = N_("interrupted mid-request: NovelAI may have charged it; resuming sends it again")
INTERRUPTED_LOCAL = N_("interrupted mid-generation; resuming runs it again")
INTERRUPTED = N_("interrupted")
WORKER_LOST = N_("worker lost mid-request")
NO_TOKEN = N_("No NovelAI token yet: open Settings (F5) and enter it, or set PEROPIX_NAI_TOKEN.")
LOST_CHARGED = N_("worker {worker} lost mid-request ({error}): NovelAI may have charged it; resuming sends it again")
LOST_REQUEUED = N_("worker {worker} lost ({error}); queued again")
CANNOT_GENERATE = N_("Cannot generate: {error}")
CANNOT_RUN_TOOL = N_("Cannot run the tool: {error}")
WAITING_FOR_NOVELAI = N_("{tool}: waiting for NovelAI")
NO_LOCAL_ENGINE = N_("the local engine is not available ({error}); install the [local] extra")
MISSING_WILDCARD = N_("{error}; add the file to {folder} and retry")

_FIXED = (FOUND_NOTICE, INTERRUPTED_NAI, INTERRUPTED_LOCAL, INTERRUPTED, WORKER_LOST, NO_TOKEN)
_PATTERNS = (LOST_CHARGED, LOST_REQUEUED, CANNOT_GENERATE, CANNOT_RUN_TOOL, WAITING_FOR_NOVELAI,
             NO_LOCAL_ENGINE, MISSING_WILDCARD)


def interrupted_notice(job: Job) -> str:
    """What to tell the user about a job that was stopped while its request ran (English: it is
    kept in queue.json; :func:`shown` translates it for display)."""
    if job.settings.provider == "nai":
        return INTERRUPTED_NAI
    return INTERRUPTED_LOCAL


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*)" for i, p in enumerate(parts))
    return re.compile(f"^{regex}$", re.DOTALL)


def shown(text: str) -> str:
    """A note or error the core stored in English (queue.json, a core event), in the current
    language when it is one of the core's own messages; any other text as it is.

    The parts filled in (a worker id, a server's error) stay as they were; the error inside a
    "Cannot generate: …" is itself looked up once more.
    """
    if not text:
        return text
    if text in _FIXED:
        return _(text)
    for template in _PATTERNS:
        m = _pattern(template).match(text)
        if m:
            fields = {k: (shown(v) if k == "error" else v) for k, v in m.groupdict().items()}
            return _(template).format(**fields)
    return text


class QueueFileError(ValueError):
    """queue.json could not be read; the message names the file."""
