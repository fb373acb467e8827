"""Is a server up, and how busy: one probe (``GET /queue``). The back-off between probes of a
server that is down belongs to the worker pool (:mod:`peropix_tui.core.generation.health`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

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
