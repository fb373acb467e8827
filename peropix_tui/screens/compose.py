"""The Compose screen (home): prompt, negative, characters, parameters, references, preview, cost.

It edits ``app.workspace.base`` in place and posts :class:`GenerationRequested` (``generate``,
ctrl+g / ctrl+enter); the app turns that into jobs and broadcasts job messages back, which update
the inline preview, the status line and the cost meter. It also loads settings restored from the
gallery (:class:`SettingsRestored`) and references picked elsewhere (:class:`ReferencePicked`).
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Static, TabbedContent, TabPane, TextArea
from textual.worker import get_current_worker

from .. import i18n
from ..core.settings import CharacterReference, GenerationSettings, VibeReference
from ..core.tags import HistorySnapshot, write_history
from ..i18n import N_, _
from ..messages import (
    BalanceUpdated,
    GenerationRequested,
    ImageSaved,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobProgressed,
    JobStarted,
    QueueChanged,
    ReferencePicked,
    SettingsRestored,
)
from ..services import services
from ..widgets.character_list import CharacterList
from ..widgets.cost_meter import CostMeter
from ..widgets.footer import KeyFooter
from ..widgets.param_jumps import JUMP_DESCRIPTIONS, JUMPS, field_label
from ..widgets.prompt_area import PromptArea
from .first_show import StyledOnce

if TYPE_CHECKING:  # both are imported when their tab is first built, not at start-up
    from ..core.nai.suggest import TagSuggester
    from ..widgets.param_form import ParamForm
    from ..widgets.references import ReferencesPanel

PREVIEW_PX = 512  # longest side kept for the inline preview

# Tab panes filled on first show (or when something needs their widgets): they hold most of the
# screen's widgets, and mounting them all made start-up ~3x a minimal Textual app.
def _param_form(settings: GenerationSettings) -> Widget:
    from ..widgets.param_form import ParamForm

    return ParamForm(settings, id="params")


def _references_panel(settings: GenerationSettings) -> Widget:
    from ..widgets.references import ReferencesPanel

    return ReferencesPanel(settings, id="references")


LAZY_PANES: dict[str, Callable[[GenerationSettings], Widget]] = {
    "tab-params": _param_form,
    "tab-references": _references_panel,
}


def dialect_for(settings: GenerationSettings, configured: str = "auto") -> str:
    """NovelAI syntax for NovelAI; for the local engine its prompt dialect (the settings' own, else
    ``configured``, the ``[local] prompt_dialect``), so the editor shows the weights it will use.
    ComfyUI reads the same dialect setting, except that ``auto`` (and ``novelai``) prompts are
    converted from NovelAI syntax there, so the editor shows NovelAI's weights for them."""
    if settings.provider not in ("local", "comfyui"):
        return "nai"
    dialect = settings.prompt_dialect or configured or "auto"
    if settings.provider == "comfyui" and dialect in ("auto", "novelai"):
        return "nai"
    return dialect


def edit_externally(text: str, editor: str, suffix: str = ".txt") -> str:
    """Open ``text`` in ``editor`` (a command line) and return the saved text (trailing newline dropped)."""
    fd, name = tempfile.mkstemp(prefix="peropix-prompt-", suffix=suffix)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        code = subprocess.call([*shlex.split(editor), str(path)])
        if code != 0:
            raise OSError(_("{editor} exited with status {code}; prompt left unchanged").format(editor=editor, code=code))
        return path.read_text(encoding="utf-8").rstrip("\n")
    finally:
        path.unlink(missing_ok=True)


TAB_TITLES: dict[str, str] = {
    "tab-characters": N_("Characters"), "tab-params": N_("Parameters"), "tab-references": N_("References"),
}


