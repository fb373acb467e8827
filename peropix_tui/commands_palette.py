"""Command palette provider: global commands plus whatever the current screen offers.

A screen offers commands by defining ``palette_commands() -> list[(title, help, callback)]``, so
the palette shows "Queue: cancel all" only on the queue screen, "Gallery: copy prompt" only in
the gallery, and so on. Titles and help texts are translated each time the palette asks for them,
so the palette speaks the language current when it opens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider

from .i18n import N_, _
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


SEARCH_PLACEHOLDER = N_("Search for commands…")
"""The palette's input placeholder (Textual's own words, in the current language)."""

TEXTUAL_COMMAND_TEXT = (
    # the titles and help texts of the commands Textual adds to every palette (App.get_system_commands)
    N_("Theme"), N_("Change the current theme"),
    N_("Quit"), N_("Quit the application as soon as possible"),
    N_("Keys"), N_("Hide the keys and widget help panel"),
    N_("Show help for the focused widget and a summary of available keys"),
    N_("Minimize"), N_("Minimize the widget and restore to normal size"),
    N_("Maximize"), N_("Maximize the focused widget"),
    N_("Screenshot"), N_("Save an SVG 'screenshot' of the current screen"),
)


def translated_system_commands(commands: Iterable[SystemCommand]) -> Iterator[SystemCommand]:
    """Textual's system commands with their title and help in the current language (a text this
    module does not list stays as Textual wrote it)."""
    known = set(TEXTUAL_COMMAND_TEXT)
    for command in commands:
        yield command._replace(
            title=_(command.title) if command.title in known else command.title,
            help=_(command.help) if command.help in known else command.help,
        )
