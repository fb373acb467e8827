"""F1: the keys of the screen underneath (its bindings, the app's, and its ``HELP`` text)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown


def _key_rows(bindings: list[Any], app: Any) -> list[str]:
    rows = []
    for b in bindings:
        if not isinstance(b, Binding) or not b.description:
            continue
        keys = app.get_key_display(b) if hasattr(app, "get_key_display") else b.key
        rows.append(f"| `{keys}` | {b.description} | `{b.id or b.action}` |")
    return rows


def help_markdown(screen: Screen[Any], app: Any) -> str:
    title = getattr(screen, "HELP_TITLE", None) or type(screen).__name__.removesuffix("Screen")
    text = getattr(screen, "HELP", "") or ""
    own = list(getattr(screen, "BINDINGS", []))
    active = {k: b.binding for k, b in screen.active_bindings.items()}
    screen_rows = _key_rows([active.get(b.key, b) for b in own if isinstance(b, Binding)], app)
    app_rows = _key_rows(list(type(app).BINDINGS), app)
    table = "| key | does | binding id |\n|---|---|---|\n"
    parts = [f"# {title} — keys", text.strip()]
    if screen_rows:
        parts.append("## This screen\n\n" + table + "\n".join(screen_rows))
    parts.append("## Everywhere\n\n" + table + "\n".join(app_rows)
                 + "\n| `ctrl+p` | Command palette | `command_palette` |")
    parts.append("Remap any binding by id in the config: `[ui] keymap = { generate = \"ctrl+g\" }`.")
    return "\n\n".join(p for p in parts if p)


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
            yield Markdown(help_markdown(self.under, self.app), id="help-text")

    def action_dismiss(self, result: Any = None) -> Any:
        return self.dismiss()
