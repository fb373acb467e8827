"""Open the persistent queue as its owner (lock, load, recovery scan) — for the TUI and the CLI.

``open_queue`` takes the state folder's lock (or, with ``attach_readonly``, reads the queue without
it: nothing this process does is written, nothing runs), loads ``queue.json`` with the recovery
scan (:mod:`.recovery`) and indexes the images the scan found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...i18n import _
from .. import paths
from ..jobs import QUEUE_FILE, Job, JobQueue, QueueFileError, Writer
from .lock import QueueLock, QueueLocked
from .output import ImageWriter
from .recovery import find_job_images
from .scheduler import DEFAULT_WORKERS, Scheduler, Worker


@dataclass
class QueueSession:
    scheduler: Scheduler
    lock: QueueLock | None
    warnings: list[str] = field(default_factory=list)
    recovered: list[Job] = field(default_factory=list)
    """Jobs found done on disk after a crash (their images were not recorded yet)."""
    interrupted: list[Job] = field(default_factory=list)
    """Jobs that were running when the last owner stopped, with no image: paused, with a notice."""

    @property
    def queue(self) -> JobQueue:
        return self.scheduler.queue

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()


def queue_path(state_dir: Path | None = None) -> Path:
    return (state_dir or paths.state_dir()) / QUEUE_FILE


def open_queue(state_dir: Path | None = None, *, writer: Writer | None = None, images: ImageWriter | None = None,
               attach_readonly: bool = False, workers: tuple[Worker, ...] = DEFAULT_WORKERS) -> QueueSession:
    """The queue of ``state_dir`` (default: the state folder), owned by this process.

    Raises :class:`~.lock.QueueLocked` when another process owns it (unless ``attach_readonly``).
    """
    folder = state_dir or paths.state_dir()
    path = queue_path(folder)
    lock = QueueLock(folder)
    try:
        lock.acquire()
    except QueueLocked as e:
        if not attach_readonly:
            raise
        try:
            queue = JobQueue.read(path)
        except QueueFileError as bad:
            queue, warnings = JobQueue(path), [str(bad)]
        else:
            warnings = []
        reason = _("read-only: {reason}").format(reason=e)
        return QueueSession(Scheduler(queue, workers, readonly_reason=reason), None, [*warnings, reason])
    found: dict[str, list[str]] = {}
    running_before: list[str] = []

    def finder(job: Job, uid: str) -> list[str]:
        running_before.append(job.id)
        hits = find_job_images(job, uid)
        if hits:
            found[job.id] = hits
        return hits

    warnings = []
    try:
        queue = JobQueue.load(path, finder=finder, writer=writer)
    except QueueFileError as e:
        warnings.append(str(e))
        queue = JobQueue(path, writer=writer)
    if images is not None and found:
        try:
            images.index([Path(p) for hits in found.values() for p in hits])
        except Exception as e:  # the index is rebuilt from files at any time
            warnings.append(_("gallery: could not index recovered images: {error}").format(error=e))
    session = QueueSession(Scheduler(queue, workers), lock, warnings)
    session.recovered = [queue.get(i) for i in found]
    session.interrupted = [queue.get(i) for i in running_before if i not in found]
    return session


def session_name() -> str:
    """This moment's session folder name, ``session_YYYY-MM-DD_HHMM`` (the gallery's layout)."""
    from ..store.layout import session_folder  # the store package is heavy: not at start-up

    return session_folder()


def new_session_folder(root: Path) -> Path:
    """The folder for images queued by this process: ``<output>/session_YYYY-MM-DD_HHMM``."""
    return Path(root).expanduser().absolute() / session_name()
