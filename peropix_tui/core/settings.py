"""One generation-settings vocabulary for every provider.

Field names follow NovelAI's (``scale``, ``steps``, ``sampler`` = ``k_euler_ancestral``,
``noise_schedule`` = ``karras``, ``uc``, characters on the 5x5 grid). The local engine maps
these names onto its own samplers and schedules; NovelAI's request builder maps them onto the
wire format. Settings are plain, typed dataclasses: cheap to import, easy to copy, and
round-trippable through :func:`GenerationSettings.to_dict` / :func:`GenerationSettings.from_dict`
(used by metadata, presets and the persisted queue).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ..i18n import _

Provider = Literal["nai", "local", "comfyui"]
Action = Literal["generate", "img2img", "infill"]

PROVIDERS: tuple[str, ...] = ("nai", "local", "comfyui")
ACTIONS: tuple[str, ...] = ("generate", "img2img", "infill")
UC_PRESETS: tuple[str, ...] = ("heavy", "light", "human", "furry", "none")

DEFAULT_MODEL = "nai-diffusion-4-5-full"

_CELL_RE = re.compile(r"^[A-Ea-e][1-5]$")


def not_one_of(value: object, choices: tuple[str, ...] | list[str]) -> str:
    """``'x' is not one of a, b, c`` in the current language (the value and the choices as they are)."""
    return _("{value} is not one of {choices}").format(value=repr(value), choices=", ".join(choices))


class SettingsError(ValueError):
    """A setting has a value that can never be valid; the message names the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


def parse_cell(value: str | None) -> str | None:
    """Normalise a 5x5 grid cell: ``"c3"`` -> ``"C3"``; ``None``/``"auto"``/``""`` -> ``None``."""
    if value is None:
        return None
    v = value.strip()
    if v == "" or v.lower() in ("auto", "ai", "none"):
        return None
    if not _CELL_RE.match(v):
        raise SettingsError("character position",
                            _("{value} is not a grid cell A1..E5 or 'auto'").format(value=repr(value)))
    return v.upper()


def cell_to_xy(cell: str | None) -> tuple[float, float]:
    """Grid cell -> NovelAI centre. A..E -> x 0.1..0.9, 1..5 -> y 0.1..0.9; None (AI's choice) -> (0, 0)."""
    if cell is None:
        return (0.0, 0.0)
    c = parse_cell(cell)
    assert c is not None
    col = "ABCDE".index(c[0])
    row = int(c[1]) - 1
    return (round(0.1 + 0.2 * col, 1), round(0.1 + 0.2 * row, 1))


def xy_to_cell(x: float, y: float) -> str | None:
    """Inverse of :func:`cell_to_xy`: nearest grid cell, or None for (0, 0) (AI's choice)."""
    if x == 0 and y == 0:
        return None
    col = min(4, max(0, round((x - 0.1) / 0.2)))
    row = min(4, max(0, round((y - 0.1) / 0.2)))
    return f"{'ABCDE'[col]}{row + 1}"


@dataclass
class CharacterPrompt:
    """One V4+ character prompt. ``position`` is a grid cell A1..E5, or None for AI's choice."""

    prompt: str
    uc: str = ""
    position: str | None = None
    enabled: bool = True


@dataclass
class VibeReference:
    """A vibe-transfer reference: a source image and/or an already-known encoding."""

    path: str | None = None
    information_extracted: float = 1.0
    strength: float = 0.6
    # base64 of the encoding when it is already known (.naiv4vibe import, cache, metadata)
    encoding: str | None = None
    # sha256 of the source image bytes, the cache key's first part
    image_sha256: str | None = None
    enabled: bool = True


CHARREF_MODES: tuple[str, ...] = ("character", "style", "character&style")


@dataclass
class CharacterReference:
    """V4.5 character reference ("Precise Reference"); several may be used at once."""

    path: str
    fidelity: float = 1.0
    style_aware: bool = True
    strength: float = 1.0
    mode: str = ""
    """character | style | character&style; empty: from ``style_aware`` (character&style when on)."""

    def caption(self) -> str:
        """The ``base_caption`` NovelAI is sent for this reference."""
        if self.mode:
            return self.mode
        return "character&style" if self.style_aware else "character"


@dataclass
class LoraSpec:
    """A LoRA file applied by the local engine with one weight for UNet and text encoders."""

    path: str
    weight: float = 1.0


