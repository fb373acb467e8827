"""F1: the keys of the screen underneath (its bindings, the app's, and its ``HELP`` text)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def _table(title: str, bindings: list[Any], app: Any) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, expand=True, padding=(0, 1))
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("does")
    table.add_column("binding id", style="dim", no_wrap=True)
    for b in bindings:
        if isinstance(b, Binding) and b.description:
            table.add_row(app.get_key_display(b), b.description, b.id or b.action)
    return table


def help_renderable(screen: Screen[Any], app: Any) -> Group:
    title = getattr(screen, "HELP_TITLE", None) or type(screen).__name__.removesuffix("Screen")
    text = (getattr(screen, "HELP", "") or "").replace("`", "")
    own = [b for b in getattr(screen, "BINDINGS", []) if isinstance(b, Binding)]
    active = {b.binding.id: b.binding for b in screen.active_bindings.values() if b.binding.id}
    shown = [active.get(b.id or "", b) for b in own]  # user keymaps show their keys
    app_bindings = list(type(app).BINDINGS) + [Binding("ctrl+p", "command_palette", "Command palette",
                                                       id="command_palette")]
    parts: list[Any] = [Text(f"{title} — keys", style="bold"), Text(text), Text("")]
    if shown:
        parts.append(_table("This screen", shown, app))
    parts.append(_table("Everywhere", app_bindings, app))
    parts.append(Text('Remap by binding id in the config: [ui] keymap = { generate = "ctrl+g" }', style="dim"))
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help_close"),
        Binding("f1", "dismiss", "Close", show=False, id="help_close_f1"),
        Binding("q", "dismiss", "Close", show=False, id="help_close_q"),
    ]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_renderable(self.under, self.app), id="help-text")

    def action_dismiss(self, result: Any = None) -> Any:
        return self.dismiss()
