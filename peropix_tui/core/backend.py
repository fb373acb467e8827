"""The one protocol both providers implement: ``generate(settings, on_progress, cancel) -> images``.

Progress and previews flow out through ``on_progress``; the UI turns them into messages. A
:class:`CancelToken` is checked between steps (local) or around network waits (NovelAI).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .settings import GenerationSettings


@dataclass
class Progress:
    """One progress report. ``preview`` is an encoded image (JPEG/PNG) when the backend has one."""

    step: int
    total: int
    sample: int = 0
    preview: bytes | None = None
    message: str = ""

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.step / self.total)


@dataclass
class GeneratedImage:
    """One finished image: encoded bytes exactly as they should be saved, plus what we know of it."""

    data: bytes
    seed: int
    index: int = 0
    extension: str = "png"
    info: dict[str, Any] = field(default_factory=dict)


ProgressCallback = Callable[[Progress], None]


class GenerationCancelled(Exception):
    """The user cancelled; nothing is wrong."""


class BackendError(Exception):
    """A generation failed with a message fit for the user (never containing the token).

    ``retryable`` says whether retrying the same job later may succeed (5xx, network), as
    opposed to errors that need the user to change something (bad token, not enough Anlas).
    """

    network: str = ""
    """A network failure: "unsent" (no connection: nothing reached the server), "sent" (the
    connection broke after the request went out), "" (not a network failure)."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


class CancelToken:
    """Thread-safe cancellation flag shared by the UI and a worker."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise GenerationCancelled()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if cancelled meanwhile."""
        return self._event.wait(seconds)


@runtime_checkable
class Backend(Protocol):
    """A generation provider (NovelAI or the local engine)."""

    name: str

    async def generate(
        self,
        settings: GenerationSettings,
        on_progress: ProgressCallback,
        cancel: CancelToken,
    ) -> list[GeneratedImage]: ...
