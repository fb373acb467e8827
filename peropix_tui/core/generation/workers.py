"""The workers of this configuration, and the NovelAI accounts (tokens) they run on.

- each ComfyUI server of ``[comfyui] servers``: worker ``comfyui:NAME``, capacity its ``max_jobs``
  (no server configured: one default worker ``comfyui`` that runs what ``--server`` names);
- each NovelAI account: the single token (Settings, ``PEROPIX_NAI_TOKEN``) is worker ``nai``; each
  ``[nai] accounts`` entry is worker ``nai:NAME``; one request in flight each (NovelAI's rule);
  no token at all: the worker ``nai`` still exists, and its jobs fail with "no token";
- the local engine: worker ``local``.

:func:`pool_key` is the :class:`~.backends.BackendPool` key of a job on a worker, so every worker
has its own backend (its own server, its own token). Tokens are :class:`~..config.Secret`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ...i18n import _
from ..config import ConfigError, Secret
from ..jobs import GENERATE
from .scheduler import NAI_KINDS, Worker

if TYPE_CHECKING:
    from ..config import Config
    from ..settings import GenerationSettings

DEFAULT_ACCOUNT = "default"


@dataclass(frozen=True)
class NaiAccount:
    name: str
    token: Secret

    def __repr__(self) -> str:
        return f"NaiAccount(name={self.name!r})"


def load_accounts(config: Config, default: Secret | None, env: dict[str, str] | None = None) -> list[NaiAccount]:
    """The default account (``default``, when there is a token) then each ``[nai] accounts`` entry.

    Raises :class:`ConfigError` naming the entry when its token file or variable gives no token.
    """
    env = dict(os.environ) if env is None else env
    out = [NaiAccount(DEFAULT_ACCOUNT, default)] if default else []
    for i, ref in enumerate(config.accounts):
        where = f"nai.accounts[{i}] ({ref.name})"
        if ref.token_file:
            path = Path(ref.token_file).expanduser()
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as e:
                raise ConfigError(_("{where}.token_file: {file}: cannot read ({error})").format(
                    where=where, file=path, error=e.strerror or e)) from None
            if not value:
                raise ConfigError(_("{where}.token_file: {file} is empty").format(where=where, file=path))
        else:
            value = env.get(ref.token_env, "").strip()
            if not value:
                raise ConfigError(_("{where}.token_env: ${variable} is not set").format(
                    where=where, variable=ref.token_env))
        out.append(NaiAccount(ref.name, Secret(value)))
    return out


def nai_worker_id(account: str) -> str:
    return "nai" if account == DEFAULT_ACCOUNT else f"nai:{account}"


def workers_from_config(config: Config, accounts: list[NaiAccount]) -> tuple[Worker, ...]:
    """Every worker of this configuration, NovelAI accounts first, then the local engine, then ComfyUI."""
    # Director Tool jobs run on the default account's tools client, so only that worker takes them
    nai = [Worker(nai_worker_id(a.name), "nai", target="" if a.name == DEFAULT_ACCOUNT else a.name,
                  kinds=NAI_KINDS if a.name == DEFAULT_ACCOUNT else frozenset({GENERATE}))
           for a in accounts] or [Worker("nai", "nai", kinds=NAI_KINDS)]
    comfy = [Worker(f"comfyui:{s.name}", "comfyui", capacity=s.max_jobs, target=s.name, url=s.url)
             for s in config.comfyui.servers] or [Worker("comfyui", "comfyui")]
    return (*nai, Worker("local", "local"), *comfy)


def pool_key(worker: Worker | None, settings: GenerationSettings) -> str:
    """The backend pool key of ``settings`` run on ``worker`` (None: the provider's default backend)."""
    if worker is None or not worker.target:
        if settings.provider == "comfyui" and settings.comfyui_server:
            return f"comfyui:{settings.comfyui_server}"
        return settings.provider
    return f"{worker.provider}:{worker.target}"
