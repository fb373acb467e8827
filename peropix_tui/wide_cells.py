"""Keep double-width characters whole where Textual's compositor cuts a line.

Textual paints each screen line as "chops": the line is cut at every left and right edge of every
widget region on it, and each piece is taken from the front-most widget that covers it. A widget
in front (a toast, a modal, a dropdown) whose text has a double-width character (Hangul, kana,
kanji) straddling the edge of a widget behind it loses that character: cutting it in two leaves a
space on each side (Textualize/textual#6357). Korean and Japanese toasts showed a gap wherever
they crossed a border underneath.

:func:`install` wraps the compositor so that two neighbouring chops painted by the same strip of
the same widget are joined again where the cut between them split one of that strip's
double-width characters: the joined chop is cropped from the uncut strip, so the character is
drawn whole. Lines without such a split are left exactly as Textual made them. Partial updates
get the end of each chop from the chops that remain, so the terminal writes are placed as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from rich.cells import get_character_cell_size

_INSTALLED = False


def wide_starts(text: str) -> list[int]:
    """The cell offsets at which the double-width characters of ``text`` start."""
    starts: list[int] = []
    x = 0
    for ch in text:
        width = get_character_cell_size(ch)
        if width == 2:
            starts.append(x)
        x += width
    return starts


def _split_cuts(strip_text: str, render_x: int, inner_cuts: Iterable[int]) -> set[int]:
    """Of the screen cuts inside a strip drawn at ``render_x``, those that fall inside one of its
    double-width characters."""
    inside = {render_x + start + 1 for start in wide_starts(strip_text)}
    return inside.intersection(inner_cuts)


def _render_chops(
    compositor: Any, crop: Any, is_rendered_line: Callable[[int], bool]
) -> Sequence[Mapping[int, Any]]:
    """Textual's chop rendering, then joining the chops that split a wide character (see module)."""
    from textual.geometry import Region

    cuts: list[list[int]] = compositor.cuts
    chops: list[dict[int, Any]] = [dict.fromkeys(line_cuts[:-1]) for line_cuts in cuts]
    # per line: {cut that split a wide char: (strip, render_x)}, only where that strip won both sides
    joins: dict[int, dict[int, tuple[Any, int]]] = {}
    for region, clip, strips in compositor._get_renders(crop):
        render_region = Region.intersection(region, clip)
        render_x = render_region.x
        first_cut, last_cut = render_region.column_span
        for y, strip in zip(render_region.line_range, strips, strict=False):
            if not is_rendered_line(y):
                continue
            line = chops[y]
            line_cuts = [cut for cut in cuts[y] if first_cut <= cut <= last_cut]
            won: set[int] = set()
            for cut, piece in zip(line_cuts, strip.divide([cut - render_x for cut in line_cuts[1:]]), strict=False):
                if line.get(cut) is None:  # front to back: the first painter of a chop keeps it
                    line[cut] = piece
                    won.add(cut)
            if len(won) < 2 or strip.text.isascii():
                continue
            split = _split_cuts(strip.text, render_x, line_cuts[1:-1])
            for before, cut in zip(line_cuts, line_cuts[1:-1], strict=False):
                if cut in split and before in won and cut in won:
                    joins.setdefault(y, {})[cut] = (strip, render_x)
    for y, line_joins in joins.items():
        chops[y] = _joined(chops[y], line_joins, cuts[y][-1])
    return chops


def _joined(line: dict[int, Any], line_joins: dict[int, tuple[Any, int]], width: int) -> dict[int, Any]:
    """``line`` with each chop in ``line_joins`` merged into the chop before it (same strip)."""
    keys = list(line)
    ends = dict(zip(keys, [*keys[1:], width], strict=True))
    out: dict[int, Any] = {}
    start: int | None = None
    for key in keys:
        if key in line_joins and start is not None:
            strip, render_x = line_joins[key]
            out[start] = strip.crop(start - render_x, ends[key] - render_x)
            continue
        out[key] = line[key]
        start = key
    return out


def install() -> None:
    """Patch Textual's compositor (once per process)."""
    global _INSTALLED
    if _INSTALLED:
        return
    from textual._compositor import Compositor

    original_partial = Compositor.render_partial_update

    def render_chops(self: Any, crop: Any, is_rendered_line: Callable[[int], bool]) -> Any:
        return _render_chops(self, crop, is_rendered_line)

    def render_partial_update(self: Any) -> Any:
        update = original_partial(self)
        if update is not None:  # chop ends from the chops that remain after joining
            update.chop_ends = [[*list(line)[1:], line_cuts[-1]]
                                for line, line_cuts in zip(update.chops, self.cuts, strict=True)]
        return update

    Compositor._render_chops = render_chops  # type: ignore[method-assign]
    Compositor.render_partial_update = render_partial_update  # type: ignore[method-assign]
    _INSTALLED = True
