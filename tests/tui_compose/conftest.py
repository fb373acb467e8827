"""A small app that mounts the Compose screen with the attributes of the app contract.

Until the real app provides them, this gives ``config``, ``workspace``, ``token``, ``balance``,
``tags``, ``queue``, ``store`` and ``image_widget()`` (half-cell, pinned cell size). It records
every message (via ``message_hook``) so tests can assert GenerationRequested / MaskEdited.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.message import Message
from textual.widget import Widget

from peropix_tui.core.config import Config
from peropix_tui.core.slots import SlotSet
from peropix_tui.core.tags import TagIndex
from peropix_tui.messages import BalanceUpdated

TAGS_CSV = (
    '1girl,0,5000000,"1girls,sole_female"\n'
    "blue_eyes,0,900000,\n"
    'blush,0,1200000,"blushing"\n'
    "blue_hair,0,700000,\n"
    "smile,0,3000000,\n"
    'cat_ears,0,400000,"nekomimi"\n'
)


def pin_cell_size() -> None:
    """textual-image measures the terminal's cell pixels at import; tests use a fixed 10×20."""
    from textual_image import _terminal

    _terminal.get_cell_size._result = _terminal.CellSize(10, 20)  # type: ignore[attr-defined]


def offline_config() -> Config:
    """The default config with NovelAI at a loopback port nobody listens on: typing in the prompt
    asks NovelAI for tag suggestions, and tests never reach the real service."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = Config()
    config.nai.base_url = f"http://127.0.0.1:{port}"
    return config


class ComposeTestApp(App[None]):
    """The app contract, minimal: enough to run the Compose screen and its modals."""

    def __init__(self, *, workspace: SlotSet | None = None, tags: TagIndex | None = None,
                 balance: BalanceUpdated | None = None, config: Config | None = None) -> None:
        super().__init__()
        self.config = config or offline_config()
        self.workspace = workspace or SlotSet()
        self.token = None
        self.balance = balance
        self.tags = tags
        self.queue: Any = None
        self.store: Any = None
        self.received: list[Message] = []

    def image_widget(self, image: Any = None) -> Widget:
        pin_cell_size()
        from textual_image.widget import HalfcellImage

        return HalfcellImage(image)

    def on_mount(self) -> None:
        from peropix_tui.screens.compose import ComposeScreen

        self.push_screen(ComposeScreen())

    def record(self, message: Message) -> None:
        """``run_test(message_hook=app.record)``: keep every message any node processed."""
        self.received.append(message)

    def of_type(self, kind: type[Message]) -> list[Any]:
        """Messages of one type, each once (a bubbling message is processed by several nodes)."""
        unique = {id(m): m for m in self.received if isinstance(m, kind)}
        return list(unique.values())


@pytest.fixture(autouse=True)
def quiet_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    monkeypatch.setenv("TEXTUAL_CELL_WIDTH", "10")
    monkeypatch.setenv("TEXTUAL_CELL_HEIGHT", "20")
    pin_cell_size()
    yield


@pytest.fixture
def tag_index(tmp_path: Path) -> TagIndex:
    csv = tmp_path / "tags.csv"
    csv.write_text(TAGS_CSV, encoding="utf-8")
    index = TagIndex()
    index.load_csv(csv)
    index.history_path = tmp_path / "history.json"
    return index


@pytest.fixture
def make_app(tag_index: TagIndex) -> Any:
    def make(**kwargs: Any) -> ComposeTestApp:
        kwargs.setdefault("tags", tag_index)
        kwargs.setdefault("balance", BalanceUpdated(anlas=1000, tier=1, active=True))
        return ComposeTestApp(**kwargs)

    return make
