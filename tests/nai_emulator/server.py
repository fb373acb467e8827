"""A NovelAI image API emulator on 127.0.0.1, served from a background thread.

Endpoints: ``POST /ai/generate-image`` (ZIP), ``POST /ai/generate-image-stream`` (msgpack
frames), ``POST /ai/encode-vibe`` (raw bytes), ``GET /user/subscription``. Requests are
validated strictly (:mod:`.rules`), recorded with arrival and finish times, billed in Anlas,
and limited to one generation at a time per token (429 "Concurrent generation is locked").
Faults can be injected per endpoint: see :meth:`NaiEmulator.inject`.
"""

from __future__ import annotations

import json
import math
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import artifacts, tools
from .rules import Checked, Rejected, check_encode_vibe, check_generation, check_headers

GENERATE = "/ai/generate-image"
STREAM = "/ai/generate-image-stream"
ENCODE = "/ai/encode-vibe"
SUBSCRIPTION = "/user/subscription"
ENDPOINTS = (GENERATE, STREAM, ENCODE, SUBSCRIPTION)
MAX_BODY = 16 * 1024 * 1024

STATUS_FAULTS = {
    "429": (429, "Concurrent generation is locked"),
    "401": (401, "Unauthorized"),
    "402": (402, "Not enough Anlas"),
    "400": (400, "Validation error: injected fault"),
    "413": (413, "Request Entity Too Large"),
    "500": (500, "Internal server error"),
    "503": (503, "Service Unavailable"),
    "404": (404, "Not Found"),
}
BODY_FAULTS = {"html", "reset", "delay", "truncated_zip", "zip_bomb", "too_many_entries", "raw_png",
               "truncated_stream", "error_frame", "bad_frame_length", "drip", "reset_mid_body"}
DRIP_BYTES = 16
"""``drip``: this many bytes of the answer every ``delay`` seconds (0.5 s when not given)."""


@dataclass
class Fault:
    """One injected fault: ``kind`` for the next ``times`` requests to ``endpoint`` (None: any)."""

    kind: str
    times: int = 1
    endpoint: str | None = None
    delay: float = 0.0


@dataclass
class Recorded:
    """One request as the emulator saw it. ``authorization`` is only ever compared, never shown."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    arrival: float
    finish: float = 0.0
    status: int = 0
    client_port: int = 0
    """The client's TCP port: the same port on two requests means a kept-alive connection."""
    account: str = ""
    """The name of the account whose token the request carried ("default": :attr:`NaiEmulator.token`)."""


@dataclass
class Account:
    tier: int = 3
    active: bool = True
    fixed: int = 10_000
    purchased: int = 500
    busy_until: float = 0.0
    busy: bool = False

    @property
    def anlas(self) -> int:
        return self.fixed + self.purchased

    def charge(self, amount: int) -> bool:
        if amount > self.anlas:
            return False
        from_fixed = min(self.fixed, amount)
        self.fixed -= from_fixed
        self.purchased -= amount - from_fixed
        return True


def generation_cost(checked: Checked, params: dict[str, Any], account: Account, usage_negative: bool) -> int:
    """The official per-image formula (spec §10.1), written independently of the project."""
    pixels = max(checked.width * checked.height, 65536)
    base = math.ceil(2.951823174884865e-6 * pixels + 5.753298233447344e-7 * pixels * checked.steps)
    per_image = max(math.ceil(base * checked.strength), 2)
    if checked.family == "v5":
        per_image = max(math.ceil(per_image * 1.5), 2)
    has_cr = bool(params.get("director_reference_images"))
    # live billing (nai-tools.md §4): references did not cancel the Opus free sample (5 charged at 512x768)
    free = (account.tier >= 3 and account.active and checked.width * checked.height <= 1_048_576
            and checked.steps <= 28 and not (checked.family == "v5" and usage_negative))
    cost = per_image * (checked.n_samples - (1 if free else 0))
    vibes = len(params.get("reference_image_multiple") or [])
    if checked.family != "v3":
        cost += 2 * max(0, vibes - 4)
    if has_cr:
        cost += 5 * len(params["director_reference_images"]) * checked.n_samples
    return cost


