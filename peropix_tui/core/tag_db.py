"""A persistent tag index (SQLite in the data folder) so one ``peropix tags search`` is fast.

Built from the tag folder's CSVs with :func:`~.tags.load_index` and rebuilt when they change (the
folder, the names, sizes and modification times of its ``*.csv`` files form a signature stored in
the file). The build goes to a temporary file that replaces the old one, so a reader never sees a
half-written index. The user's history (``history.json``) is read at query time, not built in, so
using the app does not force a rebuild.

Tables: ``tags`` (one row per tag), ``keys`` (one row per word start of a tag or alias, with its
place ``pos`` in the count ranking and, for an alias, the alias as results name it) and ``top`` (the best 64 tags of every 1–3 character prefix,
so short prefixes do not sort thousands of rows). Matching and ranking are those of
:class:`~.tags.TagIndex`: results agree with it.
"""

from __future__ import annotations

import os
import sqlite3

from ..i18n import _
from .tag_keys import TagMatch, normalize, normalize_query, word_starts

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing doubles a one-off query
if TYPE_CHECKING:  # the query path imports neither pathlib nor json (a one-off search is mostly imports)
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from pathlib import Path


HISTORY_FILE = "history.json"

INDEX_FILE = "tag-index.sqlite"
FORMAT = 2  # 2: keys.alias (the alias a result names); keys fold width and kana
TOP_PREFIX = 3
TOP_N = 64


def index_path() -> Path:
    from . import paths

    return paths.data_dir() / INDEX_FILE


def signature(directory: str | os.PathLike[str]) -> str:
    """What the index was built from: the folder and each CSV's name, size and mtime."""
    root = os.path.realpath(directory)
    parts = [f"format {FORMAT}", root]
    try:
        entries = [e for e in os.scandir(root) if e.name.endswith(".csv")]
    except OSError:
        entries = []
    for e in sorted(entries, key=lambda e: e.name):
        try:
            st = e.stat()
        except OSError:
            continue
        parts.append(f"{e.name}\t{st.st_size}\t{st.st_mtime_ns}")
    return "\n".join(parts)


