"""One worker per configured ComfyUI server: its backend, its health, how many jobs it has in flight.

No queue here (the scheduler owns that): a :class:`ComfyWorker` says whether it can take a job
(``free``: healthy and under ``max_jobs``), runs one through its backend, and turns a
:class:`ServerUnavailable` into "unhealthy, probe again after a back-off" (:class:`HealthTracker`);
:meth:`ComfyWorker.probe_if_due` brings it back once the server answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..backend import CancelToken, GeneratedImage, ProgressCallback
from ..settings import GenerationSettings
from .backend import ComfyUIBackend, timeouts_from_config
from .config import ComfyServer, ComfyUIConfig
from .discovery import DEFAULT_DISCOVERY, Discovery
from .errors import ServerUnavailable
from .health import HealthTracker, probe


@dataclass
class ComfyWorker:
    server: ComfyServer
    backend: ComfyUIBackend
    health: HealthTracker = field(default_factory=HealthTracker)
    in_flight: int = 0

    @property
    def name(self) -> str:
        return self.server.name

    @property
    def free(self) -> bool:
        return self.health.healthy and self.in_flight < self.server.max_jobs

    def accepts(self, settings: GenerationSettings) -> bool:
        """A ComfyUI job not pinned elsewhere (``comfyui_server`` None, or this server's name or URL)."""
        pin = settings.comfyui_server
        return settings.provider == "comfyui" and (not pin or pin in (self.server.name, self.server.url)
                                                   or pin.rstrip("/") == self.server.url)

    @property
    def state(self) -> str:
        """idle | busy | full | down (for a queue screen)."""
        if not self.health.healthy:
            return "down"
        if self.in_flight == 0:
            return "idle"
        return "full" if self.in_flight >= self.server.max_jobs else "busy"

    async def generate(self, settings: GenerationSettings, on_progress: ProgressCallback,
                       cancel: CancelToken) -> list[GeneratedImage]:
        """Run one job here; a server failure marks this worker down (the error is re-raised)."""
        self.in_flight += 1
        try:
            images = await self.backend.generate(settings, on_progress, cancel)
        except ServerUnavailable as e:
            self.health.record_result(False, str(e))
            raise
        finally:
            self.in_flight -= 1
        self.health.record_result(True)
        return images

    async def probe_if_due(self, *, timeout: float = 5.0) -> bool:
        """Probe a down server when its back-off has passed; True when it is (now) healthy."""
        if self.health.healthy:
            return True
        if not self.health.due():
            return False
        self.health.record(await probe(self.server, timeout=timeout))
        return self.health.healthy

    async def aclose(self) -> None:
        await self.backend.aclose()


def comfy_workers(comfyui: ComfyUIConfig, *, presets: Any = None, discovery: Discovery | None = None,
                  backoff: tuple[float, float] = (1.0, 60.0)) -> list[ComfyWorker]:
    """A worker for each server in ``[comfyui] servers``, in order."""
    timeouts = timeouts_from_config(comfyui)
    return [
        ComfyWorker(server=s, backend=ComfyUIBackend(s, timeouts=timeouts, discovery=discovery or DEFAULT_DISCOVERY,
                                                     presets=presets, hires_upscale=comfyui.hires_upscale),
                    health=HealthTracker(base=backoff[0], cap=backoff[1]))
        for s in comfyui.servers
    ]
