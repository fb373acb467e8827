"""The Director Tools dialog: pick a tool (every Director Tool, or the V5 upscaler; for emotion, the
moods: ticked, all 24, a saved set or typed), see the cost, confirm.

It only asks: it returns a :class:`~peropix_tui.core.nai.tools_jobs.ToolRequest` (or None) and
never sends anything; the caller queues the jobs. The cost line is recomputed on every change
from the images' sizes (``quick_cost``), and confirming is refused — with the reason shown —
when the total is over the budget or the balance. Mood sets can be loaded and saved
(:mod:`peropix_tui.core.mood_presets`). File names are shown as plain text, never as markup.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Select, Static

from ..core.mood_presets import list_moodsets, load_moodset, resolve_moods, save_moodset
from ..core.nai.tools import DEFRY_TOOLS, EMOTION_LEVELS, MOODS, REQ_TYPES, ToolError, check_upscale_size
from ..core.nai.tools_jobs import ToolRequest, image_sizes, quick_cost, refusal, source_sizes
from ..core.presets import PresetError
from ..core.settings import SettingsError
from ..i18n import N_, _, ngettext, pgettext


def tool_label(tool: str) -> str:
    """The tool's name as shown (the value sent and stored stays ``tool``)."""
    labels = {
        "bg-removal": pgettext("director tool", "bg-removal"), "lineart": pgettext("director tool", "lineart"),
        "sketch": pgettext("director tool", "sketch"), "colorize": pgettext("director tool", "colorize"),
        "emotion": pgettext("director tool", "emotion"), "declutter": pgettext("director tool", "declutter"),
        "declutter-keep-bubbles": pgettext("director tool", "declutter-keep-bubbles"),
        "upscale": pgettext("director tool", "upscale"),
    }
    return labels.get(tool, tool)


def mood_label(mood: str) -> str:
    """The mood as shown; the keyword sent to NovelAI (and typed in the moods field) stays ``mood``."""
    labels = {
        "neutral": pgettext("mood", "neutral"), "happy": pgettext("mood", "happy"), "sad": pgettext("mood", "sad"),
        "angry": pgettext("mood", "angry"), "scared": pgettext("mood", "scared"),
        "surprised": pgettext("mood", "surprised"), "tired": pgettext("mood", "tired"),
        "excited": pgettext("mood", "excited"), "nervous": pgettext("mood", "nervous"),
        "thinking": pgettext("mood", "thinking"), "confused": pgettext("mood", "confused"),
        "shy": pgettext("mood", "shy"), "disgusted": pgettext("mood", "disgusted"), "smug": pgettext("mood", "smug"),
        "bored": pgettext("mood", "bored"), "laughing": pgettext("mood", "laughing"),
        "irritated": pgettext("mood", "irritated"), "aroused": pgettext("mood", "aroused"),
        "embarrassed": pgettext("mood", "embarrassed"), "worried": pgettext("mood", "worried"),
        "love": pgettext("mood", "love"), "determined": pgettext("mood", "determined"),
        "hurt": pgettext("mood", "hurt"), "playful": pgettext("mood", "playful"),
    }
    return labels.get(mood, mood)


def level_label(level: str) -> str:
    """The emotion strength (``defry``) as shown."""
    labels = {
        "normal": pgettext("emotion level", "normal"), "slightly_weak": pgettext("emotion level", "slightly_weak"),
        "weak": pgettext("emotion level", "weak"), "even_weaker": pgettext("emotion level", "even_weaker"),
        "very_weak": pgettext("emotion level", "very_weak"), "weakest": pgettext("emotion level", "weakest"),
    }
    return labels.get(level, level)


def typed_keywords(words: list[str]) -> list[str]:
    """Typed moods with a shown (translated) mood name turned into its keyword; the rest as typed."""
    shown = {mood_label(m).casefold(): m for m in MOODS}
    return [shown.get(w.casefold(), w) for w in words]