class TagDb:
    """An open index: :meth:`search` like :meth:`TagIndex.search`; ``problems`` from its build."""

    def __init__(self, con: sqlite3.Connection, problems: list[str], uses: dict[str, int],
                 history_names: dict[str, str]) -> None:
        self.con = con
        self.problems = problems
        self.uses = uses  # normalised tag -> uses, from history.json
        self.history_names = history_names  # normalised tag -> as written

    def close(self) -> None:
        self.con.close()

    def search(self, prefix: str, limit: int = 10) -> list[TagMatch]:
        p = normalize_query(prefix)
        if not p.strip() or limit <= 0:
            return []
        used = self._used(p)
        found = [m for _rank, m in used][:limit]
        seen = {normalize(m.tag) for m in found}
        want = limit + len(used)
        for m in self._ranked(p, want):
            if len(found) >= limit:
                break
            if normalize(m.tag) not in seen:
                seen.add(normalize(m.tag))
                found.append(m)
        return found

    def _ranked(self, p: str, want: int) -> list[TagMatch]:
        """Matches ranked by count (no history), each tag once."""
        if len(p) <= TOP_PREFIX and want <= TOP_N:
            row = self.con.execute("SELECT ids FROM top WHERE prefix = ?", (p,)).fetchone()
            if row is None:
                return []
            pairs = [(int(i), alias or None) for i, _sep, alias in (x.partition(":") for x in row[0].split("\n"))]
            rows = {r[0]: r for r in self.con.execute(
                f"SELECT id, tag, category, count FROM tags WHERE id IN ({','.join('?' * len(pairs))})",
                [i for i, _alias in pairs])}
            return [TagMatch(rows[i][1], rows[i][2], rows[i][3], alias) for i, alias in pairs]
        out: list[TagMatch] = []
        seen: set[int] = set()
        cur = self.con.execute(
            "SELECT k.tag_id, k.kind, k.key, k.alias_key, k.alias, t.tag, t.category, t.count FROM keys k"
            " JOIN tags t ON t.id = k.tag_id WHERE k.key >= ? AND k.key < ? ORDER BY k.pos", (p, p + "\uffff"))
        for tag_id, kind, key, alias_key, alias, tag, category, count in cur:
            if tag_id in seen:
                continue
            seen.add(tag_id)
            out.append(TagMatch(tag, category, count, (alias or alias_key or key) if kind >= 2 else None))
            if len(out) >= want:
                break
        return out

    def _used(self, p: str) -> list[tuple[tuple[int, int, bool, bool, int], TagMatch]]:
        """The user's own tags matching ``p``, ranked (uses first), as :class:`TagIndex` ranks them."""
        out: list[tuple[tuple[int, int, bool, bool, int], TagMatch]] = []
        for key, uses in self.uses.items():
            row = self.con.execute("SELECT id, tag, category, count FROM tags WHERE key = ?", (key,)).fetchone()
            candidates: list[tuple[str, int, str, str | None]] = [
                (key[i:], 0 if i == 0 else 1, "", None) for i in word_starts(key)]
            if row is not None:  # (key, kind, alias key, alias as shown): TagIndex's order among equal ranks
                aliases = self.con.execute(
                    "SELECT key, kind, alias_key, alias FROM keys WHERE tag_id = ? AND kind >= 2", (row[0],))
                candidates += [(k, kind, a or k, shown or a or k) for k, kind, a, shown in aliases]
            hits = sorted((c for c in candidates if c[0].startswith(p)),
                          key=lambda c: (c[1] >= 2, c[1] % 2, c[0], c[2]))
            if not hits:
                continue
            kind, alias = hits[0][1], hits[0][3]
            tag, category, count = (row[1], row[2], row[3]) if row is not None else (self._display(key), 0, 0)
            rank = (uses, count, kind < 2, kind % 2 == 0, -len(key))
            out.append((rank, TagMatch(tag, category, count, alias, uses)))
        out.sort(key=lambda r: r[0], reverse=True)
        return out

    def _display(self, key: str) -> str:
        return self.history_names.get(key, key)


