"""Tag index for autocompletion: tagcomplete-format CSVs plus the tags of the user's own prompts.

CSV format (DominikDoom/a1111-sd-webui-tagcomplete): ``tag,category,count,"alias1,alias2"``.
Only the first column is required; a header row, blank lines, a UTF-8 BOM and non-numeric counts
are tolerated. Tags are matched like tagcomplete does: case-insensitive, and ``_`` and space are the
same; completions use spaces (NovelAI style) except for kaomoji such as ``^_^``.

Matching: a query matches a tag or alias at the start of any word (``hair`` finds ``blue hair``
and ``hair ornament``; a word starts after a space or punctuation, or a letter after a digit as
in ``1girl``). A trailing ``_`` or space is kept (``o_`` finds ``o_o``, not ``oppai``).
Japanese and Korean aliases (``smile,0,100,"笑顔,えがお,미소"``) are found the same way (``笑``,
``えが``, ``미``): full-width and half-width forms are one (NFKC), katakana finds hiragana and back,
and in Japanese every kanji and a kana run after a kanji start a word (``顔`` finds ``笑顔``,
``ミク`` finds ``初音ミク``); see :mod:`.tag_keys`. A result found through an alias names the whole
alias as the CSV writes it (``TagMatch.alias``); the tag itself is what goes into the prompt.
Ranking: tags the user has used before come first (most used first), then by post count, then
direct matches before aliases and whole-tag starts before later words.
The index is a sorted list of keys searched with :mod:`bisect`; ``peropix tags search`` uses the
persistent SQLite copy in :mod:`.tag_db` instead of loading the CSVs.

Bad rows (a count that is not a number, ``1e999``, …) are skipped and counted; a file that cannot
be read at all is reported by name; neither stops the other files from loading.
"""

from __future__ import annotations

import bisect
import csv
import heapq
import itertools
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..i18n import _, ngettext
from .fsutil import atomic_write
from .paths import tags_dir
from .tag_keys import TagMatch, normalize, normalize_query, word_starts

__all__ = ["CsvStats", "HistorySnapshot", "TagFileError", "TagIndex", "TagMatch", "escape_tag", "import_csv",
           "load_csvs", "load_index", "normalize", "normalize_query", "prompt_tags", "tags_dir", "word_starts",
           "write_history"]

HISTORY_FILE = "history.json"
# Danbooru's face tags keep their underscore (the same list tagcomplete exempts).
_KAOMOJI = frozenset(
    "0_0 (o)_(o) +_+ +_- ._. <o>_<o> <|>_<|> =_= >_< 3_3 6_9 >_o @_@ ^_^ o_o u_u x_x |_| ||_||".split()
)

_Key = tuple[str, str, int] | tuple[str, str, int, str]
"""An entry of the sorted key list: (key, normalised tag, kind) or, for an alias's later word, (…, alias key)."""


class TagFileError(ValueError):
    """A tag CSV cannot be used; the message names the file (and line)."""


@dataclass(frozen=True)
class CsvStats:
    path: Path
    tags: int
    aliases: int
    skipped: int  # rows not used: header, blank lines, bad rows
    bad: int = 0  # rows with a tag but an unusable category or count (not the header)

    def problem(self) -> str | None:
        """One line for the user when bad rows were skipped, naming the file."""
        if not self.bad:
            return None
        return ngettext("{file}: skipped {n} row that is not tag,category,count (a bad category or count)",
                        "{file}: skipped {n} rows that are not tag,category,count (a bad category or count)",
                        self.bad).format(file=self.path, n=self.bad)


_PAREN_ESCAPES = {
    "comfyui": str.maketrans({"(": "\\(", ")": "\\)"}),
    "a1111": str.maketrans({"(": "\\(", ")": "\\)", "[": "\\[", "]": "\\]"}),
    "auto": str.maketrans({"(": "\\(", ")": "\\)", "[": "\\[", "]": "\\]", "{": "\\{", "}": "\\}"}),
}


def escape_tag(tag: str, dialect: str) -> str:
    """``tag`` as it must be written in a prompt of ``dialect`` so its brackets stay text
    (``saber \\(fate\\)``); NovelAI (``nai``, ``novelai``) reads them literally, so unchanged."""
    table = _PAREN_ESCAPES.get(dialect)
    return tag.translate(table) if table else tag


