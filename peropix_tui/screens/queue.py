"""Slots / Queue: PeroPix slot mode (base prompt × slots × repeats) and the job queue.

Left: the slot table of ``app.workspace`` and a form editing the highlighted slot (name, prompt,
optional WxH, lock); the repeat count; presets. Right: every job with its state, progress bar and
thumbnail; cancel current / all, reorder, retry failed, resume paused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Header, Input, Label, Static

from .. import i18n
from ..core.generation.scheduler import QueueReadOnly, Scheduler
from ..core.jobs import JobQueue
from ..core.presets import PresetError, list_presets, load_preset, save_preset
from ..core.settings import CharacterPrompt, SettingsError, parse_cell
from ..core.slots import Slot, SlotSet
from ..i18n import N_, _, ngettext
from ..messages import (
    BalanceUpdated,
    GenerationRequested,
    ImageSaved,
    JobProgressed,
    QueueChanged,
    WorkerLost,
)
from ..services import services
from ..widgets.footer import KeyFooter
from ..widgets.job_list import JobList
from ..widgets.plain import plain_cell
from .modals import ChoicePrompt, LinesPrompt, TextPrompt


def worker_states_text(scheduler: Scheduler) -> str:
    """``workers: nai idle · comfyui:gpu1 busy 1/2 · comfyui:gpu2 down`` (every worker and its state)."""
    parts = []
    for worker, state, _error in scheduler.worker_states():
        if worker.provider == "local" and state == "idle":
            continue  # the local engine is always there; shown when it works
        n = len(scheduler.in_flight[worker.id])
        parts.append(f"{worker.id} {_(WORKER_STATES.get(state, state))}"
                     + (f" {n}/{worker.capacity}" if worker.capacity > 1 and n else ""))
    return _("workers: {states}").format(states=" · ".join(parts))


WORKER_STATES = {"idle": N_("idle"), "busy": N_("busy"), "down": N_("down")}
SLOT_COLUMNS = (N_("name"), N_("prompt"), N_("size"), N_("chars"), N_("lock"))


def state_count(state: str, n: int) -> str:
    """``"2 pending"``: how many jobs of the queue are in ``state`` (a JobState value)."""
    forms = {
        "pending": ngettext("{n} pending", "{n} pending", n), "running": ngettext("{n} running", "{n} running", n),
        "done": ngettext("{n} done", "{n} done", n), "failed": ngettext("{n} failed", "{n} failed", n),
        "cancelled": ngettext("{n} cancelled", "{n} cancelled", n), "paused": ngettext("{n} paused", "{n} paused", n),
    }
    return forms.get(state, "{n} " + state).format(n=n)


def characters_text(chars: list[CharacterPrompt]) -> str:
    """One character per line: ``prompt ; negative ; cell`` (cell A1..E5 or empty for auto)."""
    return "\n".join(f"{c.prompt} ; {c.uc} ; {c.position or ''}" for c in chars)


def parse_characters(text: str) -> list[CharacterPrompt]:
    """Inverse of :func:`characters_text`; raises SettingsError naming the line."""
    chars = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")] + ["", ""]
        try:
            cell = parse_cell(parts[2])
        except SettingsError as e:
            raise SettingsError(_("character line {n}").format(n=n), str(e).split(": ", 1)[-1]) from None
        chars.append(CharacterPrompt(parts[0], parts[1], cell))
    return chars


def parse_size(text: str) -> tuple[int | None, int | None]:
    """``"832x1216"`` → (832, 1216); empty → (None, None) (use the base size)."""
    t = text.strip().lower().replace(" ", "")
    if not t:
        return None, None
    try:
        w, h = (int(v) for v in t.split("x"))
    except ValueError:
        raise ValueError(_("size {text}: write it as WIDTHxHEIGHT, e.g. 832x1216").format(text=repr(text))) from None
    if w <= 0 or h <= 0 or w % 64 or h % 64:
        raise ValueError(_("size {text}: width and height must be positive multiples of 64").format(text=repr(text)))
    return w, h


class QueueScreen(Screen[None]):
    HELP_TITLE = N_("Slots / Queue")
    AUTO_FOCUS = "#slot-table"
    HELP = N_(
        "Slot mode: the base prompt (edited in Compose) plus one prompt per slot; each unlocked slot is "
        "generated `repeats` times with its own seed, and files are named after the slot "
        "(`NNN_name_0000001.png`). Locked slots are skipped and not costed.\n\n"
        "The queue survives a quit or crash: unfinished jobs come back paused; press `p` to resume."
    )
    FOOTER_WIDE_ONLY = frozenset({"retry_failed"})  # footer keys left out below 100 columns
    BINDINGS = [
        Binding("ctrl+g", "generate_all", N_("Generate all"), id="generate_all"),
        Binding("ctrl+n", "slot_add", N_("Add slot"), id="slot_add"),
        Binding("ctrl+d", "slot_delete", N_("Delete slot"), id="slot_delete", show=False),
        Binding("ctrl+l", "slot_lock", N_("Lock"), id="slot_lock", show=False),
        Binding("ctrl+k", "slot_characters", N_("Slot characters"), id="slot_characters", show=False),
        Binding("ctrl+s", "preset_save", N_("Save preset"), id="preset_save", show=False),
        Binding("ctrl+o", "preset_load", N_("Load preset"), id="preset_load", show=False),
        Binding("x", "cancel_current", N_("Cancel"), id="cancel_current"),
        Binding("X", "cancel_all", N_("Cancel all"), id="cancel_all", show=False),
        Binding("r", "retry_failed", N_("Retry failed"), id="retry_failed"),
        Binding("p", "resume", N_("Resume"), id="resume"),
        Binding("shift+up", "job_move(-1)", N_("Move up"), id="job_up", show=False),
        Binding("shift+down", "job_move(1)", N_("Move down"), id="job_down", show=False),
        Binding("c", "clear_finished", N_("Clear finished"), id="clear_finished", show=False),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._unsubscribe: Callable[[], None] = lambda: None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="queue-main"):
            with Vertical(id="slots-pane"):
                yield Static("", id="base-prompt", markup=False)
                with Horizontal(id="repeat-row"):
                    yield Label(_("Repeats") + " ", id="repeats-label")
                    yield Input(str(self.ws.repeats), id="repeats", type="integer")
                yield DataTable(id="slot-table", cursor_type="row", zebra_stripes=True)
                with Vertical(id="slot-form"):
                    yield Input(placeholder=_("slot name (goes into the file name)"), id="slot-name")
                    yield Input(placeholder=_("slot prompt (added to the base prompt)"), id="slot-prompt")
                    with Horizontal():
                        yield Input(placeholder=_("WxH (empty = base size)"), id="slot-size")
                        yield Checkbox(_("locked"), id="slot-locked")
            with Vertical(id="queue-pane"):
                yield Static("", id="queue-summary", markup=False)
                yield Static("", id="worker-states", markup=False)
                yield JobList(id="jobs")
        yield KeyFooter()

    @property
    def ws(self) -> SlotSet:
        return services(self).workspace

    @property
    def queue(self) -> JobQueue:
        return services(self).queue

    @property
    def scheduler(self) -> Scheduler:
        """The owner of queue state: every change below is a request to it."""
        return services(self).scheduler

    def on_mount(self) -> None:
        self._add_columns()
        self.refresh_slots()
        self._sync_queue()
        self._unsubscribe = i18n.subscribe(lambda _language: self._retitle())

    def on_unmount(self) -> None:
        self._unsubscribe()

    def _add_columns(self) -> None:
        self.query_one("#slot-table", DataTable).add_columns("#", *(_(c) for c in SLOT_COLUMNS))

    def _retitle(self) -> None:
        """Headings, labels and placeholders in the current language (slots and typed text are kept)."""
        self.query_one("#slot-table", DataTable).clear(columns=True)
        self._add_columns()
        self.query_one("#repeats-label", Label).update(_("Repeats") + " ")
        for wid, text in (("#slot-name", _("slot name (goes into the file name)")),
                          ("#slot-prompt", _("slot prompt (added to the base prompt)")),
                          ("#slot-size", _("WxH (empty = base size)"))):
            self.query_one(wid, Input).placeholder = text
        self.query_one("#slot-locked", Checkbox).label = _("locked")
        self.refresh_slots()
        self._sync_queue()

    def on_screen_resume(self) -> None:
        self.refresh_slots()
        self._sync_queue()

    # ------------------------------------------------------------------ slots
    def refresh_slots(self, keep: int | None = None) -> None:
        table = self.query_one("#slot-table", DataTable)
        row = table.cursor_row if keep is None else keep
        table.clear()
        for i, s in enumerate(self.ws.slots):
            size = f"{s.width}x{s.height}" if s.width and s.height else ""
            chars = _("base") if s.characters is None else _("{n} own").format(n=len(s.characters))
            table.add_row(f"{i:03d}", plain_cell(s.name), plain_cell(s.prompt), size, chars, _("locked") if s.locked else "",
                          key=str(i))
        if self.ws.slots:
            table.move_cursor(row=max(0, min(row, len(self.ws.slots) - 1)))
        base = self.ws.base.prompt or _("(empty — write it in Compose, F2)")
        active = len(self.ws.active_slots()) if self.ws.slots else 1
        runs = active * max(1, self.ws.repeats)
        self.query_one("#base-prompt", Static).update(
            _("Base: {prompt}").format(prompt=base) + "\n"
            + ngettext("{n} slot(s)", "{n} slot(s)", len(self.ws.slots)).format(n=len(self.ws.slots)) + ", "
            + _("{active} unlocked × {repeats}").format(active=active, repeats=self.ws.repeats) + " = "
            + ngettext("{n} image(s)", "{n} image(s)", runs).format(n=runs)
        )
        self._load_form()

    def _current(self) -> Slot | None:
        table = self.query_one("#slot-table", DataTable)
        i = table.cursor_row
        return self.ws.slots[i] if 0 <= i < len(self.ws.slots) else None

    def _load_form(self) -> None:
        slot = self._current()
        values = ("", "", "", False) if slot is None else (
            slot.name, slot.prompt, f"{slot.width}x{slot.height}" if slot.width and slot.height else "", slot.locked
        )
        for wid, v in zip(("#slot-name", "#slot-prompt", "#slot-size"), values[:3], strict=True):
            field = self.query_one(wid, Input)
            with field.prevent(Input.Changed):
                field.value = str(v)
        box = self.query_one("#slot-locked", Checkbox)
        with box.prevent(Checkbox.Changed):
            box.value = bool(values[3])

    @on(DataTable.RowHighlighted, "#slot-table")
    def _row(self, _: DataTable.RowHighlighted) -> None:
        self._load_form()

    @on(Input.Changed, "#slot-name, #slot-prompt")
    def _edit_text(self, event: Input.Changed) -> None:
        slot = self._current()
        if slot is None:
            return
        setattr(slot, "name" if event.input.id == "slot-name" else "prompt", event.value)
        self._update_row(slot)

    @on(Input.Submitted, "#slot-size")
    @on(Input.Blurred, "#slot-size")
    def _edit_size(self, event: Any) -> None:
        slot = self._current()
        if slot is None:
            return
        try:
            slot.width, slot.height = parse_size(event.input.value)
        except ValueError as e:
            self.notify(str(e), severity="error")
            return
        self._update_row(slot)

    @on(Checkbox.Changed, "#slot-locked")
    def _edit_lock(self, event: Checkbox.Changed) -> None:
        slot = self._current()
        if slot is not None and slot.locked != event.value:
            slot.locked = event.value
            self.refresh_slots()

    @on(Input.Changed, "#repeats")
    def _repeats(self, event: Input.Changed) -> None:
        if event.value.isdigit() and int(event.value) >= 1:
            self.ws.repeats = min(int(event.value), 999)
            self.refresh_slots()

    def _update_row(self, slot: Slot) -> None:
        table = self.query_one("#slot-table", DataTable)
        i = self.ws.slots.index(slot)
        size = f"{slot.width}x{slot.height}" if slot.width and slot.height else ""
        for col, v in enumerate((slot.name, slot.prompt, size)):
            table.update_cell_at(Coordinate(i, col + 1), plain_cell(v), update_width=True)  # the column grows

    def action_slot_add(self) -> None:
        self.ws.slots.append(Slot(name=f"slot{len(self.ws.slots) + 1}"))
        self.refresh_slots(keep=len(self.ws.slots) - 1)
        self.query_one("#slot-name", Input).focus()

    def action_slot_delete(self) -> None:
        slot = self._current()
        if slot is not None:
            i = self.ws.slots.index(slot)
            self.ws.slots.remove(slot)
            self.refresh_slots(keep=i)

    def action_slot_lock(self) -> None:
        slot = self._current()
        if slot is not None:
            slot.locked = not slot.locked
            self.refresh_slots()

    @work(group="slot-characters")
    async def action_slot_characters(self) -> None:
        """Give the slot its own character prompts (empty text = use Compose's characters)."""
        slot = self._current()
        if slot is None:
            return
        start = characters_text(slot.characters if slot.characters is not None else self.ws.base.characters)
        text = await self.app.push_screen_wait(LinesPrompt(
            _("Characters for slot {name}: one per line, 'prompt ; negative ; cell'. "
              "Empty = the base characters. ctrl+s saves.").format(name=repr(slot.name)), start))
        if text is None:
            return
        try:
            slot.characters = parse_characters(text) if text.strip() else None
        except SettingsError as e:
            self.notify(str(e), severity="error")
            return
        self.refresh_slots()

    def action_generate_all(self) -> None:
        self.post_message(GenerationRequested(all_slots=True))

    @work(group="presets")
    async def action_preset_save(self) -> None:
        name = await self.app.push_screen_wait(TextPrompt(_("Save slot set as preset named:")))
        if name:
            try:
                path = save_preset(name, self.ws)
            except PresetError as e:
                self.notify(str(e), severity="error")
                return
            self.notify(_("Saved preset {name}").format(name=path.stem))

    @work(group="presets")
    async def action_preset_load(self) -> None:
        names = list_presets()
        if not names:
            self.notify(_("No presets yet: ctrl+s saves the current slot set."), severity="warning")
            return
        name = await self.app.push_screen_wait(ChoicePrompt(_("Load slot-set preset:"), names))
        if name:
            try:
                load_preset(name, self.ws)
            except PresetError as e:
                self.notify(str(e), severity="error")
                return
            self.query_one("#repeats", Input).value = str(self.ws.repeats)
            self.refresh_slots(keep=0)

    # ------------------------------------------------------------------ queue
    def _sync_queue(self) -> None:
        self.query_one(JobList).show_jobs(list(self.queue))
        counts: dict[str, int] = {}
        for job in self.queue:
            counts[job.state.value] = counts.get(job.state.value, 0) + 1
        text = ", ".join(state_count(state, n) for state, n in counts.items()) or _("queue empty")
        bal = services(self).balance
        if bal is not None and bal.anlas is not None:
            text += "   " + _("balance {anlas} Anlas").format(anlas=bal.anlas)
        self.query_one("#queue-summary", Static).update(text)
        self.query_one("#worker-states", Static).update(worker_states_text(self.scheduler))

    def on_queue_changed(self, _: QueueChanged) -> None:
        self._sync_queue()

    def on_image_saved(self, _: ImageSaved) -> None:
        self._sync_queue()

    def on_balance_updated(self, _: BalanceUpdated) -> None:
        self._sync_queue()

    def on_job_progressed(self, msg: JobProgressed) -> None:
        self.query_one(JobList).update_job(msg.job_id)

    def on_worker_lost(self, _: WorkerLost) -> None:
        self._sync_queue()

    def _changed(self) -> None:
        self.app.post_message(QueueChanged())

    def _ask(self, request: Any) -> list[Any]:
        """Run a scheduler request; a read-only queue (another peropix owns it) says so."""
        try:
            return list(request())
        except QueueReadOnly as e:
            self.notify(_("The queue is {reason}").format(reason=e), severity="warning", markup=False)
            return []

    def action_cancel_current(self) -> None:
        if not services(self).runner.cancel_current():
            self.notify(_("Nothing is running."))

    def action_cancel_all(self) -> None:
        services(self).runner.cancel_all()
        self._changed()

    def action_retry_failed(self) -> None:
        n = len(self._ask(self.scheduler.retry_failed))
        self.notify(ngettext("{n} job queued again.", "{n} jobs queued again.", n).format(n=n) if n
                    else _("No failed or cancelled jobs."))
        self._changed()

    def action_resume(self) -> None:
        n = len(self._ask(self.scheduler.resume))
        self.notify(ngettext("Resumed {n} job.", "Resumed {n} jobs.", n).format(n=n) if n else _("Nothing is paused."))
        self._changed()

    def action_job_move(self, delta: int) -> None:
        jobs = self.query_one(JobList)
        job = jobs.selected_job
        if job is not None:
            new = self.scheduler.reorder(job.id, delta)
            jobs.index = new
            self._changed()

    def action_clear_finished(self) -> None:
        self.scheduler.clear_finished()
        self._changed()

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (_("Queue: cancel current"), _("Stop the running job"), self.action_cancel_current),
            (_("Queue: cancel all"), _("Stop everything queued"), self.action_cancel_all),
            (_("Queue: retry failed"), _("Queue failed and cancelled jobs again"), self.action_retry_failed),
            (_("Queue: resume paused"), _("Run jobs paused after a restart or an error"), self.action_resume),
            (_("Queue: clear finished"), _("Remove done, failed and cancelled jobs"), self.action_clear_finished),
            (_("Slots: add slot"), _("New slot"), self.action_slot_add),
            (_("Slots: slot characters"), _("Per-slot character prompts (override)"), self.action_slot_characters),
            (_("Slots: save preset"), _("Save slots and repeats"), self.action_preset_save),
            (_("Slots: load preset"), _("Load slots and repeats"), self.action_preset_load),
        ]
