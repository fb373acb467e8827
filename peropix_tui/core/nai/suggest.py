"""Tag suggestions from NovelAI (``GET /ai/generate-image/suggest-tags``) for the prompt editor.

specs/nai-tools.md §3: query ``model`` (required), ``prompt`` (required), ``lang`` ``en`` or
``jp``; the answer is ``{"tags": [{"tag", "count", "confidence"}]}``. The endpoint answers
without a token, so a token is sent when there is one and none is needed. It costs nothing and
has its own rules, so it does not wait behind generations (no account gate).

:class:`TagSuggester` is built for typing: answers are cached (LRU per model, language and
text), every failure is silent (an empty list, the reason in :attr:`TagSuggester.last_error`),
and after a network failure it stays quiet — answering from the cache or with nothing, without
touching the network — for :attr:`offline_for` seconds, so a machine without network never
waits on it. The caller debounces (the website waits ≥ 500 ms) and runs it off the event loop.

Wiring into the prompt editor (``widgets/prompt_area.py`` / ``core/tags.py``)::

    suggester = TagSuggester.from_config()
    fragment = current_tag(text, cursor)            # the tag being typed
    remote = await suggester.suggest_debounced(fragment, model=settings.model)  # None: superseded
    items = merge_suggestions(local_items, remote)  # local CSV hits first, then NovelAI's
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx

from ..config import Config, Secret, load_config, load_token
from .client import USER_AGENT, LoopClients

SUGGEST = "/ai/generate-image/suggest-tags"
LANGS = ("en", "jp")
DEBOUNCE = 0.5
"""Seconds of quiet before asking (the website's clients wait at least 500 ms)."""
_WEIGHT_PREFIX = re.compile(r"^-?\d+(?:\.\d+)?::")
_BRACKETS = "{}[]()"


@dataclass(frozen=True)
class TagSuggestion:
    tag: str
    count: int
    confidence: float


def current_tag(text: str, cursor: int | None = None) -> str:
    """The tag being typed at ``cursor`` (default: the end): the comma-separated part around it,
    without weight syntax (``{}``, ``[]``, ``()``, ``1.2::``)."""
    pos = len(text) if cursor is None else max(0, min(cursor, len(text)))
    start = text.rfind(",", 0, pos) + 1
    end = text.find(",", pos)
    part = text[start : end if end >= 0 else len(text)]
    part = _WEIGHT_PREFIX.sub("", part.strip().strip(_BRACKETS).strip())
    return part.replace("::", "").strip(_BRACKETS).strip()


def merge_suggestions(local: list[tuple[str, int]], remote: list[TagSuggestion], limit: int = 20) -> list[tuple[str, int]]:
    """Local (tag, count) hits first, then NovelAI's tags not already there; at most ``limit``."""
    seen = {t.lower() for t, _ in local}
    out = list(local)
    for s in remote:
        if s.tag.lower() not in seen:
            seen.add(s.tag.lower())
            out.append((s.tag, s.count))
    return out[:limit]


def parse_tags(data: Any) -> list[TagSuggestion]:
    """The ``tags`` list of an answer; malformed entries are skipped."""
    tags = data.get("tags") if isinstance(data, dict) else None
    out: list[TagSuggestion] = []
    for t in tags if isinstance(tags, list) else []:
        if not isinstance(t, dict) or not isinstance(t.get("tag"), str):
            continue
        count, conf = t.get("count", 0), t.get("confidence", 0.0)
        out.append(TagSuggestion(t["tag"], int(count) if isinstance(count, int | float) else 0,
                                 float(conf) if isinstance(conf, int | float) else 0.0))
    return out


class TagSuggester:
    """Cached, silent-when-offline client of the suggest-tags endpoint."""

    def __init__(self, base_url: str, token: Secret | None = None, *, timeout: float = 5.0, cache_size: int = 512,
                 offline_for: float = 30.0, user_agent: str = USER_AGENT) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.offline_for = offline_for
        self.user_agent = user_agent
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str, str], list[TagSuggestion]] = OrderedDict()
        self._offline_until = 0.0
        self._ticket = 0
        self.last_error = ""
        self.requests = 0
        """Requests actually sent (cache hits and quiet periods send none)."""
        self._clients = LoopClients(lambda: httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout))

    def __repr__(self) -> str:
        return f"TagSuggester(base_url={self.base_url!r})"

    @classmethod
    def from_config(cls, config: Config | None = None, token: Secret | None = None) -> TagSuggester:
        config = config or load_config()
        return cls(config.nai.base_url, token or load_token())

    @property
    def offline(self) -> bool:
        return time.monotonic() < self._offline_until

    async def aclose(self) -> None:
        await self._clients.aclose()

    def cached(self, text: str, model: str, lang: str = "en") -> list[TagSuggestion] | None:
        key = _key(text, model, lang)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
        return hit

    async def suggest(self, text: str, model: str, lang: str = "en") -> list[TagSuggestion]:
        """Suggestions for ``text`` (usually :func:`current_tag`) on ``model``; never raises for
        network or server trouble (an empty list instead)."""
        if lang not in LANGS:
            raise ValueError(f"lang: {lang!r} is not one of {', '.join(LANGS)}")
        query = text.strip()
        if not query:
            return []
        hit = self.cached(query, model, lang)
        if hit is not None:
            return hit
        if self.offline:
            return []
        self.requests += 1
        try:
            http = self._clients.get()
            resp = await http.get(SUGGEST, params={"model": _base_model(model), "prompt": query, "lang": lang},
                                  headers=self._headers())
        except (httpx.TransportError, OSError) as e:
            self._offline_until = time.monotonic() + self.offline_for
            self.last_error = f"NovelAI tag suggestions unreachable ({e.__class__.__name__})"
            return []
        if resp.status_code != 200:
            self.last_error = f"NovelAI tag suggestions answered {resp.status_code}"
            if resp.status_code >= 500 or resp.status_code == 429:
                return []  # not cached: may work on the next keystroke
            result: list[TagSuggestion] = []
        else:
            try:
                result = parse_tags(resp.json())
                self.last_error = ""
            except ValueError:
                self.last_error = "NovelAI tag suggestions answer is not JSON"
                return []
        self._store(_key(query, model, lang), result)
        return result

    async def suggest_debounced(self, text: str, model: str, lang: str = "en",
                                delay: float = DEBOUNCE) -> list[TagSuggestion] | None:
        """:meth:`suggest` after ``delay`` seconds of quiet: None when a newer call arrived meanwhile
        (that one answers), so only the last of a burst of keystrokes reaches the network."""
        self._ticket += 1
        ticket = self._ticket
        if self.cached(text.strip(), model, lang) is None:
            await asyncio.sleep(delay)
        if ticket != self._ticket:
            return None
        return await self.suggest(text, model, lang)

    def suggest_blocking(self, text: str, model: str, lang: str = "en") -> list[TagSuggestion]:
        """:meth:`suggest` for a worker thread without its own event loop."""
        async def once() -> list[TagSuggestion]:
            try:
                return await self.suggest(text, model, lang)
            finally:
                await self.aclose()

        return asyncio.run(once())

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent, "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token.get()}"
        return headers

    def _store(self, key: tuple[str, str, str], value: list[TagSuggestion]) -> None:
        self._cache[key] = value
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


def _key(text: str, model: str, lang: str) -> tuple[str, str, str]:
    return (_base_model(model), lang, text.strip().lower())


def _base_model(model: str) -> str:
    return model.removesuffix("-inpainting")
