"""Client calls for ``/ai/augment-image`` and ``/ai/upscale`` on the generation client's rails.

:class:`NaiToolsClient` is a :class:`~peropix_tui.core.nai.client.NaiClient`, so both calls hold
the same per-account gate (one request in flight per token, shared with generations and vibe
encodes) and get the same 429 back-off and 5xx / network retries. Both answer a ZIP (one image,
or three for ``bg-removal``); upscale gets a long read timeout (NovelAI can take minutes).
"""

from __future__ import annotations

from typing import Any

import httpx

from ..backend import CancelToken
from ..config import Config, Secret, load_config, load_token
from .client import (
    NaiClient,
    RetryPolicy,
    _check_status,
    _network_error,
    _timeout_error,
    _Transient,
    unpack_or_raise,
)
from .tools import AUGMENT, UPSCALE

UPSCALE_READ_TIMEOUT = 300.0


class NaiToolsClient(NaiClient):
    """A NovelAI client that also runs Director Tools and the upscaler."""

    async def __aenter__(self) -> NaiToolsClient:
        return self

    async def augment(self, body: dict[str, Any], cancel: CancelToken | None = None) -> list[bytes]:
        """Send one augment request; the images of its ZIP in index order."""

        async def attempt(http: httpx.AsyncClient) -> list[bytes]:
            return unpack_or_raise(await self._post_tool(http, AUGMENT, body, self.timeout))

        return await self._call(attempt, cancel)

    async def upscale(self, body: dict[str, Any], cancel: CancelToken | None = None) -> bytes:
        """Send one upscale request; the 2x image."""
        timeout = httpx.Timeout(connect=self.timeout.connect, read=max(self.timeout.read or 0.0, UPSCALE_READ_TIMEOUT),
                                write=self.timeout.write, pool=self.timeout.pool)

        async def attempt(http: httpx.AsyncClient) -> bytes:
            return unpack_or_raise(await self._post_tool(http, UPSCALE, body, timeout))[0]

        return await self._call(attempt, cancel)

    async def _post_tool(self, http: httpx.AsyncClient, path: str, payload: dict[str, Any],
                         timeout: httpx.Timeout) -> bytes:
        headers = self._headers()
        try:
            resp = await http.post(path, json=payload, headers=headers, timeout=timeout)
        except httpx.TimeoutException as e:
            raise _timeout_error(e, timeout) from None
        except httpx.TransportError as e:
            raise _Transient(_network_error(e)) from None
        _check_status(resp.status_code, resp.content, headers["x-correlation-id"])
        return resp.content


def tools_client_from_config(config: Config | None = None, token: Secret | None = None, *,
                             retry: RetryPolicy | None = None) -> NaiToolsClient:
    """A tools client for the configured image host (``PEROPIX_NAI_URL``) and token."""
    config = config or load_config()
    token = token or load_token()
    return NaiToolsClient(config.nai.base_url, token or Secret(""), timeout=config.nai.timeout,
                          stream=config.nai.stream, retry=retry)
