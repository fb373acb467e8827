"""Is a server up, and how busy: one probe (``GET /queue``), and a tracker that backs off while it is down.

:class:`HealthTracker` is what a worker pool needs: ``due()`` says whether to probe now; a failed
probe doubles the wait (``base`` … ``cap`` seconds), a good one resets it and marks the server healthy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..backend import BackendError
from .client import ComfyClient, Timeouts
from .config import ComfyServer


@dataclass
class Health:
    server: str
    url: str
    ok: bool
    running: int = 0
    pending: int = 0
    error: str = ""
    latency: float = 0.0
    """Seconds the probe took (a measurement, not a setting)."""

    @property
    def depth(self) -> int:
        return self.running + self.pending


async def probe(server: ComfyServer, *, timeout: float = 5.0, client: ComfyClient | None = None) -> Health:
    """One look at ``/queue``; never raises for a server that is down."""
    own = client is None
    c = client or ComfyClient(server, timeouts=Timeouts(connect=timeout, request=timeout))
    start = time.monotonic()
    try:
        q = await c.queue()
        return Health(server.name, server.url, True, running=len(q.running), pending=len(q.pending),
                      latency=time.monotonic() - start)
    except BackendError as e:
        return Health(server.name, server.url, False, error=str(e), latency=time.monotonic() - start)
    finally:
        if own:
            await c.aclose()


@dataclass
class HealthTracker:
    """Back-off between probes of a server that is down."""

    base: float = 1.0
    cap: float = 60.0
    healthy: bool = True
    failures: int = 0
    next_probe: float = 0.0
    last_error: str = ""
    clock: object = field(default=time.monotonic, repr=False)

    def _now(self) -> float:
        clock = self.clock
        assert callable(clock)
        return float(clock())

    def due(self) -> bool:
        return self._now() >= self.next_probe

    def delay(self) -> float:
        """The wait after the current number of failures."""
        return 0.0 if self.failures == 0 else min(self.cap, self.base * 2 ** (self.failures - 1))

    def record(self, health: Health) -> None:
        self.record_result(health.ok, health.error)

    def record_result(self, ok: bool, error: str = "") -> None:
        if ok:
            self.healthy, self.failures, self.last_error = True, 0, ""
            self.next_probe = self._now()
        else:
            self.healthy = False
            self.failures += 1
            self.last_error = error
            self.next_probe = self._now() + self.delay()