def display(tag: str) -> str:
    """What completion inserts: underscores become spaces, except in kaomoji (``^_^``, ``o_o``)."""
    tag = tag.strip()
    return tag if tag.lower() in _KAOMOJI else tag.replace("_", " ")


def alias_display(alias: str) -> str:
    """A non-ASCII alias as results name it: as written, underscores as spaces, on one line."""
    text = display(alias)
    return text if text.isprintable() and "  " not in text else " ".join(text.split())


@dataclass
class _Tag:
    tag: str
    category: int
    count: int
    uses: int = 0


@dataclass
class TagIndex:
    """Prefix search over tags and aliases. Build with :meth:`add` / :meth:`load_csv`, then search."""

    _tags: dict[str, _Tag] = field(default_factory=dict)  # normalised tag -> tag
    _aliases: dict[str, str] = field(default_factory=dict)  # normalised alias -> normalised tag
    _alias_names: dict[str, str] = field(default_factory=dict)  # normalised alias -> as shown, where they differ
    _keys: list[_Key] | None = None  # sorted (key, normalised tag, kind[, alias]); None = stale
    history_path: Path | None = None
    _memo: dict[tuple[str, int], list[TagMatch]] = field(default_factory=dict)  # cleared on any change

    # ------------------------------------------------------------------ build
    def add(self, tag: str, category: int = 0, count: int = 0, aliases: Iterable[str] = ()) -> None:
        key = normalize(tag)
        if not key:
            return
        known = self._tags.get(key)
        if known is None or count > known.count:
            uses = known.uses if known else 0
            self._tags[key] = _Tag(display(tag), category, count, uses)
        for alias in aliases:
            a = normalize(alias)
            if a and a != key and a not in self._aliases:
                self._aliases[a] = key
                if not alias.isascii():  # an ASCII alias is named by its key, as before
                    shown = alias_display(alias)
                    if shown != a:
                        self._alias_names[a] = shown
        self._keys = None
        self._memo.clear()

    def load_csv(self, path: Path) -> CsvStats:
        """Add every row of a tagcomplete CSV; raises :class:`TagFileError` if nothing usable."""
        tags = aliases = skipped = bad = 0
        for n, row in enumerate(_read_rows(path)):
            if row is None or isinstance(row, _BadRow):
                skipped += 1
                bad += int(isinstance(row, _BadRow) and n > 0)  # a first row that is not a tag is a header
                continue
            tag, category, count, alias_list = row
            self.add(tag, category, count, alias_list)
            tags += 1
            aliases += len(alias_list)
        if tags == 0:
            raise TagFileError(_("{file}: no tags found (expected rows like: {example})").format(
                file=path, example='tag,category,count,"alias1,alias2"'))
        return CsvStats(path, tags, aliases, skipped, bad)

    # ---------------------------------------------------------------- history
    def learn(self, tags: Iterable[str]) -> None:
        """Count one use of each tag (new tags are added with count 0)."""
        for tag in tags:
            key = normalize(tag)
            if not key:
                continue
            if key not in self._tags:
                self._tags[key] = _Tag(display(tag), 0, 0)
                self._keys = None
            self._tags[key].uses += 1
        self._memo.clear()

    def learn_prompt(self, prompt: str) -> None:
        self.learn(prompt_tags(prompt))

    def load_history(self, path: Path) -> None:
        """Read learned tags (``{"tag": uses}``); a missing file is an empty history."""
        self.history_path = path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise TagFileError(_("{file}: not a tag history file: {error}").format(file=path, error=e)) from None
        if not isinstance(data, dict):
            raise TagFileError(_("{file}: not a tag history file (expected an object)").format(file=path))
        for tag, uses in data.items():
            if isinstance(uses, int) and uses > 0:
                self.learn([tag])
                self._tags[normalize(tag)].uses += uses - 1
        self._memo.clear()

    def history_snapshot(self, path: Path | None = None) -> HistorySnapshot | None:
        """The learned tags as they are now, to be written by :func:`write_history` on any thread
        (the index itself may change meanwhile); None without a history file."""
        path = path or self.history_path
        if path is None:
            return None
        data = {t.tag: t.uses for t in self._tags.values() if t.uses > 0}
        return HistorySnapshot(path, data, next(_history_seq))

    def save_history(self, path: Path | None = None) -> Path | None:
        snapshot = self.history_snapshot(path)
        return write_history(snapshot) if snapshot is not None else None

    # ----------------------------------------------------------------- search
    def __len__(self) -> int:
        return len(self._tags)

    def get(self, tag: str) -> TagMatch | None:
        key = normalize(tag)
        key = key if key in self._tags else self._aliases.get(key, "")
        t = self._tags.get(key)
        return TagMatch(t.tag, t.category, t.count, None, t.uses) if t else None

    def search(self, prefix: str, limit: int = 10) -> list[TagMatch]:
        """Tags (or aliases) with a word starting with ``prefix``; ranked as the module says."""
        p = normalize_query(prefix)
        if not p.strip():
            return []
        memo_key = (p, limit)
        if memo_key in self._memo:
            return self._memo[memo_key]
        found = self._search(p, limit, direct=False)
        if len(self._memo) > 256:
            self._memo.clear()
        self._memo[memo_key] = found
        return found

    def _search(self, p: str, limit: int, direct: bool) -> list[TagMatch]:
        keys = self._sorted_keys()
        lo = bisect.bisect_left(keys, (p, "", -1))
        hi = bisect.bisect_left(keys, (p + "\uffff", "", -1))
        tags = self._tags

        def rank(entry: _Key) -> tuple[int, int, int, int, int]:
            t = tags[entry[1]]
            return (t.uses, t.count, entry[2] < 2, entry[2] % 2 == 0, -len(entry[1]))

        candidates = keys[lo:hi] if not direct else [e for e in keys[lo:hi] if e[2] == _DIRECT]
        # Over-fetch, then keep each tag once (a tag and its aliases share one rank).
        want = limit * 4 + 8
        while True:
            top = heapq.nlargest(want, candidates, key=rank)
            best: dict[str, str | None] = {}
            for entry in top:
                target = entry[1]
                if target not in best:
                    best[target] = None if entry[2] < 2 else self.alias_name(entry[3] if len(entry) > 3 else entry[0])
            if len(best) >= limit or want >= len(candidates):
                break
            want *= 4
        return [self._match(k, a) for k, a in list(best.items())[:limit]]

    def complete(self, prefix: str) -> str | None:
        """The best tag for ``prefix``, aliases and later words included, or None."""
        found = self.search(prefix, limit=1)
        return found[0].tag if found else None

    def complete_direct(self, prefix: str) -> str | None:
        """The best tag that itself starts with ``prefix`` (what ghost text can show), or None."""
        p = normalize_query(prefix)
        if not p.strip():
            return None
        found = self._search(p, 1, direct=True)
        return found[0].tag if found else None

    def alias_name(self, alias_key: str) -> str:
        """The alias with this key as the CSV writes it (underscores as spaces)."""
        return self._alias_names.get(alias_key, alias_key)

    def alias_entries(self) -> list[_Key]:
        """(key, tag, kind[, alias]) for every word start of every alias (kind 2 or 3, see :meth:`_sorted_keys`)."""
        tags = self._tags
        out: list[_Key] = []
        for a, k in self._aliases.items():
            if k in tags:
                out.append((a, k, 2))
                starts = word_starts(a)
                if len(starts) > 1:
                    out += [(a[i:], k, 3, a) for i in starts[1:]]
        return out

    def _match(self, key: str, alias: str | None) -> TagMatch:
        t = self._tags[key]
        return TagMatch(t.tag, t.category, t.count, alias, t.uses)

    def _sorted_keys(self) -> list[_Key]:
        """(key, tag, kind): kind 0 the tag itself, 1 a later word of it, 2 an alias, 3 an alias's later
        word, which carries the whole alias key as a fourth item (the alias a result names)."""
        if self._keys is None:
            keys: list[_Key] = []
            for k in self._tags:
                keys += [(k[i:], k, _DIRECT if i == 0 else 1) for i in word_starts(k)]
            keys += self.alias_entries()
            keys.sort()
            self._keys = keys
        return self._keys


