"""The NovelAI HTTP client (httpx): generate (stream, ZIP fallback), encode-vibe, subscription.

Rules from specs/nai-api.md §1, §2, §8, §9:

- explicit ``User-Agent``, ``Authorization: Bearer <token>``, JSON bodies, everything on the
  image host (``/user/subscription`` too);
- prefer ``/ai/generate-image-stream`` with ``parameters.stream = "msgpack"``, parsing frames as
  they arrive and reporting step progress with the JPEG preview; fall back to
  ``/ai/generate-image`` (ZIP) when the stream endpoint is missing or a stream breaks;
- one request in flight per token in the whole process (:mod:`.gate`);
- 429 "Concurrent generation is locked" → back off (3 s, 6 s, 12 s …, capped) and retry, saying
  "account busy" through the progress callback; 5xx before a body, connection refused, a request
  not fully sent → a few retries; 400/401/402/413 → no retry, a clear :class:`BackendError`;
- NovelAI bills when it generates, not when the client reads: once a request was sent, a reset,
  a cut-off or damaged body, or a stall is never retried automatically (unless the request is
  free, ``generate(free=True)``); it fails with a one-line, retryable :class:`BackendError` saying
  "... (the image may have been charged)", and the user retries (the queue's ``r``);
- ``timeout`` bounds each whole answer (headers and body); on the stream, each complete frame
  must come within ``timeout`` of the previous one (of the request, for the first);
- bodies over :data:`MAX_REQUEST` are refused before sending ("inputs too large");
- cancellable through a :class:`CancelToken` or by cancelling the task;
- one ``httpx.AsyncClient`` per event loop, kept between calls (TLS set up once, connections
  kept alive); ``await client.aclose()`` (or ``async with client``) closes the current loop's;
- the token never appears in an error, a log line or a repr.
"""

from __future__ import annotations

import asyncio
import json
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
from ...i18n import N_, _
from ..backend import BackendError, CancelToken, GenerationCancelled, Progress, ProgressCallback
from ..config import Secret, url_problem
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
        return min(self.busy_base * 2.0 ** (attempt - 1), self.busy_cap)


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
            raise BackendError(_("NovelAI subscription answer is not a JSON object"))
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


def parse_subscription(content: bytes) -> Subscription:
    """``/user/subscription``'s body as a :class:`Subscription`; anything unusable is a BackendError."""
    try:
        return Subscription.from_json(json.loads(content))
    except (ValueError, TypeError, RecursionError, OverflowError, AttributeError):
        raise BackendError(_("NovelAI subscription answer is not usable JSON: {detail}")
                           .format(detail=error_message(content))) from None


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
        return BackendError(_("NovelAI token rejected (401): set a valid persistent token (PEROPIX_NAI_TOKEN "
                              "or the token file)"), status=401)
    if status == 402:
        return BackendError(_("not enough Anlas, or no active subscription (402): {detail}").format(detail=detail),
                            status=402)
    if status == 413:
        return BackendError(_("inputs too large (413): downscale the base image, vibe or reference images "
                              "(e.g. to 1024x1024 or less) and try again"), status=413)
    if status == 400:
        return BackendError(_("NovelAI refused the request (400): {detail}").format(detail=detail), status=400)
    return BackendError(_("NovelAI error {status}: {detail}").format(status=status, detail=detail), status=status,
                        retryable=status >= 500)


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


def _ignore(_progress: Progress) -> None:
    return None


