"""The NovelAI HTTP client (httpx): generate (stream, ZIP fallback), encode-vibe, subscription.

Rules from specs/nai-api.md §1, §2, §8, §9:

- explicit ``User-Agent``, ``Authorization: Bearer <token>``, JSON bodies, everything on the
  image host (``/user/subscription`` too);
- prefer ``/ai/generate-image-stream`` with ``parameters.stream = "msgpack"``, parsing frames as
  they arrive and reporting step progress with the JPEG preview; fall back to
  ``/ai/generate-image`` (ZIP) when the stream endpoint is missing or a stream breaks;
- one request in flight per token in the whole process (:mod:`.gate`);
- 429 "Concurrent generation is locked" → back off (3 s, 6 s, 12 s …, capped) and retry, saying
  "account busy" through the progress callback; 5xx and network errors → a few retries;
  400/401/402/413 → no retry, a clear :class:`BackendError`;
- cancellable through a :class:`CancelToken` or by cancelling the task;
- one ``httpx.AsyncClient`` per event loop, kept between calls (TLS set up once, connections
  kept alive); ``await client.aclose()`` (or ``async with client``) closes the current loop's;
- the token never appears in an error, a log line or a repr.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import string
import threading
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from ... import __version__
from ..backend import BackendError, CancelToken, GenerationCancelled, Progress, ProgressCallback
from ..config import Secret
from .gate import gate_for
from .responses import Frame, FrameReader, ResponseError, error_message, finals_in_order, unpack_images

log = logging.getLogger(__name__)
T = TypeVar("T")

USER_AGENT = f"PeroPix-TUI/{__version__}"
GENERATE = "/ai/generate-image"
STREAM = "/ai/generate-image-stream"
ENCODE_VIBE = "/ai/encode-vibe"
SUBSCRIPTION = "/user/subscription"
_NOT_FRAMES = (b"PK", b"\x89PNG", b"<", b"{")


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait and how often to retry. Tests shrink the delays."""

    busy_base: float = 3.0
    """First wait after 429 "Concurrent generation is locked"; doubles each time."""
    busy_cap: float = 30.0
    busy_tries: int = 20
    error_base: float = 2.0
    """First wait after a 5xx or network error; doubles each time."""
    error_tries: int = 3
    """Attempts in all for 5xx / network errors."""
    cancel_poll: float = 0.05

    def busy_delay(self, attempt: int) -> float:
        factor: float = 2 ** (attempt - 1)
        return min(self.busy_base * factor, self.busy_cap)


@dataclass
class Subscription:
    """``GET /user/subscription``: tier (0 Paper … 3 Opus), active, Anlas = fixed + purchased."""

    tier: int
    active: bool
    anlas: int
    fixed: int
    purchased: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    usage_negative: bool = False
    """``usage.isNegative``: the Opus allowance for V5 is used up (no free V5 images)."""

    @classmethod
    def from_json(cls, data: Any) -> Subscription:
        if not isinstance(data, dict):
            raise BackendError("NovelAI subscription answer is not a JSON object")
        steps = data.get("trainingStepsLeft")
        if isinstance(steps, dict):
            fixed = int(steps.get("fixedTrainingStepsLeft") or 0)
            purchased = int(steps.get("purchasedTrainingSteps") or 0)
        else:  # an older API answered a bare number
            fixed, purchased = int(steps or 0), 0
        usage = data.get("usage")
        negative = bool(usage.get("isNegative")) if isinstance(usage, dict) else False
        return cls(tier=int(data.get("tier") or 0), active=bool(data.get("active")),
                   anlas=fixed + purchased, fixed=fixed, purchased=purchased, raw=data, usage_negative=negative)


class _Busy(Exception):
    """429: the account is generating elsewhere."""


