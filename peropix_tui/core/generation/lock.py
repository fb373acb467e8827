"""One process owns a queue at a time: an exclusive lock file in the state folder (flock + PID).

The lock is held for the owner's lifetime and released by the kernel when the process dies, even
by SIGKILL, so a crash never leaves a stale lock. A second ``peropix`` (TUI or CLI) on the same
state folder gets :class:`QueueLocked`, whose message names the other process's PID.
"""

from __future__ import annotations

import os
from pathlib import Path

from ...i18n import _

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no cross-process lock, one owner assumed
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "queue.lock"


class QueueLocked(RuntimeError):
    """Another process owns the queue; the message names it."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        if pid:
            text = _("the queue in {folder} is in use by another peropix (PID {pid}); "
                     "wait for it to finish or close it first").format(folder=folder, pid=pid)
        else:
            text = _("the queue in {folder} is in use by another peropix; "
                     "wait for it to finish or close it first").format(folder=folder)
        super().__init__(text)
        self.pid = pid


class QueueLock:
    """``with QueueLock(state_dir):`` or :meth:`acquire` / :meth:`release`."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> QueueLock:
        if self._fd is not None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                pid = _read_pid(fd)
                os.close(fd)
                raise QueueLocked(self.folder, pid) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)  # closing drops the flock

    def __del__(self) -> None:
        self.release()

    def __enter__(self) -> QueueLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(raw) if raw.isdigit() else None
