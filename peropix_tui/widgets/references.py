"""References: vibes (info/strength, cache state), Precise References, base image for img2img/inpaint.

Edits the bound :class:`GenerationSettings` in place and posts :class:`ReferencesPanel.Changed`.
Precise References (NovelAI V4.5) are ``settings.charrefs()``: ``charref`` then ``extra_charrefs``,
one row each with its mode (character / style / character&style), strength and fidelity. Adding one
where the core refuses it (a V5 model, inpaint, vibes in use) is refused with the core's message.
Keys while focus is inside: ctrl+n adds a vibe (from the vibe path field), ctrl+t adds a Precise
Reference (from its path field; enter there does too), ctrl+r removes the focused vibe or reference,
ctrl+b opens the mask editor for the base image (handled by the Compose screen).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from .. import i18n
from ..core.settings import (
    CHARREF_MODES,
    CharacterReference,
    GenerationSettings,
    SettingsError,
    VibeReference,
)
from ..i18n import N_, _
from .cell_wrap import WrappedStatic
from .plain import plain

ACTIONS = ((N_("text to image"), "generate"), (N_("img2img"), "img2img"), (N_("inpaint"), "infill"))  # labels shown translated


def vibe_state(vibe: VibeReference, model: str) -> str:
    """Cache state of one vibe for ``model``: cached, needs an encode (2 Anlas), or unusable (translated)."""
    if vibe.encoding:
        return _("cached")
    from ..core.nai.vibe import VibeCache, model_family, vibe_source

    family = model_family(model)
    if family is None:
        return _("model takes no vibes")
    if family == "v3":
        return _("raw image (V3)")
    try:
        src = vibe_source(vibe, family)
    except SettingsError as e:
        return _("unreadable: {field}").format(field=e.field)
    if src.encoding or VibeCache().get(src.sha256, family, vibe.information_extracted):
        return _("cached")
    return _("needs encoding (+2)")


UNIT_NAMES = {"information": N_("information"), "strength": N_("strength"), "noise": N_("noise"),
              "fidelity": N_("fidelity")}
"""The names of the 0..1 fields in their error messages (shown translated)."""


def _unit(text: str, name: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(_("{field} must be between 0 and 1").format(field=_(UNIT_NAMES.get(name, name))))
    return value


class VibeRow(Horizontal):
    SCOPED_CSS = False  # a rule below starts at the Compose screen (its -narrow class); each names VibeRow
    DEFAULT_CSS = """
    VibeRow { height: 3; }
    VibeRow Checkbox { width: auto; }
    VibeRow .path { width: 1fr; padding: 1 1 0 0; text-wrap: nowrap; text-overflow: ellipsis; }
    VibeRow Input { width: 9; }
    VibeRow .state { width: 20; padding: 1 0 0 1; color: $text-muted; }
    /* 80 columns: the state on two lines ("needs encoding" / "(+2)") inside the screen */
    ComposeScreen.-narrow VibeRow .state { width: 11; }
    """

    def __init__(self, vibe: VibeReference, model: str) -> None:
        super().__init__()
        self.vibe = vibe
        self.model = model

    def compose(self) -> ComposeResult:
        v = self.vibe
        yield Checkbox(_("on"), v.enabled, classes="enabled", tooltip=_("enabled"))
        yield Static(Path(v.path).name if v.path else _("(encoding)"), classes="path", markup=False)
        yield Input(f"{v.information_extracted:g}", type="number", classes="info",
                    tooltip=_("information extracted 0..1"))
        yield Input(f"{v.strength:g}", type="number", classes="strength", tooltip=_("strength 0..1"))
        yield WrappedStatic(vibe_state(v, self.model), classes="state")  # wrapped by cells, Japanese too


def charref_refusal(settings: GenerationSettings) -> str | None:
    """Why the core refuses the settings' references (its own message), or None when it takes them."""
    if settings.provider != "nai":
        return _("Precise Reference is a NovelAI feature; this provider ignores it") if settings.charrefs() else None
    from ..core.nai.models import check_references

    try:
        check_references(settings)
    except SettingsError as e:
        return str(e)
    return None


MODE_LABELS = {"character": N_("character"), "style": N_("style"),
               "character&style": N_("char+style")}  # shown translated; "char+style" fits a narrow terminal


class CharrefRow(Horizontal):
    """One Precise Reference: its image, mode, strength and fidelity."""

    DEFAULT_CSS = """
    CharrefRow { height: 3; }
    CharrefRow .path { width: 1fr; min-width: 8; padding: 1 1 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    CharrefRow Select { width: 18; }
    CharrefRow Input { width: 9; }
    """

    def __init__(self, ref: CharacterReference) -> None:
        super().__init__()
        self.ref = ref

    def compose(self) -> ComposeResult:
        r = self.ref
        yield Static(Path(r.path).name, classes="path", markup=False)
        yield Select([(_(MODE_LABELS[m]) if m in MODE_LABELS else m, m) for m in CHARREF_MODES], value=r.caption(),
                     allow_blank=False, classes="mode",
                     tooltip=_("what the reference carries: character, style, or both"))
        yield Input(f"{r.strength:g}", type="number", classes="strength", tooltip=_("strength 0..1"))
        yield Input(f"{r.fidelity:g}", type="number", classes="fidelity", tooltip=_("fidelity 0..1"))