class NaiClient:
    """Async NovelAI client. Safe to use from several threads / event loops at once."""

    def __init__(self, base_url: str, token: Secret, *, timeout: float = 180.0, connect_timeout: float = 10.0,
                 user_agent: str = USER_AGENT, stream: bool = True, retry: RetryPolicy | None = None) -> None:
        if not token:
            raise BackendError(_("no NovelAI token: set PEROPIX_NAI_TOKEN or save one in the settings"))
        check_token(token)
        self.base_url = base_url.rstrip("/")
        problem = url_problem(self.base_url)
        if problem:
            raise BackendError(_("nai.base_url / PEROPIX_NAI_URL: {url} is not a usable URL ({problem})")
                               .format(url=repr(base_url), problem=problem))
        self._token = token
        if not (math.isfinite(timeout) and timeout > 0):
            raise BackendError(_("nai.timeout: {value} is not a positive number of seconds").format(value=repr(timeout)))
        self.total_timeout = timeout
        """Longest wait for one whole answer (stream: for each complete frame)."""
        self.timeout = httpx.Timeout(connect=min(connect_timeout, timeout), read=timeout, write=60.0, pool=10.0)
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
                       cancel: CancelToken | None = None, *, free: bool = False) -> list[bytes]:
        """Send one generation; return the images (PNG/WebP bytes) in sample order.

        ``free``: the request costs no Anlas (Opus-free), so an answer cut off after the server got it
        is retried automatically; otherwise it fails with a retryable error saying it may have been
        charged (NovelAI bills when it generates, not when the client reads)."""
        report = on_progress or _ignore
        charge = None if free else CHARGE_IMAGE
        total = _total_steps(body)
        use_stream = self.stream

        async def attempt(http: httpx.AsyncClient) -> list[bytes]:
            nonlocal use_stream
            if use_stream:
                try:
                    return await self._stream_once(http, body, report, total, charge)
                except _NoStream:
                    use_stream = False
                except _Transient as e:
                    use_stream = not e.broken_stream  # a broken stream is retried on the ZIP endpoint
                    raise
            return unpack_or_raise(await self._post(http, GENERATE, body, charge), charge)

        return await self._call(attempt, cancel, report, total)

    async def encode_vibe(self, image_b64: str, information_extracted: float, model: str,
                          cancel: CancelToken | None = None) -> bytes:
        """``/ai/encode-vibe``: the raw (binary) vibe encoding. Costs 2 Anlas."""
        info: float | int = int(information_extracted) if information_extracted in (0, 1) else information_extracted
        payload = {"image": image_b64, "information_extracted": info, "model": model}

        async def attempt(http: httpx.AsyncClient) -> bytes:
            data = await self._post(http, ENCODE_VIBE, payload, CHARGE_VIBE)
            if not data or data[:1] in (b"{", b"<"):
                raise BackendError(_("NovelAI encode-vibe answered no encoding: {detail}")
                                   .format(detail=error_message(data)))
            return data

        return await self._call(attempt, cancel)

    async def subscription(self, cancel: CancelToken | None = None) -> Subscription:
        """Tier, active flag and Anlas balance, from the image host."""

        async def attempt(http: httpx.AsyncClient) -> Subscription:
            return parse_subscription(await self._send(http, "GET", SUBSCRIPTION, None))

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
                    raise BackendError(_("account busy: another generation kept running; gave up after {n} "
                                         "tries").format(n=busy), status=429, retryable=True) from None
                delay = self.retry.busy_delay(busy)
                report(Progress(0, total, message=_("account busy (another generation running); "
                                                    "retrying in {delay} s").format(delay=f"{delay:g}")))
                log.info("NovelAI 429 (account busy); retry %d in %.1f s", busy, delay)
                await asyncio.sleep(delay)
            except _Transient as e:
                errors += 1
                if errors >= self.retry.error_tries:
                    raise e.error from None
                delay = self.retry.error_base * 2 ** (errors - 1)
                report(Progress(0, total, message=_("{error}; retrying in {delay} s")
                                .format(error=e.error, delay=f"{delay:g}")))
                log.info("NovelAI transient failure (%s); retry %d in %.1f s", e.error, errors, delay)
                await asyncio.sleep(delay)

    async def _send(self, http: httpx.AsyncClient, method: str, path: str, payload: Any,
                    charge: str | None = None) -> bytes:
        """One request, its whole answer read within ``timeout`` s; non-2xx answers become
        _Busy / _Transient / BackendError. ``charge`` names what the request may bill ("the image"):
        a failure after the request went out is then a retryable BackendError for the user, never an
        automatic retry; with None (free requests) such failures are retried here."""
        got = _Received()
        headers = self._headers()
        try:
            async with asyncio.timeout(self.total_timeout):
                async with http.stream(method, path, content=_body(payload, headers), headers=headers) as resp:
                    got.answered = True
                    if not 200 <= resp.status_code < 300:
                        _check_status(resp.status_code, await _read_all(resp, got, ERROR_BODY_LIMIT),
                                      headers["x-correlation-id"])
                    return await _read_all(resp, got, MAX_ANSWER)
        except (TimeoutError, httpx.TimeoutException) as e:
            raise self._timed_out(e, got, charge) from None
        except httpx.TransportError as e:
            raise _transport_failure(e, got, charge) from None

    async def _post(self, http: httpx.AsyncClient, path: str, payload: Any, charge: str | None = None) -> bytes:
        return await self._send(http, "POST", path, payload, charge)

    def _timed_out(self, e: Exception, got: _Received, charge: str | None) -> BackendError:
        """A deadline passed: say where (connecting, waiting, or mid-answer); never retried automatically."""
        if isinstance(e, httpx.ConnectTimeout):
            return BackendError(_("could not connect to NovelAI within {seconds} s")
                                .format(seconds=f"{self.timeout.connect:g}"), retryable=True)
        seconds = f"{self.total_timeout:g}"
        if got.answered:
            return BackendError(_("NovelAI's answer stalled: {bytes} bytes in {seconds} s (nai.timeout)")
                                .format(bytes=got.bytes, seconds=seconds) + _charged(charge), retryable=True)
        return BackendError(_("NovelAI did not answer within {seconds} s (nai.timeout)").format(seconds=seconds)
                            + _charged(charge), retryable=True)

    async def _stream_once(self, http: httpx.AsyncClient, body: dict[str, Any], report: ProgressCallback,
                           total: int, charge: str | None) -> list[bytes]:
        """The stream endpoint: each complete frame must come within ``timeout`` s of the last one
        (of the request, for the first)."""
        payload = {**body, "parameters": {**body["parameters"], "stream": "msgpack"}}
        got = _Received()
        try:
            headers = self._headers("application/x-msgpack")
            async with asyncio.timeout(self.total_timeout) as deadline:
                async with http.stream("POST", STREAM, content=_body(payload, headers), headers=headers) as resp:
                    got.answered = True
                    if resp.status_code in (404, 405, 501):
                        raise _NoStream()
                    if not 200 <= resp.status_code < 300:
                        _check_status(resp.status_code, await _read_all(resp, got, ERROR_BODY_LIMIT),
                                      headers["x-correlation-id"])
                    return await _read_frames(resp, report, total, int(body["parameters"].get("n_samples") or 1),
                                              _FrameClock(deadline, self.total_timeout), got, charge)
        except (TimeoutError, httpx.TimeoutException) as e:
            error = self._timed_out(e, got, charge)
            if got.answered and got.bytes:
                error = BackendError(_("NovelAI's stream stalled: no complete frame within "
                                       "{seconds} s (nai.timeout) after {bytes} bytes")
                                     .format(seconds=f"{self.total_timeout:g}", bytes=got.bytes)
                                     + _charged(charge), retryable=True)
            raise error from None
        except httpx.TransportError as e:
            raise _transport_failure(e, got, charge, broken_stream=True) from None


