"""V5 "text in the image": the ``teXt:`` block the website composes from quoted phrases.

nai-tools.md §5: when no prompt (base or an enabled character) already has ``text:``, the
website collects the quoted phrases of the base prompt and then of each enabled character —
``"…"``, ``“…”``, ``「…」``, ``'…'``, ``‘…’`` — and appends ``, teXt: `` and the phrases joined
by a blank line **after** the quality tags. A prompt with an explicit ``Text:`` block is sent as
written. Straight quotes only count at word boundaries, so apostrophes (``girl's``) are not
taken for quotes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

TEXT_MARK = ", teXt: "
_HAS_TEXT = re.compile(r"(?<![\w-])text\s*:", re.IGNORECASE)
_QUOTED = re.compile(
    r'(?<!\w)"([^"\n]+)"(?!\w)'
    r"|“([^”\n]+)”"
    r"|「([^」\n]+)」"
    r"|(?<!\w)'([^'\n]+)'(?!\w)"
    r"|‘([^’\n]+)’"
)


def has_text_block(prompts: Iterable[str]) -> bool:
    return any(_HAS_TEXT.search(p) for p in prompts)


def quoted_phrases(text: str) -> list[str]:
    """The quoted phrases of ``text``, in order, without their quotes."""
    out = []
    for m in _QUOTED.finditer(text):
        phrase = next(g for g in m.groups() if g is not None).strip()
        if phrase:
            out.append(phrase)
    return out


def text_suffix(base: str, characters: Iterable[str]) -> str:
    """``", teXt: a\\n\\nb"`` for the phrases of the base prompt and characters; empty when there are
    none or a prompt already has ``text:``."""
    chars = list(characters)
    if has_text_block([base, *chars]):
        return ""
    phrases = quoted_phrases(base)
    for c in chars:
        phrases += quoted_phrases(c)
    return TEXT_MARK + "\n\n".join(phrases) if phrases else ""


def strip_text_suffix(prompt: str) -> str:
    """``prompt`` without a composed ``, teXt: …`` block (for readers recovering the user's prompt)."""
    at = prompt.rfind(TEXT_MARK)
    return prompt[:at] if at >= 0 else prompt