class NaiEmulator:
    """The emulator. ``url`` is its base URL; ``token`` the one token it accepts."""

    def __init__(self, token: str = "pst-emulator-0123456789abcdef", *, step_delay: float = 0.0) -> None:
        self.token = token
        self.step_delay = step_delay
        self.account = Account()
        self.usage_negative = False
        self.usage_percent = 100
        self.usage_refill = 7888
        """``usage.timeUntilNextPercent`` seconds (0: refill paused above the cap)."""
        self.requests: list[Recorded] = []
        self.passes: int | None = None
        """Generations still let through (None: all); past them the account reads as busy (429)."""
        self.vibes_issued: list[bytes] = []
        self.more_accounts: dict[str, tuple[str, Account]] = {}
        """token → (name, account): more accounts, each with its own balance and one-at-a-time lock."""
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="nai-emulator",
                                        daemon=True)

    # -------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> NaiEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> NaiEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ test control
    def inject(self, kind: str, *, times: int = 1, endpoint: str | None = None, delay: float = 0.0) -> None:
        """Fail the next ``times`` matching requests with ``kind``.

        Status kinds: "429" "401" "402" "400" "413" "500" "503" "404". Body kinds: "html" (a
        Cloudflare-style HTML page with 200), "reset" (TCP reset), "delay" (answer after ``delay``
        seconds), "truncated_zip", "zip_bomb", "too_many_entries", "raw_png", "truncated_stream",
        "error_frame" (error frame after the first step), "bad_frame_length", "drip" (a 200 whose body
        comes 16 bytes every ``delay`` s, default 0.5; billed), "reset_mid_body" (a 200, half the body,
        then a TCP reset; billed).
        """
        if kind not in STATUS_FAULTS and kind not in BODY_FAULTS:
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self._faults.append(Fault(kind, times, endpoint, delay))

    def add_account(self, name: str, token: str, account: Account | None = None) -> Account:
        """Accept ``token`` as another account named ``name`` (its own Anlas, its own lock)."""
        acc = account or Account()
        with self._lock:
            self.more_accounts[token] = (name, acc)
        return acc

    def account_of(self, token: str) -> tuple[str, str, Account]:
        """(token to check against, account name, account) for a request's bearer token."""
        if token in self.more_accounts:
            name, acc = self.more_accounts[token]
            return token, name, acc
        return self.token, "default", self.account

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def occupy(self, seconds: float) -> None:
        """Pretend another client (the website) is generating on this account for ``seconds``."""
        with self._lock:
            self.account.busy_until = time.monotonic() + seconds

    def allow(self, passes: int | None) -> None:
        """Let the next ``passes`` generations through and answer the rest 429 "Concurrent generation
        is locked", as when the website uses the account (None: let everything through)."""
        with self._lock:
            self.passes = passes

    def take_pass(self) -> bool:
        with self._lock:
            if self.passes is None:
                return True
            if self.passes > 0:
                self.passes -= 1
                return True
            return False

    def calls(self, *paths: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if not paths or r.path in paths]

    def generations(self) -> list[Recorded]:
        """Generation requests that were accepted and answered (status 200)."""
        return [r for r in self.calls(GENERATE, STREAM) if r.status == 200]

    # -------------------------------------------------------------- internals
    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.endpoint in (None, path) and f.times > 0:
                    f.times -= 1
                    if f.times == 0:
                        self._faults.remove(f)
                    return f
        return None

    def try_lock(self, account: Account | None = None) -> bool:
        acc = account or self.account
        with self._lock:
            if acc.busy or time.monotonic() < acc.busy_until:
                return False
            acc.busy = True
            return True

    def unlock(self, account: Account | None = None) -> None:
        with self._lock:
            (account or self.account).busy = False

    def record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)


