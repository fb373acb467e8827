"""TOML configuration with ``PEROPIX_*`` environment overrides, and NovelAI token handling.

The token is a secret: it is held in a :class:`Secret` whose ``repr``/``str`` never show it,
read from ``PEROPIX_NAI_TOKEN`` or the token file (written with mode 0600), and never logged.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..i18n import LANGUAGE_SETTINGS
from . import paths
from .comfyui.config import ComfyConfigError, ComfyUIConfig, parse_section, section_to_toml

DEFAULT_NAI_URL = "https://image.novelai.net"
IMAGE_PROTOCOLS = ("auto", "tgp", "sixel", "halfcell", "unicode")
LOCAL_UC_PRESETS = ("heavy", "light", "human", "furry")  # settings.UC_PRESETS less "none"


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file and the key."""


class Secret:
    """A string that does not reveal itself in logs, reprs, tracebacks or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass
class NaiConfig:
    base_url: str = DEFAULT_NAI_URL
    """Image host; point it at a proxy or the test emulator."""
    timeout: float = 180.0
    """Read timeout for one generation, seconds (NovelAI can take over a minute under load)."""
    stream: bool = True
    """Use /ai/generate-image-stream (step previews) and fall back to the ZIP endpoint."""
    delay: float = 0.0
    """Seconds to wait between queued NovelAI jobs."""


@dataclass
class NaiAccountRef:
    """One more NovelAI account (``[nai] accounts``): a name and where its token is, never the token.

    Exactly one of ``token_file`` (a file holding the token, read when a batch starts) and
    ``token_env`` (an environment variable) is set. The single token (Settings, ``PEROPIX_NAI_TOKEN``)
    stays the default account.
    """

    name: str
    token_file: str = ""
    token_env: str = ""


def parse_accounts(where: str, value: Any) -> list[NaiAccountRef]:
    """``[nai] accounts = [{name = ..., token_file = ... | token_env = ...}, ...]``; errors name the entry."""
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list of tables {{name = ..., token_file = ...}}")
    out: list[NaiAccountRef] = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{at}: expected a table {{name = ..., token_file = ... or token_env = ...}}")
        unknown = sorted(set(item) - {"name", "token_file", "token_env"})
        if unknown:
            raise ConfigError(f"{at}: unknown key {unknown[0]!r} (use name, token_file, token_env)")
        name, tf, te = item.get("name"), item.get("token_file", ""), item.get("token_env", "")
        if not isinstance(name, str) or not name.strip() or ":" in name or name.strip() == "default":
            raise ConfigError(f"{at}.name: expected a name (text without ':', not 'default')")
        if not isinstance(tf, str) or not isinstance(te, str) or bool(tf) == bool(te):
            raise ConfigError(f"{at}: give exactly one of token_file (a path) and token_env (a variable name)")
        if any(a.name == name.strip() for a in out):
            raise ConfigError(f"{at}.name: two accounts are named {name.strip()!r}")
        out.append(NaiAccountRef(name.strip(), tf, te))
    return out


@dataclass
class PathsConfig:
    output_dir: str = ""
    """Where images are saved (default ~/PeroPix/outputs)."""
    checkpoints_dir: str = ""
    lora_dir: str = ""
    tags_dir: str = ""


@dataclass
class UiConfig:
    image_protocol: str = "auto"
    """auto | tgp | sixel | halfcell | unicode"""
    theme: str = "textual-dark"
    keymap: dict[str, str] = field(default_factory=dict)
    """binding id -> keys, e.g. {"generate" = "ctrl+g"}"""
    language: str = "auto"
    """auto (follows LC_ALL / LC_MESSAGES / LANG) | en | ko | ja"""
    notify: str = "auto"
    """When a queue ends unfocused: auto | bell | osc9 | osc777 | off (core/notify.py)."""


@dataclass
class GenerationConfig:
    budget: int = 0
    """Refuse a run costing more Anlas than this (0 = no budget)."""


@dataclass
class LocalConfig:
    """What NovelAI's "quality tags" and "UC preset" mean for the local engine (empty: nothing)."""

    quality_tags: str = ""
    """Added to the prompt when quality tags are on, e.g. "masterpiece, best quality, newest".
    Appended after the prompt like NovelAI's, or put where ``{prompt}`` stands in it."""
    uc_presets: dict[str, str] = field(default_factory=dict)
    """UC preset name (heavy, light, human, furry) -> text put before the negative prompt."""
    prompt_dialect: str = "auto"
    """How the local engine reads prompt syntax: auto, comfyui, a1111 or novelai (README: Prompt dialects)."""


