"""The saved workspace (``workspace.json`` in the state folder) and slot-set presets (JSON files in
``<data>/slotsets/``). Pure: no Textual."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..i18n import _
from . import paths
from .filenames import is_windows_reserved
from .fsutil import atomic_write
from .slots import SlotSet

WORKSPACE_FILE = "workspace.json"
_NAME_RE = re.compile(r"^[\w][\w .-]{0,63}$")


class PresetError(ValueError):
    """A preset name or file that cannot be used; the message names it."""


def workspace_path() -> Path:
    return paths.state_dir() / WORKSPACE_FILE


def save_workspace(ws: SlotSet, path: Path | None = None) -> Path:
    data = json.dumps(ws.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")
    return atomic_write(path or workspace_path(), data)


def load_workspace(path: Path | None = None) -> tuple[SlotSet, str]:
    """The saved workspace, or a fresh one; the text is a warning when the file was unreadable
    (the file is then kept aside as ``workspace.json.bad``)."""
    path = path or workspace_path()
    try:
        return SlotSet.from_dict(json.loads(path.read_text(encoding="utf-8"))), ""
    except FileNotFoundError:
        return SlotSet(), ""
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        bad = path.with_name(path.name + ".bad")
        path.replace(bad)
        return SlotSet(), _("{file}: unreadable workspace ({error}); kept as {backup}, starting fresh").format(
            file=path, error=e, backup=bad.name)


def presets_dir() -> Path:
    return paths.data_dir() / "slotsets"


def check_name(name: str) -> str:
    """A preset name usable as a file name on every system, else :class:`PresetError` saying why."""
    name = name.strip()
    if not _NAME_RE.match(name):
        raise PresetError(_("preset name {name}: use letters, digits, space, '.', '-', '_' (max 64)")
                          .format(name=ascii(name)))
    if name.endswith("."):
        raise PresetError(_("preset name {name}: must not end with '.'").format(name=ascii(name)))
    if is_windows_reserved(name):
        raise PresetError(_("preset name {name}: reserved device name on Windows (CON, NUL, COM1 …)")
                          .format(name=ascii(name)))
    return name


def save_preset(name: str, ws: SlotSet) -> Path:
    """Save the slots and repeat count (not the base prompt) as a named preset."""
    data = {"slots": [s.to_dict() for s in ws.slots], "repeats": ws.repeats}
    return atomic_write(presets_dir() / f"{check_name(name)}.json", json.dumps(data, ensure_ascii=False, indent=1).encode())


def list_presets() -> list[str]:
    folder = presets_dir()
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


def load_preset(name: str, into: SlotSet) -> SlotSet:
    """Replace ``into``'s slots and repeats with the preset's (base settings kept)."""
    path = presets_dir() / f"{check_name(name)}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        loaded = SlotSet.from_dict({"slots": raw.get("slots", []), "repeats": raw.get("repeats", 1)})
    except FileNotFoundError:
        raise PresetError(_("{file}: no such preset").format(file=path)) from None
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise PresetError(_("{file}: not a slot-set preset ({error})").format(file=path, error=e)) from None
    into.slots, into.repeats = loaded.slots, loaded.repeats
    return into
