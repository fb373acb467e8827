"""Following one prompt on a ComfyUI server over its WebSocket (``websockets``).

:class:`PromptRun` is the path of one job (specs/comfyui-api.md §2, §3, §8):

1. open ``/ws?clientId=<ours>`` (feature flags ask for previews with metadata, binary type 4);
2. ``POST /prompt`` with our ``client_id`` and a fresh ``prompt_id``; a 400 (or a 200 whose
   ``node_errors`` name our output) becomes one :class:`BackendError` line naming node and input;
3. follow the events for our prompt: ``progress`` → :class:`Progress`, binary preview frames →
   ``Progress.preview`` (finals when the running node is a ``SaveImageWebsocket``),
   ``execution_error`` / ``execution_interrupted`` → errors, ``execution_success`` or
   ``executing {node: null}`` → done;
4. read the outputs from ``/history/{id}`` (falling back to the ``executed`` events) and fetch each
   file with ``/view``: the PNG bytes exactly as the server wrote them (``prompt``/``workflow``
   chunks kept).

A ``/prompt`` whose answer is lost is looked up by its id before anything is said, so a job is
never submitted twice. Never a hang: a dropped socket is reopened with the same client id and the
prompt looked up in ``/queue`` and ``/history`` (gone from both = the server restarted: a retryable error); a running
prompt with no event for ``stall`` seconds, or a job over ``job`` seconds, ends in an error.
Cancelling deletes our own queued prompt (never anyone else's) and interrupts only when our prompt
is the one running, passing its id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ... import i18n
from ..backend import BackendError, CancelToken, GenerationCancelled, Progress, ProgressCallback
from .client import USER_AGENT, ComfyClient, OutputImage, PromptResult
from .errors import ServerUnavailable, execution_message

log = logging.getLogger(__name__)

PREVIEW_IMAGE = 1
TEXT = 3
PREVIEW_IMAGE_WITH_METADATA = 4
WS_FINAL_NODES = frozenset({"SaveImageWebsocket"})
SAMPLER_NODES = frozenset({"KSampler", "KSamplerAdvanced"})


class _Done(Exception):
    def __init__(self, history: dict[str, Any] | None) -> None:
        super().__init__("done")
        self.history = history


class _Dropped(Exception):
    """The WebSocket closed under us."""


def ws_url(base: str, client_id: str) -> str:
    parts = urlsplit(base)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = parts.path.rstrip("/") + "/ws"
    return urlunsplit((scheme, parts.netloc, path, f"clientId={client_id}", ""))


def _count(value: Any) -> int:
    """A step count from an event: whole and finite numbers only (anything else counts as 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value) if value == value and abs(value) < 2**53 else 0


def parse_binary(frame: bytes) -> tuple[int, dict[str, Any], bytes] | None:
    """(event type, metadata, image bytes) of a binary frame; None when it is not an image."""
    if len(frame) < 8:
        return None
    (event,) = struct.unpack(">I", frame[:4])
    if event == PREVIEW_IMAGE:
        (fmt,) = struct.unpack(">I", frame[4:8])
        return event, {"image_type": "image/png" if fmt == 2 else "image/jpeg"}, frame[8:]
    if event == PREVIEW_IMAGE_WITH_METADATA:
        (n,) = struct.unpack(">I", frame[4:8])
        try:
            meta = json.loads(frame[8:8 + n].decode("utf-8"))
        except (ValueError, RecursionError):  # not UTF-8 / not JSON / nested too deeply
            return None
        return event, meta if isinstance(meta, dict) else {}, frame[8 + n:]
    return None


class PromptRun:
    """The state of one prompt being followed over the WebSocket."""

    def __init__(self, client: ComfyClient, graph: dict[str, Any], on_progress: ProgressCallback,
                 cancel: CancelToken) -> None:
        self.c = client
        self.t = client.timeouts
        self.graph = graph
        self.on_progress = on_progress
        self.cancel = cancel
        self.client_id = uuid.uuid4().hex
        self.prompt_id = str(uuid.uuid4())
        self.running = False
        self.node: str | None = None
        self.step, self.total = 0, 0
        self.node_progress: dict[str, tuple[int, int]] = {}
        self.sampler_steps = {k: int(v["inputs"]["steps"]) for k, v in graph.items()
                              if isinstance(v, dict) and v.get("class_type") in SAMPLER_NODES
                              and isinstance((v.get("inputs") or {}).get("steps"), int)}
        self.ws_images: list[OutputImage] = []
        self.executed: dict[str, Any] = {}
        self.cancel_sent = False
        self.cancel_deadline = 0.0
        self.ws: Any = None
        self.queue_note: str | None = None
        now = time.monotonic()
        self.started = now
        self.last_event = now
        self.last_message = now

    # ----------------------------------------------------------- websocket
    async def _connect(self) -> Any:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidURI

        try:
            ws = await connect(ws_url(self.c.server.url, self.client_id),
                               additional_headers=self.c.server.headers or None,
                               user_agent_header=USER_AGENT, open_timeout=self.t.connect,
                               max_size=256 * 1024 * 1024, ping_interval=20, ping_timeout=60, close_timeout=2,
                               proxy=None)
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as e:
            detail = str(e).strip() or type(e).__name__
            raise ServerUnavailable(i18n.gettext("ComfyUI server {server} ({url}) unreachable: {detail}").format(
                server=self.c.name, url=self.c.server.url, detail=detail)) from None
        await ws.send(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
        return ws

    async def _reconnect(self) -> Any:
        deadline = time.monotonic() + self.t.reconnect
        delay = 0.2
        last: BackendError | None = None
        while time.monotonic() < deadline:
            self.cancel.raise_if_cancelled()
            try:
                return await self._connect()
            except BackendError as e:
                last = e
            await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 2.0)
        text = i18n.gettext("ComfyUI server {server}: connection lost mid-job and not back within {seconds} s").format(
            server=self.c.name, seconds=f"{self.t.reconnect:g}")
        raise ServerUnavailable(text + (f" ({last})" if last else ""))

    # ---------------------------------------------------------------- main
    async def execute(self, extra_pnginfo: dict[str, Any] | None) -> PromptResult:
        self.cancel.raise_if_cancelled()
        self.ws = await self._connect()
        try:
            try:
                warnings = await self.c.submit(self.graph, self.client_id, self.prompt_id, extra_pnginfo)
            except BackendError as e:
                if e.status is not None or not await self._accepted_anyway():
                    raise
                warnings = []
            history = await self._follow()
        finally:
            await self.ws.close()
        images = await self._collect(history)
        if not images:
            raise BackendError(i18n.gettext("ComfyUI server {server}: the prompt finished without an image").format(
                server=self.c.name) + (f" ({warnings[0]})" if warnings else ""))
        return PromptResult(self.prompt_id, images, warnings)

    async def _accepted_anyway(self) -> bool:
        """After a lost ``/prompt`` answer: is our prompt (its id is ours) on the server after all?"""
        try:
            state, _ = await self.c.prompt_state(self.prompt_id)
        except BackendError:
            return False
        return state != "gone"

    async def _follow(self) -> dict[str, Any] | None:
        from websockets.exceptions import ConnectionClosed

        look_up = False
        while True:
            try:
                await self._checks()
                if look_up:  # after a reconnect: the prompt may have finished meanwhile
                    look_up = False
                    await self._poll()
                try:
                    msg = await asyncio.wait_for(self.ws.recv(), timeout=self.t.tick)
                except TimeoutError:
                    if time.monotonic() - self.last_message >= self.t.idle_poll:
                        await self._poll()
                    continue
                except ConnectionClosed:
                    raise _Dropped() from None
                self.last_message = time.monotonic()
                if isinstance(msg, bytes):
                    self._on_binary(msg)
                else:
                    self._on_text(msg)
            except _Done as d:
                return d.history
            except _Dropped:
                log.info("ComfyUI %s: WebSocket dropped; reconnecting", self.c.name)
                self.ws = await self._reconnect()
                self.last_message = time.monotonic()
                look_up = True

    async def _checks(self) -> None:
        now = time.monotonic()
        if self.cancel.cancelled:
            await self._do_cancel()
        if now - self.started > self.t.job:
            await self._give_up(i18n.gettext("did not finish within {seconds} s").format(seconds=f"{self.t.job:g}"))
        if self.running and now - self.last_event > self.t.stall:
            await self._give_up(i18n.gettext("prompt stuck: no progress for {seconds} s").format(
                seconds=f"{self.t.stall:g}"))

    async def _give_up(self, why: str) -> None:
        try:
            await self.c.delete_queued(self.prompt_id)
            if self.running:
                await self.c.interrupt(self.prompt_id)
        except BackendError:
            pass
        raise ServerUnavailable(i18n.gettext("ComfyUI server {server}: {reason}").format(server=self.c.name, reason=why))

    async def _poll(self) -> None:
        self.last_message = time.monotonic()
        state, entry = await self.c.prompt_state(self.prompt_id)
        if state == "done":
            self._check_history_status(entry)
            raise _Done(entry)
        if state == "gone":
            raise ServerUnavailable(i18n.gettext("ComfyUI server {server}: the prompt is gone from its queue and "
                                                 "history (the server restarted mid-job?)").format(server=self.c.name))
        if state == "running" and not self.running:
            self.running = True
            self.last_event = time.monotonic()

    def _check_history_status(self, entry: dict[str, Any] | None) -> None:
        status = (entry or {}).get("status") or {}
        if not isinstance(status, dict) or status.get("status_str") != "error":
            return
        messages = status.get("messages")
        for item in messages if isinstance(messages, list) else []:
            if not isinstance(item, list | tuple) or len(item) != 2:
                continue
            event, data = item
            if event == "execution_error":
                raise BackendError(execution_message(self.c.name, data))
            if event == "execution_interrupted":
                if self.cancel_sent:
                    raise GenerationCancelled()
                raise BackendError(i18n.gettext("ComfyUI server {server}: the prompt was interrupted on the server")
                                   .format(server=self.c.name), retryable=True)
        raise BackendError(i18n.gettext("ComfyUI server {server}: the prompt ended in an error").format(server=self.c.name))

    async def _do_cancel(self) -> None:
        if not self.cancel_sent:
            self.cancel_sent = True
            try:
                await self.c.delete_queued(self.prompt_id)
                state, _ = await self.c.prompt_state(self.prompt_id)
                if state == "running":
                    await self.c.interrupt(self.prompt_id)
                    self.cancel_deadline = time.monotonic() + self.t.interrupt_wait
                    return  # wait for execution_interrupted
            except BackendError:
                pass
            raise GenerationCancelled()
        if time.monotonic() > self.cancel_deadline:
            raise GenerationCancelled()

    # -------------------------------------------------------------- events
    def _ours(self, data: Any) -> bool:
        return isinstance(data, dict) and data.get("prompt_id") == self.prompt_id

    def _on_text(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
            return
        if not isinstance(msg, dict):
            return
        kind, data = msg.get("type"), msg.get("data")
        if kind == "status":
            self._on_status(data)
            return
        if not self._ours(data):
            return
        assert isinstance(data, dict)
        self.last_event = time.monotonic()
        if kind == "execution_start":
            self.running = True
        elif kind == "executing":
            node = data.get("node")
            if node is None:
                raise _Done(None)
            self.running = True
            self.node = str(node)
        elif kind == "progress":
            self._on_progress(data)
        elif kind == "executed":
            self.executed[str(data.get("node"))] = data.get("output")
        elif kind == "execution_success":
            raise _Done(None)
        elif kind == "execution_error":
            raise BackendError(execution_message(self.c.name, data))
        elif kind == "execution_interrupted":
            if self.cancel_sent:
                raise GenerationCancelled()
            raise BackendError(i18n.gettext("ComfyUI server {server}: the prompt was interrupted on the server "
                                            "(someone pressed Cancel there?)").format(server=self.c.name),
                               retryable=True)

    def _on_progress(self, data: dict[str, Any]) -> None:
        """Steps over every sampler of the graph (a hires pass continues the count, not restarts it)."""
        node = str(data.get("node") or self.node or "")
        self.node_progress[node] = (_count(data.get("value")), _count(data.get("max")))
        unseen = sum(n for k, n in self.sampler_steps.items() if k not in self.node_progress)
        self.step = sum(v for v, _ in self.node_progress.values())
        self.total = sum(m for _, m in self.node_progress.values()) + unseen
        self._report(Progress(step=self.step, total=self.total))

    def _on_status(self, data: Any) -> None:
        if self.running or not isinstance(data, dict):
            return
        status = data.get("status")
        exec_info = status.get("exec_info") if isinstance(status, dict) else None
        remaining = exec_info.get("queue_remaining") if isinstance(exec_info, dict) else None
        if isinstance(remaining, int) and remaining > 1:
            note = i18n.ngettext("queued on {server} ({n} ahead or running)", "queued on {server} ({n} ahead or running)",
                                 remaining - 1).format(server=self.c.name, n=remaining - 1)
            if note != self.queue_note:
                self.queue_note = note
                self._report(Progress(step=0, total=0, message=note))

    def _on_binary(self, frame: bytes) -> None:
        parsed = parse_binary(frame)
        if parsed is None:
            return
        event, meta, image = parsed
        if event == PREVIEW_IMAGE_WITH_METADATA:
            if meta.get("prompt_id") not in (None, self.prompt_id):
                return
            node = str(meta.get("node_id") or self.node or "")
        else:
            if not self.running:
                return
            node = self.node or ""
        self.last_event = time.monotonic()
        cls = (self.graph.get(node) or {}).get("class_type")
        if cls in WS_FINAL_NODES:
            self.ws_images.append(OutputImage(node=node, data=image, kind="websocket"))
            return
        self._report(Progress(step=self.step, total=self.total, preview=image))

    def _report(self, p: Progress) -> None:
        try:
            self.on_progress(p)
        except Exception:  # a UI callback must not break the job
            log.exception("progress callback failed")

    # ------------------------------------------------------------- outputs
    async def _collect(self, history: dict[str, Any] | None) -> list[OutputImage]:
        if history is None:
            try:
                history = await self.c.history(self.prompt_id)
            except BackendError:
                history = None
        if history is not None:
            self._check_history_status(history)
        outputs = (history or {}).get("outputs") or self.executed
        refs: list[tuple[str, dict[str, Any]]] = []
        for node, out in sorted(outputs.items(), key=lambda kv: _node_key(kv[0])):
            for img in (out or {}).get("images") or []:
                if isinstance(img, dict) and img.get("filename"):
                    refs.append((str(node), img))
        saved = [r for r in refs if r[1].get("type", "output") == "output"]
        chosen = saved or ([] if self.ws_images else refs)
        images = [
            OutputImage(node=node, data=await self.c.view(str(img["filename"]), str(img.get("subfolder") or ""),
                                                          str(img.get("type") or "output")),
                        filename=str(img["filename"]), kind=str(img.get("type") or "output"))
            for node, img in chosen
        ]
        return images + self.ws_images


def _node_key(node_id: str) -> tuple[int, int, str]:
    return (0, int(node_id), "") if node_id.isdigit() else (1, 0, node_id)