def _make_handler(emu: NaiEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        emulator = emu

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    emulator: NaiEmulator
    fault_delay: float = 0.0
    acct: Account

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet

    # ------------------------------------------------------------ responses
    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.rec.status = status
        self._finish()
        self.wfile.write(body)
        self.wfile.flush()

    def _finish(self) -> None:
        """Stamp the end of the exchange just before its last bytes leave (the client may act at once)."""
        self.rec.finish = time.monotonic()

    def _error(self, status: int, message: str) -> None:
        self._send(status, json.dumps({"statusCode": status, "message": message}).encode(), "application/json")

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.rec.status = -1
        self._finish()

    def _chunk(self, data: bytes) -> None:
        if not data:
            self._finish()
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    # --------------------------------------------------------------- routing
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._handle("POST")

    def _handle(self, method: str) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.rec = Recorded(method, self.path, headers, None, time.monotonic(), client_port=self.client_address[1])
        self.emulator.record(self.rec)
        try:
            self._route(method, headers)
        except Rejected as e:
            self._error(e.status, e.message)
        except (BrokenPipeError, ConnectionResetError):
            self.rec.status = -2
        finally:
            if not self.rec.finish:
                self.rec.finish = time.monotonic()

    def _route(self, method: str, headers: dict[str, str]) -> None:
        if self.path.split("?", 1)[0] in tools.TOOL_PATHS:  # augment-image, upscale, suggest-tags
            tools.route(self, method, headers)
            return
        expected = "GET" if self.path == SUBSCRIPTION else "POST"
        if self.path not in ENDPOINTS or method != expected:
            raise Rejected(404, "Not Found")
        raw = self._read_body(headers) if method == "POST" else b""
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        expected_token, self.rec.account, self.acct = self.emulator.account_of(bearer)
        check_headers(headers, expected_token, post=method == "POST")
        fault = self.emulator.take_fault(self.path)
        if fault is not None and self._early_fault(fault):
            return
        if self.path == SUBSCRIPTION:
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.delay)
            self._subscription()
            return
        body = self._parse_json(raw)
        if self.path != ENCODE and not self.emulator.take_pass():
            raise Rejected(429, "Concurrent generation is locked")
        if not self.emulator.try_lock(self.acct):
            raise Rejected(429, "Concurrent generation is locked")
        try:
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.delay)
            if self.path == ENCODE:
                self._encode_vibe(body)
            else:
                self._generate(body, fault)
        finally:
            self.emulator.unlock(self.acct)

    def _read_body(self, headers: dict[str, str]) -> bytes:
        length = int(headers.get("content-length", "0") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            left = length
            while left > 0:  # drain it first, as a real front end does, so the client reads the 413
                got = self.rfile.read(min(left, 1 << 20))
                if not got:
                    break
                left -= len(got)
            raise Rejected(413, "Request Entity Too Large")
        return self.rfile.read(length)

    def _parse_json(self, raw: bytes) -> Any:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Rejected(400, "Validation error: body is not JSON") from None
        self.rec.body = body
        return body

    def _early_fault(self, fault: Fault) -> bool:
        if fault.kind in STATUS_FAULTS:
            status, message = STATUS_FAULTS[fault.kind]
            self._error(status, message)
            return True
        if fault.kind == "html":
            page = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>cf</body></html>"
            self._send(200, page, "text/html; charset=UTF-8")
            return True
        if fault.kind == "reset":
            self._reset()
            return True
        return False

    # ------------------------------------------------------------- endpoints
    def _subscription(self) -> None:
        acc = self.acct
        body = {
            "tier": acc.tier,
            "active": acc.active,
            "expiresAt": 1_900_000_000,
            "perks": {"maxPriorityActions": 1000, "startPriority": 10, "contextTokens": 8192,
                      "unlimitedMaxPriority": True, "moduleTrainingSteps": 10000},
            "paymentProcessorData": None,
            "trainingStepsLeft": {"fixedTrainingStepsLeft": acc.fixed, "purchasedTrainingSteps": acc.purchased},
            "accountType": 0,
            "isGracePeriod": False,
            "paymentProcessor": "emulator",
        }
        if acc.tier >= 3 and acc.active:  # usage is sent only for an active Opus subscription
            body["usage"] = {"percent": 0 if self.emulator.usage_negative else self.emulator.usage_percent,
                             "isNegative": self.emulator.usage_negative,
                             "timeUntilNextPercent": self.emulator.usage_refill}
        self._send(200, json.dumps(body).encode(), "application/json")

    def _encode_vibe(self, body: Any) -> None:
        family = check_encode_vibe(body)
        if not self.acct.charge(2):
            raise Rejected(402, "Not enough Anlas")
        encoding = artifacts.vibe_encoding(family)
        self.emulator.vibes_issued.append(encoding)
        self._send(200, encoding, "binary/octet-stream")

    def _generate(self, body: Any, fault: Fault | None) -> None:
        self.fault_delay = fault.delay if fault else 0.0
        stream = self.path == STREAM
        started = time.monotonic()
        checked = check_generation(body, stream=stream)
        if not self.acct.charge(generation_cost(checked, body["parameters"], self.acct,
                                                self.emulator.usage_negative)):
            raise Rejected(402, "Not enough Anlas")
        kind = fault.kind if fault else ""
        if stream:
            self._stream(body, checked, kind, started)
        else:
            self._zip(body, checked, kind, started)

    def _images(self, body: Any, checked: Checked, started: float) -> list[tuple[bytes, str]]:
        return [artifacts.novelai_image(body, i, time.monotonic() - started + 1.5) for i in range(checked.n_samples)]

    def _zip(self, body: Any, checked: Checked, kind: str, started: float) -> None:
        if kind == "zip_bomb":
            self._send(200, artifacts.zip_bomb(), "application/zip")
            return
        images = self._images(body, checked, started)
        if kind == "raw_png":
            self._send(200, images[0][0], "image/png")
            return
        files = [(f"image_{i}.{ext}", data) for i, (data, ext) in enumerate(images)]
        if kind == "too_many_entries":
            files = [(f"image_{i}.png", images[0][0]) for i in range(11)]
        payload = artifacts.make_zip(files)
        if kind == "truncated_zip":
            payload = payload[: len(payload) // 2]
        if kind in ("drip", "reset_mid_body"):
            self._send_faulty(kind, payload, "application/zip")
            return
        self._send(200, payload, "application/zip")

    def _send_faulty(self, kind: str, body: bytes, content_type: str) -> None:
        """A 200 with a Content-Length whose body drips (``drip``) or stops half-way with a reset."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.rec.status = 200
        if kind == "reset_mid_body":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self._reset()
            return
        self._drip(body)

    def _drip(self, data: bytes) -> None:
        interval = self.fault_delay or 0.5
        for i in range(0, len(data), DRIP_BYTES):
            self.wfile.write(data[i : i + DRIP_BYTES])
            self.wfile.flush()
            time.sleep(interval)
        self._finish()

    def _stream(self, body: Any, checked: Checked, kind: str, started: float) -> None:
        if kind in ("drip", "reset_mid_body"):
            self._faulty_stream(body, checked, kind, started)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/msgpack")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.rec.status = 200
        steps = checked.steps if body["action"] == "generate" else math.ceil(checked.steps * checked.strength)
        sigma = 14.6
        for sample in range(checked.n_samples):
            seed = checked.seed + sample
            for step in range(steps):
                jpeg = artifacts.preview_jpeg(checked.width, checked.height, seed, step)
                self._chunk(artifacts.frame({"event_type": "intermediate", "samp_ix": sample, "step_ix": step,
                                             "gen_id": f"emu-{seed}", "sigma": sigma * (1 - step / steps),
                                             "image": jpeg}))
                if step == 0 and kind == "error_frame":
                    self._chunk(artifacts.frame({"event_type": "error", "message": "Internal error in sampler"}))
                    self._chunk(b"")
                    return
                if step == 0 and kind == "bad_frame_length":
                    self._chunk(struct.pack(">I", 0x7FFFFFFF) + b"\x80")
                    self._chunk(b"")
                    return
                if self.emulator.step_delay:
                    time.sleep(self.emulator.step_delay)
            data, _ext = artifacts.novelai_image(body, sample, time.monotonic() - started + 1.5)
            final = artifacts.frame({"event_type": "final", "samp_ix": sample, "step_ix": steps - 1,
                                     "gen_id": f"emu-{seed}", "sigma": 0.0, "image": data})
            if kind == "truncated_stream":
                self._chunk(final[: len(final) // 2])
                self._chunk(b"")
                return
            self._chunk(final)
        self._chunk(b"")

    def _faulty_stream(self, body: Any, checked: Checked, kind: str, started: float) -> None:
        """The whole stream as chunks of 16 bytes every ``delay`` s (``drip``), or half of it then a reset."""
        frames = b"".join(artifacts.frame({"event_type": "intermediate", "samp_ix": 0, "step_ix": step,
                                           "gen_id": "emu", "sigma": 1.0,
                                           "image": artifacts.preview_jpeg(checked.width, checked.height, 0, step)})
                          for step in range(checked.steps))
        data, _ext = artifacts.novelai_image(body, 0, time.monotonic() - started + 1.5)
        frames += artifacts.frame({"event_type": "final", "samp_ix": 0, "step_ix": checked.steps - 1,
                                   "gen_id": "emu", "sigma": 0.0, "image": data})
        self.send_response(200)
        self.send_header("Content-Type", "application/msgpack")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.rec.status = 200
        if kind == "reset_mid_body":
            self._chunk(frames[: len(frames) // 2])
            self._reset()
            return
        interval = self.fault_delay or 0.5
        for i in range(0, len(frames), DRIP_BYTES):
            self._chunk(frames[i : i + DRIP_BYTES])
            time.sleep(interval)
        self._chunk(b"")