@dataclass
class GenerationSettings:
    """Everything needed to make one request (one or ``n_samples`` images).

    NovelAI-only fields are ignored by the local engine and vice versa. ``seed`` None means
    "pick a random seed at run time"; the seed actually used is written into the image.
    """

    provider: str = "nai"
    model: str = DEFAULT_MODEL
    action: str = "generate"
    prompt: str = ""
    uc: str = ""
    uc_preset: str = "heavy"
    quality: bool = True
    characters: list[CharacterPrompt] = field(default_factory=list)
    width: int = 832
    height: int = 1216
    steps: int = 28
    scale: float = 5.0
    cfg_rescale: float = 0.0
    sampler: str = "k_euler_ancestral"
    noise_schedule: str = "karras"
    seed: int | None = None
    n_samples: int = 1
    variety: bool = False
    smea: bool = False
    smea_dyn: bool = False
    furry: bool = False  # NovelAI V4+: "fur dataset, " prefix
    transparent: bool = False  # NovelAI V5: transparent background (straight alpha)
    # img2img / infill
    image: str | None = None
    strength: float = 0.7
    noise: float = 0.0
    mask: str | None = None
    # references
    vibes: list[VibeReference] = field(default_factory=list)
    charref: CharacterReference | None = None
    extra_charrefs: list[CharacterReference] = field(default_factory=list)
    """Precise References after ``charref`` (V4.5): each with its own mode, strength and fidelity."""
    inpaint_keep_original: bool = False
    """Infill: NovelAI's "keep original image" (``add_original_image``); off, as the website sends it."""
    # local engine
    checkpoint: str | None = None
    vae: str | None = None
    loras: list[LoraSpec] = field(default_factory=list)
    prediction: str | None = None  # None = detect; "eps" | "v" | "v-zsnr"
    device: str | None = None  # None = best available
    dtype: str | None = None  # None = bf16 on GPU, fp32 on CPU
    compile: bool = False  # torch.compile the UNet (slow first image per size, faster steps after)
    hires_scale: float | None = None
    hires_denoise: float = 0.5
    # ComfyUI
    clip_skip: int | None = None  # CLIPSetLastLayer at -N (1 = last layer, 2 = penultimate); None = model default
    comfyui_server: str | None = None  # a configured server's name or a URL; None = any (the first)
    workflow: str | None = None  # the user's API-format workflow file; None = the graph PeroPix builds
    workflow_bind: dict[str, str] = field(default_factory=dict)  # role -> node id or title in the workflow
    prompt_dialect: str | None = None  # auto | comfyui | a1111 | novelai; None = [local] prompt_dialect

    # ----------------------------------------------------------------- helpers
    def copy(self, **changes: Any) -> GenerationSettings:
        """A deep copy with ``changes`` applied."""
        return dataclasses.replace(GenerationSettings.from_dict(self.to_dict()), **changes)

    def enabled_characters(self) -> list[CharacterPrompt]:
        return [c for c in self.characters if c.enabled]

    def enabled_vibes(self) -> list[VibeReference]:
        return [v for v in self.vibes if v.enabled]

    def charrefs(self) -> list[CharacterReference]:
        """Every Precise Reference, in order: ``charref`` then ``extra_charrefs``."""
        return ([self.charref] if self.charref is not None else []) + list(self.extra_charrefs)

    def check_basic(self) -> None:
        """Provider-independent sanity checks; raise :class:`SettingsError` naming the field."""
        if self.provider not in PROVIDERS:
            raise SettingsError("provider", not_one_of(self.provider, PROVIDERS))
        if self.action not in ACTIONS:
            raise SettingsError("action", not_one_of(self.action, ACTIONS))
        if self.uc_preset not in UC_PRESETS:
            raise SettingsError("uc_preset", not_one_of(self.uc_preset, UC_PRESETS))
        if self.width <= 0 or self.height <= 0:
            raise SettingsError("width/height", _("must be positive"))
        if self.steps < 1:
            raise SettingsError("steps", _("must be at least 1"))
        if self.n_samples < 1:
            raise SettingsError("n_samples", _("must be at least 1"))
        if self.seed is not None and not (0 <= self.seed <= 0xFFFFFFFF):
            raise SettingsError("seed", _("must be between 0 and 4294967295"))
        if not 0.0 <= self.strength <= 1.0:
            raise SettingsError("strength", _("must be between 0 and 1"))
        if self.action in ("img2img", "infill") and not self.image:
            raise SettingsError("image", _("action {action} needs a base image").format(action=self.action))
        if self.action == "infill" and not self.mask:
            raise SettingsError("mask", _("action infill needs a mask"))
        for i, ch in enumerate(self.characters):
            try:
                ch.position = parse_cell(ch.position)
            except SettingsError as e:
                raise SettingsError(f"characters[{i}].position", e.message) from None

    # ------------------------------------------------------------ (de)serialise
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationSettings:
        """Build from :meth:`to_dict` output; unknown keys are ignored (forward compatible)."""
        names = {f.name for f in dataclasses.fields(cls)}
        kw: dict[str, Any] = {k: v for k, v in data.items() if k in names}
        if "characters" in kw:
            kw["characters"] = [_build(CharacterPrompt, c) for c in kw["characters"] or []]
        if "vibes" in kw:
            kw["vibes"] = [_build(VibeReference, v) for v in kw["vibes"] or []]
        if "loras" in kw:
            kw["loras"] = [_build(LoraSpec, v) for v in kw["loras"] or []]
        if kw.get("charref") is not None:
            kw["charref"] = _build(CharacterReference, kw["charref"])
        if "extra_charrefs" in kw:
            kw["extra_charrefs"] = [_build(CharacterReference, c) for c in kw["extra_charrefs"] or []]
        return cls(**kw)


def _build(cls: type, data: Any) -> Any:
    if isinstance(data, cls):
        return data
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in dict(data).items() if k in names})