class ToolDialog(ModalScreen[ToolRequest | None]):
    """Ask which Director Tool to run on ``sources``; ctrl+s / Run confirms, escape cancels."""

    BINDINGS = [
        Binding("escape", "cancel", N_("Cancel"), id="tool_cancel"),
        Binding("ctrl+s", "confirm", N_("Run"), id="tool_run"),
        Binding("ctrl+a", "all_moods", N_("All moods"), id="tool_all_moods"),
    ]
    DEFAULT_CSS = """
    ToolDialog { align: center middle; }
    ToolDialog #tool-dialog {
        width: 96; max-width: 100%; height: auto; max-height: 100%; padding: 0 1;
        border: round $accent; background: $panel;
    }
    ToolDialog #title { height: auto; max-height: 2; }
    ToolDialog .tool-row { height: 1; margin-bottom: 1; }
    ToolDialog #tool, ToolDialog #defry { width: 28; margin-right: 1; }
    ToolDialog #moodset { width: 1fr; margin-right: 1; }
    ToolDialog #save-as, ToolDialog #tool-prompt { width: 1fr; }
    ToolDialog #emotion-box { height: auto; margin-bottom: 1; }
    ToolDialog #typed-moods { margin-bottom: 1; }
    ToolDialog #moods { height: auto; grid-size: 4; grid-gutter: 0 1; grid-rows: 1; }
    ToolDialog #moods Checkbox { width: 1fr; }
    ToolDialog #cost { height: auto; }
    ToolDialog #refusal { height: auto; color: $error; }
    """

    def __init__(self, sources: list[Path], *, tier: int | None, active: bool = True, balance: int | None = None,
                 budget: int = 0, tool: str = "emotion", moods: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.initial_moods = frozenset(moods)
        self.sources = tuple(sources)
        self.tier, self.active, self.balance, self.budget = tier, active, balance, budget
        self.initial_tool = tool
        self.total = 0
        self._sizes: list[tuple[int, int]] | None = None
        self._own_sizes: list[tuple[int, int]] = []
        self._size_error = ""

    def compose(self) -> ComposeResult:
        names = ", ".join(p.name for p in self.sources[:3]) + (" …" if len(self.sources) > 3 else "")
        with Vertical(id="tool-dialog"):
            n = len(self.sources)
            yield Static(ngettext("Director Tools on {n} image(s): {names}", "Director Tools on {n} image(s): {names}",
                                  n).format(n=n, names=names), markup=False, id="title")
            with Horizontal(classes="tool-row"):
                yield Select([(tool_label(t), t) for t in (*REQ_TYPES, "upscale")], value=self.initial_tool, allow_blank=False,
                             id="tool", compact=True)
                yield Select([(n, n) for n in list_moodsets()], prompt=_("saved mood set"), id="moodset", compact=True)
                yield Input(placeholder=_("save moods as… (Enter)"), id="save-as", compact=True)
            with Vertical(id="emotion-box"):
                yield Input(placeholder=_("type moods, Enter: happy, sad, @saved-set, all"), id="typed-moods",
                            compact=True)
                with Grid(id="moods"):
                    for m in MOODS:
                        yield Checkbox(mood_label(m), m in self.initial_moods, id=f"mood-{m}", compact=True)
            with Horizontal(classes="tool-row"):
                yield Select([(f"{i} {level_label(name)}", i) for i, name in enumerate(EMOTION_LEVELS)], value=0,
                             allow_blank=False, id="defry", compact=True)
                yield Input(placeholder=_("prompt (colorize: colours; emotion: extra after the mood)"),
                            id="tool-prompt", compact=True)
            yield Static("", id="cost", markup=False)
            yield Static("", id="refusal", markup=False)
            yield Button(_("Run (ctrl+s)"), id="run", variant="primary", compact=True)

    def on_mount(self) -> None:
        try:
            self._sizes = source_sizes(self.sources)
            self._own_sizes = image_sizes(self.sources)
        except (OSError, ValueError) as e:
            self._size_error = str(e)
        self._refresh()

    # ---------------------------------------------------------------- state
    @property
    def tool(self) -> str:
        return str(self.query_one("#tool", Select).value)

    def chosen_moods(self) -> tuple[str, ...]:
        return tuple(m for m in MOODS if self.query_one(f"#mood-{m}", Checkbox).value)

    def request(self) -> ToolRequest:
        tool = self.tool
        defry = self.query_one("#defry", Select).value
        return ToolRequest(tool, self.sources, self.chosen_moods() if tool == "emotion" else (),
                           int(defry) if tool in DEFRY_TOOLS and isinstance(defry, int) else 0,
                           self.query_one("#tool-prompt", Input).value.strip() if tool in DEFRY_TOOLS else "")

    def _refresh(self) -> None:
        tool = self.tool
        self.query_one("#emotion-box").display = tool == "emotion"
        self.query_one("#moodset").display = self.query_one("#save-as").display = tool == "emotion"
        self.query_one("#defry").display = tool in DEFRY_TOOLS
        self.query_one("#tool-prompt").display = tool in DEFRY_TOOLS
        req = self.request()
        if self._sizes is None:
            self.total, line = 0, _("cannot price: {error}").format(error=self._size_error)
        else:
            sizes = self._own_sizes if tool == "upscale" else self._sizes
            try:
                self.total = quick_cost(req, tier=self.tier or 0, active=self.active, sizes=sizes)
            except SettingsError as e:  # e.g. an image too large to upscale (the refusal names it)
                self.total, line = 0, _("cannot price: {error}").format(error=e)
            else:
                line = ngettext("Cost: {anlas} Anlas for {n} request(s)", "Cost: {anlas} Anlas for {n} request(s)",
                                req.requests).format(anlas=self.total, n=req.requests)
                if self.tier is None and tool != "upscale":
                    line += " " + _("(tier unknown: nothing assumed free)")
                if self.balance is not None:
                    line += " · " + _("balance {anlas}").format(anlas=self.balance)
        self.query_one("#cost", Static).update(line)
        self.query_one("#refusal", Static).update(self._reason() or "")

    def _reason(self) -> str | None:
        if self._sizes is None:
            return _("cannot read the images: {error}").format(error=self._size_error)
        if self.tool == "emotion" and not self.chosen_moods():
            return _("pick at least one mood (ctrl+a: all 24)")
        if self.tool == "upscale":
            for path, (w, h) in zip(self.sources, self._own_sizes, strict=True):
                try:
                    check_upscale_size(w, h, where=path.name)
                except ToolError as e:
                    return str(e)
        return refusal(self.total, balance=self.balance, budget=self.budget)

    # ---------------------------------------------------------------- events
    @on(Select.Changed, "#tool")
    @on(Select.Changed, "#defry")
    @on(Checkbox.Changed)
    @on(Input.Changed, "#tool-prompt")
    def _changed(self) -> None:
        self._refresh()

    @on(Select.Changed, "#moodset")
    def _load_set(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        try:
            chosen = set(load_moodset(event.value))
        except PresetError as e:
            self.notify(str(e), severity="error", markup=False)
            return
        with self.prevent(Checkbox.Changed):
            for m in MOODS:
                self.query_one(f"#mood-{m}", Checkbox).value = m in chosen
        self._refresh()

    @on(Input.Submitted, "#typed-moods")
    def _typed(self, event: Input.Submitted) -> None:
        """Typed moods replace the ticked ones (``@name`` is a saved set, ``all`` every mood)."""
        words = [w for w in event.value.replace(",", " ").split() if w]
        try:
            chosen = set(resolve_moods(typed_keywords(words)))
        except (PresetError, ValueError) as e:
            self.notify(str(e), severity="error", markup=False)
            return
        with self.prevent(Checkbox.Changed):
            for m in MOODS:
                self.query_one(f"#mood-{m}", Checkbox).value = m in chosen
        self._refresh()

    @on(Input.Submitted, "#save-as")
    def _save_set(self, event: Input.Submitted) -> None:
        try:
            save_moodset(event.value, list(self.chosen_moods()))
        except (PresetError, ValueError) as e:
            self.notify(str(e), severity="error", markup=False)
            return
        self.notify(_("saved mood set {name}").format(name=event.value.strip()), markup=False)

    def action_all_moods(self) -> None:
        every = not all(self.query_one(f"#mood-{m}", Checkbox).value for m in MOODS)
        with self.prevent(Checkbox.Changed):
            for m in MOODS:
                self.query_one(f"#mood-{m}", Checkbox).value = every
        self._refresh()

    @on(Button.Pressed, "#run")
    def action_confirm(self) -> None:
        self._refresh()
        reason = self._reason()
        if reason:
            self.notify(reason, severity="warning", markup=False)
            return
        self.dismiss(self.request())

    def action_cancel(self) -> None:
        self.dismiss(None)