class ComposeScreen(StyledOnce):
    """Home screen: everything for one generation, plus the live preview and cost."""

    CSS_PATH = "compose.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (32, "-tall")]

    HELP: ClassVar[str] = N_("""\
ctrl+g (or ctrl+enter): generate the current prompt (one run)
tab or →: accept the suggested tag; tab with no suggestion moves on
alt+1..5: pick one of the tags listed under the prompt (aliases included)
alt + the underlined letter of a Parameters field jumps to it (alt+t steps, alt+d seed, …)
ctrl+o: edit the focused prompt in $EDITOR
ctrl+b: paint the inpaint mask of the base image
Characters tab: ctrl+n add · ctrl+r remove · ctrl+t enable/disable · ctrl+l position (arrows, enter, a = auto)
References tab: ctrl+n add vibe · ctrl+t add Precise Reference · ctrl+r remove the focused one
NovelAI provider: NovelAI's tag suggestions join the candidate list after a short pause in typing
""")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+g,ctrl+enter", "generate", N_("Generate"), id="generate", priority=True),
        Binding("ctrl+o", "edit_external", "$EDITOR", id="edit_external"),
        Binding("ctrl+b", "edit_mask", N_("Mask"), id="edit_mask"),
        *[Binding(f"alt+{key}", f"jump('{field}')", JUMP_DESCRIPTIONS[field],
                  show=False, priority=True, id=f"jump_{field.removeprefix('p-')}")
          for field, _label, key in JUMPS],
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._preview: Widget | None = None
        self._suggester: TagSuggester | None = None
        self._unsubscribe: Callable[[], None] = lambda: None
        self._idle = True  # the job status line still says "idle" (no job event yet)

    @property
    def settings(self) -> GenerationSettings:
        base: GenerationSettings = services(self).workspace.base
        return base

    # --------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        s = self.settings
        dialect = dialect_for(s, self._configured_dialect())
        with Horizontal(id="compose-body"):
            with Vertical(id="compose-left"):
                yield PromptArea(s.prompt, dialect=dialect, id="prompt", placeholder=_("prompt: 1girl, {smile}, …"))
                yield PromptArea(s.uc, dialect=dialect, id="negative", placeholder=_("negative prompt (UC)"))
                with TabbedContent(id="compose-tabs"):
                    yield TabPane(_(TAB_TITLES["tab-characters"]), CharacterList(s.characters, id="characters"), id="tab-characters")
                    yield TabPane(_(TAB_TITLES["tab-params"]), id="tab-params")  # built when first shown
                    yield TabPane(_(TAB_TITLES["tab-references"]), id="tab-references")
            with Vertical(id="compose-right"):
                with Vertical(id="preview-box"):
                    yield self._make_preview()
                yield Static(_("idle"), id="job-status", markup=False)
                yield CostMeter(id="cost")
        yield KeyFooter()

    async def _build(self, pane_id: str) -> bool:
        """Fill a tab pane that was never shown (from the current settings); False if it was."""
        pane = self.query_one(f"#{pane_id}", TabPane)
        make = LAZY_PANES.get(pane_id)
        if make is None or pane.children:
            return False
        await pane.mount(make(self.settings))
        return True

    def _param_form(self) -> ParamForm:
        from ..widgets.param_form import ParamForm

        return self.query_one("#params", ParamForm)

    def _references_panel(self) -> ReferencesPanel:
        from ..widgets.references import ReferencesPanel

        return self.query_one("#references", ReferencesPanel)

    @on(TabbedContent.TabActivated, "#compose-tabs")
    async def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            await self._build(event.pane.id)

    def _make_preview(self) -> Widget:
        widget: Widget = services(self).image_widget()
        widget.id = "preview"
        self._preview = widget
        return widget

    # ------------------------------------------------ NovelAI tag suggestions
    def _tag_suggester(self) -> TagSuggester:
        """NovelAI's suggest-tags client, made on first use (it loads the HTTP stack)."""
        if self._suggester is None:
            from ..core.nai.suggest import TagSuggester

            app = services(self)
            self._suggester = TagSuggester(app.config.nai.base_url, app.token)  # answers without a token too
        return self._suggester

    def _wire_suggestions(self) -> None:
        """NovelAI's suggestions in both prompt editors while the NovelAI provider is chosen."""
        s = self.settings
        for area in self.query(PromptArea):
            area.remote_tags = self._tag_suggester
            area.suggest_model = s.model if s.provider == "nai" else None

    async def on_unmount(self) -> None:
        self._unsubscribe()
        if self._suggester is not None:
            await self._suggester.aclose()

    def on_mount(self) -> None:
        self._wire_suggestions()
        self._retitle()
        self._unsubscribe = i18n.subscribe(lambda _language: self._retitle())
        self.query_one("#prompt", PromptArea).focus()

    def _retitle(self) -> None:
        """Box titles, tab titles and placeholders in the current language (typed text is kept)."""
        self.query_one("#prompt").border_title = _("Prompt")
        self.query_one("#negative").border_title = _("Negative")
        self.query_one("#preview-box").border_title = _("Preview")
        self.query_one("#prompt", PromptArea).placeholder = _("prompt: 1girl, {smile}, …")
        self.query_one("#negative", PromptArea).placeholder = _("negative prompt (UC)")
        tabs = self.query_one("#compose-tabs", TabbedContent)
        for pane_id, title in TAB_TITLES.items():
            tabs.get_tab(pane_id).label = _(title)
        self.query_one(CostMeter).recompute()
        if self._idle:
            self.query_one("#job-status", Static).update(_("idle"))

    # -------------------------------------------------------------- actions
    def action_generate(self) -> None:
        tags = services(self).tags
        if tags is not None and self.settings.prompt.strip():
            tags.learn_prompt(self.settings.prompt)
            snapshot = tags.history_snapshot()
            if snapshot is not None:
                self._save_tag_history(snapshot)
        self.post_message(GenerationRequested(all_slots=False))

    @work(thread=True, group="tag-history", exit_on_error=False)
    def _save_tag_history(self, snapshot: HistorySnapshot) -> None:
        """The history file's fsync and rename, on a thread (a slow disk never stalls typing)."""
        try:
            write_history(snapshot)
        except OSError as e:
            self.app.call_from_thread(self.notify, _("tag history not saved: {error}").format(error=e), severity="warning")

    async def action_jump(self, field: str) -> None:
        """Show the Parameters tab and focus one of its fields (alt + the underlined letter)."""
        await self._build("tab-params")
        self.query_one(TabbedContent).active = "tab-params"
        widget = self.query_one(f"#{field}")
        if not widget.display:  # e.g. the model field while the local provider is chosen
            self.notify(_("{field} does not apply to this provider").format(field=field_label(field)), severity="warning")
            return
        widget.focus()
        widget.scroll_visible()

    def action_edit_external(self) -> None:
        area = self.focused if isinstance(self.focused, PromptArea) else self.query_one("#prompt", PromptArea)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            with self.app.suspend():
                text = edit_externally(area.text, editor)
        except SuspendNotSupported:
            self.notify(_("this terminal cannot suspend the app for $EDITOR"), severity="error")
            return
        except OSError as e:
            self.notify(str(e), severity="error")
            return
        area.load_text(text)

    def action_edit_mask(self) -> None:
        from .mask_editor import MaskEditorScreen

        s = self.settings
        if not s.image:
            self.notify(_("choose a base image first (References tab or gallery)"), severity="warning")
            return
        try:
            screen = MaskEditorScreen(Path(s.image), Path(s.mask) if s.mask else None)
        except (OSError, ValueError) as e:
            self.notify(_("{path}: cannot open ({error})").format(path=s.image, error=e), severity="error")
            return
        self.app.push_screen(screen, self._mask_saved)

    def _mask_saved(self, path: Path | None) -> None:
        if path is None:
            return
        self.settings.mask = str(path)
        self.settings.action = "infill"
        if self.query("#references"):  # an unbuilt pane shows the settings when built
            self._references_panel().show_base()
        self._edited()

    # --------------------------------------------------------------- edits
    def _edited(self) -> None:
        self.query_one(CostMeter).recompute()
        self._wire_suggestions()  # the provider or model may have changed
        if self.query("#references"):  # a model or mode change may make the core refuse the references
            self._references_panel().refresh_note()

    @on(TextArea.Changed, "#prompt")
    def _prompt_changed(self, event: TextArea.Changed) -> None:
        self.settings.prompt = event.text_area.text  # prices do not depend on the text

    @on(TextArea.Changed, "#negative")
    def _negative_changed(self, event: TextArea.Changed) -> None:
        self.settings.uc = event.text_area.text

    def on_param_form_changed(self, event: ParamForm.Changed) -> None:
        if event.field in ("provider", "prompt_dialect"):
            for area in self.query(PromptArea):
                area.dialect = dialect_for(self.settings, self._configured_dialect())
        self._edited()

    @on(CharacterList.Changed)
    def _parts_changed(self) -> None:
        self._edited()

    def on_references_panel_changed(self, event: ReferencesPanel.Changed) -> None:
        self._edited()

    def on_references_panel_mask_requested(self, event: ReferencesPanel.MaskRequested) -> None:
        self.action_edit_mask()

    # ------------------------------------------------------- app messages
    async def on_settings_restored(self, message: SettingsRestored) -> None:
        services(self).workspace.base = message.settings
        await self.reload()
        for warning in message.warnings:
            self.notify(warning, severity="warning")
        self.notify(_("restored: {groups}").format(groups=", ".join(sorted(message.groups)) or _("nothing")))

    def _configured_dialect(self) -> str:
        """``[local] prompt_dialect`` from the app's config ("auto" when there is none)."""
        return services(self).config.local.prompt_dialect or "auto"

    async def reload(self) -> None:
        """Show the workspace's base settings again (after it was replaced)."""
        s = self.settings
        for wid, text in (("#prompt", s.prompt), ("#negative", s.uc)):
            area = self.query_one(wid, PromptArea)
            area.dialect = dialect_for(s, self._configured_dialect())
            if area.text != text:
                area.load_text(text)
        await self.query_one(CharacterList).load(s.characters)
        if not await self._build("tab-params"):
            await self._param_form().load(s)
        if not await self._build("tab-references"):
            await self._references_panel().load(s)
        self._edited()

    async def on_reference_picked(self, message: ReferencePicked) -> None:
        s, path = self.settings, str(message.path)
        if message.kind in ("img2img", "inpaint"):
            s.image, s.action = path, "img2img" if message.kind == "img2img" else "infill"
            if s.mask and message.kind == "img2img":
                s.mask = None
        elif message.kind == "vibe":
            s.vibes.append(VibeReference(path=path))
        elif message.kind == "charref":  # one more Precise Reference
            if s.charref is None:
                s.charref = CharacterReference(path=path)
            else:
                s.extra_charrefs.append(CharacterReference(path=path))
        if not await self._build("tab-references"):
            await self._references_panel().load(s)
        self.query_one(TabbedContent).active = "tab-references"
        self._edited()
        if message.kind == "inpaint":
            self.action_edit_mask()

    def on_balance_updated(self, message: BalanceUpdated) -> None:
        self.query_one(CostMeter).recompute()

    def on_queue_changed(self, message: QueueChanged) -> None:
        self.query_one(CostMeter).recompute()

    def on_job_started(self, message: JobStarted) -> None:
        self._status(_("job {id}: started").format(id=message.job_id))

    def on_job_progressed(self, message: JobProgressed) -> None:
        note = f" · {message.note}" if message.note else ""
        self._status(_("job {id}: step {step}/{total}").format(id=message.job_id, step=message.step, total=message.total) + note)
        if message.preview:
            self._show_image(io.BytesIO(message.preview))

    def on_image_saved(self, message: ImageSaved) -> None:
        self._status(_("saved {name} (seed {seed})").format(name=message.path.name, seed=message.seed))
        self._show_image(message.path)

    def on_job_finished(self, message: JobFinished) -> None:
        self._status(_("job {id}: done").format(id=message.job_id))

    def on_job_failed(self, message: JobFailed) -> None:
        self._status(_("job {id}: failed: {error}").format(id=message.job_id, error=message.error))

    def on_job_cancelled(self, message: JobCancelled) -> None:
        self._status(_("job {id}: cancelled").format(id=message.job_id))

    def _status(self, text: str) -> None:
        self._idle = False
        self.query_one("#job-status", Static).update(text)

    @work(thread=True, exclusive=True, group="compose-preview", exit_on_error=False)
    def _show_image(self, source: Path | io.BytesIO) -> None:
        """Decode and shrink off the UI thread; the newest image wins (exclusive worker)."""
        if self._preview is None or not hasattr(self._preview, "image"):
            return
        from PIL import Image  # here, in the worker: start-up need not import Pillow

        try:
            with Image.open(source) as im:
                im.load()
                image = im.convert("RGB")
        except (OSError, ValueError) as e:
            self.app.call_from_thread(self._status, _("preview unreadable: {error}").format(error=e))
            return
        image.thumbnail((PREVIEW_PX, PREVIEW_PX))
        from ..widgets.preview import letterbox

        image = letterbox(image, self._preview.size.width, self._preview.size.height)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(setattr, self._preview, "image", image)
