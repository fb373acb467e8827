"""``ComfyUIBackend``: a ComfyUI server as an implementation of :class:`~peropix_tui.core.backend.Backend`.

discover (cached) → seed → upload base image / mask (resized to the job's size) → build the graph
(or fill the user's workflow) → run it on the server → one :class:`GeneratedImage` per PNG, the bytes
exactly as the server saved them (ComfyUI's ``prompt`` / ``workflow`` chunks kept), ``info`` naming
the provider ``comfyui`` and the server.
"""

from __future__ import annotations

import hashlib
import io
import random
from typing import Any

from ...i18n import _
from ..backend import BackendError, CancelToken, GeneratedImage, ProgressCallback
from ..config import LocalConfig
from ..settings import GenerationSettings
from .client import ComfyClient, Timeouts
from .config import ComfyServer, ComfyUIConfig
from .discovery import DEFAULT_DISCOVERY, Discovery, ServerInfo
from .graph import Uploads, build_graph
from .prompt import comfy_prompts
from .workflow import UserWorkflow, WorkflowError


def image_extension(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    return "bin"


def timeouts_from_config(cfg: ComfyUIConfig) -> Timeouts:
    return Timeouts(connect=cfg.connect_timeout, stall=cfg.stall_timeout, job=cfg.job_timeout)


def _prepare_png(path: str, size: tuple[int, int], *, mask: bool) -> bytes:
    """The file at ``path`` as a PNG of ``size`` (a mask as white-on-black RGB)."""
    from PIL import Image, UnidentifiedImageError

    field = "mask" if mask else "image"
    try:
        with Image.open(path) as opened:
            opened.load()
            im: Image.Image = opened
            if mask:
                if im.mode in ("RGBA", "LA") and im.getchannel("A").getextrema() != (255, 255):
                    im = im.getchannel("A")
                out = im.convert("L").resize(size, Image.Resampling.NEAREST).convert("RGB")
            else:
                out = im.convert("RGB").resize(size, Image.Resampling.LANCZOS) if im.size != size \
                    else im.convert("RGB")
    except FileNotFoundError:
        raise BackendError(_("{field}: {file}: no such file").format(field=field, file=path)) from None
    except (UnidentifiedImageError, OSError) as e:
        raise BackendError(_("{field}: {file}: not a readable image ({error})").format(field=field, file=path, error=e)) \
            from None
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


class ComfyUIBackend:
    """Generates on one ComfyUI server."""

    name = "comfyui"

    def __init__(self, server: ComfyServer, *, timeouts: Timeouts | None = None,
                 discovery: Discovery | None = None, workflow: UserWorkflow | None = None,
                 presets: LocalConfig | None = None, hires_upscale: str = "latent") -> None:
        self.server = server
        self.client = ComfyClient(server, timeouts=timeouts)
        self.discovery = discovery or DEFAULT_DISCOVERY
        self.workflow = workflow
        self.presets = presets
        self.hires_upscale = hires_upscale

    @classmethod
    def from_config(cls, config: Any, server_ref: str | None = None, *,
                    workflow: UserWorkflow | None = None) -> ComfyUIBackend:
        """For the app config (``config.comfyui``, ``config.local`` presets) and a server name or URL."""
        cc: ComfyUIConfig = config.comfyui
        return cls(cc.server(server_ref), timeouts=timeouts_from_config(cc), workflow=workflow,
                   presets=config.local, hires_upscale=cc.hires_upscale)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def info(self, *, refresh: bool = False) -> ServerInfo:
        return await self.discovery.get(self.client, refresh=refresh)

    async def _upload(self, path: str, size: tuple[int, int], *, mask: bool) -> str:
        data = _prepare_png(path, size, mask=mask)
        name = f"{'mask' if mask else 'image'}_{hashlib.sha256(data).hexdigest()[:16]}.png"
        return await self.client.upload_image(data, name)

    def _workflow(self, settings: GenerationSettings) -> UserWorkflow | None:
        if self.workflow is not None or not settings.workflow:
            return self.workflow
        try:
            return UserWorkflow.load(settings.workflow, settings.workflow_bind)
        except WorkflowError as e:
            raise BackendError(str(e)) from None

    async def _graph(self, settings: GenerationSettings, info: ServerInfo, positive: str, negative: str, seed: int,
                     record: dict[str, Any]) -> dict[str, Any]:
        """The graph to send: the user's workflow filled in, or one built from the settings."""
        workflow = self._workflow(settings)
        if workflow is not None:
            record["workflow_file"] = workflow.source
            try:
                return workflow.fill(settings, info, positive=positive, negative=negative, seed=seed)
            except WorkflowError as e:
                raise BackendError(str(e)) from None
        uploads = Uploads()
        size = (settings.width, settings.height)
        if settings.action in ("img2img", "infill") and settings.image:
            uploads.image = await self._upload(settings.image, size, mask=False)
        if settings.action == "infill" and settings.mask:
            uploads.mask = await self._upload(settings.mask, size, mask=True)
        built = build_graph(settings, info, positive=positive, negative=negative, seed=seed, uploads=uploads,
                            hires_upscale=self.hires_upscale)
        record.update(checkpoint=built.checkpoint, sampler=built.sampler, scheduler=built.scheduler)
        if built.loras:
            record["loras"] = [{"name": n, "weight": w} for n, w in built.loras]
        return built.graph

    async def generate(self, settings: GenerationSettings, on_progress: ProgressCallback,
                       cancel: CancelToken) -> list[GeneratedImage]:
        cancel.raise_if_cancelled()
        info = await self.info()
        seed = settings.seed if settings.seed is not None else random.randint(0, 0xFFFFFFFF)
        try:
            positive, negative = comfy_prompts(settings, self.presets)
        except ValueError as e:  # a prompt its dialect cannot express in ComfyUI: the user must change it
            raise BackendError(str(e)) from None
        record: dict[str, Any] = {"provider": "comfyui", "server": self.server.name, "server_url": self.server.url}
        if info.version:
            record["comfyui_version"] = info.version
        graph = await self._graph(settings, info, positive, negative, seed, record)
        result = await self.client.run_prompt(graph, on_progress, cancel)
        record["prompt_id"] = result.prompt_id
        if result.warnings:
            record["warnings"] = result.warnings
        return [
            GeneratedImage(data=img.data, seed=seed, index=i, extension=image_extension(img.data),
                           info={**record, "node": img.node, "server_file": img.filename})
            for i, img in enumerate(result.images)
        ]
