"""User and server text shown as typed: never parsed as Textual or Rich markup.

Prompts, slot and file names, folder names, error and server messages may hold ``[hat]``,
``[b]`` or ``[/]``; ``Static("…")``, ``Label("…")``, DataTable string cells, Option prompts,
tooltips and ``notify()`` all read a ``str`` as markup by default, where ``[hat]`` vanishes and
``[/]`` raises. Wrap such text with :func:`plain` (Textual widgets) or :func:`plain_cell`
(DataTable cells, Rich renderables) before it reaches a widget.
"""

from __future__ import annotations

from rich.text import Text
from textual.content import Content


def plain(text: object) -> Content:
    """``text`` as literal Textual content (no markup, no emoji codes)."""
    return Content(str(text))


def plain_cell(text: object) -> Text:
    """``text`` as a literal Rich Text, for DataTable cells and Rich tables."""
    return Text(str(text), end="")
