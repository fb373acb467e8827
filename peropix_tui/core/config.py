"""TOML configuration with ``PEROPIX_*`` environment overrides, and NovelAI token handling.

The token is a secret: it is held in a :class:`Secret` whose ``repr``/``str`` never show it,
read from ``PEROPIX_NAI_TOKEN`` or the token file (written with mode 0600), and never logged.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..i18n import LANGUAGE_SETTINGS, _
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
    """Longest wait for one whole NovelAI answer, seconds, 1-3600 (NovelAI can take over a minute under
    load); on the stream, the longest wait for each complete frame."""
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
        raise ConfigError(_("{where}: expected a list of tables {{name = ..., token_file = ...}}").format(where=where))
    out: list[NaiAccountRef] = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(_("{at}: expected a table {{name = ..., token_file = ... or token_env = ...}}")
                              .format(at=at))
        unknown = sorted(set(item) - {"name", "token_file", "token_env"})
        if unknown:
            raise ConfigError(_("{at}: unknown key {key} (use name, token_file, token_env)")
                              .format(at=at, key=repr(unknown[0])))
        name, tf, te = item.get("name"), item.get("token_file", ""), item.get("token_env", "")
        if not isinstance(name, str) or not name.strip() or ":" in name or name.strip() == "default":
            raise ConfigError(_("{at}.name: expected a name (text without ':', not 'default')").format(at=at))
        if not isinstance(tf, str) or not isinstance(te, str) or bool(tf) == bool(te):
            raise ConfigError(_("{at}: give exactly one of token_file (a path) and token_env (a variable name)")
                              .format(at=at))
        if any(a.name == name.strip() for a in out):
            raise ConfigError(_("{at}.name: two accounts are named {name}").format(at=at, name=repr(name.strip())))
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
    from_env: set[str] = field(default_factory=set)
    """``section.key`` of the values set by a ``PEROPIX_*`` variable (never saved from here)."""

    # ------------------------------------------------------------ derived paths
    @property
    def output_dir(self) -> Path:
        return Path(self.paths.output_dir).expanduser() if self.paths.output_dir else paths.default_output_dir()

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("source", None)
        d.pop("comfyui", None)  # written by section_to_toml (a list of tables)
        d.pop("from_env", None)
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


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an HTTP base URL (None when it can)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as e:
        tail = url.split("//", 1)[-1].split("/", 1)[0].rpartition(":")[2]
        if tail.isdigit():
            return _("port {port} is out of range 1-65535").format(port=tail)
        return _("bad port ({error})").format(error=e)
    if parts.scheme not in ("http", "https"):
        return _("it must start with http:// or https://")
    if not parts.hostname:
        return _("it names no host")
    if port is not None and not 1 <= port <= 65535:
        return _("port {port} is out of range 1-65535").format(port=port)
    if any(not 0x21 <= ord(c) <= 0x7E for c in url):
        return _("it contains spaces or non-ASCII characters")
    return None


NUMBER_RANGES: dict[str, tuple[float, float]] = {
    "nai.timeout": (1.0, 3600.0),
    "nai.delay": (0.0, 3600.0),
    "generation.budget": (0, 100_000_000),
}
"""Inclusive ranges of the numeric settings."""
MAX_TEXT = 4096
"""Longest text value accepted (paths, theme, quality tags, keymap entries)."""
MAX_TABLE = 256
"""Most entries in a table value (keymap, uc_presets)."""


def _bad(key: str, why: str, where: str) -> ConfigError:
    return ConfigError(_("config: {key}: {why} ({where})").format(key=key, why=why, where=where))


def _number(value: Any, *, whole: bool) -> float | int | None:
    """``value`` as a finite number (None when it is not one); text is parsed (env values)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if whole:
        if value != int(value):
            return None
        return int(value)
    return float(value)


