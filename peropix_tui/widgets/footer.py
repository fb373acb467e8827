"""Textual's Footer, rebuilt once per burst of binding changes.

Textual's Footer queues a full rebuild (every key a new widget, styled twice) for each change of
the screen's bindings, and showing a screen changes them several times in a row (focus moves,
reactive attributes declared with ``bindings=True``): on the gallery that was six rebuilds of
sixteen keys before the first paint. This one queues at most one rebuild at a time.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class KeyFooter(Footer):
    """A :class:`Footer` whose rebuilds are coalesced (same look, same behaviour)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._rebuild_queued = False

    def bindings_changed(self, screen: Screen[object]) -> None:
        will_rebuild = screen.app.app_focus and self.is_attached and screen is self.screen
        if will_rebuild and self._rebuild_queued:
            return
        self._rebuild_queued = bool(will_rebuild)
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        self._rebuild_queued = False
        await super().recompose()
