"""What a server offers: checkpoints, LoRAs, VAEs, samplers, schedulers, node classes; cached.

Model lists come from ``/models/{folder}``, sampler and scheduler lists from the KSampler COMBOs in
``/object_info`` (custom nodes extend them), and the node classes from the same answer. One
:class:`Discovery` caches per server URL for ``ttl`` seconds; ``refresh=True`` asks again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ...i18n import _
from ..backend import BackendError
from .client import ComfyClient, Timeouts
from .config import ComfyServer
from .names import DEFAULT_SAMPLERS, DEFAULT_SCHEDULERS


@dataclass
class ServerInfo:
    name: str
    url: str
    checkpoints: list[str] = field(default_factory=list)
    loras: list[str] = field(default_factory=list)
    vaes: list[str] = field(default_factory=list)
    samplers: list[str] = field(default_factory=lambda: list(DEFAULT_SAMPLERS))
    schedulers: list[str] = field(default_factory=lambda: list(DEFAULT_SCHEDULERS))
    nodes: set[str] = field(default_factory=set)
    version: str | None = None
    """``system_stats.system.comfyui_version``; None when the server does not say."""
    fetched: float = 0.0

    def has(self, node_class: str) -> bool:
        return not self.nodes or node_class in self.nodes

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "version": self.version, "checkpoints": self.checkpoints,
                "loras": self.loras, "vaes": self.vaes, "samplers": self.samplers, "schedulers": self.schedulers}


def _combo(info: dict[str, Any], node: str, name: str) -> list[str] | None:
    spec = (((info.get(node) or {}).get("input") or {}).get("required") or {}).get(name)
    if not isinstance(spec, list) or not spec:
        return None
    if isinstance(spec[0], list):
        return [str(x) for x in spec[0]]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        return [str(x) for x in spec[1].get("options") or []]
    return None


async def fetch_info(client: ComfyClient) -> ServerInfo:
    """Ask the server now (four small requests and one /object_info)."""
    info = ServerInfo(name=client.name, url=client.server.url)
    checkpoints, loras, vaes, objects = await asyncio.gather(
        client.models("checkpoints"), client.models("loras"), client.models("vae"), client.object_info())
    info.nodes = set(objects)
    info.checkpoints = checkpoints or _combo(objects, "CheckpointLoaderSimple", "ckpt_name") or []
    info.loras = loras or _combo(objects, "LoraLoader", "lora_name") or []
    info.vaes = vaes or _combo(objects, "VAELoader", "vae_name") or []
    info.samplers = _combo(objects, "KSampler", "sampler_name") or list(DEFAULT_SAMPLERS)
    info.schedulers = _combo(objects, "KSampler", "scheduler") or list(DEFAULT_SCHEDULERS)
    try:
        stats = await client.system_stats()
        version = (stats.get("system") or {}).get("comfyui_version")
        info.version = str(version) if version else None
    except BackendError:
        info.version = None
    info.fetched = time.monotonic()
    return info


class Discovery:
    """A per-URL cache of :class:`ServerInfo`."""

    def __init__(self, ttl: float = 300.0) -> None:
        self.ttl = ttl
        self._cache: dict[str, ServerInfo] = {}

    async def get(self, client: ComfyClient, *, refresh: bool = False) -> ServerInfo:
        hit = self._cache.get(client.server.url)
        if hit is not None and not refresh and time.monotonic() - hit.fetched < self.ttl:
            return hit
        info = await fetch_info(client)
        self._cache[client.server.url] = info
        return info

    def forget(self, url: str | None = None) -> None:
        if url is None:
            self._cache.clear()
        else:
            self._cache.pop(url, None)


DEFAULT_DISCOVERY = Discovery()


def match_model(kind: str, wanted: str, available: list[str], server: str) -> str:
    """The server's file for ``wanted``: exact name, else same file name, stem, or case-insensitive stem.

    ``wanted`` may be a local path (``/models/x.safetensors``), a name with a subfolder, or a stem.
    """
    if wanted in available:
        return wanted
    def keys(name: str) -> tuple[str, str, str]:
        p = PurePosixPath(name.replace("\\", "/"))
        return p.name, p.stem, p.stem.lower()

    w = keys(wanted)
    for i in range(3):
        hits = [a for a in available if keys(a)[i] == w[i]]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise BackendError(_("{kind} {name} matches several files on ComfyUI server {server}: {files}").format(
                kind=kind, name=repr(wanted), server=server, files=", ".join(hits[:6])))
    listing = ", ".join(available[:8]) + (", …" if len(available) > 8 else "") if available else _("none")
    raise BackendError(_("{kind} {name} is not on ComfyUI server {server} (it has: {files})").format(
        kind=kind, name=repr(wanted), server=server, files=listing))


def discover_blocking(server: ComfyServer, timeouts: Timeouts | None = None, *, refresh: bool = False,
                      discovery: Discovery | None = None) -> ServerInfo:
    """:meth:`Discovery.get` for a worker thread (its own event loop and connection); BackendError
    with a one-line message when the server cannot be asked. The cache is the one generation uses."""
    cache = discovery or DEFAULT_DISCOVERY

    async def ask() -> ServerInfo:
        client = ComfyClient(server, timeouts=timeouts)
        try:
            return await cache.get(client, refresh=refresh)
        finally:
            await client.aclose()

    return asyncio.run(ask())


def describe(info: ServerInfo) -> str:
    """One line: the server and what it offers."""
    version = f" (ComfyUI {info.version})" if info.version else ""
    return (f"{info.name}{version}: {len(info.checkpoints)} checkpoints, {len(info.loras)} LoRAs, "
            f"{len(info.samplers)} samplers, {len(info.schedulers)} schedulers")
