"""PeroPix slot mode: one base prompt × N slots (emotions, poses, outfits) × a repeat count.

A :class:`SlotSet` is the editable workspace shared by the Compose and Slots screens. Expanding it
gives one :class:`SlotRun` per (unlocked slot, repeat), each with its own settings and seed; locked
slots are skipped (and therefore not costed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from .settings import CharacterPrompt, GenerationSettings

SEED_MAX = 0xFFFFFFFF


def join_prompt(base: str, extra: str) -> str:
    """Base prompt + slot prompt joined with ", " (PeroPix), skipping empty parts."""
    parts = [p.strip().strip(",").strip() for p in (base, extra)]
    return ", ".join(p for p in parts if p)


@dataclass
class Slot:
    """One slot: a name (goes into the file name), a prompt added to the base, optional overrides."""

    name: str = ""
    prompt: str = ""
    locked: bool = False
    width: int | None = None
    height: int | None = None
    characters: list[CharacterPrompt] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "prompt": self.prompt, "locked": self.locked}
        if self.width and self.height:
            d["width"], d["height"] = self.width, self.height
        if self.characters is not None:
            d["characters"] = [c.__dict__.copy() for c in self.characters]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Slot:
        chars = d.get("characters")
        return cls(
            name=str(d.get("name", "")),
            prompt=str(d.get("prompt", "")),
            locked=bool(d.get("locked", False)),
            width=d.get("width"),
            height=d.get("height"),
            characters=None if chars is None else [CharacterPrompt(**c) for c in chars],
        )


@dataclass
class SlotRun:
    """One request to make: the slot it came from, the repeat number, and its full settings."""

    slot_index: int | None
    slot_name: str
    repeat: int
    settings: GenerationSettings


@dataclass
class SlotSet:
    """The workspace: base settings, slots, repeat count. No slots means "just the base prompt"."""

    base: GenerationSettings = field(default_factory=GenerationSettings)
    slots: list[Slot] = field(default_factory=list)
    repeats: int = 1

    def active_slots(self) -> list[tuple[int, Slot]]:
        return [(i, s) for i, s in enumerate(self.slots) if not s.locked]

    def settings_for(self, slot: Slot | None) -> GenerationSettings:
        """The base settings with one slot's prompt and overrides applied (seed untouched)."""
        s = self.base.copy()
        if slot is None:
            return s
        s.prompt = join_prompt(self.base.prompt, slot.prompt)
        if slot.width and slot.height:
            s.width, s.height = slot.width, slot.height
        if slot.characters is not None:
            s.characters = [CharacterPrompt(**c.__dict__) for c in slot.characters]
        return s

    def expand(self, rng: random.Random | None = None) -> list[SlotRun]:
        """Slots × repeats, locked slots skipped. Each run gets its own seed: the base seed when it is
        fixed (locked seed) and there is one run, otherwise a fresh random seed per run."""
        rng = rng or random.Random()
        targets: list[tuple[int | None, Slot | None]] = (
            [(i, s) for i, s in self.active_slots()] if self.slots else [(None, None)]
        )
        runs: list[SlotRun] = []
        for repeat in range(max(1, self.repeats)):
            for index, slot in targets:
                s = self.settings_for(slot)
                runs.append(SlotRun(index, slot.name if slot else "", repeat, s))
        fixed = self.base.seed
        for n, run in enumerate(runs):
            run.settings.seed = fixed if (fixed is not None and len(runs) == 1) else rng.randint(0, SEED_MAX)
            if fixed is not None and len(runs) > 1:
                run.settings.seed = (fixed + n) % (SEED_MAX + 1)
        return runs

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base.to_dict(), "slots": [s.to_dict() for s in self.slots], "repeats": self.repeats}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SlotSet:
        return cls(
            base=GenerationSettings.from_dict(d.get("base", {})),
            slots=[Slot.from_dict(x) for x in d.get("slots", [])],
            repeats=int(d.get("repeats", 1)),
        )
