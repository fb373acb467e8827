"""Names the file systems PeroPix runs on refuse or treat specially (no I/O, imported at start-up)."""

from __future__ import annotations

_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$"}
    | {f"{dev}{n}" for dev in ("com", "lpt") for n in [*map(str, range(10)), "\u00b9", "\u00b2", "\u00b3"]}
)


def is_windows_reserved(name: str) -> bool:
    """``CON``, ``nul``, ``COM1``, ``lpt²`` … in any case, with or without an extension or trailing spaces."""
    return name.split(".")[0].rstrip(" ").lower() in _WINDOWS_RESERVED
