"""Settings and first run: NovelAI token (entered, verified, stored 0600, never shown), folders,
image protocol, theme and keymap. Saved to the config file with ctrl+s."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Header, Input, Label, Select, Static

from .. import i18n
from ..core import paths
from ..core.config import IMAGE_PROTOCOLS, Secret, save_config_changes, save_token
from ..i18n import N_, _
from ..messages import BalanceUpdated
from ..runner import fetch_balance
from ..services import services
from ..widgets.cell_wrap import WrappedStatic
from ..widgets.footer import KeyFooter

WELCOME = N_(
    "Welcome to PeroPix. Nothing is configured yet — pick one:\n"
    "  • NovelAI: paste your persistent API token below (NovelAI → Account Settings → Get Persistent "
    "API Token), press Verify, then ctrl+s.\n"
    "  • Local engine: put the folder of your SDXL / Illustrious / NoobAI / Pony .safetensors checkpoints "
    "below, then ctrl+s.\n"
    "Then F2 opens Compose. F1 shows the keys of any screen; ctrl+q quits."
)


LANGUAGE_NAMES: dict[str, str] = {"en": "English", "ko": "한국어", "ja": "日本語"}
"""Each language by its own name (never translated: a user who cannot read the current language
still finds theirs)."""


def language_options() -> list[tuple[str, str]]:
    """The language selector's (label, value) pairs: auto (naming the language it gives now), then each language."""
    auto = LANGUAGE_NAMES[i18n.language_from_environment()]
    return [(_("Automatic (from the locale: {language})").format(language=auto), "auto"),
            *((LANGUAGE_NAMES[code], code) for code in i18n.LANGUAGES)]


def masked(token: Secret | None) -> str:
    """How a stored token is shown: never in full."""
    if not token:
        return _("no token stored")
    value = token.get()
    return _("token set (…{last4})").format(last4=value[-4:]) if len(value) >= 12 else _("token set")


def parse_keymap(text: str) -> dict[str, str]:
    """``"generate=ctrl+g, quit=ctrl+q"`` → {"generate": "ctrl+g", "quit": "ctrl+q"}."""
    out: dict[str, str] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError(_("keymap: {part} must be binding_id=keys").format(part=repr(part)))
        key, value = (x.strip() for x in part.split("=", 1))
        if not key or not value:
            raise ValueError(_("keymap: {part} must be binding_id=keys").format(part=repr(part)))
        out[key] = value
    return out