def _text(key: str, value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(key, _("expected text, got {value}").format(value=_shown(value)), where)
    if len(value) > MAX_TEXT:
        raise _bad(key, _("text longer than {limit} characters").format(limit=MAX_TEXT), where)
    if "\x00" in value:
        raise _bad(key, _("text contains a NUL character"), where)
    return value


def _shown(value: Any) -> str:
    """A short description of a rejected value (never a deep repr)."""
    if isinstance(value, dict):
        return _("a table")
    if isinstance(value, list):
        return _("an array")
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _coerce(key: str, value: Any, default: Any, where: str) -> Any:
    """``value`` checked against the type of ``default`` and the key's range."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise _bad(key, _("expected true/false, got {value}").format(value=_shown(value)), where)
    if isinstance(default, int | float):
        whole = isinstance(default, int)
        number = _number(value, whole=whole)
        low, high = NUMBER_RANGES.get(key, (-math.inf, math.inf))
        if number is None or not low <= number <= high:
            shown = _shown(value)
            if not math.isfinite(high):
                why = (_("expected a whole number from at least {low}, got {value}") if whole
                       else _("expected a number from at least {low}, got {value}"))
                raise _bad(key, why.format(low=f"{low:g}", value=shown), where)
            why = (_("expected a whole number from {low} to {high}, got {value}") if whole
                   else _("expected a number from {low} to {high}, got {value}"))
            raise _bad(key, why.format(low=f"{low:g}", high=f"{high:g}", value=shown), where)
        return number
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise _bad(key, _("expected a table"), where)
        if len(value) > MAX_TABLE:
            raise _bad(key, _("more than {limit} entries").format(limit=MAX_TABLE), where)
        return {_text(f"{key}.{k}", k, where): _text(f"{key}.{k}", v, where) for k, v in value.items()}
    return _text(key, value, where)


def _parse_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(_("config: {file}: not valid TOML: {error}").format(file=path, error=e)) from None
    except RecursionError:
        raise ConfigError(_("config: {file}: not valid TOML: nested too deeply").format(file=path)) from None
    except OSError as e:
        raise ConfigError(_("config: {file}: cannot be read: {error}").format(file=path, error=e.strerror or e)) from None


def load_config(path: Path | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the TOML config (missing file = defaults), then apply ``PEROPIX_*`` overrides.

    Every value is checked for its type and range; a bad one raises :class:`ConfigError`
    ("config: <key>: <why> (<file or variable>)"), which the command line turns into exit 2.
    """
    env = dict(os.environ) if env is None else env
    path = path or paths.config_file()
    raw: dict[str, Any] = _parse_toml(path) if path.exists() else {}
    cfg = Config(source=path if path.exists() else None)
    comfy = raw.pop("comfyui", {})
    if not isinstance(comfy, dict):
        raise ConfigError(_("{file}: [comfyui] must be a table").format(file=path))
    try:
        cfg.comfyui = parse_section(str(path), comfy, env)
    except ComfyConfigError as e:
        raise ConfigError(str(e)) from None
    nai_raw = raw.get("nai")
    if isinstance(nai_raw, dict) and "accounts" in nai_raw:
        cfg.accounts = parse_accounts(f"{path}: nai.accounts", nai_raw.pop("accounts"))
    for section, values in raw.items():
        if section not in _SECTIONS:
            raise ConfigError(_("config: {file}: unknown section [{section}]").format(file=path, section=section))
        if not isinstance(values, dict):
            raise ConfigError(_("config: {file}: [{section}] must be a table").format(file=path, section=section))
        obj = getattr(cfg, section)
        for key, value in values.items():
            if not hasattr(obj, key):
                raise ConfigError(_("config: {file}: unknown key {key}").format(file=path, key=f"{section}.{key}"))
            setattr(obj, key, _coerce(f"{section}.{key}", value, getattr(obj, key), str(path)))
    for var, (section, key) in _ENV.items():
        if var in env and env[var] != "":
            obj = getattr(cfg, section)
            setattr(obj, key, _coerce(f"{section}.{key}", env[var], getattr(obj, key), f"${var}"))
            cfg.from_env.add(f"{section}.{key}")
    _check_choices(cfg, path)
    cfg.nai.base_url = cfg.nai.base_url.rstrip("/")
    return cfg


def _where(cfg: Config, key: str, path: Path) -> str:
    if key in cfg.from_env:
        return next(f"${var}" for var, sk in _ENV.items() if ".".join(sk) == key)
    return str(path)


def _check_choices(cfg: Config, path: Path) -> None:
    if cfg.ui.image_protocol not in IMAGE_PROTOCOLS:
        raise _bad("ui.image_protocol", _not_one_of(cfg.ui.image_protocol, IMAGE_PROTOCOLS),
                   _where(cfg, "ui.image_protocol", path))
    if cfg.ui.language not in LANGUAGE_SETTINGS:
        raise _bad("ui.language", _not_one_of(cfg.ui.language, LANGUAGE_SETTINGS),
                   _where(cfg, "ui.language", path))
    from .local.weights import DIALECTS
    from .notify import MODES as notify_modes

    if cfg.ui.notify not in notify_modes:
        raise _bad("ui.notify", _not_one_of(cfg.ui.notify, notify_modes), _where(cfg, "ui.notify", path))
    if cfg.local.prompt_dialect not in DIALECTS:
        raise _bad("local.prompt_dialect", _not_one_of(cfg.local.prompt_dialect, DIALECTS),
                   _where(cfg, "local.prompt_dialect", path))
    unknown = sorted(set(cfg.local.uc_presets) - set(LOCAL_UC_PRESETS))
    if unknown:
        raise _bad("local.uc_presets", _("unknown preset {name} (use {choices})")
                   .format(name=repr(unknown[0]), choices=", ".join(LOCAL_UC_PRESETS)), str(path))
    problem = url_problem(cfg.nai.base_url)
    if problem:
        raise _bad("nai.base_url", _("{url} is not a usable URL: {problem}")
                   .format(url=_shown(cfg.nai.base_url), problem=problem), _where(cfg, "nai.base_url", path))


def _not_one_of(value: str, choices: tuple[str, ...]) -> str:
    return _("{value} is not one of {choices}").format(value=repr(value), choices=", ".join(choices))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{s}"'


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else _toml_value(k)


def save_config(cfg: Config, path: Path | None = None) -> Path:
    """Write the whole config as TOML, atomically (values from the environment included: prefer
    :func:`save_config_changes` for what a user edited)."""
    return _write_toml(cfg.to_dict(), path or cfg.source or paths.config_file(), cfg.comfyui, cfg.accounts)


def save_config_changes(changes: dict[str, Any], path: Path | None = None) -> Path:
    """Set only ``changes`` ("section.key" -> value) in the config file, keeping everything else it
    holds as it was; values that came from ``PEROPIX_*`` variables are never written by this."""
    path = path or paths.config_file()
    raw = _parse_toml(path) if path.exists() else {}
    for dotted, value in changes.items():
        section, key = dotted.split(".", 1)
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(_("config: {file}: [{section}] must be a table").format(file=path, section=section))
        table[key] = value
    return _write_toml(raw, path)


def _write_toml(tables: dict[str, Any], path: Path, comfyui: ComfyUIConfig | None = None,
                accounts: list[NaiAccountRef] | None = None) -> Path:
    lines: list[str] = []
    for section, values in tables.items():
        if not isinstance(values, dict):
            continue
        lines.append(f"[{section}]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in values.items()]
        lines.append("")
    for acc in accounts or []:
        lines += ["[[nai.accounts]]", f"name = {_toml_value(acc.name)}"]
        lines += [f"token_file = {_toml_value(acc.token_file)}"] if acc.token_file else []
        lines += [f"token_env = {_toml_value(acc.token_env)}"] if acc.token_env else []
        lines.append("")
    if comfyui is not None and (comfyui.servers or comfyui != ComfyUIConfig()):
        lines += section_to_toml(comfyui) + [""]
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