def _read_history(directory: str | os.PathLike[str]) -> tuple[dict[str, int], dict[str, str], list[str]]:
    """history.json (``{"tag": uses}``) as normalised tag -> uses and -> display name."""
    path = os.path.join(directory, HISTORY_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return {}, {}, []
    except OSError as e:
        return {}, {}, [_("{file}: not a tag history file: {error}").format(file=path, error=e)]
    import json

    try:
        data = json.loads(text)
    except (OSError, ValueError) as e:
        return {}, {}, [_("{file}: not a tag history file: {error}").format(file=path, error=e)]
    if not isinstance(data, dict):
        return {}, {}, [_("{file}: not a tag history file (expected an object)").format(file=path)]
    uses: dict[str, int] = {}
    names: dict[str, str] = {}
    for tag, n in data.items():
        key = normalize(tag)
        if key and isinstance(n, int) and n > 0:
            uses[key] = uses.get(key, 0) + n
            names.setdefault(key, _display(tag))
    return uses, names, []


def _display(tag: str) -> str:
    from .tags import display

    return display(tag)


def open_index(directory: str | os.PathLike[str], db_path: str | os.PathLike[str] | None = None) -> TagDb:
    """The index for ``directory`` (built or rebuilt first when the CSVs changed)."""
    db_path = os.fspath(db_path or index_path())
    sig = signature(directory)
    con = _open_current(db_path, sig)
    if con is None:
        build(directory, db_path, sig)
        con = _open_current(db_path, sig)
        if con is None:
            raise OSError(_("{file}: the tag index could not be written").format(file=db_path))
    problems = [p for p in con.execute("SELECT value FROM meta WHERE name = 'problems'").fetchone()[0].split("\n") if p]
    uses, names, history_problems = _read_history(directory)
    return TagDb(con, problems + history_problems, uses, names)


def _open_current(db_path: str, sig: str) -> sqlite3.Connection | None:
    if not os.path.isfile(db_path):
        return None
    try:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        row = con.execute("SELECT value FROM meta WHERE name = 'signature'").fetchone()
    except sqlite3.Error:
        return None
    if row is None or row[0] != sig:
        con.close()
        return None
    return con


def _building(db_path: str) -> AbstractContextManager[sqlite3.Connection]:
    from contextlib import closing, contextmanager
    from pathlib import Path

    @contextmanager
    def cm() -> Iterator[sqlite3.Connection]:
        target = Path(db_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            with closing(sqlite3.connect(tmp)) as con:
                con.execute("PRAGMA journal_mode = OFF")
                con.execute("PRAGMA synchronous = OFF")
                yield con
                con.commit()
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    return cm()


def build(directory: str | os.PathLike[str], db_path: str | os.PathLike[str], sig: str | None = None) -> None:
    """(Re)write the index file for ``directory`` from its CSVs (history excluded)."""
    from pathlib import Path

    from .tags import load_csvs

    index, problems = load_csvs(Path(directory))
    tags = index._tags
    ids = {k: n for n, k in enumerate(tags)}
    entries: list[tuple[str, str, int] | tuple[str, str, int, str]] = []  # as TagIndex keys them
    for k in tags:
        entries += [(k[i:], k, 0 if i == 0 else 1) for i in word_starts(k)]
    entries += index.alias_entries()
    # one sort: count ranking first, ties in key order (as TagIndex breaks them)
    ranked = sorted(entries, key=lambda e: (-tags[e[1]].count, e[2] >= 2, e[2] % 2, len(e[1]), e))
    with _building(os.fspath(db_path)) as con:
        con.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)")
        con.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY, key TEXT, tag TEXT, category INT, count INT)")
        con.execute("CREATE TABLE keys (key TEXT, tag_id INT, kind INT, pos INT, alias_key TEXT, alias TEXT)")
        con.execute("CREATE TABLE top (prefix TEXT PRIMARY KEY, ids TEXT)")
        con.executemany("INSERT INTO tags VALUES (?, ?, ?, ?, ?)",
                        ((ids[k], k, t.tag, t.category, t.count) for k, t in tags.items()))
        def alias_key(e: tuple[str, str, int] | tuple[str, str, int, str]) -> str | None:
            return None if e[2] < 2 else e[3] if len(e) > 3 else e[0]

        # alias_key: the whole alias, only for an alias's later word (else the key is the alias);
        # alias: as shown, only where that is not its key
        names = index._alias_names
        con.executemany("INSERT INTO keys VALUES (?, ?, ?, ?, ?, ?)", (
            (e[0], ids[e[1]], e[2], pos, e[3] if len(e) > 3 else None, names.get(e[3] if len(e) > 3 else e[0]))
            if e[2] >= 2 else (e[0], ids[e[1]], e[2], pos, None, None)
            for pos, e in enumerate(ranked)))
        con.execute("CREATE INDEX keys_key ON keys (key, pos)")
        con.execute("CREATE INDEX keys_tag ON keys (tag_id)")
        con.execute("CREATE INDEX tags_key ON tags (key)")
        top: dict[str, list[tuple[int, str | None]]] = {}
        seen: dict[str, set[int]] = {}
        for e in ranked:
            key, target = e[0], e[1]
            a = alias_key(e)
            for n in range(1, min(TOP_PREFIX, len(key)) + 1):
                prefix = key[:n]
                have = seen.setdefault(prefix, set())
                if len(have) >= TOP_N or ids[target] in have:
                    continue
                have.add(ids[target])
                top.setdefault(prefix, []).append((ids[target], None if a is None else names.get(a, a)))
        con.executemany("INSERT INTO top VALUES (?, ?)",
                        ((p, "\n".join(f"{i}:{alias or ''}" for i, alias in v)) for p, v in top.items()))
        con.executemany("INSERT INTO meta VALUES (?, ?)",
                        [("signature", sig or signature(directory)), ("problems", "\n".join(problems))])


__all__ = ["INDEX_FILE", "TagDb", "build", "index_path", "open_index", "signature"]
