"""A 5×5 grid-cell picker (A1..E5 or auto) driven by the arrow keys, as a small modal."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static

from ..i18n import N_, _
from .cell_wrap import WrappedStatic

COLS = "ABCDE"
AUTO = "auto"


class CellGrid(Widget, can_focus=True):
    """The grid itself: columns A..E left to right, rows 1..5 top to bottom; one cell is selected."""

    DEFAULT_CSS = "CellGrid { width: 27; height: 7; }"

    col: reactive[int] = reactive(2)
    row: reactive[int] = reactive(2)

    def __init__(self, cell: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        if cell:
            self.col, self.row = COLS.index(cell[0].upper()), int(cell[1]) - 1

    @property
    def cell(self) -> str:
        return f"{COLS[self.col]}{self.row + 1}"

    def move(self, dx: int, dy: int) -> None:
        self.col = min(max(self.col + dx, 0), 4)
        self.row = min(max(self.row + dy, 0), 4)

    def render(self) -> Text:
        text = Text("    " + "".join(f" {c}  " for c in COLS) + "\n")
        for r in range(5):
            text.append(f" {r + 1}  ")
            for c in range(5):
                label = f"{COLS[c]}{r + 1}"
                style = "bold reverse" if (c, r) == (self.col, self.row) else "dim"
                text.append(label, style=style)
                text.append("  ")
            text.append("\n")
        return text


class GridPickerScreen(ModalScreen[str | None]):
    """Arrows move, enter picks the cell, ``a`` picks auto (AI's choice), escape cancels.

    Dismisses with ``"A1".."E5"``, :data:`AUTO`, or None when cancelled.
    """

    DEFAULT_CSS = """
    GridPickerScreen { align: center middle; }
    GridPickerScreen > Vertical { width: 33; height: auto; border: round $accent; padding: 0 1; background: $surface; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1, 0)", N_("Left"), show=False, id="grid_left"),
        Binding("right", "move(1, 0)", N_("Right"), show=False, id="grid_right"),
        Binding("up", "move(0, -1)", N_("Up"), show=False, id="grid_up"),
        Binding("down", "move(0, 1)", N_("Down"), show=False, id="grid_down"),
        Binding("enter,space", "pick", N_("Pick cell"), id="grid_pick"),
        Binding("a", "auto", N_("Auto"), id="grid_auto"),
        Binding("escape", "cancel", N_("Cancel"), id="grid_cancel"),
    ]

    def __init__(self, cell: str | None = None) -> None:
        super().__init__()
        self._initial = cell

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(_("Character position"), classes="title", markup=False)
            yield CellGrid(self._initial, id="cells")
            yield WrappedStatic(_("arrows move · enter pick · a auto · esc cancel"), classes="hint")

    def on_mount(self) -> None:
        self.query_one(CellGrid).focus()

    def action_move(self, dx: int, dy: int) -> None:
        self.query_one(CellGrid).move(dx, dy)

    def action_pick(self) -> None:
        self.dismiss(self.query_one(CellGrid).cell)

    def action_auto(self) -> None:
        self.dismiss(AUTO)

    def action_cancel(self) -> None:
        self.dismiss(None)
