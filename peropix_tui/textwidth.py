"""Terminal cell widths of text, and wrapping by cells, for the command line's human output.

Korean and Japanese characters take two terminal cells and Japanese puts no spaces between
words, so :mod:`textwrap` (which counts characters and breaks only at spaces) makes lines up to
twice too wide. Here a wide character counts two cells, combining marks none, and a line may
break at spaces and, in Chinese / Japanese text, between wide characters, never before closing
punctuation or a small kana (a light form of Japanese line-breaking rules). Korean breaks only at
spaces, between words, as Korean interfaces do. Stdlib only: ``peropix --help`` stays fast.
"""

from __future__ import annotations

import argparse
import re
import unicodedata

NO_LINE_START = frozenset("、。，．,.・：；:;？！?!ー）」』】〕〉》〗〙〛’”％‰ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ々ゝゞヽヾ…‥")
"""Characters that must not begin a line (they stay with the character before them)."""
NO_LINE_END = frozenset("（「『【〔〈《〖〘〚‘“")
"""Characters that must not end a line (they go with the character after them)."""


def is_hangul(ch: str) -> bool:
    o = ord(ch)
    return 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F


def _breaks_around(ch: str) -> bool:
    """A wide character a line may break before or after (not Hangul: Korean keeps words whole)."""
    return char_width(ch) == 2 and not is_hangul(ch)


def char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_width(text: str) -> int:
    """How many terminal cells ``text`` takes (one line, no control characters)."""
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


def _pieces(text: str) -> list[str]:
    """``text`` cut where a line may break: runs of spaces, and around wide CJK characters."""
    out: list[str] = []
    for token in re.split(r"(\s+)", text):
        if not token:
            continue
        if token.isspace() or token.isascii():
            out.append(token)
            continue
        piece = ""
        for ch in token:
            if piece and (_breaks_around(ch) or _breaks_around(piece[-1])) \
                    and ch not in NO_LINE_START and piece[-1] not in NO_LINE_END:
                out.append(piece)
                piece = ""
            piece += ch
        out.append(piece)
    return out


def wrap(text: str, width: int) -> list[str]:
    """``text`` (whitespace collapsed) in lines of at most ``width`` cells where it can break."""
    width = max(width, 2)
    lines: list[str] = []
    line, used = "", 0
    for piece in _pieces(" ".join(text.split())):
        if piece.isspace():
            if line:
                line, used = line + " ", used + 1
            continue
        w = cell_width(piece)
        if line and used + w > width:
            lines.append(line.rstrip())
            line, used = "", 0
        while w > width:  # one unbreakable piece wider than the line (a long path or URL)
            cut, taken = "", 0
            for ch in piece:
                if taken + char_width(ch) > width:
                    break
                cut, taken = cut + ch, taken + char_width(ch)
            lines.append(cut)
            piece = piece[len(cut):]
            w = cell_width(piece)
        line, used = line + piece, used + w
    if line.strip():
        lines.append(line.rstrip())
    return lines


class CellWidthHelpFormatter(argparse.HelpFormatter):
    """argparse help wrapped by terminal cells (translated Korean / Japanese help included)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in wrap(text, width - len(indent)))
