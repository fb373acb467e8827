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

from ..i18n import N_, _
from ..widgets.cell_wrap import CellWrapped

Row = tuple[str, str, str]  # keys as shown, what it does, binding id


def bound_keys(screen: Screen[Any]) -> dict[str, list[Binding]]:
    """The keys bound now (user keymap applied) per binding id, in the order the footer reads them."""
    found: dict[str, list[Binding]] = {}
    for _node, binding, _enabled, _tooltip in screen.active_bindings.values():
        if binding.id:
            found.setdefault(binding.id, []).append(binding)
    return found


def key_names(app: Any, binding: Binding, bound: dict[str, list[Binding]]) -> str:
    """Every key of ``binding``, as the footer shows keys: its first one is the footer's."""
    keys = bound.get(binding.id or "") or [
        Binding(k.strip(), binding.action, binding.description, key_display=binding.key_display)
        for k in binding.key.split(",")
    ]
    return " / ".join(dict.fromkeys(app.get_key_display(b) for b in keys))


def key_rows(bindings: list[Any], app: Any, bound: dict[str, list[Binding]]) -> list[Row]:
    return [(key_names(app, b, bound), _(b.description), b.id or b.action)
            for b in bindings if isinstance(b, Binding) and b.description]


def _table(title: str, rows: list[Row]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, expand=True, padding=(0, 1))
    table.add_column(_("key"), style="bold", no_wrap=True)
    table.add_column(_("does"))
    table.add_column(_("binding id"), style="dim", no_wrap=True)
    for keys, does, binding_id in rows:
        table.add_row(Text(keys), Text(does), Text(binding_id))
    return table


def app_bindings(app: Any) -> list[Binding]:
    return list(type(app).BINDINGS) + [Binding("ctrl+p", "command_palette", N_("Command palette"),
                                               id="command_palette")]


def help_renderable(screen: Screen[Any], app: Any) -> Group:
    title = _(getattr(screen, "HELP_TITLE", None) or type(screen).__name__.removesuffix("Screen"))
    help_text: str = getattr(screen, "HELP", "") or ""
    text = (_(help_text) if help_text else "").replace("`", "")  # _("") would be the catalog's header
    bound = bound_keys(screen)
    own = key_rows([b for b in getattr(screen, "BINDINGS", []) if isinstance(b, Binding)], app, bound)
    parts: list[Any] = [Text(_("{title} — keys").format(title=title), style="bold"), CellWrapped(text), Text("")]
    if own:
        parts.append(_table(_("This screen"), own))
    parts.append(_table(_("Everywhere"), key_rows(app_bindings(app), app, bound)))
    parts.append(CellWrapped(_("Remap by binding id in the config: {example}").format(
        example='[ui] keymap = { generate = "ctrl+g" }'), style="dim"))
    return Group(*parts)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", N_("Close"), id="help_close"),
        Binding("f1", "dismiss", N_("Close"), show=False, id="help_close_f1"),
        Binding("q", "dismiss", N_("Close"), show=False, id="help_close_q"),
    ]

    def __init__(self, under: Screen[Any]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(help_renderable(self.under, self.app), id="help-text")

    def action_dismiss(self, result: Any = None) -> Any:
        return self.dismiss()
