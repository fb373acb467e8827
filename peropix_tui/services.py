"""The typed services the app hands to screens and widgets (instead of untyped ``self.app.X``).

``services(self)`` inside a screen or widget gives the running app as :class:`AppServices`: the
attributes below are the whole contract between the app and its screens. Queue changes go
through ``scheduler`` (the sole owner of queue state) or ``runner`` (cancelling running jobs).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from textual.message import Message
    from textual.widget import Widget
    from textual.worker import Worker

    from .core.config import Config, Secret
    from .core.generation.scheduler import Scheduler
    from .core.jobs import JobQueue
    from .core.slots import SlotSet
    from .messages import BalanceUpdated
    from .runner import Runner


class AppServices(Protocol):
    config: Config
    token: Secret | None
    workspace: SlotSet
    balance: BalanceUpdated | None
    tags: Any
    store: Any
    last_image: Path | None
    scheduler: Scheduler
    runner: Runner

    @property
    def queue(self) -> JobQueue: ...

    @property
    def first_run(self) -> bool: ...

    def set_token(self, token: Secret | None) -> None: ...

    def post_message(self, message: Message) -> bool: ...

    def action_show(self, mode: str) -> None: ...

    def action_tools_latest(self, tool: str = "emotion") -> None: ...

    def action_tools_slot_set(self) -> None: ...

    def refresh_balance(self) -> Worker[None]: ...

    def ensure_store(self) -> Any: ...

    def image_widget(self, image: Any = None, **kwargs: Any) -> Widget: ...

    def broadcast(self, message: Message) -> None: ...

    def action_open_external(self, path: Path | None = None) -> None: ...

    def open_tools(self, sources: list[Path], tool: str = "emotion") -> None: ...


def services(node: DOMNode) -> AppServices:
    """The app of ``node`` as its typed services."""
    return cast("AppServices", node.app)
