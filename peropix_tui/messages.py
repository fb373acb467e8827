"""Typed Textual messages, named in the past tense. Workers post them; screens and widgets handle them.

Textual's Message initialises itself in ``__post_init__``, so dataclass messages work as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from .core.nai.usage import UsageQuota
from .core.settings import GenerationSettings

if TYPE_CHECKING:
    from .core.nai.tools_jobs import ToolRequest  # numpy/Pillow: not at start-up


@dataclass
class GenerationRequested(Message):
    """The user asked to run the current workspace (Compose: one run; Slots: slots × repeats)."""

    all_slots: bool = False


@dataclass
class JobsQueued(Message):
    job_ids: list[str]


@dataclass
class JobStarted(Message):
    job_id: str


@dataclass
class JobProgressed(Message):
    """Step progress (throttled to ≤ 10/s); ``preview`` is an encoded image when the backend sent one;
    ``note`` carries states like "account busy (another generation running), retrying in 6 s"."""

    job_id: str
    step: int
    total: int
    preview: bytes | None = None
    note: str = ""


@dataclass
class ImageSaved(Message):
    job_id: str
    path: Path
    seed: int


@dataclass
class JobFinished(Message):
    job_id: str


@dataclass
class JobFailed(Message):
    job_id: str
    error: str
    retryable: bool = False
    status: int | None = None


@dataclass
class JobCancelled(Message):
    job_id: str


@dataclass
class WorkerLost(Message):
    """The worker running the job died; the job waits again (pending, or paused with ``notice``)."""

    job_id: str
    worker: str
    error: str
    maybe_charged: bool = False
    notice: str = ""


@dataclass
class QueueChanged(Message):
    """Jobs were added, removed, reordered or changed state."""


@dataclass
class BalanceUpdated(Message):
    anlas: int | None
    tier: int | None
    active: bool = True
    error: str = ""
    quota: UsageQuota | None = None
    """The Opus usage quota for V5 (``usage`` of /user/subscription); None when not sent."""
    per_account: tuple[tuple[str, int | None], ...] = ()
    """With several NovelAI accounts: (name, Anlas or None when unknown) of each usable one; then
    ``anlas``/``tier`` are theirs pooled (what the admission check uses)."""


@dataclass
class SettingsRestored(Message):
    """Settings recovered from an image (gallery) should be loaded into Compose."""

    settings: GenerationSettings
    groups: frozenset[str]
    warnings: tuple[str, ...] = ()


@dataclass
class ReferencePicked(Message):
    """An image was chosen as img2img base, inpaint base, vibe, or character reference."""

    path: Path
    kind: str  # "img2img" | "inpaint" | "vibe" | "charref"


@dataclass
class MaskEdited(Message):
    """The mask editor produced a full-resolution black/white mask saved at ``path``."""

    path: Path
    source: Path


@dataclass
class ToolsRequested(Message):
    """The user confirmed a Director Tools / emotion-set request (priced, then queued by the app)."""

    request: ToolRequest
