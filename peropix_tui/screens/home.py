"""A minimal home screen, used only when the full Compose screen is not installed: one prompt
line, generate, and the latest image."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from ..messages import GenerationRequested, ImageSaved, JobFailed, JobProgressed
from ..widgets.footer import KeyFooter


class HomeScreen(Screen[None]):
    HELP = "Type a prompt and press ctrl+g. F3 for slot mode, F4 for the gallery."
    BINDINGS = [Binding("ctrl+g", "generate", "Generate", id="generate")]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="home"):
            yield Input(self.app.workspace.base.prompt, placeholder="prompt", id="prompt")  # type: ignore[attr-defined]
            yield Static("", id="status")
            yield Vertical(id="preview-box")
        yield KeyFooter()

    @on(Input.Changed, "#prompt")
    def _prompt(self, event: Input.Changed) -> None:
        self.app.workspace.base.prompt = event.value  # type: ignore[attr-defined]

    def action_generate(self) -> None:
        self.post_message(GenerationRequested(all_slots=False))

    def on_job_progressed(self, msg: JobProgressed) -> None:
        self.query_one("#status", Static).update(f"step {msg.step}/{msg.total} {msg.note}")

    def on_job_failed(self, msg: JobFailed) -> None:
        self.query_one("#status", Static).update(f"failed: {msg.error}")

    async def on_image_saved(self, msg: ImageSaved) -> None:
        self.query_one("#status", Static).update(f"saved {msg.path.name} (seed {msg.seed})")
        box = self.query_one("#preview-box")
        await box.remove_children()
        await box.mount(self.app.image_widget(msg.path, id="preview"))  # type: ignore[attr-defined]