class ReferencesPanel(VerticalScroll):
    """Vibes, character reference and the base image of one settings object."""

    DEFAULT_CSS = """
    ReferencesPanel { height: 1fr; }
    ReferencesPanel .section { color: $accent; text-style: bold; padding: 0 1; }
    ReferencesPanel Grid { grid-size: 4; grid-columns: 10 1fr 10 1fr; grid-rows: 3; height: auto; }
    ReferencesPanel Label { padding: 1 0 0 1; color: $text-muted; }
    ReferencesPanel .addrow { height: 3; }
    ReferencesPanel .addrow Input { width: 1fr; }
    ReferencesPanel Input.-invalid { border: tall $error; }
    ReferencesPanel .mask { padding: 1 0 0 1; }
    ReferencesPanel #cr-note { color: $error; padding: 0 1; height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "add_vibe", N_("Add vibe"), id="vibe_add"),
        Binding("ctrl+r", "remove_vibe", N_("Remove vibe/reference"), id="vibe_remove"),
        Binding("ctrl+t", "add_charref", N_("Add reference"), id="charref_add"),
    ]

    class Changed(Message):
        """A reference or the base image changed."""

    class MaskRequested(Message):
        """The user asked to paint the inpaint mask of the base image."""

    def __init__(self, settings: GenerationSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self._unsubscribe: Callable[[], None] = lambda: None

    def on_mount(self) -> None:
        self._unsubscribe = i18n.subscribe(self._language_changed)

    def on_unmount(self) -> None:
        self._unsubscribe()

    def _language_changed(self, _language: str) -> None:
        """Titles, labels and hints in the new language: the panel is built again (values kept)."""
        if self.is_attached:
            self.call_later(self.load, self.settings)

    def compose(self) -> ComposeResult:
        s = self.settings
        yield Static(_("Vibes"), classes="section")
        for v in s.vibes:
            yield VibeRow(v, s.model)
        with Horizontal(classes="addrow"):
            yield Input(placeholder=_("image or .naiv4vibe path, enter adds (ctrl+n)"), id="vibe-path")
            yield Button(_("+ vibe"), id="vibe-add")
        yield Static(_("Precise Reference (V4.5): image, mode, strength, fidelity"), classes="section")
        for ref in s.charrefs():
            yield CharrefRow(ref)
        with Horizontal(classes="addrow", id="cr-addrow"):
            yield Input(placeholder=_("reference image path, enter adds (ctrl+t)"), id="cr-path")
            yield Button(_("+ reference"), id="cr-add")
        yield Static(plain(charref_refusal(s) or ""), id="cr-note", classes="note")
        yield Static(_("Base image"), classes="section")
        with Grid():
            yield Label(_("mode"))
            yield Select([(_(a), b) for a, b in ACTIONS], value=s.action, allow_blank=False, id="base-action")
            yield Label(_("image"))
            yield Input(s.image or "", placeholder=_("path"), id="base-image")
            yield Label(_("strength"))
            yield Input(f"{s.strength:g}", type="number", id="base-strength")
            yield Label(_("noise"))
            yield Input(f"{s.noise:g}", type="number", id="base-noise")
            yield Label(_("mask"))
            yield Static(Path(s.mask).name if s.mask else _("none"), classes="mask", id="base-mask", markup=False)
            yield Label("")
            yield Button(_("Paint mask (ctrl+b)"), id="base-mask-edit")

    async def load(self, settings: GenerationSettings) -> None:
        self.settings = settings
        await self.recompose()

    def _changed(self) -> None:
        if self.query("#cr-note"):
            self.refresh_note()
        self.post_message(self.Changed())

    # ---------------------------------------------------------------- vibes
    def _typed_file(self, field: Input) -> Path | None:
        """The existing file typed in ``field`` (``~`` expanded); None after focusing an empty field
        or flagging one that names no file."""
        path = field.value.strip()
        if not path:
            field.focus()
            return None
        if not Path(path).expanduser().is_file():
            field.add_class("-invalid")
            self.app.notify(_("{path}: file not found").format(path=path), severity="error", markup=False)
            return None
        return Path(path).expanduser()

    async def action_add_vibe(self) -> None:
        field = self.query_one("#vibe-path", Input)
        path = self._typed_file(field)
        if path is None:
            return
        vibe = VibeReference(path=str(path))
        self.settings.vibes.append(vibe)
        field.value = ""
        field.remove_class("-invalid")
        await self.mount(VibeRow(vibe, self.settings.model), before=self.query_one(".addrow"))
        self._changed()

    async def action_remove_vibe(self) -> None:
        """Remove the vibe or Precise Reference whose row holds the focus."""
        node = self.screen.focused
        while node is not None and not isinstance(node, VibeRow | CharrefRow):
            node = node.parent  # type: ignore[assignment]
        if isinstance(node, VibeRow):
            self.settings.vibes.remove(node.vibe)
            await node.remove()
            self.query_one("#vibe-path").focus()
            self._changed()
        elif isinstance(node, CharrefRow):
            await node.remove()
            self._store_charrefs()
            self.query_one("#cr-path").focus()
            self._changed()

    # ------------------------------------------------------ precise reference
    async def action_add_charref(self) -> None:
        field = self.query_one("#cr-path", Input)
        path = self._typed_file(field)
        if path is None:
            return
        ref = CharacterReference(path=str(path))
        trial = self.settings.copy()
        trial.charref, trial.extra_charrefs = (trial.charrefs() + [ref])[0], (trial.charrefs() + [ref])[1:]
        refusal = charref_refusal(trial)
        if refusal is not None:
            field.add_class("-invalid")
            self._note(refusal)
            self.app.notify(refusal, severity="error", markup=False)
            return
        field.value = ""
        field.remove_class("-invalid")
        await self.mount(CharrefRow(ref), before=self.query_one("#cr-addrow"))
        self._store_charrefs()
        self._changed()

    def _store_charrefs(self) -> None:
        """The rows, in order, become ``charref`` + ``extra_charrefs``."""
        refs = [row.ref for row in self.query(CharrefRow)]
        self.settings.charref = refs[0] if refs else None
        self.settings.extra_charrefs = refs[1:]

    def _note(self, text: str | None) -> None:
        self.query_one("#cr-note", Static).update(plain(text or ""))

    def refresh_note(self) -> None:
        """Show why the core refuses the references now (after a model or mode change), if it does."""
        self._note(charref_refusal(self.settings))

    # --------------------------------------------------------------- events
    @on(Input.Submitted, "#vibe-path")
    async def _vibe_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.action_add_vibe()

    @on(Button.Pressed, "#vibe-add")
    async def _vibe_button(self, event: Button.Pressed) -> None:
        event.stop()
        await self.action_add_vibe()

    @on(Input.Submitted, "#cr-path")
    async def _charref_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.action_add_charref()

    @on(Button.Pressed, "#cr-add")
    async def _charref_button(self, event: Button.Pressed) -> None:
        event.stop()
        await self.action_add_charref()

    @on(Button.Pressed, "#base-mask-edit")
    def _mask_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.MaskRequested())

    @on(Select.Changed, ".mode")
    def _mode_changed(self, event: Select.Changed) -> None:
        event.stop()
        row = event.select.parent
        if isinstance(row, CharrefRow) and event.value is not Select.BLANK and str(event.value) != row.ref.caption():
            row.ref.mode = str(event.value)
            row.ref.style_aware = row.ref.mode != "character"
            self._changed()

    @on(Select.Changed, "#base-action")
    def _action_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is not Select.BLANK and event.value != self.settings.action:
            self.settings.action = str(event.value)
            self._changed()

    @on(Checkbox.Changed)
    def _checkbox(self, event: Checkbox.Changed) -> None:
        event.stop()
        row = event.checkbox.parent
        if isinstance(row, VibeRow):
            row.vibe.enabled = event.value
        self._changed()

    @on(Input.Changed)
    def _input(self, event: Input.Changed) -> None:
        event.stop()
        try:
            self._apply_input(event.input, event.value.strip())
        except ValueError as e:
            event.input.add_class("-invalid")
            event.input.tooltip = plain(e)
            return
        event.input.remove_class("-invalid")
        event.input.tooltip = None

    def _apply_input(self, field: Input, value: str) -> None:
        row = field.parent
        s = self.settings
        if isinstance(row, VibeRow):
            if field.has_class("info"):
                row.vibe.information_extracted = _unit(value, "information")
            else:
                row.vibe.strength = _unit(value, "strength")
        elif isinstance(row, CharrefRow):
            name = "fidelity" if field.has_class("fidelity") else "strength"
            setattr(row.ref, name, _unit(value, name))
        elif field.id == "cr-path":
            field.remove_class("-invalid")
            return  # added on enter / ctrl+t
        elif field.id == "base-image":
            s.image = value or None
        elif field.id == "base-strength":
            s.strength = _unit(value, "strength")
        elif field.id == "base-noise":
            s.noise = _unit(value, "noise")
        else:
            return
        self._changed()

    def show_base(self) -> None:
        """Refresh the base-image fields after a pick or a mask edit."""
        s = self.settings
        image = self.query_one("#base-image", Input)
        if image.value != (s.image or ""):
            image.value = s.image or ""
        select = self.query_one("#base-action", Select)
        if select.value != s.action:
            select.value = s.action
        self.query_one("#base-mask", Static).update(Path(s.mask).name if s.mask else _("none"))