_DIRECT = 0


# ---------------------------------------------------------------------- CSV
class _BadRow:
    """A row with a tag whose category or count cannot be used (a header, ``1e999``, ``nan``)."""


_BAD = _BadRow()


@dataclass(frozen=True)
class HistorySnapshot:
    path: Path
    data: dict[str, int]
    seq: int
    """Order of the snapshots: an older one never replaces a newer one already written."""


_history_lock = threading.Lock()
_history_seq = itertools.count(1)
_history_written: dict[Path, int] = {}


def write_history(snapshot: HistorySnapshot) -> Path | None:
    """Write (fsync, atomic rename) a history snapshot; one writer at a time, and a snapshot older than
    the one last written to the same file is dropped (None). Blocking: call it off the event loop."""
    with _history_lock:
        if _history_written.get(snapshot.path, 0) > snapshot.seq:
            return None
        snapshot.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(snapshot.path, json.dumps(snapshot.data, ensure_ascii=False, indent=0).encode("utf-8"))
        _history_written[snapshot.path] = snapshot.seq
        return snapshot.path


def _read_rows(path: Path) -> Iterator[tuple[str, int, int, list[str]] | _BadRow | None]:
    """Parsed rows; None for an empty row, :data:`_BAD` for a row that is not a tag."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.reader(f):
                yield _parse_row(row)
    except FileNotFoundError:
        raise TagFileError(_("{file}: file not found").format(file=path)) from None
    except UnicodeDecodeError as e:
        raise TagFileError(_("{file}: not UTF-8 text ({reason} at byte {offset})").format(
            file=path, reason=e.reason, offset=e.start)) from None
    except csv.Error as e:
        raise TagFileError(_("{file}: not a CSV file: {error}").format(file=path, error=e)) from None
    except IsADirectoryError:
        raise TagFileError(_("{file}: is a folder, expected a .csv file").format(file=path)) from None
    except OSError as e:
        raise TagFileError(_("{file}: cannot read ({error})").format(file=path, error=e.strerror or e)) from None


def _parse_row(row: list[str]) -> tuple[str, int, int, list[str]] | _BadRow | None:
    if not row or not row[0].strip():
        return None
    tag = row[0].strip()
    category = _int(row[1]) if len(row) > 1 else 0
    count = _int(row[2]) if len(row) > 2 else 0
    if category is None or count is None:
        return _BAD  # a header ("name,type,count,aliases") or garbage
    aliases = [a.strip() for a in row[3].split(",")] if len(row) > 3 else []
    return tag, category, count, [a for a in aliases if a]


def _int(text: str) -> int | None:
    text = text.strip()
    if text == "":
        return 0
    try:
        return int(float(text))
    except (ValueError, OverflowError):  # "abc", "nan"; "1e999" is infinite
        return None


# ----------------------------------------------------------------- prompts
_STRIP = re.compile(r"(?<![\w.])[+-]?(?:\d+\.?\d*|\.\d+)::|::|:\s*[+-]?(?:\d+\.?\d*|\.\d+)\s*\)|[{}\[\]()]")


def prompt_tags(prompt: str) -> list[str]:
    """The plain tags of a prompt: split at ``,``/``|``/newlines/``BREAK``, weights and brackets removed."""
    text = _STRIP.sub(" ", prompt.replace("\\", ""))
    parts = re.split(r"[,|\n]|\bBREAK\b", text)
    return [" ".join(p.split()) for p in parts if p.strip() and not p.strip().startswith("__")]


# -------------------------------------------------------------- data folder
def import_csv(source: Path, directory: Path) -> CsvStats:
    """Validate a tag CSV and copy it into ``directory`` (the same name replaces an older import)."""
    stats = TagIndex().load_csv(source)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (source.stem + ".csv")
    if source.resolve() != target.resolve():
        atomic_write(target, source.read_bytes())
    return CsvStats(target, stats.tags, stats.aliases, stats.skipped)


def load_csvs(directory: Path) -> tuple[TagIndex, list[str]]:
    """Every ``*.csv`` in ``directory`` as one index, without the history; per-file problems."""
    index = TagIndex()
    problems: list[str] = []
    for csv_path in sorted(directory.glob("*.csv")):
        try:
            problem = index.load_csv(csv_path).problem()
        except TagFileError as e:
            problem = str(e)
        if problem:
            problems.append(problem)
    return index, problems


def load_index(directory: Path) -> tuple[TagIndex, list[str]]:
    """Every ``*.csv`` in ``directory`` plus the history; returns the index and per-file problems."""
    index, problems = load_csvs(directory)
    try:
        index.load_history(directory / HISTORY_FILE)
    except TagFileError as e:
        index.history_path = directory / HISTORY_FILE
        problems.append(str(e))
    return index, problems
