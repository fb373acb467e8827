"""Queue saves off the caller's thread: a writer thread that keeps only the newest snapshot.

The TUI hands every queue save here (the event loop never waits on an fsync); :meth:`flush` waits
until everything handed over so far is on disk: a job's worker calls it (in a thread) before the
job's request goes out, so the "running" intent record is durable first.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..fsutil import atomic_write

log = logging.getLogger("peropix")


class BackgroundWriter:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: tuple[Path, bytes] | None = None
        self._submitted = 0
        self._written = 0
        self._thread: threading.Thread | None = None
        self.error: Exception | None = None

    def __call__(self, path: Path, data: bytes) -> None:
        """Queue ``data`` for ``path`` (replacing an older snapshot not written yet)."""
        with self._cond:
            self._pending = (path, data)
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="queue-writer", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every snapshot handed over so far is written; False on timeout."""
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._written >= target, timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None)
                assert self._pending is not None
                (path, data), self._pending = self._pending, None
                upto = self._submitted
            try:
                atomic_write(path, data)
            except Exception as e:  # the thread must live on: flush() waits on it
                self.error = e
                log.error("could not save the queue: %s", e)
            with self._cond:
                self._written = upto
                self._cond.notify_all()
