"""Text wrapped by terminal cells with Korean / Japanese line-breaking, as a Rich renderable.

Textual and Rich break lines only at spaces and cut a longer run anywhere, so a Japanese
sentence (no spaces) jumps whole to the next line and is then cut inside ``ctrl+s``. Here each
line of the text is wrapped with :func:`peropix_tui.textwidth.wrap` at the width it is drawn in:
Korean between words, Japanese between characters (never before 、。 or after （), ASCII words
whole. An indented or bulleted line ("• …", "- …") hangs: its next rows start under its text.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from ..textwidth import cell_width, wrap

BULLETS = ("• ", "- ", "* ")


def wrapped_lines(text: str, width: int) -> list[str]:
    """Each line of ``text`` wrapped to ``width`` cells (an empty line stays an empty line)."""
    out: list[str] = []
    for line in text.split("\n"):
        body = line.lstrip(" ")
        indent = line[: len(line) - len(body)]
        if not body:
            out.append("")
            continue
        bullet = next((b for b in BULLETS if body.startswith(b)), "")
        hang = indent + " " * cell_width(bullet) if indent or bullet else ""
        rows = wrap(body, max(width - len(hang), 2))
        out.append(indent + rows[0])
        out.extend(hang + row for row in rows[1:])
    return out


class CellWrapped:
    """``text`` (plain, never markup) wrapped by cells at the width Rich or Textual gives it."""

    def __init__(self, text: str, style: str | Style = "") -> None:
        self.text, self.style = text, style

    def __str__(self) -> str:
        return self.text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in wrapped_lines(self.text, options.max_width):
            yield Text(line, style=self.style, no_wrap=True, overflow="crop")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_width(line) for line in self.text.split("\n")), default=0)
        return Measurement(min(widest, 2), min(widest, options.max_width))


class WrappedStatic(Static):
    """A :class:`Static` of plain text (never markup) wrapped by :class:`CellWrapped`."""

    def __init__(self, text: str, **kwargs: Any) -> None:
        super().__init__("", markup=False, **kwargs)
        self.text = text

    def render(self) -> CellWrapped:
        return CellWrapped(self.text)


_TOASTS_WRAPPED = False


def wrap_toasts() -> None:
    """Draw notification toasts whose text is not plain ASCII with :class:`CellWrapped`, so a
    Japanese or Korean toast breaks between characters or words instead of pushing a whole run of
    text to the next line and cutting it mid-word (once per process; English toasts and toasts
    with markup are drawn as Textual draws them)."""
    global _TOASTS_WRAPPED
    if _TOASTS_WRAPPED:
        return
    from rich.console import Group
    from textual.widgets._toast import Toast

    textual_render = Toast.render

    def render(self: Toast) -> Any:
        notification = self._notification
        if notification.markup or (notification.message.isascii() and notification.title.isascii()):
            return textual_render(self)
        parts: list[CellWrapped] = []
        if notification.title:
            parts.append(CellWrapped(notification.title, style=self.get_visual_style("toast--title").rich_style))
        parts.append(CellWrapped(notification.message))
        return Group(*parts)

    Toast.render = render  # type: ignore[method-assign]
    _TOASTS_WRAPPED = True
