"""Shared helpers for the ComfyUI tests: short deadlines, reading PNG chunks."""

from __future__ import annotations

import io
import json
import socket
from typing import Any

from PIL import Image

from peropix_tui.core.comfyui.backend import ComfyUIBackend
from peropix_tui.core.comfyui.client import Timeouts
from peropix_tui.core.comfyui.config import ComfyServer
from peropix_tui.core.comfyui.discovery import Discovery
from peropix_tui.core.settings import GenerationSettings
from tests.comfyui_emulator import ComfyEmulator

FAST = Timeouts(connect=2.0, request=5.0, stall=1.0, job=30.0, idle_poll=0.3, reconnect=2.0, interrupt_wait=3.0)


def backend(emu: ComfyEmulator, **kw: Any) -> ComfyUIBackend:
    kw.setdefault("timeouts", FAST)
    kw.setdefault("discovery", Discovery())
    return ComfyUIBackend(ComfyServer(emu.url, name="gpu1"), **kw)


def settings(**kw: Any) -> GenerationSettings:
    base: dict[str, Any] = dict(provider="comfyui", prompt="{cat}, artist (style)", uc="[lowres]",
                                checkpoint="illustrious-xl-v1", steps=4, width=512, height=768, seed=1234)
    base.update(kw)
    return GenerationSettings(**base)


def png_text(data: bytes) -> dict[str, str]:
    with Image.open(io.BytesIO(data)) as im:
        return {str(k): v for k, v in im.info.items() if isinstance(v, str)}


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size


def sent_graph(data: bytes) -> dict[str, Any]:
    """The graph as the server saw it, from the PNG's ``prompt`` chunk."""
    graph: dict[str, Any] = json.loads(png_text(data)["prompt"])
    return graph


def by_class(graph: dict[str, Any], cls: str) -> list[dict[str, Any]]:
    return [n for n in graph.values() if n["class_type"] == cls]


def dead_url() -> str:
    """A loopback URL where nothing listens (a port just bound and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
