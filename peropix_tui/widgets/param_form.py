"""Generation parameters: provider, model or checkpoint (+ LoRAs), size, sampling, seed, presets.

For the ComfyUI provider: the server (from ``[comfyui] servers``, or any), checkpoint, LoRA,
sampler and scheduler lists discovered from that server in a worker thread (cached; ctrl+r in the
form asks again; a one-line state says what the server offers or why it cannot be asked), clip
skip, and a workflow file with its node bindings.

Every control writes straight into the bound :class:`GenerationSettings` (the workspace's base)
and posts :class:`ParamForm.Changed`. A value that does not parse (e.g. an empty number field) is
marked invalid and leaves the setting as it was. :meth:`load` shows another settings object.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Button, Checkbox, Input, Label, Select
from textual.worker import get_current_worker

from .. import i18n
from ..core.comfyui.discovery import ServerInfo
from ..core.local.weights import DIALECTS
from ..core.settings import UC_PRESETS, GenerationSettings, LoraSpec
from ..core.slots import SEED_MAX
from ..i18n import N_, _, pgettext
from ..services import services
from . import comfy_params as comfy
from .param_jumps import jump_label, label_cells, label_text
from .plain import plain

CUSTOM = "custom"
LABEL_MAX = 14  # cells: a wider translated label puts its access key "(T)" on a second line
LABEL_MAX_NARROW = 11  # the same on a narrow screen (80 columns), where the fields have less room
DIALECT_DEFAULT = "default"  # the prompt dialect Select: use [local] prompt_dialect

# (label, width, height); NovelAI's named sizes (spec §5) and PeroPix's extra SDXL buckets.
# The names are shown translated ("SDXL" stays as it is).
SIZE_PRESETS: tuple[tuple[str, int, int], ...] = (
    (N_("normal"), 832, 1216),
    (N_("normal"), 1216, 832),
    (N_("normal"), 1024, 1024),
    (N_("small"), 512, 768),
    (N_("small"), 768, 512),
    (N_("small"), 640, 640),
    (N_("large"), 1024, 1536),
    (N_("large"), 1536, 1024),
    (N_("large"), 1472, 1472),
    (N_("wallpaper"), 1088, 1920),
    (N_("wallpaper"), 1920, 1088),
    ("SDXL", 640, 1536),
    ("SDXL", 1536, 640),
    ("SDXL", 896, 1152),
    ("SDXL", 1152, 896),
    ("SDXL", 768, 1344),
    ("SDXL", 1344, 768),
)
SCHEDULES = ("karras", "exponential", "polyexponential", "native")



def size_key(width: int, height: int) -> str:
    for _name, w, h in SIZE_PRESETS:
        if (w, h) == (width, height):
            return f"{w}x{h}"
    return CUSTOM


def model_options() -> list[tuple[str, str]]:
    from ..core.nai.models import MODELS

    return [(m.name, m.id) for m in MODELS.values()]


def model_choices(model: str) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(samplers, schedules, UC presets) NovelAI allows for ``model``; everything for unknown ids."""
    from ..core.nai.models import MODELS
    from ..core.nai.presets import uc_presets_for

    m = MODELS.get(model)
    if m is None:
        samplers: list[str] = []
        for x in MODELS.values():
            samplers += [s for s in x.samplers if s not in samplers]
        return tuple(samplers), SCHEDULES, UC_PRESETS
    return m.samplers, m.schedules, uc_presets_for(model)


def _with(values: tuple[str, ...], value: str) -> tuple[str, ...]:
    return values if value in values else (*values, value)


def _pick(current: str, allowed: tuple[str, ...], preferred: str) -> str:
    if current in allowed:
        return current
    return preferred if preferred in allowed else allowed[0]


