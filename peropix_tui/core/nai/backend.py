"""``NaiBackend``: the NovelAI implementation of :class:`peropix_tui.core.backend.Backend`.

validate → resolve vibes (encode only what the cache lacks) → build the exact body → send
(stream, ZIP fallback) → :class:`GeneratedImage` per returned image, bytes exactly as the server
sent them, seed = body seed + index.
"""

from __future__ import annotations

from typing import Any

from ..backend import CancelToken, GeneratedImage, ProgressCallback
from ..config import Config, Secret, load_config, load_token
from ..settings import GenerationSettings
from .client import NaiClient, RetryPolicy
from .cost import estimate_cost
from .models import validate
from .request import build_request
from .responses import PNG_SIGNATURE
from .vibe import VibeCache, resolve_vibes


def client_from_config(config: Config | None = None, token: Secret | None = None, *,
                       retry: RetryPolicy | None = None) -> NaiClient:
    """A client for the configured image host (``PEROPIX_NAI_URL``) and token."""
    config = config or load_config()
    token = token or load_token()
    return NaiClient(config.nai.base_url, token or Secret(""), timeout=config.nai.timeout,
                     stream=config.nai.stream, retry=retry)


def image_extension(data: bytes) -> str:
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"\xff\xd8"):
        return "jpg"
    return "bin"


class NaiBackend:
    """Generates on NovelAI. The client is made on first use unless one is given."""

    name = "nai"

    def __init__(self, client: NaiClient | None = None, *, vibe_cache: VibeCache | None = None,
                 tier: int | None = None, active: bool = True) -> None:
        self._client = client
        self.vibe_cache = vibe_cache
        self.tier = tier
        """The account's tier when known (None: unknown, nothing is assumed free). Only a request that is
        free for this tier (Opus-free) is retried automatically when its answer is cut off."""
        self.active = active

    @property
    def client(self) -> NaiClient:
        if self._client is None:
            self._client = client_from_config()
        return self._client

    async def aclose(self) -> None:
        """Close the client's connections on the running loop (it reconnects when used again)."""
        if self._client is not None:
            await self._client.aclose()

    async def generate(self, settings: GenerationSettings, on_progress: ProgressCallback,
                       cancel: CancelToken) -> list[GeneratedImage]:
        validate(settings)
        cancel.raise_if_cancelled()
        settings = settings.copy()  # resolving vibes may set a .naiv4vibe's information_extracted
        encodings = await resolve_vibes(settings, self.client, cache=self.vibe_cache, cancel=cancel)
        body = build_request(settings, vibe_encodings=encodings or None)
        seed = int(body["parameters"]["seed"])
        datas = await self.client.generate(body, on_progress, cancel, free=self.is_free(settings))
        info = {"provider": "nai", "model": body["model"], "action": body["action"]}
        if encodings:
            info["vibes"] = vibe_keys(settings)
        return [
            GeneratedImage(data=data, seed=seed + i, index=i, extension=image_extension(data), info=dict(info))
            for i, data in enumerate(datas)
        ]


    def is_free(self, settings: GenerationSettings) -> bool:
        """True when the generation itself costs no Anlas for the known tier (V5's allowance counts as used)."""
        if self.tier is None:
            return False
        est = estimate_cost(settings, tier=self.tier, active=self.active, uncached_vibes=0, v5_usage_negative=True)
        return est.breakdown["generation"] + est.breakdown["vibe_surcharge"] + est.breakdown["charref"] == 0


def vibe_keys(settings: GenerationSettings) -> list[dict[str, Any]]:
    """What the metadata keeps of each vibe sent: its cache key (image sha256 + information) and strength."""
    return [{"image_sha256": v.image_sha256, "information_extracted": v.information_extracted, "strength": v.strength}
            for v in settings.enabled_vibes()]