class _Transient(Exception):
    """A failure worth a retry (5xx, network, damaged body). ``broken_stream``: retry via ZIP."""

    def __init__(self, error: BackendError, *, broken_stream: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.broken_stream = broken_stream


class _NoStream(Exception):
    """The stream endpoint is not available here; use the ZIP endpoint."""


def status_error(status: int, body: bytes) -> BackendError:
    """The user-facing error for a non-2xx answer that is not retried."""
    detail = error_message(body)
    if status == 401:
        return BackendError("NovelAI token rejected (401): set a valid persistent token (PEROPIX_NAI_TOKEN "
                            "or the token file)", status=401)
    if status == 402:
        return BackendError(f"not enough Anlas, or no active subscription (402): {detail}", status=402)
    if status == 413:
        return BackendError("inputs too large (413): downscale the base image, vibe or reference images "
                            "(e.g. to 1024x1024 or less) and try again", status=413)
    if status == 400:
        return BackendError(f"NovelAI refused the request (400): {detail}", status=400)
    return BackendError(f"NovelAI error {status}: {detail}", status=status, retryable=status >= 500)


class LoopClients:
    """One ``httpx.AsyncClient`` per event loop, made on first use and kept.

    An httpx client belongs to the loop that opened its connections, and the app calls from its
    own loop and from worker threads with their own loops; so clients are keyed by the running
    loop (weakly: a loop that is gone takes its client with it). A loop that was closed without
    :meth:`aclose` leaves a client that cannot be closed any more; it is dropped on the next call.
    """

    def __init__(self, make: Callable[[], httpx.AsyncClient]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> httpx.AsyncClient:
        """The running loop's client (a new one if it has none or it was closed)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            for old in [lp for lp in self._clients if lp.is_closed()]:
                del self._clients[old]
            http = self._clients.get(loop)
            if http is None or http.is_closed:
                http = self._clients[loop] = self._make()
            return http

    async def aclose(self) -> None:
        """Close the running loop's client (the next call opens a fresh one)."""
        with self._lock:
            http = self._clients.pop(asyncio.get_running_loop(), None)
        if http is not None:
            await http.aclose()

    def __len__(self) -> int:
        with self._lock:
            return len(self._clients)


def _ignore(_: Progress) -> None:
    return None


class NaiClient:
    """Async NovelAI client. Safe to use from several threads / event loops at once."""

    def __init__(self, base_url: str, token: Secret, *, timeout: float = 180.0, connect_timeout: float = 10.0,
                 user_agent: str = USER_AGENT, stream: bool = True, retry: RetryPolicy | None = None) -> None:
        if not token:
            raise BackendError("no NovelAI token: set PEROPIX_NAI_TOKEN or save one in the settings")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = httpx.Timeout(connect=connect_timeout, read=timeout, write=60.0, pool=10.0)
        self.user_agent = user_agent
        self.stream = stream
        self.retry = retry or RetryPolicy()
        self.clients = LoopClients(lambda: httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout))

    def __repr__(self) -> str:
        return f"NaiClient(base_url={self.base_url!r}, token=********)"

    async def aclose(self) -> None:
        """Close this loop's connections; the client stays usable (it reconnects on the next call)."""
        await self.clients.aclose()

    async def __aenter__(self) -> NaiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------ public API
    async def generate(self, body: dict[str, Any], on_progress: ProgressCallback | None = None,
                       cancel: CancelToken | None = None) -> list[bytes]:
        """Send one generation; return the images (PNG/WebP bytes) in sample order."""
        report = on_progress or _ignore
        total = _total_steps(body)
        use_stream = self.stream

        async def attempt(http: httpx.AsyncClient) -> list[bytes]:
            nonlocal use_stream
            if use_stream:
                try:
                    return await self._stream_once(http, body, report, total)
                except _NoStream:
                    use_stream = False
                except _Transient as e:
                    use_stream = not e.broken_stream  # a broken stream is retried on the ZIP endpoint
                    raise
            return unpack_or_raise(await self._post(http, GENERATE, body))

        return await self._call(attempt, cancel, report, total)

    async def encode_vibe(self, image_b64: str, information_extracted: float, model: str,
                          cancel: CancelToken | None = None) -> bytes:
        """``/ai/encode-vibe``: the raw (binary) vibe encoding. Costs 2 Anlas."""
        info: float | int = int(information_extracted) if information_extracted in (0, 1) else information_extracted
        payload = {"image": image_b64, "information_extracted": info, "model": model}

        async def attempt(http: httpx.AsyncClient) -> bytes:
            data = await self._post(http, ENCODE_VIBE, payload)
            if not data or data[:1] in (b"{", b"<"):
                raise BackendError(f"NovelAI encode-vibe answered no encoding: {error_message(data)}")
            return data

        return await self._call(attempt, cancel)

    async def subscription(self, cancel: CancelToken | None = None) -> Subscription:
        """Tier, active flag and Anlas balance, from the image host."""

        async def attempt(http: httpx.AsyncClient) -> Subscription:
            resp = await self._send(http, "GET", SUBSCRIPTION, None)
            try:
                return Subscription.from_json(resp.json())
            except ValueError:
                raise BackendError(f"NovelAI subscription answer is not JSON: {error_message(resp.content)}") from None

        return await self._call(attempt, cancel)

    # ------------------------------------------------------------- plumbing
    def _headers(self, accept: str = "*/*") -> dict[str, str]:
        """Auth, an explicit User-Agent, and a fresh ``x-correlation-id`` for support reports (spec §1)."""
        return {"Authorization": f"Bearer {self._token.get()}", "User-Agent": self.user_agent, "Accept": accept,
                "x-correlation-id": correlation_id()}

    async def _call(self, attempt: Callable[[httpx.AsyncClient], Awaitable[T]], cancel: CancelToken | None,
                    report: ProgressCallback = _ignore, total: int = 0) -> T:
        """Hold this token's gate and run ``attempt`` with retries on the running loop's httpx
        client; cancellable by ``cancel`` or by cancelling the task."""

        async def gated() -> T:
            async with gate_for(self._token.get()).hold():
                http = self.clients.get()
                return await self._with_retries(lambda: attempt(http), report, total)

        return await _cancellable(gated(), cancel or CancelToken(), self.retry.cancel_poll)

    async def _with_retries(self, once: Callable[[], Awaitable[T]], report: ProgressCallback, total: int) -> T:
        busy = errors = 0
        while True:
            try:
                return await once()
            except _Busy:
                busy += 1
                if busy >= self.retry.busy_tries:
                    raise BackendError(f"account busy: another generation kept running; gave up after {busy} "
                                       "tries", status=429, retryable=True) from None
                delay = self.retry.busy_delay(busy)
                report(Progress(0, total, message=f"account busy (another generation running); "
                                                  f"retrying in {delay:g} s"))
                log.info("NovelAI 429 (account busy); retry %d in %.1f s", busy, delay)
                await asyncio.sleep(delay)
            except _Transient as e:
                errors += 1
                if errors >= self.retry.error_tries:
                    raise e.error from None
                delay = self.retry.error_base * 2 ** (errors - 1)
                report(Progress(0, total, message=f"{e.error}; retrying in {delay:g} s"))
                log.info("NovelAI transient failure (%s); retry %d in %.1f s", e.error, errors, delay)
                await asyncio.sleep(delay)

    async def _send(self, http: httpx.AsyncClient, method: str, path: str, payload: Any) -> httpx.Response:
        """One request; non-2xx answers become _Busy / _Transient / BackendError."""
        try:
            headers = self._headers()
            resp = await http.request(method, path, json=payload, headers=headers)
        except httpx.TimeoutException as e:
            raise _timeout_error(e, self.timeout) from None
        except httpx.TransportError as e:
            raise _Transient(_network_error(e)) from None
        _check_status(resp.status_code, resp.content, headers["x-correlation-id"])
        return resp

    async def _post(self, http: httpx.AsyncClient, path: str, payload: Any) -> bytes:
        return (await self._send(http, "POST", path, payload)).content

    async def _stream_once(self, http: httpx.AsyncClient, body: dict[str, Any], report: ProgressCallback,
                           total: int) -> list[bytes]:
        payload = {**body, "parameters": {**body["parameters"], "stream": "msgpack"}}
        try:
            headers = self._headers("application/x-msgpack")
            async with http.stream("POST", STREAM, json=payload, headers=headers) as resp:
                if resp.status_code in (404, 405, 501):
                    raise _NoStream()
                if not 200 <= resp.status_code < 300:
                    _check_status(resp.status_code, await resp.aread(), headers["x-correlation-id"])
                return await _read_frames(resp, report, total, int(body["parameters"].get("n_samples") or 1))
        except httpx.TimeoutException as e:
            raise _timeout_error(e, self.timeout) from None
        except httpx.TransportError as e:
            raise _Transient(_network_error(e), broken_stream=True) from None


def _total_steps(body: dict[str, Any]) -> int:
    params = body.get("parameters", {})
    steps = int(params.get("steps") or 0)
    if body.get("action") == "img2img":
        return max(1, math.ceil(steps * float(params.get("strength") or 1.0)))
    return steps


def _check_status(status: int, content: bytes, correlation: str) -> None:
    if 200 <= status < 300:
        return
    if status == 429 or (status == 409 and "concurrent" in error_message(content).lower()):
        raise _Busy()
    error = status_error(status, content)
    if status >= 500:
        error = BackendError(f"{error} (correlation id {correlation})", status=status, retryable=True)
        raise _Transient(error)
    raise error


def correlation_id() -> str:
    """Six random alphanumerics, as NovelAI's ``x-correlation-id`` expects."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(6))


def unpack_or_raise(content: bytes) -> list[bytes]:
    try:
        return unpack_images(content)
    except ResponseError as e:
        error = BackendError(str(e), retryable=e.transient)
        if e.transient:
            raise _Transient(error) from None
        raise error from None


async def _read_frames(resp: httpx.Response, report: ProgressCallback, total: int, expected: int) -> list[bytes]:
    """Parse msgpack frames as they arrive; a ZIP, PNG or JSON answer here is decoded whole."""
    chunks = resp.aiter_bytes()
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= 8:
            break
    if head.startswith(_NOT_FRAMES):
        return unpack_or_raise(head + b"".join([c async for c in chunks]))
    reader = FrameReader()
    frames: list[Frame] = []

    def consume(data: bytes) -> None:
        for f in reader.feed(data):
            if f.kind == "error":
                raise BackendError(f"NovelAI stream error: {f.message or 'unknown'}", retryable=True)
            if f.kind == "intermediate":
                report(Progress(step=f.step + 1, total=total, sample=f.sample, preview=f.image))
            frames.append(f)

    try:
        consume(head)
        async for chunk in chunks:
            consume(chunk)
    except ResponseError as e:
        raise _Transient(BackendError(f"NovelAI stream is damaged: {e}", retryable=True),
                         broken_stream=True) from None
    images = finals_in_order(frames)
    if reader.pending or len(images) < expected:
        raise _Transient(BackendError("NovelAI stream ended before the final image", retryable=True),
                         broken_stream=True)
    return images


def _network_error(e: httpx.TransportError) -> BackendError:
    host = e.request.url.host if _has_request(e) else "NovelAI"
    error = BackendError(f"network error talking to NovelAI at {host} ({e.__class__.__name__})", retryable=True)
    # for a worker pool: a refused connection sent nothing; a reset after sending may have been billed
    error.network = "unsent" if isinstance(e, httpx.ConnectError) else "sent"
    return error


def _has_request(e: httpx.TransportError) -> bool:
    try:
        e.request  # noqa: B018 - raises RuntimeError when the error carries no request
    except RuntimeError:
        return False
    return True


def _timeout_error(e: httpx.TimeoutException, timeout: httpx.Timeout) -> BackendError:
    if isinstance(e, httpx.ConnectTimeout):
        error = BackendError(f"could not connect to NovelAI within {timeout.connect:g} s", retryable=True)
        error.network = "unsent"
        return error
    return BackendError(f"NovelAI did not answer within {timeout.read:g} s", retryable=True)


async def _cancellable(coro: Awaitable[T], cancel: CancelToken, poll: float) -> T:
    """Run ``coro`` as a task; cancel it when ``cancel`` fires (raising GenerationCancelled)."""
    task = asyncio.ensure_future(coro)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=poll)
            if done:
                return task.result()
            if cancel.cancelled:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                raise GenerationCancelled()
    except asyncio.CancelledError:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise
