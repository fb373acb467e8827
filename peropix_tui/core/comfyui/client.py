"""One ComfyUI server over HTTP (httpx): the routes PeroPix uses (specs/comfyui-api.md §2).

:meth:`ComfyClient.run_prompt` runs one graph and follows it over the WebSocket (:mod:`.run`).
Transport failures, timeouts and a reverse proxy's 502/503/504 are :class:`ServerUnavailable`
(retryable: the server, not the job, failed); other non-2xx answers are :class:`BackendError`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

from ... import __version__
from ...i18n import _
from ..backend import BackendError, CancelToken, ProgressCallback
from .config import ComfyServer
from .errors import ServerUnavailable, rejection_message

USER_AGENT = f"PeroPix-TUI/{__version__}"


@dataclass(frozen=True)
class Timeouts:
    """Deadlines, seconds. Tests shrink them."""

    connect: float = 10.0
    request: float = 60.0
    stall: float = 300.0
    """A running prompt with no event this long is stuck."""
    job: float = 3600.0
    """One job in all, queue wait included."""
    idle_poll: float = 5.0
    """Look the prompt up in /queue and /history after this long without a WebSocket message."""
    reconnect: float = 30.0
    """How long to keep reopening a dropped WebSocket."""
    interrupt_wait: float = 15.0
    tick: float = 0.1


@dataclass
class OutputImage:
    node: str
    data: bytes
    filename: str | None = None
    kind: str = "output"
    """output | temp (PreviewImage) | websocket (SaveImageWebsocket)."""


@dataclass
class PromptResult:
    prompt_id: str
    images: list[OutputImage]
    warnings: list[str] = field(default_factory=list)


@dataclass
class QueueState:
    running: list[str]
    pending: list[str]

    @property
    def depth(self) -> int:
        return len(self.running) + len(self.pending)


class ComfyClient:
    """HTTP + WebSocket access to one server. Use on one event loop; ``aclose`` when done."""

    def __init__(self, server: ComfyServer, *, timeouts: Timeouts | None = None) -> None:
        self.server = server
        self.timeouts = timeouts or Timeouts()
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ http
    @property
    def name(self) -> str:
        return self.server.name

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop:
            t = self.timeouts
            self._http = httpx.AsyncClient(
                base_url=self.server.url,
                headers={"User-Agent": USER_AGENT, **self.server.headers},
                timeout=httpx.Timeout(t.request, connect=t.connect),
            )
            self._loop = loop
        return self._http

    async def aclose(self) -> None:
        if self._http is not None and self._loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = None

    def _unreachable(self, e: Exception) -> BackendError:
        detail = str(e).strip() or type(e).__name__
        if isinstance(e, httpx.TimeoutException):
            text = _("ComfyUI server {server} ({url}) timed out: {detail}")
        else:
            text = _("ComfyUI server {server} ({url}) unreachable: {detail}")
        return ServerUnavailable(text.format(server=self.name, url=self.server.url, detail=detail))

    async def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            r = await self._client().request(method, path, **kw)
        except httpx.TransportError as e:
            raise self._unreachable(e) from None
        if r.status_code in (502, 503, 504):  # a reverse proxy whose ComfyUI is down
            raise ServerUnavailable(_("ComfyUI server {server}: {path} answered {status} "
                                      "(the server behind the proxy is down?)").format(
                                        server=self.name, path=path, status=r.status_code), status=r.status_code)
        return r

    async def get_json(self, path: str, **params: Any) -> Any:
        r = await self.request("GET", path, params=params or None)
        if r.status_code == 404:
            raise BackendError(_("ComfyUI server {server}: {path} not found (404)").format(server=self.name, path=path),
                               status=404)
        if r.status_code != 200:
            raise BackendError(self._answered(path, r.status_code),
                               status=r.status_code, retryable=r.status_code >= 500)
        try:
            return r.json()
        except ValueError:
            raise BackendError(_("ComfyUI server {server}: {path} did not answer JSON").format(
                server=self.name, path=path)) from None

    def _answered(self, path: str, status: int) -> str:
        return _("ComfyUI server {server}: {path} answered {status}").format(server=self.name, path=path, status=status)

    async def post_json(self, path: str, body: Any) -> httpx.Response:
        return await self.request("POST", path, json=body)

    # ----------------------------------------------------------- small routes
    async def system_stats(self) -> dict[str, Any]:
        data = await self.get_json("/system_stats")
        return data if isinstance(data, dict) else {}

    async def object_info(self, node_class: str | None = None) -> dict[str, Any]:
        data = await self.get_json(f"/object_info/{node_class}" if node_class else "/object_info")
        return data if isinstance(data, dict) else {}

    async def models(self, folder: str) -> list[str]:
        try:
            data = await self.get_json(f"/models/{folder}")
        except BackendError as e:
            if e.status == 404:
                return []
            raise
        return [str(x) for x in data] if isinstance(data, list) else []

    async def queue(self) -> QueueState:
        data = await self.get_json("/queue")
        if not isinstance(data, dict):
            data = {}

        def ids(key: str) -> list[str]:
            items = data.get(key) or []
            return [str(it[1]) for it in items if isinstance(it, list) and len(it) > 1]

        return QueueState(running=ids("queue_running"), pending=ids("queue_pending"))

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The finished prompt's history entry; None while it is unknown, unfinished or evicted."""
        data = await self.get_json(f"/history/{prompt_id}")
        entry = data.get(prompt_id) if isinstance(data, dict) else None
        return entry if isinstance(entry, dict) else None

    async def view(self, filename: str, subfolder: str = "", kind: str = "output") -> bytes:
        r = await self.request("GET", "/view", params={"filename": filename, "subfolder": subfolder, "type": kind})
        if r.status_code != 200:
            raise BackendError(self._answered(f"/view {subfolder}/{filename}", r.status_code),
                               status=r.status_code, retryable=r.status_code >= 500)
        return r.content

    async def upload_image(self, data: bytes, filename: str, *, subfolder: str = "peropix",
                           route: str = "/upload/image") -> str:
        """Upload to the input folder; the ``LoadImage.image`` value (``sub/name``)."""
        files = {"image": (filename, data, "image/png")}
        form = {"overwrite": "true", "subfolder": subfolder, "type": "input"}
        r = await self.request("POST", route, files=files, data=form)
        if r.status_code != 200:
            raise BackendError(_("ComfyUI server {server}: upload of {file} answered {status}").format(
                server=self.name, file=filename, status=r.status_code),
                               status=r.status_code, retryable=r.status_code >= 500)
        body = r.json()
        name, sub = str(body.get("name") or filename), str(body.get("subfolder") or "")
        return f"{sub}/{name}" if sub else name

    async def delete_queued(self, prompt_id: str) -> None:
        """Remove our own pending prompt (never anyone else's)."""
        await self.post_json("/queue", {"delete": [prompt_id]})

    async def interrupt(self, prompt_id: str) -> None:
        """Interrupt ``prompt_id`` if it is the one running (the id makes a newer server check)."""
        await self.post_json("/interrupt", {"prompt_id": prompt_id})

    # ------------------------------------------------------------ one prompt
    async def submit(self, graph: dict[str, Any], client_id: str, prompt_id: str,
                     extra_pnginfo: dict[str, Any] | None = None) -> list[str]:
        """``POST /prompt``; returns warnings (node errors on outputs that are not ours to need)."""
        body: dict[str, Any] = {"prompt": graph, "client_id": client_id, "prompt_id": prompt_id}
        if extra_pnginfo:
            body["extra_data"] = {"extra_pnginfo": extra_pnginfo}
        r = await self.post_json("/prompt", body)
        try:
            answer = r.json()
        except ValueError:
            answer = r.text
        if r.status_code == 400:
            raise BackendError(rejection_message(self.name, answer), status=400)
        if r.status_code != 200:
            raise BackendError(self._answered("/prompt", r.status_code),
                               status=r.status_code, retryable=r.status_code >= 500)
        node_errors = answer.get("node_errors") if isinstance(answer, dict) else None
        # the warnings are stored in the image's metadata: in English, as everything written into files
        return [rejection_message(self.name, {"node_errors": node_errors}, english=True)] if node_errors else []

    async def prompt_state(self, prompt_id: str) -> tuple[str, dict[str, Any] | None]:
        """("done", history) | ("running", None) | ("pending", None) | ("gone", None)."""
        entry = await self.history(prompt_id)
        if entry is not None:
            return "done", entry
        q = await self.queue()
        if prompt_id in q.running:
            return "running", None
        if prompt_id in q.pending:
            return "pending", None
        entry = await self.history(prompt_id)  # it may have finished between the two looks
        return ("done", entry) if entry is not None else ("gone", None)

    async def run_prompt(self, graph: dict[str, Any], on_progress: ProgressCallback, cancel: CancelToken, *,
                         extra_pnginfo: dict[str, Any] | None = None) -> PromptResult:
        from .run import PromptRun

        return await PromptRun(self, graph, on_progress, cancel).execute(extra_pnginfo)
