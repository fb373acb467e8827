"""One exit-code rule for every command: 2 when the command cannot run as given (bad flag, value out of
range, bad config), 1 when a valid command fails; usage errors are one line and a --help hint."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from peropix_tui.core import paths


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full = {**os.environ, "PEROPIX_NAI_TOKEN": "pst-exit-code-test", **(env or {})}
    return subprocess.run([sys.executable, "-m", "peropix_tui", *argv], capture_output=True, text=True,
                          timeout=120, env=full, stdin=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["generate", "--prompt", "x", "--width", "1000", "--dry-run"], "width: 1000"),
        (["generate", "--prompt", "x", "--steps", "99", "--dry-run"], "steps: 99"),
        (["generate", "--prompt", "x", "--scale", "11", "--dry-run"], "scale: 11"),
        (["cost", "--tier", "3", "--width", "1000"], "width: 1000"),
        (["cost", "--tier", "3", "--steps", "99"], "steps: 99"),
        (["generate", "--dry-run"], "--prompt"),
        (["generate", "--prompt", "x", "--bogus"], "unrecognized arguments: --bogus"),
        (["generate", "--steps", "many"], "invalid int value: 'many'"),
        (["cost", "--tier", "nine"], "--tier"),
        (["meta"], "required"),
        (["engine"], "required"),
        (["gallery", "list", "--nope"], "unrecognized arguments"),
        (["tags", "search"], "required"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_one_error_line(argv: list[str], needle: str) -> None:
    proc = run(*argv)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "error: " in lines[0] and needle in lines[0]
    assert "usage:" not in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("argv", [["generate", "--prompt", "x", "--bogus"], ["generate", "--steps", "many"],
                                  ["engine"], ["nosuchcommand"], ["tags", "search"]])
def test_flag_errors_end_with_a_help_hint_instead_of_the_usage(argv: list[str]) -> None:
    (line,) = run(*argv).stderr.strip().splitlines()
    assert line.startswith("peropix") and line.endswith(" --help')") and "(see 'peropix" in line


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["engine", "inspect", "/nonexistent/model.safetensors"], "file not found"),
        (["generate", "--prompt", "x", "--image", "/nonexistent/base.png", "--dry-run"], "file not found"),
        (["tags", "import", "/nonexistent/tags.csv"], "nonexistent"),
        (["generate", "--prompt", "x", "--vibe", "/nonexistent/style.png", "--dry-run"], "file not found"),
        (["generate", "--prompt", "x", "--vibe", "/nonexistent/style.naiv4vibe", "--dry-run"], "file not found"),
    ],
)
def test_failures_of_valid_commands_exit_1_with_one_line(argv: list[str], needle: str) -> None:
    proc = run(*argv)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_unreachable_server_exits_1_with_one_line() -> None:
    proc = run("generate", "--prompt", "x", env={"PEROPIX_NAI_URL": f"http://127.0.0.1:{free_port()}"})
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if "retrying" not in ln]
    assert len(lines) == 1 and "network error" in lines[0], proc.stderr


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"PEROPIX_NAI_URL": "http://127.0.0.1:99999"}, "config: nai.base_url: 'http://127.0.0.1:99999' is not a usable URL"),
        ({"PEROPIX_NAI_TIMEOUT": "nan"}, "config: nai.timeout:"),
    ],
)
def test_bad_settings_in_the_environment_exit_2_naming_the_setting(env: dict[str, str], needle: str) -> None:
    proc = run("generate", "--prompt", "x", env=env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr, proc.stderr


def test_token_with_a_non_ascii_character_is_one_line_naming_the_setting() -> None:
    proc = run("generate", "--prompt", "x", env={"PEROPIX_NAI_TOKEN": "pst-caf\u00e9-token",
                                                "PEROPIX_NAI_URL": f"http://127.0.0.1:{free_port()}"})
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "PEROPIX_NAI_TOKEN" in lines[0] and "non-ASCII" in lines[0], proc.stderr
    assert "caf\u00e9" not in proc.stderr


def test_bad_config_file_exits_2_for_every_command_that_reads_it(tmp_path: Path) -> None:
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text("[generation]\nbudget = inf\n")
    for argv in (["generate", "--prompt", "x", "--dry-run"], ["gallery", "list"], ["tags", "search", "a"]):
        proc = run(*argv)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert proc.stderr.strip().splitlines() == [
            f"peropix: error: config: generation.budget: expected a whole number from 0 to 1e+08, got inf "
            f"({paths.config_file()})"], proc.stderr
