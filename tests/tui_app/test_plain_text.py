"""User and server text is shown as typed on every screen: ``[hat]`` stays ``[hat]``, ``[/]`` does not
raise. The test walks the places that show prompts, slot names, file and folder names, errors and
server messages, with text that Textual markup would eat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image
from textual.content import Content
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Label, OptionList, Static
from textual.widgets._data_table import default_cell_formatter

from peropix_tui.core import paths
from peropix_tui.core.config import load_config
from peropix_tui.core.jobs import QUEUE_FILE, JobQueue
from peropix_tui.core.metadata import write_novelai_png
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.core.slots import Slot
from peropix_tui.core.store import GalleryStore
from peropix_tui.messages import BalanceUpdated, JobFailed
from tests.tui_app.conftest import settle

PROMPT = "1girl, [hat], [b]bold[/b], [/]"
SLOT = "[smile]"
ERROR = "server said [red]no[/red] [402]"


def shown(widget: Any) -> str:
    """The text a Static/Label shows (its visual, as rendered)."""
    return str(widget.render())


async def test_user_text_is_never_markup(make_app: Any) -> None:
    q = JobQueue(paths.state_dir() / QUEUE_FILE)
    (job,) = q.add([(GenerationSettings(prompt=PROMPT, seed=7), 0, "[cry]", 0)])
    q.start(job.id)
    q.fail(job.id, ERROR)
    store = GalleryStore(load_config().output_dir)
    data = write_novelai_png(Image.new("RGB", (64, 64), (200, 40, 40)),
                             GenerationSettings(prompt=PROMPT, width=64, height=64), seed=3)
    saved = store.save_image(data, folder="[set]", slot_index=1, slot_name="pose")
    store.close()
    image = Path(saved.file).rename(Path(saved.file).with_name("[pose] 1.png"))  # the gallery rescans

    app = make_app()
    app.workspace.base.prompt = PROMPT
    app.workspace.slots = [Slot(SLOT, "[tears]")]
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        app.clear_notifications()

        # Slots / Queue: the Base line, the slot table, the job row with its error
        await pilot.press("f3")
        await settle(app, pilot)
        screen = app.screen
        assert f"Base: {PROMPT}" in shown(screen.query_one("#base-prompt", Static))
        table = screen.query_one("#slot-table", DataTable)
        cells = [str(default_cell_formatter(table.get_cell_at(Coordinate(0, c)))) for c in (1, 2)]
        assert cells == [SLOT, "[tears]"]
        job_text = shown(screen.query_one(".job-text", Label))
        assert "[cry]" in job_text and ERROR in job_text

        # Gallery: the folder list and the metadata panel (file name and prompt)
        await pilot.press("f4")
        await settle(app, pilot)
        screen = app.screen
        folders = screen.query_one("#folders", OptionList)
        prompts = [str(folders.get_option_at_index(i).prompt) for i in range(folders.option_count)]
        assert "[set] (1)" in prompts
        meta = shown(screen.query_one("#meta", Static))
        assert image.name in meta and PROMPT in meta

        # Compose: the job status line shows a failure message as sent
        await pilot.press("f2")
        await settle(app, pilot)
        app.screen.post_message(JobFailed(job.id, ERROR, False))
        await settle(app, pilot)
        assert ERROR in shown(app.screen.query_one("#job-status", Static))

        # Compose, Parameters: the reason a value is refused, shown as the field's tooltip
        await pilot.press("alt+t", *"9999")
        await pilot.pause()
        tooltip = app.screen.query_one("#p-steps").tooltip
        assert isinstance(tooltip, Content) and "between 1 and 150" in tooltip.plain

        # Settings: a server error about the token
        await pilot.press("f5")
        await settle(app, pilot)
        app.screen.post_message(BalanceUpdated(None, None, False, ERROR))
        await settle(app, pilot)
        assert ERROR in shown(app.screen.query_one("#token-status", Static))

        # Notifications (from any screen and from the app itself)
        app.screen.notify(f"{image}: {ERROR}")
        app.notify(PROMPT, title="Generation failed", severity="error")
        await settle(app, pilot)
        # a Toast shows its message parsed as markup unless the notification says otherwise
        toasts = [n.message for n in app._notifications if not n.markup]
        assert f"{image}: {ERROR}" in toasts and PROMPT in toasts, toasts
        assert f"{app.queue.get(job.id).label}: {ERROR}" in toasts, toasts  # the app's failure toast

        # The mask editor's title (file name) and key hints ("[ ] size")
        from peropix_tui.screens.mask_editor import MaskEditorScreen

        await app.push_screen(MaskEditorScreen(image, None))
        await settle(app, pilot)
        assert image.name in shown(app.screen.query_one("#mask-title", Static))
        assert "[ ] size" in shown(app.screen.query_one("#mask-status", Static))
        app.pop_screen()
        await pilot.pause()

        # A modal question that quotes a slot name
        from peropix_tui.screens.modals import ChoicePrompt

        await app.push_screen(ChoicePrompt(f"Slot {SLOT}: load which preset?", ["[mine]"]))
        await settle(app, pilot)
        assert f"Slot {SLOT}:" in shown(app.screen.query_one(Label))
        assert str(app.screen.query_one(OptionList).get_option_at_index(0).prompt) == "[mine]"
