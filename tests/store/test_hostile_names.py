"""Folder and preset names that spoof or break on some systems are refused with a reason."""

from __future__ import annotations

import pytest

from peropix_tui.core.presets import PresetError, check_name
from peropix_tui.core.store.layout import StoreError, check_folder_name, folder_from_name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("invoice\u202egnp.exe", "bidi controls"),
        ("a\u200bb", "zero-width"),
        ("\u2066left\u2069", "bidi controls"),
        ("\ufeffbom", "invisible"),
        ("line\u2028break", "invisible"),
        ("\u2024\u2024", "look like '.'"),
        ("a\u2025b", "look like '.'"),
        ("x\uff0ey", "look like '.'"),
        ("wait\u2026", "look like '.'"),
        ("a\u2215b", "path separator"),
        ("a\u2044b", "path separator"),
        ("a\uff0fb", "path separator"),
        ("COM\u00b9", "reserved device name"),
        ("con .txt", "reserved device name"),
        ("Nul.json", "reserved device name"),
    ],
)
def test_spoofing_folder_names_are_refused(name: str, why: str) -> None:
    with pytest.raises(StoreError, match=why) as info:
        check_folder_name(name)
    assert ascii(name) in str(info.value)  # shown escaped: the message cannot be reordered by the name


@pytest.mark.parametrize("name", ["モーニング娘。", "日本語・名前", "naïve café", "v1.5 set", "slot-2_b"])
def test_ordinary_names_in_any_script_are_kept(name: str) -> None:
    assert check_folder_name(name) == name


@pytest.mark.parametrize("name", ["evil\u202etxt", "\u2024\u2024", "CON", "com1"])
def test_folders_made_from_any_name_are_always_valid(name: str) -> None:
    assert check_folder_name(folder_from_name(name)) == folder_from_name(name)


@pytest.mark.parametrize("name", ["CON", "con", "nul", "NUL.json", "COM1", "com9.txt", "lpt1", "Aux", "prn.x",
                                  "COM\u00b2", "conin$", "name.", "a\u202eb", "\u2024\u2024"])
def test_hostile_preset_names_are_refused(name: str) -> None:
    with pytest.raises(PresetError, match="preset name"):
        check_name(name)


@pytest.mark.parametrize("name", ["console", "nullish", "COM10 set", "my set 2", "v1.5"])
def test_names_that_only_start_like_devices_are_fine(name: str) -> None:
    assert check_name(name) == name
