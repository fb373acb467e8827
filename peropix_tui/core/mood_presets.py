"""Saved emotion subsets ("mood sets"): JSON files in ``<data>/moodsets/``, named like slot-set presets.

A mood set is an ordered list of the 24 NovelAI emotion moods. ``@name`` in a mood list (the
CLI's ``--mood @name``) stands for the saved set.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..i18n import _
from . import paths
from .fsutil import atomic_write
from .nai.tools import expand_moods
from .presets import PresetError, check_name


def moodsets_dir() -> Path:
    return paths.data_dir() / "moodsets"


def save_moodset(name: str, moods: list[str]) -> Path:
    """Save ``moods`` (checked; ``all`` expands) under ``name``; replaces a set of that name."""
    chosen = expand_moods(moods)
    if not chosen:
        raise PresetError(_("mood set {name}: no moods given").format(name=repr(name)))
    data = json.dumps({"moods": chosen}, ensure_ascii=False, indent=1).encode("utf-8")
    return atomic_write(moodsets_dir() / f"{check_name(name)}.json", data)


def list_moodsets() -> list[str]:
    folder = moodsets_dir()
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def load_moodset(name: str) -> list[str]:
    path = moodsets_dir() / f"{check_name(name)}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        moods = raw["moods"]
        if not isinstance(moods, list) or not all(isinstance(m, str) for m in moods):
            raise TypeError(_("moods is not a list of names"))
        return expand_moods(moods)
    except FileNotFoundError:
        saved = list_moodsets()
        if not saved:
            raise PresetError(_("{file}: no such mood set (saved: none)").format(file=path)) from None
        raise PresetError(_("{file}: no such mood set (saved: {names})").format(
            file=path, names=", ".join(saved))) from None
    except (ValueError, TypeError, KeyError) as e:
        raise PresetError(_("{file}: not a mood set ({error})").format(file=path, error=e)) from None


def resolve_moods(moods: list[str]) -> list[str]:
    """``moods`` with every ``@name`` replaced by that saved set (then checked, duplicates dropped)."""
    out: list[str] = []
    for m in moods:
        out += load_moodset(m[1:]) if m.startswith("@") else [m]
    return expand_moods(out)
