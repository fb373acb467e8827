"""A one-off command skips loading a config that loaded cleanly before and is unchanged; any change to
the file, the ``PEROPIX_*`` variables or a broken file means a full load (and its one-line error)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from peropix_tui.core import config_stamp
from peropix_tui.core.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("peropix_tui.core.config", "tomllib", "asyncio", "typing", "dataclasses", "threading", "argparse", "gettext")
PROBE = ("import sys; from peropix_tui.cli import main; rc = main(sys.argv[1:]); "
         f"print([m for m in {HEAVY!r} if m in sys.modules]); print(rc)")


def _tags(tmp_path: Path) -> Path:
    tags = tmp_path / "tags"
    tags.mkdir()
    (tags / "a.csv").write_text('solo,0,100,""\nsmile,0,50,""\nsky,0,70,""\n', encoding="utf-8")
    return tags


def _config(text: str) -> Path:
    path = Path(os.environ["PEROPIX_CONFIG_DIR"]) / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _search(*argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    return subprocess.run([sys.executable, "-c", PROBE, "tags", "search", *argv], env=env, capture_output=True,
                          text=True, timeout=60)


def test_tags_search_with_an_unchanged_config_imports_neither_the_config_module_nor_tomllib(
        tmp_path: Path) -> None:
    tags = _tags(tmp_path)
    _config(f'[paths]\ntags_dir = "{tags.as_posix()}"\n')
    first = _search("s")
    assert first.returncode == 0 and first.stdout.splitlines()[-1] == "0", first.stderr
    assert first.stdout.splitlines()[:3] == ["solo\t0\t100", "sky\t0\t70", "smile\t0\t50"]
    assert "peropix_tui.core.config" in first.stdout  # the first run validates the file
    second = _search("s")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout.replace(first.stdout.splitlines()[-2], "[]")
    assert second.stderr == ""


def test_a_config_broken_after_a_clean_load_still_gives_its_one_line_error(tmp_path: Path) -> None:
    tags = _tags(tmp_path)
    _config(f'[paths]\ntags_dir = "{tags.as_posix()}"\n')
    assert _search("s").returncode == 0
    path = _config(f'[paths]\ntags_dir = "{tags.as_posix()}"\nlanguage = "ko"\n')  # wrong section
    broken = subprocess.run([sys.executable, "-m", "peropix_tui", "tags", "search", "s"],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 2
    assert broken.stderr == f"peropix: error: config: {path}: unknown key paths.language\n"
    assert broken.stdout == ""


def test_a_changed_variable_is_validated_again(tmp_path: Path) -> None:
    _config(f'[paths]\ntags_dir = "{_tags(tmp_path).as_posix()}"\n')
    assert _search("s").returncode == 0
    bad = _search("s", PEROPIX_NAI_TIMEOUT="soon")
    assert bad.stdout.splitlines()[-1] == "2"  # main's exit code
    assert bad.stderr.startswith("peropix: error: config: nai.timeout:")
    (tmp_path / "x").mkdir()
    other = _tags(tmp_path / "x")
    moved = _search("s", PEROPIX_TAGS_DIR=str(other))  # first run under these variables: a full load
    assert moved.returncode == 0 and "peropix_tui.core.config" in moved.stdout
    assert moved.stdout.splitlines()[-1] == "0"


def test_recall_returns_the_remembered_values_only_while_the_file_is_the_same() -> None:
    assert config_stamp.recall() is None
    path = _config('[ui]\nlanguage = "ja"\n')
    found = config_stamp.load_quick()
    assert (found.language, found.tags_dir) == ("ja", "")
    recalled = config_stamp.recall()
    assert recalled is not None and (recalled.language, recalled.tags_dir) == ("ja", "")
    path.write_text('[ui]\nlanguage = "ko"\n', encoding="utf-8")  # same size, same second
    assert config_stamp.recall() is None
    assert config_stamp.load_quick().language == "ko"
    path.unlink()
    assert config_stamp.recall() is None
    assert config_stamp.load_quick().language == "auto"


def test_a_broken_config_is_never_remembered() -> None:
    _config("[ui]\nlanguage = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_stamp.load_quick()
    assert config_stamp.recall() is None
    assert not (Path(os.environ["PEROPIX_CACHE_DIR"]) / config_stamp.STAMP_NAME).exists()


def test_the_record_holds_no_variable_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEROPIX_NAI_TOKEN", "pst-secret-token-value")
    config_stamp.load_quick()
    text = (Path(os.environ["PEROPIX_CACHE_DIR"]) / config_stamp.STAMP_NAME).read_text(encoding="utf-8")
    assert "pst-secret" not in text
    assert config_stamp.recall() is not None
    monkeypatch.setenv("PEROPIX_NAI_TOKEN", "pst-other")
    assert config_stamp.recall() is None


def test_a_tags_folder_with_a_line_break_is_not_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PEROPIX_TAGS_DIR", "/tmp/a\nb")
    assert config_stamp.load_quick().tags_dir == "/tmp/a\nb"
    assert config_stamp.recall() is None


def test_the_quick_tags_search_line_prints_what_the_parsed_line_prints(tmp_path: Path) -> None:
    _config(f'[paths]\ntags_dir = "{_tags(tmp_path).as_posix()}"\n')
    quick = _search("s")  # no option: run without argparse
    parsed = _search("s", "-n", "10")  # the same query through the parser
    assert quick.stdout.splitlines()[:-2] == parsed.stdout.splitlines()[:-2] == [
        "solo\t0\t100", "sky\t0\t70", "smile\t0\t50"]
    assert (quick.stderr, parsed.stderr) == ("", "")
    assert _search("s", "-n", "1").stdout.splitlines()[:-2] == ["solo\t0\t100"]
    assert _search("--help").stdout.startswith("usage: peropix tags search [-h] [-n LIMIT] prefix\n")
