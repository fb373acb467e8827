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


def normalize(tag: str) -> str:
    """The search key: lower case, underscores as spaces, single spaces."""
    key = tag.translate(_UNDERSCORE).lower().strip()
    return " ".join(key.split()) if "  " in key or "\t" in key or "\n" in key else key


def normalize_query(prefix: str) -> str:
    """A typed prefix as a key: like :func:`normalize`, but a trailing ``_``/space stays one space."""
    key = normalize(prefix)
    return key + " " if key and prefix[-1:] in ("_", " ") else key


def word_starts(key: str) -> list[int]:
    """Offsets in ``key`` where a word starts (0; after a space or punctuation; a letter after a digit)."""
    out = [0] if key else []
    for i in range(1, len(key)):
        prev, cur = key[i - 1], key[i]
        if (not prev.isalnum() and cur.isalnum()) or (prev.isdigit() and cur.isalpha()):
            out.append(i)
    return out
