"""ctrl+q while a job runs: finish the image first, quit now, or stay.

Quitting at once stops the running request; the queue keeps the job, so it comes back paused at
the next start, where resuming it sends it again, which NovelAI bills again if it had already
charged the stopped one. The dialog says so and offers to finish the running image first.
"""

from __future__ import annotations

from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button

from ..i18n import N_, _
from ..widgets.cell_wrap import WrappedStatic

QuitChoice = Literal["finish", "now", "cancel"]


def quit_question(labels: list[str], nai: bool) -> str:
    """The dialog's text for the running jobs ``labels`` (``nai``: one of them is on NovelAI)."""
    if labels:
        first = _("{jobs} is still generating.").format(jobs=", ".join(labels))
    else:
        first = _("A job is still generating.")
    if nai:
        now = _("Quit now: the running job stops and comes back paused next time. NovelAI may already "
                "have charged it: resuming sends it (and bills it) again.")
    else:
        now = _("Quit now: the running job stops and comes back paused next time.")
    text = (first + "\n\n"
            + _("Finish this image, then quit: the running image is saved, jobs still waiting stay "
                "in the queue, paused.") + "\n" + now)
    return text


class QuitConfirm(ModalScreen[QuitChoice]):
    """Ask what ctrl+q means while jobs run; dismisses with "finish", "now" or "cancel"."""

    DEFAULT_CSS = """
    QuitConfirm > Vertical { width: 72; max-width: 100%; height: auto; border: round $warning;
                             background: $panel; padding: 1 2; }
    QuitConfirm #quit-buttons { height: auto; margin-top: 1; }
    QuitConfirm Button { margin-right: 1; min-width: 10; }
    """
    BINDINGS = [
        Binding("f", "choose('finish')", N_("Finish, then quit"), id="quit_finish"),
        Binding("q", "choose('now')", N_("Quit now"), id="quit_now"),
        Binding("escape", "choose('cancel')", N_("Cancel"), id="quit_cancel"),
    ]

    def __init__(self, labels: list[str], nai: bool) -> None:
        super().__init__()
        self.labels, self.nai = labels, nai

    def compose(self) -> ComposeResult:
        with Vertical():
            yield WrappedStatic(quit_question(self.labels, self.nai), id="quit-question")
            with Horizontal(id="quit-buttons"):
                yield Button(_("Finish this image, then quit (f)"), id="finish", variant="primary")
                yield Button(_("Quit now (q)"), id="now", variant="error")
                yield Button(_("Cancel (esc)"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#finish", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id in ("finish", "now", "cancel"):
            self.action_choose(event.button.id)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)  # type: ignore[arg-type]
