"""A recipe being read from another tool's metadata: only what the file says, nothing filled in.

Readers of foreign dialects set values one by one (:meth:`Recipe.put`, :meth:`Recipe.sampler`…);
:meth:`Recipe.record` builds the :class:`MetadataRecord`, whose ``known`` set lists the settings
fields the file gave, and adds one note naming what could not be read. The settings object
still holds defaults for the rest (it is a plain dataclass), but nothing reports or restores them.
"""

from __future__ import annotations

from typing import Any

from ...i18n import _
from .. import vocab
from ..settings import GenerationSettings, LoraSpec
from .fields import FieldError, as_float, as_int, checkpoint_stem
from .record import TRACKED, MetadataRecord


def foreign_settings() -> GenerationSettings:
    """The starting point for a recipe from another tool: no NovelAI quality tags or UC preset."""
    return GenerationSettings(provider="local", quality=False, uc_preset="none", noise_schedule="native")


class Recipe:
    def __init__(self, dialect: str, raw: dict[str, Any] | None = None) -> None:
        self.dialect = dialect
        self.s = foreign_settings()
        self.known: set[str] = set()
        self.extra: dict[str, Any] = {}
        self.notes: list[str] = []
        self.raw: dict[str, Any] = dict(raw or {})
        self.full_prompt: str | None = None
        self.full_negative: str | None = None
        self.lost: set[str] = set()  # looked for and not found (a negative that could not be followed)

    # ---------------------------------------------------------------- setters
    def put(self, name: str, value: Any) -> None:
        """Set a settings field (None = not in the file: left unknown)."""
        if value is None:
            return
        setattr(self.s, name, value)
        self.known.add(name)

    def text(self, name: str, value: Any, where: str) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            raise FieldError(_("{where}: expected text, got {type}").format(where=where, type=type(value).__name__))
        self.put(name, value)

    def put_int(self, name: str, value: Any, where: str) -> None:
        if value is not None and value != "":
            self.put(name, as_int(value, where))

    def put_float(self, name: str, value: Any, where: str) -> None:
        if value is not None and value != "":
            self.put(name, as_float(value, where))

    def put_extra(self, key: str, value: Any) -> None:
        if value is not None and value != "":
            self.extra[key] = value

    def sampler(self, value: Any, where: str) -> None:
        """A sampler name in any tool's spelling; a schedule inside the name is taken too."""
        if value is None or value == "":
            return
        if not isinstance(value, str):
            raise FieldError(_("{where}: expected a sampler name, got {type}").format(where=where, type=type(value).__name__))
        found = vocab.parse_sampler(value)
        self.put("sampler", vocab.settings_sampler(found.sampler))
        if found.scheduler is not None:
            self.put("noise_schedule", vocab.settings_schedule(found.scheduler))
        if not found.known:
            self.note(f"sampler {value!r} is not in our vocabulary; kept as written")

    def schedule(self, value: Any, where: str) -> None:
        if value is None or value == "":
            return
        if not isinstance(value, str):
            raise FieldError(_("{where}: expected a schedule name, got {type}").format(where=where, type=type(value).__name__))
        self.put("noise_schedule", vocab.settings_schedule(vocab.parse_schedule(value)))

    def size(self, width: Any, height: Any, where: str) -> None:
        if width in (None, "") or height in (None, ""):
            return
        self.put("width", as_int(width, f"{where}.width"))
        self.put("height", as_int(height, f"{where}.height"))

    def model(self, name: Any, where: str) -> None:
        if name is None or name == "":
            return
        if not isinstance(name, str):
            raise FieldError(_("{where}: expected a model name, got {type}").format(where=where, type=type(name).__name__))
        self.s.checkpoint = name
        self.put("model", checkpoint_stem(name))

    def lora(self, name: str, weight: Any, where: str) -> None:
        w = 1.0 if weight is None or weight == "" else as_float(weight, where)
        self.s.loras.append(LoraSpec(path=name, weight=w))

    def denoise(self, value: Any, where: str, *, hires: bool) -> None:
        """Denoising strength: the hires pass's when there is one, else img2img's (<1 only)."""
        if value is None or value == "":
            return
        d = as_float(value, where)
        self.extra["denoise"] = d
        if hires:
            self.s.hires_denoise = d
        elif d < 1.0:
            self.s.action, self.s.strength = "img2img", d

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # ---------------------------------------------------------------- results
    def fill_from(self, other: Recipe) -> None:
        """Take what this recipe lacks from ``other`` (e.g. TensorArt: prompts here, the rest from the graph)."""
        for name in TRACKED:
            if name not in self.known and name in other.known:
                self.put(name, getattr(other.s, name))
        if self.s.checkpoint is None:
            self.s.checkpoint = other.s.checkpoint
        if not self.s.loras:
            self.s.loras = list(other.s.loras)
        if self.s.hires_scale is None and other.s.hires_scale is not None:
            self.s.hires_scale, self.s.hires_denoise = other.s.hires_scale, other.s.hires_denoise
        if self.s.action == "generate" and other.s.action != "generate":
            self.s.action, self.s.strength = other.s.action, other.s.strength
        if self.s.vae is None:
            self.s.vae = other.s.vae
        for key, value in other.extra.items():
            self.extra.setdefault(key, value)
        for n in other.notes:
            self.note(n)

    def record(self) -> MetadataRecord:
        # a file with a prompt and no negative has an empty negative, unless a reader lost it
        known = (self.known | ({"uc"} if "prompt" in self.known else set())) - self.lost
        missing = [TRACKED[n] for n in TRACKED if n not in known]
        notes = list(self.notes)
        if missing:
            notes.append(f"not in the file: {', '.join(missing)}")
        return MetadataRecord(
            dialect=self.dialect,
            settings=self.s,
            raw=self.raw,
            full_prompt=self.s.prompt if self.full_prompt is None else self.full_prompt,
            full_negative=self.s.uc if self.full_negative is None else self.full_negative,
            notes=notes,
            known=frozenset(known),
            extra=dict(self.extra),
        )
