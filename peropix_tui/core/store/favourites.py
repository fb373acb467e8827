"""Favourites live next to the images, in a per-folder ``.favourites`` file (one file name a line).

They are the user's own data, not something the index could rebuild from the pixels, so they are
kept with the files: a rebuilt index, a copied folder or a restored trash entry keeps its stars.
"""

from __future__ import annotations

from pathlib import Path

from ..fsutil import atomic_write
from .layout import FAVOURITES_FILE


def read(folder: Path) -> set[str]:
    try:
        text = (folder / FAVOURITES_FILE).read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError):
        return set()
    return {line for line in text.splitlines() if line and "/" not in line and "\x00" not in line}


def write(folder: Path, names: set[str]) -> None:
    f = folder / FAVOURITES_FILE
    if not names:
        f.unlink(missing_ok=True)
        return
    atomic_write(f, "".join(f"{n}\n" for n in sorted(names)).encode("utf-8"))


def set_flag(folder: Path, name: str, value: bool) -> None:
    names = read(folder)
    if (name in names) == value:
        return
    names.symmetric_difference_update({name})
    write(folder, names)


def move_flag(src_folder: Path, src_name: str, dst_folder: Path, dst_name: str) -> bool:
    """Carry a file's star from one place to another; returns whether it was a favourite."""
    if src_name not in read(src_folder):
        return False
    set_flag(src_folder, src_name, False)
    set_flag(dst_folder, dst_name, True)
    return True
