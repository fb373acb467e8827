"""References: vibes (info/strength, cache state), character reference, base image for img2img/inpaint.

Edits the bound :class:`GenerationSettings` in place and posts :class:`ReferencesPanel.Changed`.
Keys while focus is inside: ctrl+n adds a vibe (from the path field), ctrl+r removes the focused
vibe, ctrl+b opens the mask editor for the base image (handled by the Compose screen).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from ..core.settings import CharacterReference, GenerationSettings, SettingsError, VibeReference
from .plain import plain

ACTIONS = (("text to image", "generate"), ("img2img", "img2img"), ("inpaint", "infill"))


def vibe_state(vibe: VibeReference, model: str) -> str:
    """Cache state of one vibe for ``model``: cached, needs an encode (2 Anlas), or unusable."""
    if vibe.encoding:
        return "cached"
    from ..core.nai.vibe import VibeCache, model_family, vibe_source

    family = model_family(model)
    if family is None:
        return "model takes no vibes"
    if family == "v3":
        return "raw image (V3)"
    try:
        src = vibe_source(vibe, family)
    except SettingsError as e:
        return f"unreadable: {e.field}"
    if src.encoding or VibeCache().get(src.sha256, family, vibe.information_extracted):
        return "cached"
    return "needs encoding (+2)"


def _unit(text: str, name: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1")
    return value


class VibeRow(Horizontal):
    DEFAULT_CSS = """
    VibeRow { height: 3; }
    VibeRow Checkbox { width: auto; }
    VibeRow .path { width: 1fr; padding: 1 1 0 0; }
    VibeRow Input { width: 9; }
    VibeRow .state { width: 20; padding: 1 0 0 1; color: $text-muted; }
    """

    def __init__(self, vibe: VibeReference, model: str) -> None:
        super().__init__()
        self.vibe = vibe
        self.model = model

    def compose(self) -> ComposeResult:
        v = self.vibe
        yield Checkbox("on", v.enabled, classes="enabled", tooltip="enabled")
        yield Static(Path(v.path).name if v.path else "(encoding)", classes="path", markup=False)
        yield Input(f"{v.information_extracted:g}", type="number", classes="info", tooltip="information extracted 0..1")
        yield Input(f"{v.strength:g}", type="number", classes="strength", tooltip="strength 0..1")
        yield Static(vibe_state(v, self.model), classes="state", markup=False)


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
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "add_vibe", "Add vibe", id="vibe_add"),
        Binding("ctrl+r", "remove_vibe", "Remove vibe", id="vibe_remove"),
    ]

    class Changed(Message):
        """A reference or the base image changed."""

    class MaskRequested(Message):
        """The user asked to paint the inpaint mask of the base image."""

    def __init__(self, settings: GenerationSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings

    def compose(self) -> ComposeResult:
        s = self.settings
        yield Static("Vibes", classes="section")
        for v in s.vibes:
            yield VibeRow(v, s.model)
        with Horizontal(classes="addrow"):
            yield Input(placeholder="image or .naiv4vibe path, enter adds (ctrl+n)", id="vibe-path")
            yield Button("+ vibe", id="vibe-add")
        yield Static("Character reference", classes="section")
        cr = s.charref
        with Grid():
            yield Label("image")
            yield Input(cr.path if cr else "", placeholder="path (empty = none)", id="cr-path")
            yield Label("fidelity")
            yield Input(f"{cr.fidelity:g}" if cr else "1", type="number", id="cr-fidelity")
            yield Label("strength")
            yield Input(f"{cr.strength:g}" if cr else "1", type="number", id="cr-strength")
            yield Label("style")
            yield Checkbox("style-aware", cr.style_aware if cr else True, id="cr-style")
        yield Static("Base image", classes="section")
        with Grid():
            yield Label("mode")
            yield Select([(a, b) for a, b in ACTIONS], value=s.action, allow_blank=False, id="base-action")
            yield Label("image")
            yield Input(s.image or "", placeholder="path", id="base-image")
            yield Label("strength")
            yield Input(f"{s.strength:g}", type="number", id="base-strength")
            yield Label("noise")
            yield Input(f"{s.noise:g}", type="number", id="base-noise")
            yield Label("mask")
            yield Static(Path(s.mask).name if s.mask else "none", classes="mask", id="base-mask", markup=False)
            yield Label("")
            yield Button("Paint mask (ctrl+b)", id="base-mask-edit")

    async def load(self, settings: GenerationSettings) -> None:
        self.settings = settings
        await self.recompose()

    def _changed(self) -> None:
        self.post_message(self.Changed())

    # ---------------------------------------------------------------- vibes
    async def action_add_vibe(self) -> None:
        field = self.query_one("#vibe-path", Input)
        path = field.value.strip()
        if not path:
            field.focus()
            return
        if not Path(path).expanduser().is_file():
            field.add_class("-invalid")
            self.app.notify(f"{path}: file not found", severity="error")
            return
        vibe = VibeReference(path=str(Path(path).expanduser()))
        self.settings.vibes.append(vibe)
        field.value = ""
        field.remove_class("-invalid")
        await self.mount(VibeRow(vibe, self.settings.model), before=self.query_one(".addrow"))
        self._changed()

    async def action_remove_vibe(self) -> None:
        node = self.screen.focused
        while node is not None and not isinstance(node, VibeRow):
            node = node.parent  # type: ignore[assignment]
        if isinstance(node, VibeRow):
            self.settings.vibes.remove(node.vibe)
            await node.remove()
            self.query_one("#vibe-path").focus()
            self._changed()

    # --------------------------------------------------------------- events
    @on(Input.Submitted, "#vibe-path")
    async def _vibe_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.action_add_vibe()

    @on(Button.Pressed, "#vibe-add")
    async def _vibe_button(self, event: Button.Pressed) -> None:
        event.stop()
        await self.action_add_vibe()

    @on(Button.Pressed, "#base-mask-edit")
    def _mask_button(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.MaskRequested())

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
        elif event.checkbox.id == "cr-style" and self.settings.charref:
            self.settings.charref.style_aware = event.value
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
        elif field.id == "cr-path":
            s.charref = self._charref(value)
        elif field.id in ("cr-fidelity", "cr-strength"):
            number = _unit(value, field.id[3:])
            if s.charref is not None:
                setattr(s.charref, field.id[3:], number)
        elif field.id == "base-image":
            s.image = value or None
        elif field.id == "base-strength":
            s.strength = _unit(value, "strength")
        elif field.id == "base-noise":
            s.noise = _unit(value, "noise")
        else:
            return
        self._changed()

    def _charref(self, path: str) -> CharacterReference | None:
        if not path:
            return None
        fidelity = _unit(self.query_one("#cr-fidelity", Input).value or "1", "fidelity")
        strength = _unit(self.query_one("#cr-strength", Input).value or "1", "strength")
        style = self.query_one("#cr-style", Checkbox).value
        return CharacterReference(path=path, fidelity=fidelity, style_aware=style, strength=strength)

    def show_base(self) -> None:
        """Refresh the base-image fields after a pick or a mask edit."""
        s = self.settings
        image = self.query_one("#base-image", Input)
        if image.value != (s.image or ""):
            image.value = s.image or ""
        select = self.query_one("#base-action", Select)
        if select.value != s.action:
            select.value = s.action
        self.query_one("#base-mask", Static).update(Path(s.mask).name if s.mask else "none")
