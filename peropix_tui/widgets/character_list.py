"""Character prompts: add, remove, enable, per-character negative, grid cell A1..E5 or auto.

The list edits a ``list[CharacterPrompt]`` in place (the workspace's ``base.characters``) and posts
:class:`CharacterList.Changed` after every edit. Keys (while focus is in the list): ctrl+n add,
ctrl+r remove, ctrl+t enable/disable, ctrl+l pick the position on a 5×5 grid with the arrows.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Static

from ..core.settings import CharacterPrompt
from ..i18n import N_, _


def position_label(cell: str | None) -> str:
    return cell or _("auto")


class CharacterRow(Horizontal):
    """One character: enabled box, position button, prompt, negative."""

    DEFAULT_CSS = """
    CharacterRow { height: 3; }
    CharacterRow Checkbox { width: auto; }
    CharacterRow .pos { width: 8; min-width: 8; }
    CharacterRow .prompt { width: 3fr; }
    CharacterRow .uc { width: 2fr; }
    CharacterRow.-disabled Input { opacity: 60%; }
    """

    def __init__(self, character: CharacterPrompt) -> None:
        super().__init__()
        self.character = character

    def compose(self) -> ComposeResult:
        c = self.character
        yield Checkbox(_("on"), c.enabled, classes="enabled", tooltip=_("enabled (ctrl+t)"))
        yield Button(position_label(c.position), classes="pos", tooltip=_("position (ctrl+l)"))
        yield Input(c.prompt, placeholder=_("character prompt"), classes="prompt")
        yield Input(c.uc, placeholder=_("negative"), classes="uc")

    def refresh_state(self) -> None:
        self.query_one(".pos", Button).label = position_label(self.character.position)
        box = self.query_one(".enabled", Checkbox)
        if box.value != self.character.enabled:
            with box.prevent(Checkbox.Changed):
                box.value = self.character.enabled
        self.set_class(not self.character.enabled, "-disabled")


class CharacterList(VerticalScroll):
    """All character prompts of the workspace."""

    DEFAULT_CSS = """
    CharacterList { height: 1fr; }
    CharacterList > .empty { color: $text-muted; padding: 1 1; }
    CharacterList > .add { margin: 0 0 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "add", N_("Add character"), id="character_add"),
        Binding("ctrl+r", "remove", N_("Remove character"), id="character_remove"),
        Binding("ctrl+t", "toggle_enabled", N_("Enable/disable"), id="character_toggle"),
        Binding("ctrl+l", "position", N_("Position"), id="character_position"),
    ]

    class Changed(Message):
        """Characters were added, removed or edited."""

    def __init__(self, characters: list[CharacterPrompt] | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.characters: list[CharacterPrompt] = characters if characters is not None else []

    def compose(self) -> ComposeResult:
        yield Static(_("No characters. ctrl+n adds one."), classes="empty")
        for c in self.characters:
            yield CharacterRow(c)
        yield Button(_("+ character"), classes="add", id="character-add")

    def on_mount(self) -> None:
        self._sync_empty()

    async def load(self, characters: list[CharacterPrompt]) -> None:
        """Show another list (e.g. after settings were restored)."""
        self.characters = characters
        await self.remove_children(CharacterRow)
        add = self.query_one("#character-add")
        for c in characters:
            await self.mount(CharacterRow(c), before=add)
        self._sync_empty()

    # ----------------------------------------------------------------- rows
    def rows(self) -> list[CharacterRow]:
        return list(self.query(CharacterRow))

    def _focused_row(self) -> CharacterRow | None:
        node = self.screen.focused
        while node is not None and node is not self:
            if isinstance(node, CharacterRow):
                return node
            node = node.parent  # type: ignore[assignment]
        rows = self.rows()
        return rows[-1] if rows else None

    def _sync_empty(self) -> None:
        self.query_one(".empty").display = not self.characters
        for row in self.rows():
            row.refresh_state()

    def _changed(self) -> None:
        self._sync_empty()
        self.post_message(self.Changed())

    # -------------------------------------------------------------- actions
    async def action_add(self) -> None:
        c = CharacterPrompt(prompt="")
        self.characters.append(c)
        row = CharacterRow(c)
        await self.mount(row, before=self.query_one("#character-add"))
        row.query_one(".prompt", Input).focus()
        self._changed()

    async def action_remove(self) -> None:
        row = self._focused_row()
        if row is None:
            return
        index = self.rows().index(row)
        self.characters.remove(row.character)
        await row.remove()
        rows = self.rows()
        if rows:
            rows[min(index, len(rows) - 1)].query_one(".prompt", Input).focus()
        else:
            self.query_one("#character-add").focus()
        self._changed()

    def action_toggle_enabled(self) -> None:
        row = self._focused_row()
        if row is not None:
            row.character.enabled = not row.character.enabled
            self._changed()

    def action_position(self) -> None:
        from .grid_picker import AUTO, GridPickerScreen  # a dialog: built on first use, not at start-up

        row = self._focused_row()
        if row is None:
            return

        def chosen(cell: str | None) -> None:
            if cell is None:
                return
            row.character.position = None if cell == AUTO else cell
            self._changed()

        self.app.push_screen(GridPickerScreen(row.character.position), chosen)

    # --------------------------------------------------------------- events
    @on(Button.Pressed, "#character-add")
    async def _add_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await self.action_add()

    @on(Button.Pressed, ".pos")
    def _pos_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        event.button.focus()
        self.action_position()

    @on(Checkbox.Changed, ".enabled")
    def _enabled_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        row = event.checkbox.parent
        if isinstance(row, CharacterRow) and row.character.enabled != event.value:
            row.character.enabled = event.value
            self._changed()

    @on(Input.Changed, ".prompt, .uc")
    def _text_changed(self, event: Input.Changed) -> None:
        event.stop()
        row = event.input.parent
        if not isinstance(row, CharacterRow):
            return
        if event.input.has_class("prompt"):
            row.character.prompt = event.value
        else:
            row.character.uc = event.value
        self.post_message(self.Changed())
