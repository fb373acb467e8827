"""The Textual app. Placeholder until the screens land (issue: the terminal app)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Static

from .core.config import Config


class PeroPixApp(App[None]):
    TITLE = "PeroPix"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", id="quit")]

    def __init__(self, config: Config | None = None) -> None:
        super().__init__()
        self.config = config or Config()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            "PeroPix TUI — the terminal app is being built.\n\n"
            "Meanwhile the headless CLI works: peropix generate --help, peropix cost --help.\n\n"
            "Press ctrl+q to quit.",
            id="placeholder",
        )
        yield Footer()
