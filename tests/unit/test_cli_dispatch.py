"""The command line builds only the named command's parser; help and errors stay those of the full one."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peropix_tui.cli import COMMAND_MODULES, build_parser, command_named
from peropix_tui.screens.first_show import breakpoint_classes

ROOT = Path(__file__).resolve().parents[2]


def test_command_named_only_when_the_line_starts_with_a_known_command() -> None:
    assert command_named(["tags", "search", "so"]) == "tags"
    assert command_named(["generate", "--help"]) == "generate"
    assert command_named([]) is None
    assert command_named(["--version"]) is None
    assert command_named(["-h", "tags"]) is None  # top-level help lists every command
    assert command_named(["tgas", "search"]) is None  # a typo gets the full "invalid choice" list


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_one_command_parser_reads_its_line_as_the_full_parser_does(name: str) -> None:
    full = commands(build_parser())
    only = commands(build_parser(name))
    assert list(only) == [name]
    assert only[name].format_help() == full[name].format_help()


def test_tags_search_does_not_import_the_other_commands(tmp_path: Path) -> None:
    tags = tmp_path / "tags"
    tags.mkdir()
    (tags / "a.csv").write_text('solo,0,100,""\nsmile,0,50,""\n', encoding="utf-8")
    probe = ("import sys; from peropix_tui.cli import main; rc = main(['tags', 'search', 'so']); "
             "print(sorted(m for m in sys.modules if m.startswith('peropix_tui.commands.'))); "
             "print('asyncio' in sys.modules)")
    env = {**os.environ, "PEROPIX_TAGS_DIR": str(tags), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60,
                         check=True).stdout.splitlines()
    assert out[0].startswith("solo\t")
    assert out[-2] == "['peropix_tui.commands.tags']"
    assert out[-1] == "False"


def test_breakpoint_classes_match_the_largest_threshold_met() -> None:
    horizontal = [(0, "-narrow"), (100, "-wide")]
    vertical = [(0, "-short"), (32, "-tall")]
    assert breakpoint_classes(80, 24, horizontal, vertical) == {"-narrow", "-short"}
    assert breakpoint_classes(120, 40, horizontal, vertical) == {"-wide", "-tall"}
    assert breakpoint_classes(100, 32, horizontal, vertical) == {"-wide", "-tall"}
    assert breakpoint_classes(99, 31, horizontal, []) == {"-narrow"}
