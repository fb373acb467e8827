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

from collections.abc import Callable
from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel

from .. import i18n

COMPACT_BELOW = 120  # columns
NARROW_BELOW = 100  # columns: no palette key, no group labels
PALETTE = i18n.N_("palette")  # the description and tooltip Textual gives the command palette key
PALETTE_TOOLTIP = i18n.N_("Open the command palette")


class KeyFooter(Footer):
    """A :class:`Footer` that shows its keys at once and rebuilds less (same look, same behaviour)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_reactive(Footer._bindings_ready, True)
        self._rebuild_queued = False
        self._shown: tuple[Any, ...] | None = None
        self._narrow = False
        self._unsubscribe: Callable[[], None] | None = None

    def on_mount(self) -> None:
        self._unsubscribe = i18n.subscribe(self._language_changed)

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _language_changed(self, _language: str) -> None:
        """Binding descriptions are English class attributes, translated here as they are shown."""
        if self.is_attached:
            self.refresh(recompose=True)

    def _keys(self) -> tuple[Any, ...]:
        """What the footer would show now: the visible bindings, their state and the palette key."""
        shown = tuple((b.key, b.key_display, b.description, b.action, b.group, enabled, tooltip)
                      for _, b, enabled, tooltip in self.screen.active_bindings.values() if b.show)
        return shown, self.show_command_palette, self.compact, self._narrow, i18n.current_language()

    def _fit(self, width: int) -> None:
        """Narrower than 120 columns the keys sit closer together; narrower than 100 the palette key,
        the group labels ("Screens") and the keys of the screen's ``FOOTER_WIDE_ONLY`` (action names)
        are left out (F1 lists them all), so that the footer fits in 80 columns."""
        self.set_reactive(Footer.compact, width < COMPACT_BELOW)
        self.set_class(width < COMPACT_BELOW, "-compact", update=False)
        self.set_reactive(Footer.show_command_palette, width >= NARROW_BELOW)
        self._narrow = width < NARROW_BELOW

    def compose(self) -> ComposeResult:
        self._fit(self.app.size.width)
        self._shown = self._keys()
        wide_only: frozenset[str] = getattr(self.screen, "FOOTER_WIDE_ONLY", frozenset()) if self._narrow else frozenset()
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.action in wide_only:
                continue
            if isinstance(widget, FooterKey):
                if widget.has_class("-command-palette"):  # Textual's own words for its palette key
                    widget.description = i18n.gettext(PALETTE) if widget.description == PALETTE else widget.description
                    widget.tooltip = i18n.gettext(PALETTE_TOOLTIP) if widget.tooltip == PALETTE_TOOLTIP else widget.tooltip
                else:
                    # never gettext(""): that is the catalog's header (grouped keys have no description)
                    widget.description = i18n.gettext(widget.description) if widget.description else ""
                    widget.tooltip = i18n.gettext(str(widget.tooltip)) if widget.tooltip else None
                # the palette key is not bound to the footer and keeps FooterKey's default
                compact = True if widget.has_class("-command-palette") else self.compact
                widget.set_reactive(FooterKey.compact, compact)
                widget.set_class(compact, "-compact", update=False)
            elif isinstance(widget, FooterLabel):
                if self._narrow:
                    continue
                label = str(widget.render())
                widget = FooterLabel(i18n.gettext(label) if label else "", classes=" ".join(widget.classes))
            yield widget

    def on_resize(self, event: events.Resize) -> None:
        if (event.size.width < COMPACT_BELOW, event.size.width < NARROW_BELOW) != (self.compact, self._narrow):
            self.refresh(recompose=True)

    def bindings_changed(self, screen: Screen[object]) -> None:
        will_rebuild = screen.app.app_focus and self.is_attached and screen is self.screen
        if will_rebuild and (self._rebuild_queued or self._keys() == self._shown):
            return
        self._rebuild_queued = bool(will_rebuild)
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        self._rebuild_queued = False
        await super().recompose()
