"""The one backend factory and the per-process pool of backends (made on first need).

``make_backend`` is the only place that knows how to build a provider's backend; the TUI, the
command line and tests (which may install their own) all get backends through a
:class:`BackendPool`. The local engine is imported here lazily, so nothing imports torch until a
local job runs.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..backend import Backend, BackendError
from ..jobs import NO_LOCAL_ENGINE
from ..jobs import NO_TOKEN as NO_TOKEN

if TYPE_CHECKING:
    from ..config import Config, Secret
    from ..settings import GenerationSettings


def make_backend(provider: str, config: Config, token: Secret | None) -> Backend:
    """A backend for ``provider`` ("nai", "local", "comfyui" or "comfyui:SERVER"); raises BackendError with a fix when it cannot."""
    if provider == "local":
        try:
            from ...engine.backend import LocalBackend
        except ImportError as e:
            raise BackendError(NO_LOCAL_ENGINE.format(error=e)) from None
        return LocalBackend(presets=config.local)
    if provider == "nai":
        from ..nai.backend import NaiBackend
        from ..nai.tools_client import tools_client_from_config

        if not token:
            raise BackendError(NO_TOKEN, status=401)
        return NaiBackend(tools_client_from_config(config, token))  # generations and tools: one client
    if provider == "comfyui" or provider.startswith("comfyui:"):
        from ..comfyui.backend import ComfyUIBackend

        server = provider.partition(":")[2] or None
        try:
            return ComfyUIBackend.from_config(config, server)
        except ValueError as e:
            raise BackendError(str(e)) from None
    raise BackendError(f"provider: unknown provider {provider!r} (nai, local or comfyui)")


def backend_key(settings: GenerationSettings) -> str:
    """The pool key of the backend that runs ``settings``: the provider, and for ComfyUI the server pin."""
    if settings.provider == "comfyui" and settings.comfyui_server:
        return f"comfyui:{settings.comfyui_server}"
    return settings.provider


class BackendPool:
    """One backend per key, made by :func:`make_backend` on first use; thread-safe.

    A key is a provider (``nai``: the default token, ``local``, ``comfyui``) or a worker's
    ``provider:target`` (:func:`.workers.pool_key`): ``nai:ACCOUNT`` runs on that account's token
    (``accounts``), ``comfyui:SERVER`` on that server, so each worker has its own backend.
    """

    def __init__(self, config: Config, token: Secret | None, accounts: dict[str, Secret] | None = None) -> None:
        self.config = config
        self.token = token
        self.accounts: dict[str, Secret] = dict(accounts or {})
        """NovelAI account name → token, for the ``nai:NAME`` keys (never logged)."""
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()

    def use(self, provider: str, backend: Backend | None) -> None:
        """Install a backend for ``provider`` (None: forget it, e.g. after a token change)."""
        with self._lock:
            if backend is None:
                self._backends.pop(provider, None)
            else:
                self._backends[provider] = backend

    def set_token(self, token: Secret | None) -> None:
        """A new token: the NovelAI backend built with the old one is forgotten."""
        self.token = token
        self.use("nai", None)

    def get(self, provider: str) -> Backend:
        with self._lock:
            if provider not in self._backends:
                if provider.startswith("nai:"):
                    name = provider.partition(":")[2]
                    if name not in self.accounts:
                        raise BackendError(f"nai.accounts: no NovelAI account named {name!r}")
                    self._backends[provider] = make_backend("nai", self.config, self.accounts[name])
                else:
                    self._backends[provider] = make_backend(provider, self.config, self.token)
            return self._backends[provider]

    def has_nai_token(self) -> bool:
        """Some NovelAI account has a token (the default or a named one)."""
        return bool(self.token) or any(self.accounts.values())

    def peek(self, provider: str) -> Backend | None:
        """The backend if one was made already (e.g. to reuse the NovelAI connection for the balance)."""
        with self._lock:
            return self._backends.get(provider)

    async def aclose(self) -> None:
        """Close network connections (on the running loop)."""
        for backend in list(self._backends.values()):
            close = getattr(backend, "aclose", None)
            if close is not None:
                await close()
