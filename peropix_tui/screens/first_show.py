"""Style the first screen once: the work Textual repeats on the screen the app starts with.

The app's first screen is styled widget by widget as it mounts. Textual then restyles the whole
screen twice more before the first frame: once when the screen is first resumed (``ScreenResume``
asks for fresh styles) and once when the first ``Resize`` sets the breakpoint classes
(``-narrow``/``-wide``…). Neither changes a style on the first show, and each costs a full pass
over every widget. :class:`StyledOnce` sets the breakpoint classes from the terminal size before
the screen mounts and skips the first resume's restyle; later resumes and resizes are Textual's.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.geometry import Size
from textual.screen import Screen


def breakpoint_classes(width: int, height: int, horizontal: list[tuple[int, str]],
                       vertical: list[tuple[int, str]]) -> set[str]:
    """The classes Textual's resize handler gives a screen of this size (the largest threshold met)."""
    classes: set[str] = set()
    for dimension, breakpoints in ((width, horizontal), (height, vertical)):
        for threshold, name in sorted(breakpoints, reverse=True):
            if dimension >= threshold:
                classes.add(name)
                break
    return classes


class StyledOnce(Screen[Any]):
    """A screen whose first show does not restyle what its mount has just styled."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown = False
        try:
            size: Size = self.app.size
        except RuntimeError:  # built outside a running app: the first resize sets them
            return
        horizontal = (self.app.HORIZONTAL_BREAKPOINTS if self.HORIZONTAL_BREAKPOINTS is None
                      else self.HORIZONTAL_BREAKPOINTS) or []
        vertical = (self.app.VERTICAL_BREAKPOINTS if self.VERTICAL_BREAKPOINTS is None
                    else self.VERTICAL_BREAKPOINTS) or []
        self.add_class(*breakpoint_classes(size.width, size.height, horizontal, vertical), update=False)

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        # Called before Screen's own handler (Textual calls each class's handler, subclass first).
        if not self._shown:
            self._shown = True
            event.refresh_styles = False
