"""Textual's Footer, built with the screen and rebuilt only when the keys it shows change.

Textual's Footer starts empty and fills in only when the screen's bindings first change (a focus
move), one frame after the rest of the screen; it then queues a full rebuild (every key a new
widget) for each change of the screen's bindings, and showing a screen changes them several times
in a row (focus moves, reactive attributes declared with ``bindings=True``): on the gallery that
was six rebuilds of sixteen keys before the first paint. This one shows its keys in the screen's
first frame, queues at most one rebuild at a time, and skips a rebuild that would show the same
keys. Each new key also starts with ``compact=True`` and is then bound to the footer's
``compact``, so every key was restyled twice as it mounted; here each key is built with its final
value.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    """A :class:`Footer` that shows its keys at once and rebuilds less (same look, same behaviour)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_reactive(Footer._bindings_ready, True)
        self._rebuild_queued = False
        self._shown: tuple[Any, ...] | None = None

    def _keys(self) -> tuple[Any, ...]:
        """What the footer would show now: the visible bindings, their state and the palette key."""
        shown = tuple((b.key, b.key_display, b.description, b.action, b.group, enabled, tooltip)
                      for _, b, enabled, tooltip in self.screen.active_bindings.values() if b.show)
        return shown, self.show_command_palette, self.compact

    def compose(self) -> ComposeResult:
        self._shown = self._keys()
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                # the palette key is not bound to the footer and keeps FooterKey's default
                compact = True if widget.has_class("-command-palette") else self.compact
                widget.set_reactive(FooterKey.compact, compact)
                widget.set_class(compact, "-compact", update=False)
            yield widget

    def bindings_changed(self, screen: Screen[object]) -> None:
        will_rebuild = screen.app.app_focus and self.is_attached and screen is self.screen
        if will_rebuild and (self._rebuild_queued or self._keys() == self._shown):
            return
        self._rebuild_queued = bool(will_rebuild)
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        self._rebuild_queued = False
        await super().recompose()
