"""Where PeroPix keeps its files: platformdirs locations, each overridable by an env variable.

``PEROPIX_CONFIG_DIR``, ``PEROPIX_DATA_DIR``, ``PEROPIX_CACHE_DIR``, ``PEROPIX_STATE_DIR`` move the
four user folders (tests point them at a temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "peropix"


def _dir(env: str, kind: str) -> Path:
    """The folder of ``env`` when set, else platformdirs' ``user_<kind>_dir`` (imported only then)."""
    v = os.environ.get(env)
    if v:
        return Path(v).expanduser()
    import platformdirs

    default: str = getattr(platformdirs, f"user_{kind}_dir")(APP)
    return Path(default)


def config_dir() -> Path:
    return _dir("PEROPIX_CONFIG_DIR", "config")


def data_dir() -> Path:
    return _dir("PEROPIX_DATA_DIR", "data")


def cache_dir() -> Path:
    return _dir("PEROPIX_CACHE_DIR", "cache")


def state_dir() -> Path:
    return _dir("PEROPIX_STATE_DIR", "state")


def config_file() -> Path:
    v = os.environ.get("PEROPIX_CONFIG")
    return Path(v).expanduser() if v else config_dir() / "config.toml"


def token_file() -> Path:
    return config_dir() / "nai_token"


def default_output_dir() -> Path:
    return Path.home() / "PeroPix" / "outputs"


def tags_dir(configured: str = "") -> Path:
    """The tag CSV folder: ``paths.tags_dir`` of the config when set, else ``<data>/tags``."""
    return Path(configured).expanduser() if configured else data_dir() / "tags"
