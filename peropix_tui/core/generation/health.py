"""Worker health: a back-off between probes of a worker that died, and the probe itself.

:class:`Backoff` is pure (a clock, no I/O): ``failed`` doubles the wait (``base`` … ``cap`` seconds),
``recovered`` makes the worker healthy again. ``hold`` marks it down until the user acts (a
rejected token or an empty balance: probing cannot bring it back), so it is never due a probe. :func:`probe_worker` asks a down worker whether it
answers: a ComfyUI server's ``GET /queue``, a TCP connection to the NovelAI image host; the local
engine does not die this way and always answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ...i18n import _

if TYPE_CHECKING:
    from ..config import Config
    from .scheduler import Worker

PROBE_TIMEOUT = 5.0


@dataclass
class Backoff:
    base: float = 1.0
    cap: float = 60.0
    healthy: bool = True
    failures: int = 0
    next_probe: float = 0.0
    last_error: str = ""
    held: bool = False
    """Down until the user fixes it (resume, token change), never probed back."""
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def failed(self, error: str) -> None:
        self.healthy = False
        self.failures += 1
        self.last_error = error
        self.next_probe = self.clock() + min(self.cap, self.base * 2 ** (self.failures - 1))

    def hold(self, error: str) -> None:
        self.healthy, self.held, self.last_error = False, True, error

    def recovered(self) -> None:
        self.healthy, self.failures, self.last_error, self.held = True, 0, "", False

    def due(self) -> bool:
        return not self.held and self.clock() >= self.next_probe

    def wait(self) -> float:
        """Seconds until the next probe is due (0: now)."""
        return max(0.0, self.next_probe - self.clock())


async def probe_worker(worker: Worker, config: Config, *, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """(answers, error) for ``worker``; never raises for a worker that is down."""
    if worker.provider == "comfyui":
        from ..comfyui.health import probe

        try:
            server = config.comfyui.server(worker.url or worker.target or None)
        except ValueError as e:
            return False, str(e)
        health = await probe(server, timeout=timeout)
        return health.ok, health.error
    if worker.provider == "nai":
        return await _tcp_answers(config.nai.base_url, timeout)
    return True, ""


async def _tcp_answers(url: str, timeout: float) -> tuple[bool, str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as e:
        return False, _("{host}:{port} does not answer ({error})").format(host=host, port=port, error=type(e).__name__)
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True, ""
