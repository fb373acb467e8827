"""Where PeroPix keeps its files: platformdirs locations, each overridable by an env variable.

``PEROPIX_CONFIG_DIR``, ``PEROPIX_DATA_DIR``, ``PEROPIX_CACHE_DIR``, ``PEROPIX_STATE_DIR`` move the
four user folders (tests point them at a temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "peropix"


def _dir(env: str, default: str) -> Path:
    v = os.environ.get(env)
    return Path(v).expanduser() if v else Path(default)


def config_dir() -> Path:
    return _dir("PEROPIX_CONFIG_DIR", platformdirs.user_config_dir(APP))


def data_dir() -> Path:
    return _dir("PEROPIX_DATA_DIR", platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    return _dir("PEROPIX_CACHE_DIR", platformdirs.user_cache_dir(APP))


def state_dir() -> Path:
    return _dir("PEROPIX_STATE_DIR", platformdirs.user_state_dir(APP))


def config_file() -> Path:
    v = os.environ.get("PEROPIX_CONFIG")
    return Path(v).expanduser() if v else config_dir() / "config.toml"


def token_file() -> Path:
    return config_dir() / "nai_token"


def default_output_dir() -> Path:
    return Path.home() / "PeroPix" / "outputs"