MAX_REQUEST = 16 * 1024 * 1024
"""Request bodies over this are refused before sending, as NovelAI's front end refuses them (413)."""
ERROR_BODY_LIMIT = 64 * 1024
"""Bytes of a non-2xx body read for its message."""
MAX_ANSWER = 256 * 1024 * 1024
"""A body longer than this is refused (NovelAI's largest answers are a few tens of MB)."""
CHARGE_IMAGE = N_("the image may have been charged")
CHARGE_VIBE = N_("the vibe encoding (2 Anlas) may have been charged")
"""What a failed paid request may have cost, shown in brackets after the error."""


@dataclass
class _Received:
    """How far one answer got: headers seen, body bytes read."""

    answered: bool = False
    bytes: int = 0


class _FrameClock:
    """Pushes the stream's deadline forward each time a complete frame arrives."""

    def __init__(self, deadline: asyncio.Timeout, seconds: float) -> None:
        self._deadline = deadline
        self._seconds = seconds

    def tick(self) -> None:
        self._deadline.reschedule(asyncio.get_running_loop().time() + self._seconds)


def _body(payload: Any, headers: dict[str, str]) -> bytes | None:
    """The JSON body (as httpx would write it), refused with a 413-style error when too large."""
    if payload is None:
        return None
    data = json.dumps(payload).encode("utf-8")
    if len(data) > MAX_REQUEST:
        raise BackendError(_("inputs too large ({size} MB to upload, over {limit} MB): "
                             "downscale the base image, vibe or reference images (e.g. to 1024x1024 or less); "
                             "nothing was sent").format(size=f"{len(data) / 2**20:.1f}", limit=MAX_REQUEST // 2**20),
                           status=413)
    headers["Content-Type"] = "application/json"
    return data


async def _read_all(resp: httpx.Response, got: _Received, limit: int) -> bytes:
    parts: list[bytes] = []
    async for chunk in resp.aiter_bytes():
        got.bytes += len(chunk)
        if got.bytes > limit:
            raise BackendError(_("NovelAI's answer is larger than {limit} bytes; refused").format(limit=limit))
        parts.append(chunk)
    return b"".join(parts)


def _charged(charge: str | None) -> str:
    """`` (the image may have been charged)`` for a paid request, nothing for a free one."""
    return f" ({_(charge)})" if charge else ""


def _failed_after_sending(message: str, charge: str | None, *, broken_stream: bool = False) -> Exception:
    """A failure once the request was sent: retried automatically only when it cannot have cost anything."""
    if charge is None:
        return _Transient(BackendError(message, retryable=True), broken_stream=broken_stream)
    return BackendError(message + _charged(charge), retryable=True)


def _transport_failure(e: httpx.TransportError, got: _Received, charge: str | None, *,
                       broken_stream: bool = False) -> Exception:
    """Connection refused / request not fully sent: nothing can have been billed, retry. A reset after
    that: the server may have generated (and billed), so only free requests are retried."""
    if isinstance(e, httpx.ConnectError | httpx.WriteError | httpx.WriteTimeout | httpx.PoolTimeout):
        return _Transient(_network_error(e))
    if isinstance(e, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return BackendError(_("cannot talk to NovelAI at this address (nai.base_url / PEROPIX_NAI_URL): {error}")
                            .format(error=e))
    if got.answered:
        return _failed_after_sending(_("NovelAI's answer was cut off after {bytes} bytes").format(bytes=got.bytes),
                                     charge, broken_stream=broken_stream)
    return _failed_after_sending(_("NovelAI closed the connection before answering ({error})")
                                 .format(error=e.__class__.__name__), charge, broken_stream=broken_stream)


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
        error = BackendError(_("{error} (correlation id {id})").format(error=error, id=correlation), status=status,
                             retryable=True)
        raise _Transient(error)
    raise error


def correlation_id() -> str:
    """Six random alphanumerics, as NovelAI's ``x-correlation-id`` expects."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(6))


def unpack_or_raise(content: bytes, charge: str | None = None) -> list[bytes]:
    """Images of a complete body; a cut-off one is retried only when ``charge`` is None (free)."""
    try:
        return unpack_images(content)
    except ResponseError as e:
        if e.transient:
            raise _failed_after_sending(_("NovelAI's answer was cut off after {bytes} bytes ({error})")
                                        .format(bytes=len(content), error=e), charge) from None
        raise BackendError(str(e)) from None


async def _read_frames(resp: httpx.Response, report: ProgressCallback, total: int, expected: int,
                       clock: _FrameClock, got: _Received, charge: str | None) -> list[bytes]:
    """Parse msgpack frames as they arrive; a ZIP, PNG or JSON answer here is decoded whole."""
    chunks = resp.aiter_bytes()
    head = b""
    async for chunk in chunks:
        head += chunk
        got.bytes += len(chunk)
        if len(head) >= 8:
            break
    if head.startswith(_NOT_FRAMES):
        rest = head
        async for chunk in chunks:
            got.bytes += len(chunk)
            if got.bytes > MAX_ANSWER:
                raise BackendError(_("NovelAI's answer is larger than {limit} bytes; refused").format(limit=MAX_ANSWER))
            rest += chunk
        return unpack_or_raise(rest, charge)
    reader = FrameReader()
    frames: list[Frame] = []

    def consume(data: bytes) -> None:
        for f in reader.feed(data):
            clock.tick()
            if f.kind == "error":
                raise BackendError(_("NovelAI stream error: {message}").format(message=f.message or _("unknown")),
                                   retryable=True)
            if f.kind == "intermediate":
                report(Progress(step=f.step + 1, total=total, sample=f.sample, preview=f.image))
            frames.append(f)

    try:
        consume(head)
        async for chunk in chunks:
            got.bytes += len(chunk)
            consume(chunk)
    except ResponseError as e:
        raise _failed_after_sending(_("NovelAI's stream is damaged after {bytes} bytes ({error})")
                                    .format(bytes=got.bytes, error=e), charge, broken_stream=True) from None
    images = finals_in_order(frames)
    if reader.pending or len(images) < expected:
        raise _failed_after_sending(_("NovelAI's answer was cut off after {bytes} bytes (stream ended before "
                                      "the final image)").format(bytes=got.bytes), charge, broken_stream=True)
    return images


def _network_error(e: httpx.TransportError) -> BackendError:
    host = e.request.url.host if _has_request(e) else "NovelAI"
    error = BackendError(_("network error talking to NovelAI at {host} ({error})")
                         .format(host=host, error=e.__class__.__name__), retryable=True)
    # for a worker pool: a refused connection sent nothing; a reset after sending may have been billed
    error.network = "unsent" if isinstance(e, httpx.ConnectError) else "sent"
    return error


def _has_request(e: httpx.TransportError) -> bool:
    try:
        e.request  # noqa: B018 - raises RuntimeError when the error carries no request
    except RuntimeError:
        return False
    return True


def check_token(token: Secret) -> None:
    """A token goes into an HTTP header: printable ASCII only (a pasted typographic quote or a
    non-breaking space would fail deep in the HTTP layer)."""
    for i, ch in enumerate(token.get()):
        if not 0x21 <= ord(ch) <= 0x7E:
            if ch.isspace():
                why = _("NovelAI token (PEROPIX_NAI_TOKEN or the token file) has a space at position {position}; "
                        "paste the token again")
            elif ord(ch) > 0x7E:
                why = _("NovelAI token (PEROPIX_NAI_TOKEN or the token file) has a non-ASCII character at position "
                        "{position}; paste the token again")
            else:
                why = _("NovelAI token (PEROPIX_NAI_TOKEN or the token file) has a control character at position "
                        "{position}; paste the token again")
            raise BackendError(why.format(position=i + 1))


async def _cancellable(coro: Awaitable[T], cancel: CancelToken, poll: float) -> T:
    """Run ``coro`` as a task; cancel it when ``cancel`` fires (raising GenerationCancelled)."""
    task = asyncio.ensure_future(coro)
    try:
        while True:
            done, _pending = await asyncio.wait({task}, timeout=poll)
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
