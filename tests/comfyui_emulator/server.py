"""A ComfyUI server emulator on 127.0.0.1 (aiohttp, like ComfyUI itself), served from a background thread.

Routes (each also under ``/api``): ``POST/GET /prompt``, ``GET/POST /queue``, ``POST /interrupt``,
``GET/POST /history``, ``GET /history/{id}``, ``GET /view``, ``POST /upload/image``,
``POST /upload/mask``, ``GET /object_info[/{class}]``, ``GET /models[/{folder}]``,
``GET /embeddings``, ``GET /system_stats``, ``GET /features``, ``GET /ws`` (JSON events and binary
preview frames, type 1 or, after the feature-flag handshake, type 4).

Graphs are validated as ComfyUI does (:mod:`.validate`), queued on one heap ordered by
``(number, prompt_id)``, and run one at a time by a worker (:mod:`.execute` makes real PNGs with
``prompt`` / ``workflow`` chunks in a temporary output folder). Faults: :meth:`ComfyEmulator.inject`.
"""

from __future__ import annotations

import asyncio
import copy
import heapq
import json
import re
import shutil
import socket
import struct
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from PIL import Image

from .execute import Images, Latent, decode, png_bytes, preview_jpeg, scaled
from .nodes import NODES, object_info
from .validate import validate_prompt

VERSION = "0.3.66"
FAULTS = ("node_errors", "execution_error", "interrupt", "disconnect", "restart", "stall", "http_delay",
          "lost_answer", "bad_gateway")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Fault:
    kind: str
    times: int = 1
    at_step: int = 1
    seconds: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    time: float


@dataclass
class _Job:
    number: float
    prompt_id: str
    prompt: dict[str, Any]
    extra_data: dict[str, Any]
    outputs: list[str]

    def item(self) -> list[Any]:
        return [self.number, self.prompt_id, self.prompt, self.extra_data, self.outputs]


@dataclass
class _Socket:
    ws: web.WebSocketResponse
    flags: dict[str, Any] = field(default_factory=dict)


class _Interrupted(Exception):
    pass


class _Killed(Exception):
    """The emulated process died (restart): the job vanishes without a word."""


class ComfyEmulator:
    """One emulated server. ``url`` is its base URL."""

    def __init__(self, *, checkpoints: list[str] | None = None, loras: list[str] | None = None,
                 vaes: list[str] | None = None, step_delay: float = 0.0, previews: bool = True,
                 preview_metadata: bool = True) -> None:
        self.folders: dict[str, list[str]] = {
            "checkpoints": checkpoints if checkpoints is not None else
            ["sdxl/illustrious-xl-v1.safetensors", "noobai-vpred-1.0.safetensors"],
            "loras": loras if loras is not None else ["style/flat-color.safetensors", "detail-tweaker.safetensors"],
            "vae": vaes if vaes is not None else ["sdxl_vae.safetensors"],
            "embeddings": [],
            "upscale_models": [],
        }
        self.step_delay = step_delay
        self.previews = previews
        self.preview_metadata = preview_metadata
        """False: an older server that ignores the feature-flag handshake (type 1 frames only)."""
        self.root = Path(tempfile.mkdtemp(prefix="comfy-emu-"))
        for d in ("input", "output", "temp"):
            (self.root / d).mkdir()
        self.requests: list[Recorded] = []
        self.executed_prompts: list[str] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="comfy-emulator", daemon=True)
        self._ready = threading.Event()
        self.port = 0
        self._reset_state()

    def _reset_state(self) -> None:
        self._heap: list[tuple[float, str, _Job]] = []
        self._running: _Job | None = None
        self._history: dict[str, dict[str, Any]] = {}
        self._counter = 0
        self._interrupt = False
        self._last_graph: str | None = None
        self._last_outputs: dict[str, Any] = {}
        self._sockets: dict[str, _Socket] = {}
        self._current_node: str | None = None
        self._generation = getattr(self, "_generation", 0) + 1

    # -------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ComfyEmulator:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        fut.result(timeout=10)
        return self

    async def _start(self) -> None:
        self._app = web.Application(client_max_size=100 * 1024 * 1024)
        self._routes(self._app)
        self._runner = web.AppRunner(self._app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await self._listen()
        self._wake = asyncio.Event()
        self._worker = asyncio.create_task(self._work())

    async def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._site = web.SockSite(self._runner, sock)
        await self._site.start()

    def stop(self) -> None:
        async def _stop() -> None:
            self._worker.cancel()
            for s in list(self._sockets.values()):
                await s.ws.close()
            await self._runner.cleanup()

        try:
            asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ComfyEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ test control
    def inject(self, kind: str, *, times: int = 1, at_step: int = 1, seconds: float = 0.0) -> None:
        """Arm a fault for the next ``times`` prompts (or requests, for http_delay).

        node_errors: the next /prompt is rejected (400) with a KSampler sampler_name error;
        execution_error: the KSampler raises at ``at_step``; interrupt: someone else interrupts at
        ``at_step``; disconnect: every WebSocket is closed at ``at_step`` (the job goes on);
        restart: at ``at_step`` the process "dies": sockets closed, queue and history lost, nothing
        listening for ``seconds``, then an empty server on the same port; stall: the job freezes at
        ``at_step`` and sends nothing more; http_delay: HTTP answers wait ``seconds``; lost_answer:
        the next /prompt is queued but its connection is cut before the answer; bad_gateway: the
        next HTTP request gets a reverse proxy's 502 page.
        """
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self._faults.append(Fault(kind, times, at_step, seconds))

    def _take(self, kind: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.kind == kind and f.times > 0:
                    f.times -= 1
                    if f.times == 0:
                        self._faults.remove(f)
                    return f
        return None

    def calls(self, path: str | None = None, method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if (path is None or r.path == path) and
                    (method is None or r.method == method)]

    def queue_external(self, prompt: dict[str, Any], *, client_id: str | None = None) -> str:
        """Queue a prompt as another client would (returns its id)."""
        async def go() -> str:
            return self._enqueue(prompt, {"client_id": client_id} if client_id else {}, None, None, False)

        return asyncio.run_coroutine_threadsafe(go(), self._loop).result(timeout=10)

    def pending_ids(self) -> list[str]:
        return [pid for _, pid, _ in sorted(self._heap)]

    def running_id(self) -> str | None:
        return self._running.prompt_id if self._running else None

    # ------------------------------------------------------------------ routes
    def _routes(self, app: web.Application) -> None:
        table = [
            ("POST", "/prompt", self._post_prompt), ("GET", "/prompt", self._get_prompt),
            ("GET", "/queue", self._get_queue), ("POST", "/queue", self._post_queue),
            ("POST", "/interrupt", self._post_interrupt),
            ("GET", "/history", self._get_history), ("POST", "/history", self._post_history),
            ("GET", "/history/{prompt_id}", self._get_history_one),
            ("GET", "/view", self._view), ("POST", "/upload/image", self._upload_image),
            ("POST", "/upload/mask", self._upload_mask),
            ("GET", "/object_info", self._object_info), ("GET", "/object_info/{node_class}", self._object_info_one),
            ("GET", "/models", self._models), ("GET", "/models/{folder}", self._models_folder),
            ("GET", "/embeddings", self._embeddings), ("GET", "/system_stats", self._system_stats),
            ("GET", "/features", self._features), ("GET", "/ws", self._ws),
        ]
        for method, path, handler in table:
            app.router.add_route(method, path, self._wrap(handler))
            app.router.add_route(method, "/api" + path, self._wrap(handler))

    def _wrap(self, handler: Any) -> Any:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            body: Any = None
            if request.method == "POST" and request.content_type == "application/json":
                try:
                    body = await request.json()
                except json.JSONDecodeError:
                    body = "<invalid json>"
            path = request.path[4:] if request.path.startswith("/api/") else request.path
            with self._lock:
                self.requests.append(Recorded(request.method, path, body, time.monotonic()))
            if path != "/ws":
                delay = self._take("http_delay")
                if delay is not None:
                    await asyncio.sleep(delay.seconds)
                if self._take("bad_gateway") is not None:
                    return web.Response(status=502, text="<html>502 Bad Gateway</html>", content_type="text/html")
            result: web.StreamResponse = await handler(request, body)
            return result
        return wrapped

    def _queue_remaining(self) -> int:
        return len(self._heap) + (1 if self._running else 0)

    async def _post_prompt(self, request: web.Request, body: Any = None) -> web.Response:
        if not isinstance(body, dict) or "prompt" not in body:
            return web.json_response({"error": {"type": "no_prompt", "message": "No prompt provided", "details": "",
                                                "extra_info": {}}, "node_errors": {}}, status=400)
        prompt = body["prompt"]
        pid = body.get("prompt_id")
        if pid is not None:
            if not isinstance(pid, str) or not _UUID.match(pid):
                return web.json_response({"error": {"type": "invalid_prompt_id", "message": "Invalid prompt_id",
                                                    "details": str(pid), "extra_info": {}}, "node_errors": {}},
                                         status=400)
            known = pid in self._history or (self._running and self._running.prompt_id == pid) or \
                any(p == pid for _, p, _ in self._heap)
            if known:
                return web.json_response({"error": {"type": "duplicate_prompt_id",
                                                    "message": "prompt_id already exists", "details": pid,
                                                    "extra_info": {}}, "node_errors": {}}, status=409)
        if self._take("node_errors") is not None:
            ks = next((k for k, v in prompt.items() if isinstance(v, dict) and v.get("class_type") == "KSampler"), "0")
            node_errors = {ks: {"errors": [{"type": "value_not_in_list", "message": "Value not in list",
                                            "details": "sampler_name: 'euler' not in []",
                                            "extra_info": {"input_name": "sampler_name"}}],
                                "dependent_outputs": [], "class_type": "KSampler"}}
            return web.json_response({"error": {"type": "prompt_outputs_failed_validation",
                                                "message": "Prompt outputs failed validation", "details": "",
                                                "extra_info": {}}, "node_errors": node_errors}, status=400)
        ok, error, outputs, node_errors = validate_prompt(prompt, self._combo_folders(), self._input_exists)
        if not ok:
            return web.json_response({"error": error, "node_errors": node_errors}, status=400)
        extra = dict(body.get("extra_data") or {})
        if body.get("client_id"):
            extra["client_id"] = body["client_id"]
        number = body.get("number")
        pid = self._enqueue(prompt, extra, pid, number, bool(body.get("front")), outputs)
        if self._take("lost_answer") is not None and request.transport is not None:
            request.transport.abort()  # queued, but the answer never reaches the client
        return web.json_response({"prompt_id": pid, "number": self._counter, "node_errors": node_errors})

    def _enqueue(self, prompt: dict[str, Any], extra: dict[str, Any], pid: str | None, number: Any, front: bool,
                 outputs: list[str] | None = None) -> str:
        pid = pid or str(uuid.uuid4())
        self._counter += 1
        num = float(number) if isinstance(number, int | float) else (-self._counter if front else self._counter)
        extra.setdefault("create_time", int(time.time() * 1000))
        if outputs is None:
            outputs = [k for k, v in prompt.items() if NODES.get(v.get("class_type"), {}).get("output_node")]
        job = _Job(num, pid, prompt, extra, outputs)
        heapq.heappush(self._heap, (num, pid, job))
        self._wake.set()
        self._broadcast_status()
        return pid

    async def _get_prompt(self, request: web.Request, body: Any = None) -> web.Response:
        return web.json_response({"exec_info": {"queue_remaining": self._queue_remaining()}})

    async def _get_queue(self, request: web.Request, body: Any = None) -> web.Response:
        running = [self._running.item()] if self._running else []
        pending = [j.item() for _, _, j in self._heap]
        return web.json_response({"queue_running": running, "queue_pending": pending})

    async def _post_queue(self, request: web.Request, body: Any = None) -> web.Response:
        body = body or {}
        if body.get("clear"):
            self._heap = []
        for pid in body.get("delete") or []:
            self._heap = [e for e in self._heap if e[1] != pid]
        heapq.heapify(self._heap)
        self._broadcast_status()
        return web.Response(status=200)

    async def _post_interrupt(self, request: web.Request, body: Any = None) -> web.Response:
        body = body if isinstance(body, dict) else {}
        pid = body.get("prompt_id")
        if pid is None or (self._running is not None and self._running.prompt_id == pid):
            self._interrupt = True
        return web.Response(status=200)

    async def _get_history(self, request: web.Request, body: Any = None) -> web.Response:
        items = list(self._history.items())
        max_items = request.query.get("max_items")
        if max_items:
            items = items[-int(max_items):]
        return web.json_response(dict(items))

    async def _get_history_one(self, request: web.Request, body: Any = None) -> web.Response:
        pid = request.match_info["prompt_id"]
        return web.json_response({pid: self._history[pid]} if pid in self._history else {})

    async def _post_history(self, request: web.Request, body: Any = None) -> web.Response:
        body = body or {}
        if body.get("clear"):
            self._history.clear()
        for pid in body.get("delete") or []:
            self._history.pop(pid, None)
        return web.Response(status=200)

    def _folder_path(self, kind: str, subfolder: str, filename: str) -> Path | web.Response:
        if kind not in ("output", "input", "temp"):
            return web.Response(status=400)
        if filename.startswith("/") or ".." in filename or not filename:
            return web.Response(status=400)
        base = (self.root / kind).resolve()
        folder = (base / subfolder).resolve()
        if not folder.is_relative_to(base):
            return web.Response(status=403)
        return folder / filename

    async def _view(self, request: web.Request, body: Any = None) -> web.Response:
        q = request.query
        filename = q.get("filename", "")
        kind = q.get("type", "output")
        for suffix in ("output", "input", "temp"):
            if filename.endswith(f" [{suffix}]"):
                filename, kind = filename[: -len(suffix) - 3], suffix
        path = self._folder_path(kind, q.get("subfolder", ""), filename)
        if isinstance(path, web.Response):
            return path
        if not path.is_file():
            return web.Response(status=404)
        return web.Response(body=path.read_bytes(), content_type="image/png")

    async def _store_upload(self, request: web.Request, body: Any = None) -> tuple[dict[str, Any], Path] | web.Response:
        form = await request.post()
        image = form.get("image")
        if image is None or not isinstance(image, web.FileField) or not image.filename:
            return web.Response(status=400)
        kind = str(form.get("type") or "input")
        subfolder = str(form.get("subfolder") or "")
        overwrite = str(form.get("overwrite") or "").lower() in ("true", "1")
        path = self._folder_path(kind, subfolder, Path(image.filename).name)
        if isinstance(path, web.Response):
            return path
        data = image.file.read()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and not overwrite and path.read_bytes() != data:
            stem, ext, n = path.stem, path.suffix, 1
            while (path.parent / f"{stem} ({n}){ext}").exists():
                n += 1
            path = path.parent / f"{stem} ({n}){ext}"
        path.write_bytes(data)
        with self._lock:
            self.requests[-1].body = {"filename": path.name, "subfolder": subfolder, "bytes": len(data)}
        return {"name": path.name, "subfolder": subfolder, "type": kind}, path

    async def _upload_image(self, request: web.Request, body: Any = None) -> web.Response:
        result = await self._store_upload(request)
        if isinstance(result, web.Response):
            return result
        return web.json_response(result[0])

    async def _upload_mask(self, request: web.Request, body: Any = None) -> web.Response:
        """The original image (``original_ref``) with the uploaded image's alpha, under the uploaded name."""
        form = await request.post()
        try:
            ref = json.loads(str(form.get("original_ref") or ""))
        except json.JSONDecodeError:
            return web.Response(status=400)
        result = await self._store_upload(request)
        if isinstance(result, web.Response):
            return result
        answer, path = result
        original = self._folder_path(str(ref.get("type") or "output"), str(ref.get("subfolder") or ""),
                                     str(ref.get("filename") or ""))
        if isinstance(original, web.Response) or not original.is_file():
            return web.Response(status=404)
        with Image.open(original) as orig, Image.open(path) as mask:
            merged = orig.convert("RGBA")
            merged.putalpha(mask.convert("RGBA").getchannel("A").resize(merged.size))
            info = {k: v for k, v in orig.info.items() if isinstance(v, str)}
        from PIL.PngImagePlugin import PngInfo

        chunks = PngInfo()
        for k, v in info.items():
            chunks.add_text(str(k), v)
        merged.save(path, format="PNG", pnginfo=chunks)
        return web.json_response(answer)

    def _combo_folders(self) -> dict[str, list[str]]:
        return {**self.folders, "input": self._input_files()}

    def _input_files(self) -> list[str]:
        base = self.root / "input"
        return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())

    def _input_exists(self, name: str) -> bool:
        path = self._folder_path("input", "", name)
        return isinstance(path, Path) and path.is_file()

    async def _object_info(self, request: web.Request, body: Any = None) -> web.Response:
        folders = self._combo_folders()
        return web.json_response({cls: object_info(cls, folders) for cls in NODES})

    async def _object_info_one(self, request: web.Request, body: Any = None) -> web.Response:
        cls = request.match_info["node_class"]
        if cls not in NODES:
            return web.json_response({})
        return web.json_response({cls: object_info(cls, self._combo_folders())})

    async def _models(self, request: web.Request, body: Any = None) -> web.Response:
        return web.json_response(sorted(self.folders))

    async def _models_folder(self, request: web.Request, body: Any = None) -> web.Response:
        folder = request.match_info["folder"]
        if folder not in self.folders:
            return web.Response(status=404)
        return web.json_response(self.folders[folder])

    async def _embeddings(self, request: web.Request, body: Any = None) -> web.Response:
        return web.json_response([Path(e).stem for e in self.folders["embeddings"]])

    async def _system_stats(self, request: web.Request, body: Any = None) -> web.Response:
        return web.json_response({
            "system": {"os": "posix", "ram_total": 1 << 34, "ram_free": 1 << 33, "comfyui_version": VERSION,
                       "python_version": "3.12.0", "pytorch_version": "emulated", "embedded_python": False,
                       "argv": ["main.py", "--port", str(self.port)]},
            "devices": [{"name": "emulated", "type": "cpu", "index": 0, "vram_total": 0, "vram_free": 0,
                         "torch_vram_total": 0, "torch_vram_free": 0}],
        })

    def _flags(self) -> dict[str, Any]:
        return {"supports_preview_metadata": True, "max_upload_size": 100 * 1024 * 1024}

    async def _features(self, request: web.Request, body: Any = None) -> web.Response:
        return web.json_response(self._flags())

    # --------------------------------------------------------------- websocket
    async def _ws(self, request: web.Request, body: Any = None) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        sid = request.query.get("clientId") or uuid.uuid4().hex
        sock = _Socket(ws)
        self._sockets[sid] = sock
        try:
            await ws.send_json({"type": "status", "data": {"status": {"exec_info": {
                "queue_remaining": self._queue_remaining()}}, "sid": sid}})
            if self._running and self._running.extra_data.get("client_id") == sid and self._current_node:
                await ws.send_json({"type": "executing", "data": {"node": self._current_node,
                                                                  "display_node": self._current_node,
                                                                  "prompt_id": self._running.prompt_id}})
            first = True
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and first:
                    first = False
                    try:
                        data = json.loads(msg.data)
                    except json.JSONDecodeError:
                        continue
                    if isinstance(data, dict) and data.get("type") == "feature_flags" and self.preview_metadata:
                        sock.flags = dict(data.get("data") or {})
                        await ws.send_json({"type": "feature_flags", "data": self._flags()})
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            if self._sockets.get(sid) is sock:
                del self._sockets[sid]
        return ws

    async def _send(self, sid: str | None, kind: str, data: dict[str, Any]) -> None:
        targets = [self._sockets[sid]] if sid in self._sockets else [] if sid else list(self._sockets.values())
        for s in targets:
            try:
                await s.ws.send_json({"type": kind, "data": data})
            except (ConnectionResetError, RuntimeError):
                pass

    async def _send_preview(self, sid: str | None, job: _Job, node: str, image: bytes, *, png: bool = False) -> None:
        targets = [self._sockets[sid]] if sid in self._sockets else [] if sid else list(self._sockets.values())
        for s in targets:
            if s.flags.get("supports_preview_metadata") is True:
                meta = json.dumps({"node_id": node, "prompt_id": job.prompt_id, "display_node_id": node,
                                   "parent_node_id": None, "real_node_id": node,
                                   "image_type": "image/png" if png else "image/jpeg"}).encode()
                frame = struct.pack(">II", 4, len(meta)) + meta + image
            else:
                frame = struct.pack(">II", 1, 2 if png else 1) + image
            try:
                await s.ws.send_bytes(frame)
            except (ConnectionResetError, RuntimeError):
                pass

    def _broadcast_status(self) -> None:
        if hasattr(self, "_wake"):
            asyncio.ensure_future(self._send(None, "status", {"status": {"exec_info": {
                "queue_remaining": self._queue_remaining()}}}))

    async def _close_sockets(self) -> None:
        for s in list(self._sockets.values()):
            await s.ws.close()
        self._sockets.clear()

    # ------------------------------------------------------------------ worker
    async def _work(self) -> None:
        while True:
            while not self._heap:
                self._wake.clear()
                await self._wake.wait()
            _, _, job = heapq.heappop(self._heap)
            self._running = job
            generation = self._generation
            try:
                await self._run(job)
            except _Killed:
                pass
            finally:
                if self._generation == generation:
                    self._running = None
                    self._current_node = None
                    self._broadcast_status()

    async def _run(self, job: _Job) -> None:
        sid = job.extra_data.get("client_id")
        self._interrupt = False
        messages: list[list[Any]] = []
        pid = job.prompt_id

        async def event(kind: str, data: dict[str, Any], *, record: bool = False) -> None:
            data = {**data, "prompt_id": pid}
            if record:
                data["timestamp"] = int(time.time() * 1000)
                messages.append([kind, data])
            if sid is None and kind in ("executing", "executed"):
                return
            await self._send(sid, kind, data)

        self.executed_prompts.append(pid)
        await event("execution_start", {}, record=True)
        graph_key = json.dumps(job.prompt, sort_keys=True)
        order = self._order(job.prompt, job.outputs)
        outputs: dict[str, Any] = {}
        if graph_key == self._last_graph:
            await event("execution_cached", {"nodes": order}, record=True)
            outputs = copy.deepcopy(self._last_outputs)
            for node, out in outputs.items():
                await event("executed", {"node": node, "display_node": node, "output": out})
            await self._finish(job, outputs, messages, "success", event)
            return
        await event("execution_cached", {"nodes": []}, record=True)
        values: dict[str, list[Any]] = {}
        executed: list[str] = []
        try:
            for node in order:
                self._current_node = node
                await event("executing", {"node": node, "display_node": node})
                values[node] = await self._eval(job, node, values, event, sid)
                executed.append(node)
                ui = values[node][-1] if NODES[job.prompt[node]["class_type"]]["output_node"] else None
                if ui:
                    outputs[node] = ui
                    await event("executed", {"node": node, "display_node": node, "output": ui})
                if self._interrupt:
                    raise _Interrupted()
        except _Interrupted:
            node = self._current_node or ""
            await event("execution_interrupted", {"node_id": node, "node_type": job.prompt[node]["class_type"],
                                                  "executed": executed}, record=True)
            await self._finish(job, outputs, messages, "error", event)
            return
        except _ExecError as e:
            node = self._current_node or ""
            await event("execution_error", {"node_id": node, "node_type": job.prompt[node]["class_type"],
                                            "executed": executed, "exception_message": e.message,
                                            "exception_type": e.kind, "traceback": ["Traceback (emulated)"],
                                            "current_inputs": {}, "current_outputs": {}}, record=True)
            await self._finish(job, outputs, messages, "error", event)
            return
        self._last_graph, self._last_outputs = graph_key, copy.deepcopy(outputs)
        await self._finish(job, outputs, messages, "success", event)

    async def _finish(self, job: _Job, outputs: dict[str, Any], messages: list[list[Any]], status: str,
                      event: Any) -> None:
        if status == "success":
            await event("execution_success", {}, record=True)
        self._history[job.prompt_id] = {
            "prompt": job.item(), "outputs": outputs,
            "status": {"status_str": status, "completed": status == "success", "messages": messages},
            "meta": {n: {"node_id": n, "display_node": n, "parent_node": None, "real_node_id": n} for n in outputs},
        }
        self._running = None
        self._current_node = None
        self._broadcast_status()
        await event("executing", {"node": None})

    @staticmethod
    def _order(prompt: dict[str, Any], outputs: list[str]) -> list[str]:
        order: list[str] = []
        seen: set[str] = set()

        def visit(n: str) -> None:
            if n in seen:
                return
            seen.add(n)
            for v in (prompt[n].get("inputs") or {}).values():
                if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
                    visit(v[0])
            order.append(n)

        for o in sorted(outputs, key=lambda x: (len(x), x)):
            visit(o)
        return order

    async def _restart(self, seconds: float) -> None:
        """The process dies and comes back empty on the same port after ``seconds``."""
        await self._close_sockets()
        await self._site.stop()
        self._reset_state()
        await asyncio.sleep(seconds)
        shutil.rmtree(self.root / "temp", ignore_errors=True)
        (self.root / "temp").mkdir()
        await self._listen()

    async def _eval(self, job: _Job, node: str, values: dict[str, list[Any]], event: Any,
                    sid: str | None) -> list[Any]:
        spec = job.prompt[node]
        cls = spec["class_type"]
        raw = spec.get("inputs") or {}

        def get(name: str, default: Any = None) -> Any:
            v = raw.get(name, default)
            if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str):
                return values[v[0]][v[1]]
            return v

        if cls == "CheckpointLoaderSimple":
            ck = get("ckpt_name")
            return [f"model:{ck}", f"clip:{ck}", f"vae:{ck}"]
        if cls == "VAELoader":
            return [f"vae:{get('vae_name')}"]
        if cls == "LoraLoader":
            tag = f"+{get('lora_name')}@{get('strength_model')}"
            return [get("model") + tag, get("clip") + tag]
        if cls == "CLIPSetLastLayer":
            return [f"{get('clip')}@skip{get('stop_at_clip_layer')}"]
        if cls == "ModelSamplingDiscrete":
            return [f"{get('model')}~{get('sampling')}{'-zsnr' if get('zsnr') else ''}"]
        if cls == "RescaleCFG":
            return [f"{get('model')}~rescale{get('multiplier')}"]
        if cls == "CLIPTextEncode":
            return [f"{get('clip')}:{get('text')}"]
        if cls == "EmptyLatentImage":
            return [Latent(int(get("width")), int(get("height")), int(get("batch_size")))]
        if cls == "RepeatLatentBatch":
            lat: Latent = get("samples")
            return [Latent(lat.width, lat.height, lat.batch * int(get("amount")), lat.base, lat.recipe,
                           lat.noise_mask)]
        if cls in ("LoadImage", "LoadImageMask"):
            path = self.root / "input" / str(get("image"))
            with Image.open(path) as im:
                im.load()
                img = im.convert("RGB")
            return [Images([img]), "mask"] if cls == "LoadImage" else ["mask"]
        if cls in ("VAEEncode", "VAEEncodeForInpaint"):
            px: Images = get("pixels")
            w, h = px.frames[0].size
            return [Latent(w // 8 * 8, h // 8 * 8, len(px.frames), base=px.frames,
                           noise_mask=cls == "VAEEncodeForInpaint")]
        if cls == "SetLatentNoiseMask":
            lat = get("samples")
            return [Latent(lat.width, lat.height, lat.batch, lat.base, lat.recipe, True)]
        if cls == "LatentUpscaleBy":
            lat = get("samples")
            f = float(get("scale_by"))
            return [scaled(lat, round(lat.width * f / 8) * 8, round(lat.height * f / 8) * 8)]
        if cls == "LatentUpscale":
            lat = get("samples")
            return [scaled(lat, int(get("width")), int(get("height")))]
        if cls == "ImageScale":
            px = get("image")
            w, h = int(get("width")), int(get("height"))
            fw, fh = px.frames[0].size
            w = w or round(fw * h / fh)
            h = h or round(fh * w / fw)
            return [Images([f.resize((w, h)) for f in px.frames])]
        if cls in ("KSampler", "KSamplerAdvanced"):
            return [await self._sample(job, node, get, event, sid)]
        if cls == "VAEDecode":
            return [decode(get("samples"))]
        if cls in ("SaveImage", "PreviewImage"):
            return [self._save(job, cls, get("images"), str(get("filename_prefix", "ComfyUI")))]
        if cls == "SaveImageWebsocket":
            for frame in get("images").frames:
                await self._send_preview(sid, job, node, png_bytes(frame, None, None), png=True)
            return [None]
        raise _ExecError("RuntimeError", f"emulator cannot run {cls}")

    async def _sample(self, job: _Job, node: str, get: Any, event: Any, sid: str | None) -> Latent:
        lat: Latent = get("latent_image")
        steps = int(get("steps"))
        seed = get("seed") if "seed" in (job.prompt[node].get("inputs") or {}) else get("noise_seed")
        denoise = float(get("denoise", 1.0))
        recipe = "|".join(str(x) for x in (seed, steps, get("cfg"), get("sampler_name"), get("scheduler"),
                                            get("model"), get("positive"), get("negative"), lat.recipe, denoise))
        key = f"{job.prompt_id}/{node}"
        faults = {k: self._take(k) for k in ("execution_error", "interrupt", "disconnect", "restart", "stall")}
        for step in range(1, steps + 1):
            if self._interrupt:
                raise _Interrupted()
            if self.step_delay:
                await asyncio.sleep(self.step_delay)
            for kind, f in faults.items():
                if f is None or f.at_step != step:
                    continue
                if kind == "execution_error":
                    raise _ExecError("torch.OutOfMemoryError", "Allocation on device 0 would exceed allowed memory.\n"
                                                               "(emulated)")
                if kind == "interrupt":
                    self._interrupt = True
                    raise _Interrupted()
                if kind == "disconnect":
                    await self._close_sockets()
                if kind == "restart":
                    asyncio.ensure_future(self._restart(f.seconds))
                    raise _Killed()
                if kind == "stall":
                    while not self._interrupt:
                        await asyncio.sleep(0.05)
                    raise _Interrupted()
            await event("progress", {"value": step, "max": steps, "node": node})
            if self.previews:
                await self._send_preview(sid, job, node, preview_jpeg(key, step))
        return Latent(lat.width, lat.height, lat.batch, lat.base, recipe, lat.noise_mask)

    def _save(self, job: _Job, cls: str, images: Images, prefix: str) -> dict[str, Any]:
        temp = cls == "PreviewImage"
        kind = "temp" if temp else "output"
        if temp:
            prefix = "_temp_" + uuid.uuid4().hex[:5]
        w, h = images.frames[0].size
        prefix = prefix.replace("%width%", str(w)).replace("%height%", str(h))
        sub, _, stem = prefix.rpartition("/")
        folder = self.root / kind / sub
        folder.mkdir(parents=True, exist_ok=True)
        pat = re.compile(re.escape(stem) + r"_(\d{5})_")
        counter = 1 + max((int(m.group(1)) for p in folder.iterdir() if (m := pat.match(p.name))), default=0)
        out = []
        extra = job.extra_data.get("extra_pnginfo")
        for frame in images.frames:
            name = f"{stem}_{counter:05}_.png"
            (folder / name).write_bytes(png_bytes(frame, job.prompt, extra if isinstance(extra, dict) else None))
            out.append({"filename": name, "subfolder": sub, "type": kind})
            counter += 1
        return {"images": out}


class _ExecError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