class SettingsScreen(Screen[None]):
    HELP = N_("Token, folders, language, image protocol, theme and keymap. ctrl+s saves to the config file.")
    HELP_TITLE = N_("Settings")
    AUTO_FOCUS = "#token"  # first run: a token pasted at once lands in its field
    BINDINGS = [
        Binding("ctrl+s", "save", N_("Save"), id="settings_save"),
        Binding("ctrl+t", "verify", N_("Verify token"), id="settings_verify"),
    ]

    def compose(self) -> ComposeResult:
        app = services(self)
        cfg = app.config
        yield Header()
        with VerticalScroll(id="settings-form"):
            if app.first_run:
                yield WrappedStatic(_(WELCOME), id="welcome")
            yield Label(_("NovelAI token (stored in the config folder with mode 0600; never shown)"))
            yield Input(password=True, placeholder=masked(app.token), id="token")
            yield Static(self._balance_text(app.balance), id="token-status", markup=False)
            yield Label(_("Language (switches at once; ctrl+s keeps it)"))
            choice = self._language_choice = getattr(self, "_language_choice", cfg.ui.language)
            yield Select(language_options(), value=choice, allow_blank=False, id="language")
            yield Label(_("Output folder"))
            yield Input(str(cfg.output_dir), id="output_dir")
            yield Label(_("Checkpoints folder (local engine)"))
            yield Input(cfg.paths.checkpoints_dir, placeholder="/models/checkpoints", id="checkpoints_dir")
            yield Label(_("LoRA folder"))
            yield Input(cfg.paths.lora_dir, placeholder="/models/loras", id="lora_dir")
            yield Label(_("Image protocol (auto probes the terminal at start; over SSH pick one)"))
            yield Select([(p, p) for p in IMAGE_PROTOCOLS], value=cfg.ui.image_protocol, allow_blank=False,
                         id="image_protocol")
            yield Label(_("Theme"))
            themes = sorted(self.app.available_themes)
            yield Select([(t, t) for t in themes], value=self.app.theme if self.app.theme in themes else themes[0],
                         allow_blank=False, id="theme")
            yield Label(_("Keymap: binding_id=keys; … (F1 on a screen lists binding ids)"))
            yield Input("; ".join(f"{k}={v}" for k, v in cfg.ui.keymap.items()), id="keymap")
            with Horizontal(id="settings-buttons"):
                yield Button(_("Verify token (ctrl+t)"), id="verify")
                yield Button(_("Save (ctrl+s)"), id="save", variant="primary")
        yield KeyFooter()

    @staticmethod
    def _balance_text(bal: BalanceUpdated | None) -> str:
        if bal is None:
            return ""
        if bal.error:
            return f"✗ {bal.error}"
        if bal.active:
            return _("✓ verified: tier {tier}, {anlas} Anlas").format(tier=bal.tier, anlas=bal.anlas)
        return _("✓ verified: tier {tier}, {anlas} Anlas (inactive)").format(tier=bal.tier, anlas=bal.anlas)

    def on_balance_updated(self, msg: BalanceUpdated) -> None:
        self.query_one("#token-status", Static).update(self._balance_text(msg))

    @on(Select.Changed, "#language")
    async def _language(self, event: Select.Changed) -> None:
        """Show the chosen language at once: this form is composed again with what was typed kept,
        and every screen's footer follows (each footer listens to :func:`i18n.subscribe`)."""
        if not isinstance(event.value, str) or event.value == self._language_choice:
            return  # a new Select posts its first value too
        self._language_choice = event.value
        if i18n.resolve(event.value) == i18n.current_language():
            return  # e.g. English to auto on an English locale: nothing to show again
        kept = self._entered()
        i18n.set_language(event.value)
        await self.recompose()
        self._restore(kept)
        self.query_one("#language", Select).focus()

    def _entered(self) -> dict[str, Any]:
        """What every field of the form holds now, by widget id (the token too: it stays on screen)."""
        out: dict[str, Any] = {}
        for widget in self.query("#settings-form Input, #settings-form Select"):
            if widget.id:
                out[widget.id] = widget.value  # type: ignore[attr-defined]
        return out

    def _restore(self, kept: dict[str, Any]) -> None:
        for widget_id, value in kept.items():
            for widget in self.query(f"#{widget_id}"):
                if isinstance(widget, (Input, Select)) and widget.value != value:
                    widget.value = value

    @on(Select.Changed, "#theme")
    def _theme(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.app.theme = event.value

    @on(Button.Pressed, "#verify")
    def _verify_button(self) -> None:
        self.action_verify()

    @on(Button.Pressed, "#save")
    def _save_button(self) -> None:
        self.action_save()

    def _entered_token(self) -> Secret | None:
        value = self.query_one("#token", Input).value.strip()
        return Secret(value) if value else None

    @work(group="verify", exclusive=True, exit_on_error=False)
    async def action_verify(self) -> None:
        app = services(self)
        token = self._entered_token() or app.token
        status = self.query_one("#token-status", Static)
        if not token:
            status.update(_("✗ enter a token first"))
            return
        status.update(_("checking…"))
        msg = await fetch_balance(app.config, token)
        status.update(self._balance_text(msg))
        if not msg.error:
            app.balance = msg

    def on_mount(self) -> None:
        self._initial = {**self._fields(), "ui.keymap": dict(services(self).config.ui.keymap)}

    def _fields(self) -> dict[str, Any]:
        """The form's plain fields as ``section.key`` -> value."""
        return {
            "paths.output_dir": self.query_one("#output_dir", Input).value.strip(),
            "paths.checkpoints_dir": self.query_one("#checkpoints_dir", Input).value.strip(),
            "paths.lora_dir": self.query_one("#lora_dir", Input).value.strip(),
            "ui.language": str(self.query_one("#language", Select).value),
            "ui.image_protocol": str(self.query_one("#image_protocol", Select).value),
            "ui.theme": self.app.theme,
        }

    def _form_values(self) -> dict[str, Any]:
        """The whole form as ``section.key`` -> value (raises ValueError for a bad keymap)."""
        return {**self._fields(), "ui.keymap": parse_keymap(self.query_one("#keymap", Input).value)}

    def action_save(self) -> None:
        """Save what the user changed in the form, and nothing else (a value that came only from a
        ``PEROPIX_*`` variable or a default stays out of the file)."""
        app = services(self)
        cfg = app.config
        try:
            values = self._form_values()
            initial = self._initial if hasattr(self, "_initial") else {}
        except ValueError as e:
            self.notify(str(e), severity="error", markup=False)
            return
        token = self._entered_token()
        if token:
            from ..core.backend import BackendError
            from ..core.nai.client import check_token

            try:
                check_token(token)  # a pasted typographic quote or non-breaking space: say so now
            except BackendError as e:
                self.notify(str(e), severity="error", markup=False)
                return
        changes = {k: v for k, v in values.items() if v != initial.get(k)}
        for dotted, value in changes.items():
            section, key = dotted.split(".", 1)
            setattr(getattr(cfg, section), key, value)
        keymap = values["ui.keymap"]
        try:
            if token:
                save_token(token.get())
                app.set_token(token)
                token_input = self.query_one("#token", Input)
                token_input.value = ""
                token_input.placeholder = masked(token)
            path = save_config_changes(changes, cfg.source or paths.config_file())
            self._initial = values
        except (OSError, ValueError) as e:
            self.notify(_("Could not save: {error}").format(error=e), severity="error", markup=False)
            return
        cfg.source = path
        self.app.set_keymap(keymap)
        saved = (_("Saved {path} and the token.") if token else _("Saved {path}.")).format(path=path)
        self.notify(saved + " " + _("A new image protocol applies at the next start."), markup=False)
        if token:
            app.refresh_balance()
