"""Config values are checked for type and range: one line "config: <key>: <why>", never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from peropix_tui.core import paths
from peropix_tui.core.config import ConfigError, load_config, save_config_changes


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[generation]\nbudget = inf\n", "config: generation.budget: expected a whole number from 0"),
        ("[generation]\nbudget = 1.5\n", "config: generation.budget: expected a whole number"),
        ("[generation]\nbudget = -3\n", "config: generation.budget:"),
        ("[generation]\nbudget = true\n", "config: generation.budget:"),
        ("[nai]\ntimeout = nan\n", "config: nai.timeout: expected a number from 1 to 3600, got nan"),
        ("[nai]\ntimeout = -5\n", "config: nai.timeout: expected a number from 1 to 3600, got -5"),
        ("[nai]\ntimeout = 1e400\n", "config: nai.timeout:"),
        ("[nai]\ndelay = -1.0\n", "config: nai.delay:"),
        ('[nai]\nbase_url = "http://127.0.0.1:99999"\n', "config: nai.base_url: .*port 99999"),
        ('[nai]\nbase_url = "ftp://x"\n', "config: nai.base_url: .*http"),
        ("[ui.keymap]\ngenerate = 3\n", "config: ui.keymap.generate: expected text"),
        ("[ui.keymap.deeper]\nx = 'y'\n", "config: ui.keymap.deeper: expected text, got a table"),
        ("x = " + "[" * 5000 + "]" * 5000 + "\n", "not valid TOML"),
        ("a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n", "not valid TOML"),
        ('[paths]\noutput_dir = "a\\u0000b"\n', "config: paths.output_dir: text contains a NUL"),
    ],
)
def test_out_of_range_or_hostile_values_are_one_config_error(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=needle) as info:
        load_config(f, env={})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("var", "value", "needle"),
    [
        ("PEROPIX_BUDGET", "inf", r"config: generation\.budget: .*\(\$PEROPIX_BUDGET\)"),
        ("PEROPIX_NAI_TIMEOUT", "nan", r"config: nai\.timeout: .*\(\$PEROPIX_NAI_TIMEOUT\)"),
        ("PEROPIX_NAI_TIMEOUT", "-1", r"config: nai\.timeout:"),
        ("PEROPIX_NAI_URL", "http://127.0.0.1:99999", r"config: nai\.base_url: .*\(\$PEROPIX_NAI_URL\)"),
    ],
)
def test_env_values_are_checked_and_named(tmp_path: Path, var: str, value: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load_config(tmp_path / "none.toml", env={var: value})


def test_good_values_in_range_load(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text("[nai]\ntimeout = 30\ndelay = 0\n[generation]\nbudget = 500\n")
    cfg = load_config(f, env={"PEROPIX_BUDGET": "1000"})
    assert (cfg.nai.timeout, cfg.nai.delay, cfg.generation.budget) == (30.0, 0.0, 1000)
    assert cfg.from_env == {"generation.budget"}


def test_save_changes_keeps_other_keys_and_writes_only_the_changes(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[nai]\ntimeout = 42.0\n[local.uc_presets]\nheavy = "lowres"\n')
    save_config_changes({"paths.lora_dir": "/l", "nai.timeout": 50.0}, f)
    cfg = load_config(f, env={})
    assert (cfg.nai.timeout, cfg.paths.lora_dir, cfg.local.uc_presets) == (50.0, "/l", {"heavy": "lowres"})
    assert "base_url" not in f.read_text()


@pytest.mark.parametrize(("argv", "text"), [(["generate", "--prompt", "x", "--dry-run"], "[generation]\nbudget = inf\n"),
                                            ([], "[nai]\ntimeout = nan\n")])
def test_bad_config_exits_2_with_one_line_from_cli_and_tui(argv: list[str], text: str) -> None:
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text(text)
    proc = subprocess.run([sys.executable, "-m", "peropix_tui", *argv], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("peropix: error: config: "), proc.stderr
