"""One NovelAI request in flight per token, across the whole process (spec §9).

NovelAI allows one generation at a time per account and answers 429 otherwise. The TUI may call
from several worker threads, each with its own event loop, so an ``asyncio.Lock`` is not enough:
:class:`TokenGate` is a FIFO lock guarded by a ``threading.Lock`` whose waiters are futures on
their own loops, woken with ``call_soon_threadsafe``. Gates are keyed by a hash of the token, so
the token itself is never stored here.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

_Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


class TokenGate:
    """A fair (FIFO) lock usable from any event loop in any thread."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[_Waiter] = deque()

    @property
    def locked(self) -> bool:
        return self._held

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._mutex:
            if not self._held and not self._waiters:
                self._held = True
                return
            waiter: _Waiter = (loop, loop.create_future())
            self._waiters.append(waiter)
        try:
            await waiter[1]
        except BaseException:
            with self._mutex:
                granted = waiter not in self._waiters
                if not granted:
                    self._waiters.remove(waiter)
            if granted:  # handed over just as we were cancelled: pass it on
                self.release()
            raise

    def release(self) -> None:
        with self._mutex:
            while self._waiters:
                loop, fut = self._waiters.popleft()
                try:
                    loop.call_soon_threadsafe(_grant, fut)
                except RuntimeError:  # that loop is closed; its waiter is gone
                    continue
                return  # ownership handed over; _held stays True
            self._held = False

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


def _grant(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


_gates: dict[str, TokenGate] = {}
_gates_lock = threading.Lock()


def gate_for(token: str) -> TokenGate:
    """The process-wide gate of one token."""
    key = hashlib.sha256(token.encode("utf-8")).hexdigest()
    with _gates_lock:
        return _gates.setdefault(key, TokenGate())
