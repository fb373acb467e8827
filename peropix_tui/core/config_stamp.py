"""A record of the last config that loaded cleanly, so that a one-off command can skip loading it again.

:func:`peropix_tui.core.config.load_config` parses the TOML file and checks every value (about 20 ms of
imports and work); a quick command such as ``peropix tags search`` needs only two of its values: the
language and ``paths.tags_dir``. After a full load succeeds, :func:`remember` writes those two values to
``<cache>/config-ok`` with a key made from everything the load depended on: the config file's path
and a hash of its bytes, the version of ``core/config.py``, and a hash of the ``PEROPIX_*``
variables. :func:`recall` returns the values only while that key still matches; any
change (an edited or removed config, another variable) means a full load again, so a broken config
still gives its one-line error. The record holds no token (the variables enter only as a hash).

This module imports only ``os`` and ``_blake2``: not tomllib, dataclasses or the config module.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing is a large part of a one-off command
if TYPE_CHECKING:
    from collections.abc import Mapping

STAMP_NAME = "config-ok"
_FORMAT = "peropix-config-ok 1"


class Recalled:
    """The values of a config that loaded cleanly with the same file and variables as now."""

    __slots__ = ("language", "tags_dir")

    def __init__(self, language: str, tags_dir: str) -> None:
        self.language = language
        self.tags_dir = tags_dir


def _config_file(env: Mapping[str, str]) -> str:
    """The config file :func:`core.paths.config_file` names, for ``env`` (platformdirs only when needed)."""
    v = env.get("PEROPIX_CONFIG")
    if v:
        return os.path.expanduser(v)
    d = env.get("PEROPIX_CONFIG_DIR")
    if d:
        return os.path.join(os.path.expanduser(d), "config.toml")
    from . import paths

    return str(paths.config_file())


def _stamp_file(env: Mapping[str, str]) -> str:
    d = env.get("PEROPIX_CACHE_DIR")
    if d:
        return os.path.join(os.path.expanduser(d), STAMP_NAME)
    from . import paths

    return str(paths.cache_dir() / STAMP_NAME)


def _code_key(path: str) -> str:
    st = os.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}"


def key(env: Mapping[str, str]) -> str:
    """What a full load of the config under ``env`` depends on, as one line: the file's path and a hash
    of its bytes (or ``absent``), the version of ``core/config.py``, a hash of the ``PEROPIX_*``
    variables. OSError when the config exists but cannot be read (then there is nothing to recall)."""
    from _blake2 import blake2b  # not hashlib: that loads OpenSSL, a few ms of a one-off command

    config = _config_file(env)
    try:
        with open(config, "rb") as f:
            content = blake2b(f.read(), digest_size=20).hexdigest()
    except FileNotFoundError:
        content = "absent"
    code = _code_key(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.py"))
    variables = sorted((k, v) for k, v in env.items() if k.startswith("PEROPIX_"))
    digest = blake2b(repr(variables).encode("utf-8", "surrogatepass"), digest_size=20).hexdigest()
    return f"{config!r} {content} {code} {digest}"


def recall(env: Mapping[str, str] | None = None) -> Recalled | None:
    """The language and tags folder of the config when it loaded cleanly as it is now; None otherwise."""
    env = os.environ if env is None else env
    try:
        with open(_stamp_file(env), encoding="utf-8", newline="") as f:
            lines = f.read().split("\n")
        if len(lines) != 5 or lines[0] != _FORMAT or lines[4] != "" or lines[1] != key(env):
            return None
    except (OSError, UnicodeError):
        return None
    return Recalled(lines[2], lines[3])


def remember(stamp_key: str, language: str, tags_dir: str, env: Mapping[str, str] | None = None) -> None:
    """Record the values of a config that loaded cleanly under ``env``; ``stamp_key`` is :func:`key`
    taken *before* that load (a file edited meanwhile then no longer matches). Best effort: a cache
    that cannot be written is not an error."""
    env = os.environ if env is None else env
    if "\n" in language or "\n" in tags_dir:
        return  # cannot be recorded on one line: the next command loads the config again
    path = _stamp_file(env)
    text = f"{_FORMAT}\n{stamp_key}\n{language}\n{tags_dir}\n"
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except (OSError, UnicodeError):  # UnicodeError: a path that is not valid UTF-8 is not recorded
        try:
            os.unlink(tmp)
        except OSError:
            pass


def load_quick(env: Mapping[str, str] | None = None) -> Recalled:
    """The recalled values when the config is unchanged; otherwise a full
    :func:`~peropix_tui.core.config.load_config` (its :class:`ConfigError` raised as it is), recorded
    for the next command."""
    env = os.environ if env is None else env
    found = recall(env)
    if found is not None:
        return found
    try:
        stamp_key: str | None = key(env)
    except (OSError, UnicodeError):  # load_config reports an unreadable config in its own words
        stamp_key = None
    from .config import load_config

    cfg = load_config(env=dict(env))
    if stamp_key is not None:
        remember(stamp_key, cfg.ui.language, cfg.paths.tags_dir, env)
    return Recalled(cfg.ui.language, cfg.paths.tags_dir)
