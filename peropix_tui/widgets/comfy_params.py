"""The ComfyUI part of the Parameters form: server choices, discovered lists, workflow bindings.

Pure helpers (no widgets): the form calls them to build Select options and to read the text
fields. Lists come from :mod:`peropix_tui.core.comfyui.discovery`, fetched in a worker thread.
"""

from __future__ import annotations

from typing import Any

from ..core.comfyui.discovery import ServerInfo
from ..core.comfyui.names import DEFAULT_SAMPLERS, DEFAULT_SCHEDULERS
from ..core.comfyui.workflow import parse_bindings
from ..i18n import N_, _, ngettext

ANY_SERVER = "__any__"  # the server Select: no pin, the first free server runs the job
PICK = "__pick__"  # the "pick from the server" Selects: nothing picked yet (+ the list's length)


def server_options(config: Any, current: str | None) -> list[tuple[str, str]]:
    """(label, value) for the server Select: "any", each configured server, and a pinned server
    that is not configured (a URL kept from an image or a slot file)."""
    servers = list(getattr(getattr(config, "comfyui", None), "servers", []) or [])
    options = [(_("any server"), ANY_SERVER)] + [(f"{s.name}", s.name) for s in servers]
    known = {s.name for s in servers} | {s.url for s in servers}
    if current and current not in known:
        options.append((current, current))
    return options


def server_value(config: Any, current: str | None) -> str:
    """The server Select's value for the setting (a configured URL shows as its server's name)."""
    if not current:
        return ANY_SERVER
    for s in getattr(getattr(config, "comfyui", None), "servers", []) or []:
        if current in (s.name, s.url):
            return str(s.name)
    return current


def same_server(config: Any, a: str | None, b: str | None) -> bool:
    """Whether two server settings pin the same server (a name and its URL do; None is "any")."""
    if not a or not b:
        return not a and not b
    if a == b:
        return True
    for s in getattr(getattr(config, "comfyui", None), "servers", []) or []:
        if {a, b} <= {s.name, s.url}:
            return True
    return False


def sampler_lists(info: ServerInfo | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(samplers, schedulers) the server lists; ComfyUI's defaults before it has answered."""
    if info is None:
        return DEFAULT_SAMPLERS, DEFAULT_SCHEDULERS
    return tuple(info.samplers), tuple(info.schedulers)


def pick_value(names: list[str]) -> str:
    """The heading's value: it differs with the list's length, as its text does (a Select shows a
    new text only when its value changes)."""
    return f"{PICK}{len(names)}"


def is_pick(value: str) -> bool:
    return value.startswith(PICK)


NONE_LISTED = {"checkpoints": N_("no checkpoints listed"), "LoRAs": N_("no LoRAs listed")}
"""The heading of an empty "pick from the server" Select, by the list's name (shown translated)."""


def pick_options(names: list[str], what: str) -> list[tuple[str, str]]:
    """Options of a "pick from the server" Select: a heading, then the server's files."""
    if names:
        head = ngettext("pick ({n} on server)", "pick ({n} on server)", len(names)).format(n=len(names))
    else:
        head = _(NONE_LISTED[what]) if what in NONE_LISTED else _("no {what} listed").format(what=what)
    return [(head, pick_value(names))] + [(n, n) for n in names]


def describe(info: ServerInfo) -> str:
    """One line: the server and what it offers (the form's state line, translated)."""
    version = f" (ComfyUI {info.version})" if info.version else ""
    counts = ", ".join((
        ngettext("{n} checkpoint", "{n} checkpoints", len(info.checkpoints)).format(n=len(info.checkpoints)),
        ngettext("{n} LoRA", "{n} LoRAs", len(info.loras)).format(n=len(info.loras)),
        ngettext("{n} sampler", "{n} samplers", len(info.samplers)).format(n=len(info.samplers)),
        ngettext("{n} scheduler", "{n} schedulers", len(info.schedulers)).format(n=len(info.schedulers)),
    ))
    return f"{info.name}{version}: {counts}"


def format_bindings(bindings: dict[str, str]) -> str:
    return ", ".join(f"{role}={node}" for role, node in bindings.items())


def read_bindings(text: str) -> dict[str, str]:
    """``role=node, role=node`` (node ids or titles); ValueError naming the bad entry."""
    specs = [p.strip() for p in text.split(",") if p.strip()]
    try:
        return parse_bindings(specs)
    except ValueError as e:
        raise ValueError(str(e).replace("--bind", _("workflow bindings"), 1)) from None


def read_clip_skip(text: str) -> int | None:
    """Empty: the model's default; else the number of last CLIP layers to skip (1–12)."""
    if not text.strip():
        return None
    value = int(text)
    if not 1 <= value <= 12:
        raise ValueError(_("clip skip must be between 1 and 12 (empty: the model's default)"))
    return value