@dataclass
class Config:
    nai: NaiConfig = field(default_factory=NaiConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    ui: UiConfig = field(default_factory=UiConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    local: LocalConfig = field(default_factory=LocalConfig)
    comfyui: ComfyUIConfig = field(default_factory=ComfyUIConfig)
    accounts: list[NaiAccountRef] = field(default_factory=list)
    """More NovelAI accounts (``[nai] accounts``), each its own worker; the single token is the default."""
    source: Path | None = None

    # ------------------------------------------------------------ derived paths
    @property
    def output_dir(self) -> Path:
        return Path(self.paths.output_dir).expanduser() if self.paths.output_dir else paths.default_output_dir()

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source", None)
        d.pop("comfyui", None)  # written by section_to_toml (a list of tables)
        d.pop("accounts", None)  # written as [[nai.accounts]] tables
        return d


_SECTIONS: dict[str, type] = {
    "nai": NaiConfig,
    "paths": PathsConfig,
    "ui": UiConfig,
    "generation": GenerationConfig,
    "local": LocalConfig,
}

_ENV: dict[str, tuple[str, str]] = {
    "PEROPIX_NAI_URL": ("nai", "base_url"),
    "PEROPIX_NAI_TIMEOUT": ("nai", "timeout"),
    "PEROPIX_NAI_STREAM": ("nai", "stream"),
    "PEROPIX_NAI_DELAY": ("nai", "delay"),
    "PEROPIX_OUTPUT_DIR": ("paths", "output_dir"),
    "PEROPIX_CHECKPOINTS_DIR": ("paths", "checkpoints_dir"),
    "PEROPIX_LORA_DIR": ("paths", "lora_dir"),
    "PEROPIX_TAGS_DIR": ("paths", "tags_dir"),
    "PEROPIX_IMAGE_PROTOCOL": ("ui", "image_protocol"),
    "PEROPIX_THEME": ("ui", "theme"),
    "PEROPIX_LANG": ("ui", "language"),
    "PEROPIX_BUDGET": ("generation", "budget"),
    "PEROPIX_LOCAL_QUALITY_TAGS": ("local", "quality_tags"),
}


def _coerce(where: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if isinstance(default, int):
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}") from None
    if isinstance(default, float):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table")
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected text, got {value!r}")
    return value


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the TOML config (missing file = defaults), then apply ``PEROPIX_*`` overrides."""
    env = dict(os.environ) if env is None else env
    path = path or paths.config_file()
    raw: dict[str, Any] = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid TOML: {e}") from None
    cfg = Config(source=path if path.exists() else None)
    comfy = raw.pop("comfyui", {})
    if not isinstance(comfy, dict):
        raise ConfigError(f"{path}: [comfyui] must be a table")
    try:
        cfg.comfyui = parse_section(str(path), comfy, env)
    except ComfyConfigError as e:
        raise ConfigError(str(e)) from None
    nai_raw = raw.get("nai")
    if isinstance(nai_raw, dict) and "accounts" in nai_raw:
        cfg.accounts = parse_accounts(f"{path}: nai.accounts", nai_raw.pop("accounts"))
    for section, values in raw.items():
        if section not in _SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}]")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        obj = getattr(cfg, section)
        for key, value in values.items():
            if not hasattr(obj, key):
                raise ConfigError(f"{path}: unknown key {section}.{key}")
            setattr(obj, key, _coerce(f"{path}: {section}.{key}", value, getattr(obj, key)))
    for var, (section, key) in _ENV.items():
        if var in env and env[var] != "":
            obj = getattr(cfg, section)
            setattr(obj, key, _coerce(f"${var}", env[var], getattr(obj, key)))
    if cfg.ui.image_protocol not in IMAGE_PROTOCOLS:
        raise ConfigError(
            f"ui.image_protocol: {cfg.ui.image_protocol!r} is not one of {', '.join(IMAGE_PROTOCOLS)}"
        )
    if cfg.ui.language not in LANGUAGE_SETTINGS:
        raise ConfigError(f"ui.language: {cfg.ui.language!r} is not one of {', '.join(LANGUAGE_SETTINGS)}")
    unknown = sorted(set(cfg.local.uc_presets) - set(LOCAL_UC_PRESETS))
    if unknown:
        raise ConfigError(f"local.uc_presets: unknown preset {unknown[0]!r} (use {', '.join(LOCAL_UC_PRESETS)})")
    cfg.nai.base_url = cfg.nai.base_url.rstrip("/")
    return cfg


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else _toml_value(k)


def save_config(cfg: Config, path: Path | None = None) -> Path:
    """Write the config as TOML, atomically."""
    path = path or cfg.source or paths.config_file()
    lines: list[str] = []
    for section, values in cfg.to_dict().items():
        lines.append(f"[{section}]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in values.items()]
        lines.append("")
    for acc in cfg.accounts:
        lines += ["[[nai.accounts]]", f"name = {_toml_value(acc.name)}"]
        lines += [f"token_file = {_toml_value(acc.token_file)}"] if acc.token_file else []
        lines += [f"token_env = {_toml_value(acc.token_env)}"] if acc.token_env else []
        lines.append("")
    if cfg.comfyui.servers or cfg.comfyui != ComfyUIConfig():
        lines += section_to_toml(cfg.comfyui) + [""]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, path)
    return path


# --------------------------------------------------------------------- token
def load_token(env: dict[str, str] | None = None) -> Secret | None:
    """The NovelAI token from ``PEROPIX_NAI_TOKEN`` or the token file; None when not set."""
    env = dict(os.environ) if env is None else env
    value = env.get("PEROPIX_NAI_TOKEN", "").strip()
    if value:
        return Secret(value)
    f = paths.token_file()
    try:
        value = f.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, PermissionError, UnicodeDecodeError):
        return None
    return Secret(value) if value else None


def save_token(token: str) -> Path:
    """Store the token in the token file, created with mode 0600 (never world-readable)."""
    f = paths.token_file()
    f.parent.mkdir(parents=True, exist_ok=True)
    tmp = f.with_name(f.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, token.strip().encode("utf-8") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, f)
    return f


def delete_token() -> None:
    paths.token_file().unlink(missing_ok=True)
