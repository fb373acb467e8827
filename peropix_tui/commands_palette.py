"""Command palette provider: global commands plus whatever the current screen offers.

A screen offers commands by defining ``palette_commands() -> list[(title, help, callback)]``, so
the palette shows "Queue: cancel all" only on the queue screen, "Gallery: copy prompt" only in
the gallery, and so on. Titles and help texts are translated each time the palette asks for them,
so the palette speaks the language current when it opens.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .i18n import _
from .services import services

PaletteCommand = tuple[str, str, Callable[[], Any]]


class PeroPixCommands(Provider):
    def _commands(self) -> list[PaletteCommand]:
        app = services(self.screen)
        found: list[PaletteCommand] = [
            (_("Go: Compose"), _("Prompt, parameters, preview (F2)"), partial(app.action_show, "compose")),
            (_("Go: Slots / Queue"), _("Slot mode and the job queue (F3)"), partial(app.action_show, "queue")),
            (_("Go: Gallery"), _("Browse generated images (F4)"), partial(app.action_show, "gallery")),
            (_("Go: Settings"), _("Token, folders, image protocol, theme (F5)"), partial(app.action_show, "settings")),
            (_("Generate: all slots"), _("Queue slots × repeats"), partial(app.post_message, _generate_all())),
            (_("Image: open externally"), _("Open the latest image at full resolution"), app.action_open_external),
            (_("Account: refresh balance"), _("Ask NovelAI for tier and Anlas"), app.refresh_balance),
            (_("Tools: emotion set of the latest image"), _("The image in the preview × moods (cost first)"),
             partial(app.action_tools_latest, "emotion")),
            (_("Tools: Director Tools on the latest image"), _("Background removal, line art, sketch, colorize…"),
             partial(app.action_tools_latest, "bg-removal")),
            (_("Tools: emotion set of the slot set"), _("Each slot's latest image × the chosen moods"),
             app.action_tools_slot_set),
        ]
        screen_commands = getattr(self.screen, "palette_commands", None)
        if callable(screen_commands):
            found = list(screen_commands()) + found
        return found

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)


def _generate_all() -> Any:
    from .messages import GenerationRequested

    return GenerationRequested(all_slots=True)
