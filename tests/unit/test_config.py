from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from peropix_tui.core import paths
from peropix_tui.core.config import (
    DEFAULT_NAI_URL,
    Config,
    ConfigError,
    Secret,
    load_config,
    load_token,
    save_config,
    save_token,
)


def test_defaults_without_file() -> None:
    cfg = load_config()
    assert cfg.nai.base_url == DEFAULT_NAI_URL
    assert cfg.ui.image_protocol == "auto"


def test_file_and_env_override(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[nai]\nbase_url = "http://proxy:1/"\ntimeout = 30\n[ui]\nimage_protocol = "sixel"\n')
    cfg = load_config(f, env={"PEROPIX_IMAGE_PROTOCOL": "halfcell"})
    assert cfg.nai.base_url == "http://proxy:1"
    assert cfg.nai.timeout == 30.0
    assert cfg.ui.image_protocol == "halfcell"
    cfg = load_config(f, env={"PEROPIX_NAI_URL": "http://127.0.0.1:9"})
    assert cfg.nai.base_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "text,needle",
    [
        ("[nai\n", "not valid TOML"),
        ("[bogus]\nx=1\n", "unknown section"),
        ("[nai]\nnope = 1\n", "unknown key nai.nope"),
        ('[nai]\ntimeout = "soon"\n', "nai.timeout"),
        ('[ui]\nimage_protocol = "kitty"\n', "image_protocol"),
        ('[local.uc_presets]\nstrong = "bad"\n', "local.uc_presets: unknown preset 'strong'"),
        ('[local]\nuc_presets = "bad"\n', "local.uc_presets: expected a table"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_config(f, env={})


def test_save_and_reload(tmp_path: Path) -> None:
    cfg = Config()
    cfg.paths.output_dir = str(tmp_path / 'out "quoted"')
    cfg.ui.keymap = {"generate": "ctrl+g"}
    f = save_config(cfg, tmp_path / "c.toml")
    back = load_config(f, env={})
    assert back.paths.output_dir == cfg.paths.output_dir
    assert back.ui.keymap == {"generate": "ctrl+g"}


def test_local_presets_load_save_and_env(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[local]\nquality_tags = "masterpiece, {prompt}"\n[local.uc_presets]\nheavy = "lowres, bad hands"\n')
    cfg = load_config(f, env={})
    assert cfg.local.quality_tags == "masterpiece, {prompt}"
    assert cfg.local.uc_presets == {"heavy": "lowres, bad hands"}
    back = load_config(save_config(cfg, tmp_path / "saved.toml"), env={})
    assert back.local == cfg.local
    assert load_config(f, env={"PEROPIX_LOCAL_QUALITY_TAGS": "best quality"}).local.quality_tags == "best quality"


def test_token_file_is_private_and_secret_hidden() -> None:
    assert load_token(env={}) is None
    f = save_token("pst-abcdef123456")
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    tok = load_token(env={})
    assert tok is not None and tok.get() == "pst-abcdef123456"
    for shown in (repr(tok), str(tok), f"{tok}", f"{tok!r}", str([tok])):
        assert "pst-abcdef" not in shown
    assert load_token(env={"PEROPIX_NAI_TOKEN": "pst-env"}) == Secret("pst-env")
    assert f == paths.token_file()
