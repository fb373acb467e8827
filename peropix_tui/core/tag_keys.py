"""Tag search keys and results, light enough for a one-off ``peropix tags search`` to import."""

from __future__ import annotations


class TagMatch:
    """One search result (a plain class: ``dataclasses`` costs a one-off query too much import time)."""

    __slots__ = ("alias", "category", "count", "tag", "uses")

    def __init__(self, tag: str, category: int, count: int, alias: str | None = None, uses: int = 0) -> None:
        self.tag = tag
        self.category = category
        self.count = count
        self.alias = alias  # the alias the prefix matched, when it was not the tag itself
        self.uses = uses  # how often the user wrote it

    def _key(self) -> tuple[str, int, int, str | None, int]:
        return (self.tag, self.category, self.count, self.alias, self.uses)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TagMatch) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"TagMatch(tag={self.tag!r}, category={self.category}, count={self.count}, alias={self.alias!r}, "
                f"uses={self.uses})")


_UNDERSCORE = str.maketrans("_", " ")
# Katakana as hiragana (ァ..ヶ, ヽヾ), so that either script finds an alias written in the other.
_KANA = {c: c - 0x60 for c in range(0x30A1, 0x30F7)} | {0x30FD: 0x309D, 0x30FE: 0x309E, ord("_"): ord(" ")}
_TRAILING_SPACE = ("_", " ", "\u3000", "\uff3f")  # ideographic space and full-width underscore too


def normalize(tag: str) -> str:
    """The search key: lower case, underscores as spaces, single spaces.

    Text that is not ASCII is also NFKC-normalised (full-width ``ｓｍｉｌｅ``, half-width ``ｴｶﾞｵ`` and
    the ideographic space become their usual forms), case-folded, and its katakana written as
    hiragana (``ミク`` and ``みく`` are one key).
    """
    if tag.isascii():
        key = tag.translate(_UNDERSCORE).lower().strip()
    else:
        import unicodedata  # a C module, imported only for non-ASCII text

        key = unicodedata.normalize("NFKC", tag).translate(_KANA).casefold().strip()
        if not key.isascii():
            return " ".join(key.split())  # whitespace other than spaces, such as U+3000 left by casefold
    return " ".join(key.split()) if "  " in key or "\t" in key or "\n" in key else key


def normalize_query(prefix: str) -> str:
    """A typed prefix as a key: like :func:`normalize`, but a trailing ``_``/space stays one space."""
    key = normalize(prefix)
    return key + " " if key and prefix[-1:] in _TRAILING_SPACE else key


def word_starts(key: str) -> list[int]:
    """Offsets in ``key`` where a word starts (0; after a space or punctuation; a letter after a digit).

    Japanese is written without spaces, so in it every kanji starts a word, and so does a run of
    kana after a kanji (``初音みく``: ``音``, ``みく``; ``笑顔``: ``顔``). Hangul words are separated
    by spaces, as Latin ones are.
    """
    if key.isascii():
        out = [0] if key else []
        pos = 0
        for word in key.split(" "):  # a word of letters only has one start: no loop over its letters
            if pos and word[:1].isalnum():
                out.append(pos)
            if not word.isalpha():
                out += [pos + i for i in _inner_starts(word)]
            pos += len(word) + 1
        return out
    out = [0] if key else []
    for i in range(1, len(key)):
        prev, cur = key[i - 1], key[i]
        if not cur.isalnum():
            continue
        if (not prev.isalnum() or (prev.isdigit() and cur.isalpha()) or _is_han(cur)
                or (_is_kana(cur) and _is_han(prev))):
            out.append(i)
    return out


def _inner_starts(word: str) -> list[int]:
    """Word starts after the first character of ``word`` (which holds no space)."""
    out = []
    for i in range(1, len(word)):
        prev, cur = word[i - 1], word[i]
        if (not prev.isalnum() and cur.isalnum()) or (prev.isdigit() and cur.isalpha()):
            out.append(i)
    return out


def _is_han(c: str) -> bool:
    o = ord(c)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF or o == 0x3005


def _is_kana(c: str) -> bool:
    """Hiragana or katakana that can start a word (not ``ー``, the small letters or the voicing marks)."""
    o = ord(c)
    return (0x3041 <= o <= 0x3096 or 0x30A1 <= o <= 0x30FA) and c not in _NOT_WORD_START


_NOT_WORD_START = frozenset("ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ")
