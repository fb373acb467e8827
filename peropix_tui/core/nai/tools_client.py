"""Client calls for ``/ai/augment-image`` and ``/ai/upscale`` on the generation client's rails.

:class:`NaiToolsClient` is a :class:`~peropix_tui.core.nai.client.NaiClient`, so both calls hold
the same per-account gate (one request in flight per token, shared with generations and vibe
encodes) and get the same 429 back-off. Both answer a ZIP (one image, or three for
``bg-removal``); upscale gets a long read timeout (NovelAI can take minutes).

Anlas are never spent twice behind the user's back: a request is sent again automatically only
when NovelAI cannot have billed it (429 busy, a connection that never opened) or when it is free
(``resend=True``). A paid request that failed after it reached NovelAI (5xx, reset, timeout, a
damaged ZIP) is one clear error saying it may have been billed.
"""

from __future__ import annotations

from typing import Any

import httpx

from ...i18n import _
from ..backend import BackendError, CancelToken
from ..config import Config, Secret, load_config, load_token
from .client import (
    NaiClient,
    RetryPolicy,
    _check_status,
    _network_error,
    _Transient,
    unpack_or_raise,
)
from .tools import AUGMENT, UPSCALE

UPSCALE_READ_TIMEOUT = 300.0


def _timeout_error(e: httpx.TimeoutException, timeout: httpx.Timeout) -> BackendError:
    if isinstance(e, httpx.ConnectTimeout):
        return BackendError(_("could not connect to NovelAI within {seconds} s").format(seconds=f"{timeout.connect:g}"),
                            retryable=True)
    return BackendError(_("NovelAI did not answer within {seconds} s (nai.timeout)").format(seconds=f"{timeout.read:g}"),
                        retryable=True)


class _NotSent(_Transient):
    """The connection never opened: NovelAI did not see the request, so sending it again is safe."""


class NaiToolsClient(NaiClient):
    """A NovelAI client that also runs Director Tools and the upscaler."""

    async def __aenter__(self) -> NaiToolsClient:
        return self

    async def augment(self, body: dict[str, Any], cancel: CancelToken | None = None, *,
                      resend: bool = False) -> list[bytes]:
        """Send one augment request; the images of its ZIP in index order. ``resend``: the request is
        free, so it may be sent again after any transient failure."""

        async def attempt(http: httpx.AsyncClient) -> list[bytes]:
            return await self._tool_once(http, AUGMENT, body, self.timeout, resend)

        return await self._call(attempt, cancel)

    async def upscale(self, body: dict[str, Any], cancel: CancelToken | None = None, *,
                      resend: bool = False) -> bytes:
        """Send one upscale request; the 2x image (upscales are never free: ``resend`` stays off)."""
        timeout = httpx.Timeout(connect=self.timeout.connect, read=max(self.timeout.read or 0.0, UPSCALE_READ_TIMEOUT),
                                write=self.timeout.write, pool=self.timeout.pool)

        async def attempt(http: httpx.AsyncClient) -> bytes:
            return (await self._tool_once(http, UPSCALE, body, timeout, resend))[0]

        return await self._call(attempt, cancel)

    async def _tool_once(self, http: httpx.AsyncClient, path: str, payload: dict[str, Any],
                         timeout: httpx.Timeout, resend: bool) -> list[bytes]:
        headers = self._headers()
        try:
            try:
                resp = await http.post(path, json=payload, headers=headers, timeout=timeout)
            except httpx.ConnectTimeout as e:
                raise _NotSent(_timeout_error(e, timeout)) from None
            except httpx.ConnectError as e:
                raise _NotSent(_network_error(e)) from None
            except httpx.TimeoutException as e:
                raise _Transient(_timeout_error(e, timeout)) from None
            except httpx.TransportError as e:
                raise _Transient(_network_error(e)) from None
            _check_status(resp.status_code, resp.content, headers["x-correlation-id"])
            return unpack_or_raise(resp.content)
        except _Transient as e:
            if resend or isinstance(e, _NotSent):
                raise
            raise BackendError(_("{error}; the request reached NovelAI and may have been billed, so it was "
                                 "not sent again (run it again to retry)").format(error=e.error),
                               status=e.error.status) from None


def tools_client_from_config(config: Config | None = None, token: Secret | None = None, *,
                             retry: RetryPolicy | None = None) -> NaiToolsClient:
    """A tools client for the configured image host (``PEROPIX_NAI_URL``) and token."""
    config = config or load_config()
    token = token or load_token()
    return NaiToolsClient(config.nai.base_url, token or Secret(""), timeout=config.nai.timeout,
                          stream=config.nai.stream, retry=retry)
