"""The app's side of Director Tools and queue-end notices (no screen of its own).

* :func:`slot_images`: "finish a slot set": each slot's latest generated image (from the queue).
* :class:`QueueNotices`: counts what ended since the queue last went quiet and decides, with
  :func:`peropix_tui.core.notify.should_notify`, whether the end of a queue (finished, or failed
  and paused) rings the terminal bell / sends the OSC 9 / 777 notification of ``[ui] notify``.
  Focus comes from Textual's ``AppFocus`` / ``AppBlur`` events; before the first one it is
  unknown (``None``), which :func:`should_notify` treats as "not known to be focused".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .core.jobs import GENERATE, Job, JobState
from .core.notify import queue_message, should_notify
from .core.slots import SlotSet
from .i18n import _


def slot_images(jobs: Iterable[Job], workspace: SlotSet) -> tuple[list[Path], list[str]]:
    """(each slot's latest image still on disk, in slot order; names of slots with none)."""
    latest: dict[str, Path] = {}
    for job in jobs:
        if job.kind != GENERATE or job.state is not JobState.DONE or not job.slot_name:
            continue
        for image in job.images:
            if Path(image).is_file():
                latest[job.slot_name] = Path(image)
    found: list[Path] = []
    missing: list[str] = []
    for slot in workspace.slots:
        if slot.name in latest:
            found.append(latest[slot.name])
        else:
            missing.append(slot.name or _("(unnamed)"))
    return found, missing


@dataclass
class QueueNotices:
    """What ended since the last notice, and the terminal's focus as last reported."""

    mode: str = "auto"
    focused: bool | None = None
    done: int = 0
    failed: int = 0
    sent: list[tuple[str, str]] = field(default_factory=list)
    """(title, body) of every notice given, newest last (the log shows them too)."""

    def ended(self, state: str) -> None:
        if state == "done":
            self.done += 1
        elif state == "failed":
            self.failed += 1

    def queue_quiet(self, paused: bool) -> tuple[str, str] | None:
        """The queue stopped (nothing runs or can start; ``paused``: a failure held the rest): the
        notice to give, or None (focused, switched off, or nothing ran). Resets the counts."""
        if not (self.done or self.failed):
            return None
        title, body = queue_message(self.done, self.failed, paused)
        self.done = self.failed = 0
        try:
            wanted = should_notify(self.mode, self.focused)
        except ValueError:  # a bad [ui] notify value is reported by the config check, not here
            wanted = False
        if not wanted:
            return None
        self.sent.append((title, body))
        return title, body