def model_files(folder: str, suffixes: tuple[str, ...] = (".safetensors", ".ckpt")) -> list[str]:
    """Full paths of the model files in a configured folder (sorted; empty when unset/missing)."""
    if not folder:
        return []
    root = Path(folder).expanduser()
    try:
        return sorted(str(p) for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
    except OSError:
        return []


def format_loras(loras: list[LoraSpec]) -> str:
    return ", ".join(f"{lo.path}:{lo.weight:g}" for lo in loras)


def parse_loras(text: str) -> list[LoraSpec]:
    """``path[:weight], path[:weight]``; raises ValueError naming the bad entry."""
    out: list[LoraSpec] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        path, sep, tail = part.rpartition(":")
        if sep and path:
            try:
                out.append(LoraSpec(path=path, weight=float(tail)))
                continue
            except ValueError:
                raise ValueError(_("LoRA {entry}: weight {weight} is not a number").format(
                    entry=repr(part), weight=repr(tail))) from None
        out.append(LoraSpec(path=part))
    return out


@dataclass(frozen=True)
class NumberField:
    """An Input bound to one numeric setting (``label``: an English msgid, shown translated)."""

    attr: str
    label: str
    kind: type  # int or float
    low: float
    high: float

    def parse(self, text: str) -> int | float:
        value = self.kind(text)
        if not self.low <= value <= self.high:
            raise ValueError(_("{field} must be between {low} and {high}").format(
                field=_(self.label), low=f"{self.low:g}", high=f"{self.high:g}"))
        return value  # type: ignore[no-any-return]


NUMBERS: tuple[NumberField, ...] = (
    NumberField("width", N_("width"), int, 64, 4096),
    NumberField("height", N_("height"), int, 64, 4096),
    NumberField("steps", N_("steps"), int, 1, 150),
    NumberField("scale", N_("scale"), float, 0, 30),
    NumberField("cfg_rescale", N_("rescale"), float, 0, 1),
    NumberField("n_samples", N_("images"), int, 1, 8),
)
_NUMBER_BY_ID = {f"p-{f.attr}": f for f in NUMBERS}


class ParamForm(VerticalScroll):
    """The parameter form for one :class:`GenerationSettings`."""

    DEFAULT_CSS = """
    ParamForm { height: 1fr; }
    ParamForm Grid { grid-size: 4; grid-columns: 11 1fr 11 1fr; grid-rows: 3; height: auto; }
    ParamForm Label { padding: 1 0 0 1; color: $text-muted; }
    ParamForm .seedbox { height: 3; }
    ParamForm #p-seed-row { height: 3; }
    ParamForm #p-seed-row > Label { width: 11; }
    ParamForm #p-seed-row .seedbox { width: 1fr; layout: grid; grid-size: 3 1; grid-columns: 1fr 13 7; }
    ParamForm #p-seed-row .seedbox Input, ParamForm #p-seed-row .seedbox Checkbox,
    ParamForm #p-seed-row .seedbox Button { width: 100%; min-width: 0; }
    ParamForm .seedbox Input { width: 1fr; }
    ParamForm .seedbox Checkbox, ParamForm .seedbox Button { width: auto; min-width: 5; }
    ParamForm Input.-invalid { border: tall $error; }
    ParamForm .local-only, ParamForm .nai-only, ParamForm .sd-only, ParamForm .comfy-only { }
    ParamForm #p-comfy-row { height: auto; }
    ParamForm #p-comfy-state { width: 1fr; padding: 0 1; height: auto; }
    ParamForm #p-comfy-state.-down { color: $error; }
    ParamForm #p-comfy-refresh { width: auto; min-width: 9; height: 1; border: none; }
    """
    BINDINGS = [Binding("ctrl+r", "refresh_server", N_("Refresh server lists"), id="params_refresh_server")]
    PROVIDERS = (("NovelAI", "nai"), (N_("Local SDXL"), "local"), ("ComfyUI", "comfyui"))  # labels shown translated
    # which providers show the fields of each class
    SHOWN = {"nai-only": ("nai",), "local-only": ("local",), "sd-only": ("local", "comfyui"),
             "comfy-only": ("comfyui",)}

    class Changed(Message):
        """A parameter changed; ``field`` names the setting."""

        def __init__(self, field: str) -> None:
            super().__init__()
            self.field = field

    class ServerDiscovered(Message):
        """The ComfyUI server's lists arrived (``info``) or it could not be asked (``error``)."""

        def __init__(self, server: str, info: ServerInfo | None, error: str | None) -> None:
            super().__init__()
            self.server = server
            self.info = info
            self.error = error

    def __init__(self, settings: GenerationSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self._loading = False
        self._first_checkpoint = ""
        self._local_checkpoints: list[str] = []
        self._server_info: ServerInfo | None = None  # the chosen ComfyUI server's lists, once known
        self._server_state = _("ComfyUI server: not asked yet")
        self._server_down = False
        self._unsubscribe: Callable[[], None] = lambda: None

    # --------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        s = self.settings
        with Grid():
            yield Label(jump_label("provider"), name="provider")
            yield Select([(_(label), value) for label, value in self.PROVIDERS], value=s.provider,
                         allow_blank=False, id="p-provider")
            config = services(self).config
            yield Label(_("server"), classes="comfy-only")
            yield Select(comfy.server_options(config, s.comfyui_server), value=comfy.server_value(config, s.comfyui_server),
                         allow_blank=False, id="p-comfy_server", classes="comfy-only",
                         tooltip=_("the ComfyUI server for these jobs ([comfyui] servers); any = the first free one"))
            yield Label(jump_label("model"), name="model", classes="nai-only")
            yield Select(model_options(), value=s.model, allow_blank=False, id="p-model", classes="nai-only")
            yield Label(jump_label("checkpoint"), name="checkpoint", classes="sd-only")
            checkpoints = model_files(services(self).config.paths.checkpoints_dir)
            self._first_checkpoint = checkpoints[0] if checkpoints else ""
            self._local_checkpoints = checkpoints
            yield Input(
                s.checkpoint or "",
                placeholder=_("path to .safetensors"),
                suggester=SuggestFromList(checkpoints) if checkpoints else None,
                id="p-checkpoint",
                classes="sd-only",
            )
            yield Label(jump_label("LoRAs"), name="LoRAs", classes="sd-only")
            yield Input(format_loras(s.loras), placeholder="file.safetensors:0.8, …", id="p-loras", classes="sd-only")
            info = self._server_info
            yield Label(_("on server"), classes="comfy-only")
            yield Select(comfy.pick_options(info.checkpoints if info else [], "checkpoints"),
                         value=comfy.pick_value(info.checkpoints if info else []),
                         allow_blank=False, id="p-comfy_checkpoints", classes="comfy-only",
                         tooltip=_("the server's checkpoints: picking one fills the checkpoint field"))
            yield Label(_("add LoRA"), classes="comfy-only")
            yield Select(comfy.pick_options(info.loras if info else [], "LoRAs"),
                         value=comfy.pick_value(info.loras if info else []),
                         allow_blank=False, id="p-comfy_loras", classes="comfy-only",
                         tooltip=_("the server's LoRAs: picking one adds it to the LoRAs field at weight 1"))
            yield Label(jump_label("size"), name="size")
            yield Select(self._size_options(), value=size_key(s.width, s.height), allow_blank=False, id="p-size")
            yield Label(jump_label("W × H"), name="W × H")
            with Horizontal(classes="seedbox"):
                yield Input(str(s.width), type="integer", id="p-width")
                yield Input(str(s.height), type="integer", id="p-height")
            yield Label(jump_label("steps"), name="steps")
            yield Input(str(s.steps), type="integer", id="p-steps")
            yield Label(jump_label("scale"), name="scale")
            yield Input(f"{s.scale:g}", type="number", id="p-scale")
            yield Label(jump_label("rescale"), name="rescale")
            yield Input(f"{s.cfg_rescale:g}", type="number", id="p-cfg_rescale")
            yield Label(jump_label("images"), name="images")
            yield Input(str(s.n_samples), type="integer", id="p-n_samples")
            samplers, schedules, presets = self._choices()
            yield Label(jump_label("sampler"), name="sampler")
            yield Select([(x, x) for x in samplers], value=s.sampler, allow_blank=False, id="p-sampler")
            yield Label(jump_label("schedule"), name="schedule")
            yield Select([(x, x) for x in schedules], value=s.noise_schedule, allow_blank=False, id="p-schedule")
        with Horizontal(id="p-comfy-row", classes="comfy-only"):
            yield Label(plain(self._server_state), id="p-comfy-state", classes="-down" if self._server_down else "")
            yield Button(_("refresh"), id="p-comfy-refresh", tooltip=_("ask the server for its lists again (ctrl+r)"))
        with Horizontal(id="p-seed-row"):  # a row of its own: all ten digits show
            yield Label(jump_label("seed"), name="seed")
            with Horizontal(classes="seedbox"):
                yield Input("" if s.seed is None else str(s.seed), type="integer", placeholder=_("random"), id="p-seed")
                yield Checkbox(pgettext("seed", "lock"), s.seed is not None, id="p-seed-lock")
                yield Button(_("new"), id="p-seed-random", tooltip=_("new random seed (locks it)"))
        with Grid():
            # with [local] presets configured, quality tags and UC presets mean something locally too
            local = services(self).config.local
            toggles = "" if local.quality_tags or local.uc_presets else "nai-only"
            yield Label(jump_label("UC preset"), name="UC preset", classes=toggles)
            yield Select([(x, x) for x in presets], value=s.uc_preset, allow_blank=False, id="p-uc_preset", classes=toggles)
            yield Label(jump_label("quality"), name="quality", classes=toggles)
            yield Checkbox(_("quality tags"), s.quality, id="p-quality", classes=toggles)
            yield Label(jump_label("variety"), name="variety", classes="nai-only")
            yield Checkbox("Variety+", s.variety, id="p-variety", classes="nai-only")
            yield Label(_("prompt syntax"), classes="sd-only")
            yield Select([(_("default ({dialect})").format(dialect=self._configured_dialect()), DIALECT_DEFAULT),
                          *((d, d) for d in DIALECTS)], value=s.prompt_dialect or DIALECT_DEFAULT,
                         allow_blank=False, id="p-prompt_dialect", classes="sd-only",
                         tooltip=_("how prompt syntax is read (README: Prompt dialects)"))
            yield Label(_("speed"), classes="local-only")
            yield Checkbox("torch.compile", s.compile, id="p-compile", classes="local-only",
                           tooltip=_("compile the UNet: the first image of each size is slow, later steps faster"))
            yield Label(_("clip skip"), classes="comfy-only")
            yield Input("" if s.clip_skip is None else str(s.clip_skip), type="integer", placeholder=_("model default"),
                        id="p-clip_skip", classes="comfy-only")
            yield Label(_("workflow"), classes="comfy-only")
            yield Input(s.workflow or "", placeholder=_("API-format workflow .json (empty: built-in graph)"),
                        id="p-workflow", classes="comfy-only")
            yield Label(_("bindings"), classes="comfy-only")
            yield Input(comfy.format_bindings(s.workflow_bind), placeholder="prompt=6, seed=KSampler, …",
                        id="p-workflow_bind", classes="comfy-only",
                        tooltip=_("workflow nodes to fill, by id or title (README: ComfyUI workflows)"))
            yield from self._inpaint_fields()

    def on_resize(self) -> None:
        if self.query("#p-seed-row"):  # the screen's -narrow class may have changed
            self._fit_columns()

    def _inpaint_fields(self) -> ComposeResult:
        """NovelAI inpaint: "keep original image" (``add_original_image``), off as on the website."""
        yield Label(_("inpaint"), classes="nai-only")
        yield Checkbox(_("keep original"), self.settings.inpaint_keep_original, id="p-inpaint_keep_original",
                       classes="nai-only", tooltip=_("inpaint: paste the unmasked original back over the result "
                                                     "(NovelAI add_original_image)"))

    @on(Checkbox.Changed, "#p-inpaint_keep_original")
    def _keep_original_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._set("inpaint_keep_original", event.value)

    def _configured_dialect(self) -> str:
        return services(self).config.local.prompt_dialect or "auto"

    def _size_options(self) -> list[tuple[str, str]]:
        return [(f"{w}×{h} {_(name)}", f"{w}x{h}") for name, w, h in SIZE_PRESETS] + [(_("custom"), CUSTOM)]

    def _choices(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """Allowed samplers/schedules/UC presets; the current values always stay selectable."""
        s = self.settings
        model = s.model if s.provider == "nai" else ""
        samplers, schedules, presets = model_choices(model)
        if s.provider == "comfyui":
            samplers, schedules = comfy.sampler_lists(self._server_info)
        return _with(samplers, s.sampler), _with(schedules, s.noise_schedule), _with(presets, s.uc_preset)

    def _show_choices(self) -> None:
        """Sampler and schedule options for the provider (and server); the values stay as they are."""
        samplers, schedules, _presets = self._choices()
        for wid, allowed, value in (("p-sampler", samplers, self.settings.sampler),
                                    ("p-schedule", schedules, self.settings.noise_schedule)):
            select = self.query_one(f"#{wid}", Select)
            with select.prevent(Select.Changed):
                select.set_options([(x, x) for x in allowed])
                select.value = value

    def _apply_model_rules(self) -> None:
        """After a model change: offer only what it allows, moving values that it rejects."""
        s = self.settings
        samplers, schedules, presets = model_choices(s.model)
        for wid, attr, allowed, preferred in (
            ("p-sampler", "sampler", samplers, "k_euler_ancestral"),
            ("p-schedule", "noise_schedule", schedules, "karras"),
            ("p-uc_preset", "uc_preset", presets, "heavy"),
        ):
            value = _pick(getattr(s, attr), allowed, preferred)
            select = self.query_one(f"#{wid}", Select)
            with select.prevent(Select.Changed):
                select.set_options([(x, x) for x in allowed])
                select.value = value
            self._set(attr, value)

    def on_mount(self) -> None:
        self._show_provider()
        self._default_checkpoint()
        if self.settings.provider == "comfyui":
            self._discover()
        self._unsubscribe = i18n.subscribe(self._language_changed)

    def on_unmount(self) -> None:
        self._unsubscribe()

    def _language_changed(self, _language: str) -> None:
        """Labels, options and hints in the new language: the form is built again (values kept)."""
        if self.is_attached:
            self.call_later(self.load, self.settings)

    def _default_checkpoint(self) -> None:
        """Local provider with no checkpoint yet: take the first file of the checkpoints folder, as a
        real value (a look-alike placeholder would fail at generate time with "no checkpoint")."""
        if self.settings.provider == "local" and not self.settings.checkpoint and self._first_checkpoint:
            self._set_input("p-checkpoint", self._first_checkpoint)

    def _show_provider(self) -> None:
        provider = self.settings.provider
        for cls, providers in self.SHOWN.items():
            for w in self.query(f".{cls}"):
                w.display = provider in providers
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Label columns as wide as the widest label shown in the first grid (the jump-key labels,
        one word each) and the seed row, by terminal cells: a Korean or Japanese label takes two
        cells a character, and its access key "(T)" three more. At least the 11 cells the English
        labels fit in; a longer label wraps at its spaces ("prompt syntax" onto a second line, as it
        always has), so each of its words must fit. The seed row's lock box and button likewise fit their translated text; on a
        narrow screen its label takes only its own width, so that a ten-digit seed still shows."""
        grids = list(self.query(Grid))
        shown = [label for label in grids[0].query(Label) if label.display] if grids else []
        shown.append(self.query_one("#p-seed-row").query_one(Label))
        whole = label_cells(jump_label(label.name) if label.name else label.content for label in shown)
        every = [label for grid in grids for label in grid.query(Label) if label.display] + shown[-1:]
        words = label_cells(word for label in every
                            for word in str(label_text(label.name) if label.name else label.content).split())
        # + the label's left padding; the access key "(T)" goes on a second line rather than widen
        # the column past LABEL_MAX cells (the fields keep room for "k_euler_ancestral")
        narrow = self.screen.has_class("-narrow")
        width = max(11, min(LABEL_MAX_NARROW if narrow else LABEL_MAX, whole + 1), words + 1)
        for label in self.query(Label):
            if label.name:
                label.update(jump_label(label.name, width - 1))
        for grid in grids:
            grid.styles.grid_columns = f"{width} 1fr"
        row = self.query_one("#p-seed-row")
        seed = row.query_one(Label)
        seed.styles.width = max(11, label_cells([jump_label("seed")]) + 1) if narrow else width
        lock = max(13, label_cells([pgettext("seed", "lock")]) + 9)  # border, padding and the box around the text
        new = max(7, label_cells([_("new")]) + 4)
        row.query_one(".seedbox").styles.grid_columns = f"1fr {lock} {new}"

    async def load(self, settings: GenerationSettings) -> None:
        """Bind another settings object and show its values."""
        self.settings = settings
        self._loading = True
        try:
            await self.recompose()
        finally:
            self._loading = False
        self._show_provider()
        self.refresh_bindings()
        if settings.provider == "comfyui":
            self._discover()

    # -------------------------------------------------------------- editing
    def _set(self, attr: str, value: Any) -> None:
        if self._loading or getattr(self.settings, attr) == value:
            return
        setattr(self.settings, attr, value)
        self.post_message(self.Changed(attr))

    def _set_input(self, widget_id: str, text: str) -> None:
        widget = self.query_one(f"#{widget_id}", Input)
        if widget.value != text:
            widget.value = text

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value is Select.BLANK:
            return
        wid, value = event.select.id or "", str(event.value)
        handlers: dict[str, Callable[[str], None]] = {
            "p-provider": self._provider_changed,
            "p-comfy_server": self._server_changed,
            "p-comfy_checkpoints": self._checkpoint_picked,
            "p-comfy_loras": self._lora_picked,
            "p-model": self._model_changed,
            "p-size": self._size_changed,
            "p-sampler": lambda v: self._set("sampler", v),
            "p-schedule": lambda v: self._set("noise_schedule", v),
            "p-uc_preset": lambda v: self._set("uc_preset", v),
            "p-prompt_dialect": lambda v: self._set("prompt_dialect", None if v == DIALECT_DEFAULT else v),
        }
        if wid in handlers:
            handlers[wid](value)

    def _model_changed(self, value: str) -> None:
        self._set("model", value)
        self._apply_model_rules()

    def _provider_changed(self, value: str) -> None:
        self._set("provider", value)
        self._show_provider()
        self._default_checkpoint()
        self._show_choices()
        self._checkpoint_suggestions()
        self.refresh_bindings()
        if value == "comfyui":
            self._discover()

    # ------------------------------------------------------------- ComfyUI
    def _server_ref(self) -> str | None:
        return self.settings.comfyui_server or None

    def _discover(self, *, refresh: bool = False) -> None:
        """Ask the chosen server for its lists in a worker thread (cached unless ``refresh``)."""
        config = services(self).config
        try:
            from ..core.comfyui.backend import timeouts_from_config

            cc = config.comfyui
            server = cc.server(self._server_ref())
            timeouts = timeouts_from_config(cc)
        except (AttributeError, ValueError) as e:
            self._show_discovery(None, str(e))
            return
        self._set_state(_("{server}: asking for its lists…").format(server=server.name), down=False)
        self._ask_server(server, timeouts, refresh)

    @work(thread=True, exclusive=True, group="comfy-discovery")
    def _ask_server(self, server: Any, timeouts: Any, refresh: bool) -> None:
        from ..core.backend import BackendError
        from ..core.comfyui.discovery import discover_blocking

        try:
            info, error = discover_blocking(server, timeouts, refresh=refresh), None
        except BackendError as e:
            info, error = None, f"{server.name}: {e}"
        if not get_current_worker().is_cancelled:
            self.post_message(self.ServerDiscovered(server.name, info, error))

    @on(ServerDiscovered)
    def _server_discovered(self, event: ServerDiscovered) -> None:
        event.stop()
        self._show_discovery(event.info, event.error)

    def _show_discovery(self, info: ServerInfo | None, error: str | None) -> None:
        self._server_info = info
        if info is None:
            self._set_state(_("{error} · lists not known (ctrl+r retries)").format(
                error=" ".join((error or _("no answer")).split())), down=True)
        else:
            self._set_state(comfy.describe(info), down=False)
        names = info.checkpoints if info else []
        for wid, files, what in (("p-comfy_checkpoints", names, "checkpoints"),
                                 ("p-comfy_loras", info.loras if info else [], "LoRAs")):
            select = self.query_one(f"#{wid}", Select)
            with select.prevent(Select.Changed):
                select.set_options(comfy.pick_options(files, what))
        self._checkpoint_suggestions()
        self._show_choices()

    def _checkpoint_suggestions(self) -> None:
        """The checkpoint field completes from the server's list (ComfyUI) or the checkpoints folder."""
        names = self._server_info.checkpoints if self._server_info and self.settings.provider == "comfyui" \
            else self._local_checkpoints
        self.query_one("#p-checkpoint", Input).suggester = SuggestFromList(names) if names else None

    def _set_state(self, text: str, *, down: bool) -> None:
        self._server_state, self._server_down = text, down
        label = self.query_one("#p-comfy-state", Label)
        label.update(plain(text))
        label.set_class(down, "-down")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ctrl+r (refresh the server's lists) only exists for the ComfyUI provider."""
        return action != "refresh_server" or self.settings.provider == "comfyui"

    def action_refresh_server(self) -> None:
        if self.settings.provider == "comfyui":
            self._discover(refresh=True)

    @on(Button.Pressed, "#p-comfy-refresh")
    def _refresh_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self._discover(refresh=True)

    def _server_changed(self, value: str) -> None:
        server = None if value == comfy.ANY_SERVER else value
        if comfy.same_server(services(self).config, server, self.settings.comfyui_server):
            return  # e.g. the Select showing a pinned URL by its server's name
        self._set("comfyui_server", server)
        self._server_info = None
        self._discover()

    def _checkpoint_picked(self, value: str) -> None:
        if not comfy.is_pick(value):
            self._set_input("p-checkpoint", value)

    def _lora_picked(self, value: str) -> None:
        if comfy.is_pick(value):
            return
        if value not in [lo.path for lo in self.settings.loras]:
            loras = [*self.settings.loras, LoraSpec(path=value)]
            self._set_input("p-loras", format_loras(loras))
        select = self.query_one("#p-comfy_loras", Select)
        with select.prevent(Select.Changed):
            select.value = comfy.pick_value(self._server_info.loras if self._server_info else [])

    def _size_changed(self, value: str) -> None:
        if value == CUSTOM:
            return
        w, h = (int(x) for x in value.split("x"))
        self._set_input("p-width", str(w))
        self._set_input("p-height", str(h))
        self._set("width", w)
        self._set("height", h)

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        event.stop()
        wid = event.input.id or ""
        try:
            if wid in _NUMBER_BY_ID:
                field = _NUMBER_BY_ID[wid]
                self._set(field.attr, field.parse(event.value))
                if field.attr in ("width", "height"):
                    self._sync_size_select()
            elif wid == "p-seed":
                self._seed_changed(event.value)
            elif wid == "p-checkpoint":
                self._set("checkpoint", event.value.strip() or None)
            elif wid == "p-loras":
                self._set("loras", parse_loras(event.value))
            elif wid == "p-clip_skip":
                self._set("clip_skip", comfy.read_clip_skip(event.value))
            elif wid == "p-workflow":
                self._set("workflow", event.value.strip() or None)
            elif wid == "p-workflow_bind":
                self._set("workflow_bind", comfy.read_bindings(event.value))
        except ValueError as e:
            event.input.add_class("-invalid")
            event.input.tooltip = plain(e)
            return
        event.input.remove_class("-invalid")
        event.input.tooltip = None

    def _sync_size_select(self) -> None:
        select = self.query_one("#p-size", Select)
        key = size_key(self.settings.width, self.settings.height)
        if select.value != key:
            with select.prevent(Select.Changed):
                select.value = key

    def _seed_changed(self, text: str) -> None:
        lock = self.query_one("#p-seed-lock", Checkbox)
        if not text.strip():
            self._set("seed", None)
            with lock.prevent(Checkbox.Changed):
                lock.value = False
            return
        seed = int(text)
        if not 0 <= seed <= SEED_MAX:
            raise ValueError(_("seed must be between 0 and {max}").format(max=SEED_MAX))
        if lock.value:
            self._set("seed", seed)

    @on(Checkbox.Changed)
    def _checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        wid = event.checkbox.id or ""
        if wid == "p-quality":
            self._set("quality", event.value)
        elif wid == "p-variety":
            self._set("variety", event.value)
        elif wid == "p-compile":
            self._set("compile", event.value)
        elif wid == "p-seed-lock":
            text = self.query_one("#p-seed", Input).value.strip()
            if event.value and not text:
                text = str(random.randint(0, SEED_MAX))
                self._set_input("p-seed", text)
            self._set("seed", int(text) if event.value else None)

    @on(Button.Pressed, "#p-seed-random")
    def _random_seed(self, event: Button.Pressed) -> None:
        event.stop()
        seed = random.randint(0, SEED_MAX)
        lock = self.query_one("#p-seed-lock", Checkbox)
        with lock.prevent(Checkbox.Changed):
            lock.value = True
        self._set_input("p-seed", str(seed))
        self._set("seed", seed)
