"""Small modal dialogs: ask for a line of text, pick from a list, tick a set of options."""

from __future__ import annotations

from collections.abc import Mapping

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, TextArea
from textual.widgets.option_list import Option

from ..i18n import N_, _
from ..widgets.plain import plain


class TextPrompt(ModalScreen[str | None]):
    """Ask for one line; enter confirms, escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="modal_cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question, self.value = question, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, markup=False)
            yield Input(self.value, id="answer")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoicePrompt(ModalScreen[str | None]):
    """Pick one of ``choices``; enter confirms, escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", N_("Cancel"), id="modal_cancel")]

    def __init__(self, question: str, choices: list[str], labels: Mapping[str, str] | None = None) -> None:
        """``labels``: how a choice is shown, where it differs from the choice (dismissed with) itself."""
        super().__init__()
        self.question, self.choices, self.labels = question, choices, dict(labels or {})

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, markup=False)
            yield OptionList(*[Option(plain(self.labels.get(c, c)), id=c) for c in self.choices], id="choices")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChecksPrompt(ModalScreen[frozenset[str] | None]):
    """Tick some of ``options`` (all ticked at first); ctrl+s / OK confirms, escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="modal_cancel"),
        Binding("ctrl+s", "confirm", N_("OK"), id="modal_ok"),
    ]

    def __init__(self, question: str, options: list[str], labels: Mapping[str, str] | None = None) -> None:
        """``labels``: how an option is shown, where it differs from the option (dismissed with) itself."""
        super().__init__()
        self.question, self.options, self.labels = question, options, dict(labels or {})

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, markup=False)
            for name in self.options:
                yield Checkbox(plain(self.labels.get(name, name)), True, id=f"opt-{name}", compact=True)
            yield Button(_("OK (ctrl+s)"), id="ok", variant="primary")

    @on(Button.Pressed, "#ok")
    def action_confirm(self) -> None:
        chosen = frozenset(n for n in self.options if self.query_one(f"#opt-{n}", Checkbox).value)
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)


class LinesPrompt(ModalScreen[str | None]):
    """Edit a few lines of text; ctrl+s saves, escape cancels (None)."""

    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="modal_cancel"),
        Binding("ctrl+s", "confirm", N_("Save"), id="modal_ok"),
    ]

    def __init__(self, question: str, text: str = "") -> None:
        super().__init__()
        self.question, self.text = question, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, markup=False)
            yield TextArea(self.text, id="lines", soft_wrap=True)

    def action_confirm(self) -> None:
        self.dismiss(self.query_one("#lines", TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)
