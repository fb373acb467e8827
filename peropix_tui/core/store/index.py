"""The SQLite index of the gallery: one row per image, FTS5 over the prompt, WAL, thread-safe.

The index is a cache of the files: every column can be rebuilt from the output folder (favourites
come from the per-folder ``.favourites`` files). Each thread gets its own connection; writes are
serialised by one lock and run in ``BEGIN IMMEDIATE`` transactions, so worker threads of the TUI and
a headless ``peropix`` in another process can share the database.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ... import i18n

SCHEMA_VERSION = 2
Order = Literal["newest", "oldest", "name"]

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE images(
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL UNIQUE,
  folder TEXT NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,
  width INTEGER,
  height INTEGER,
  provider TEXT,
  model TEXT,
  seed INTEGER,
  prompt TEXT NOT NULL DEFAULT '',
  favourite INTEGER NOT NULL DEFAULT 0,
  created REAL NOT NULL
);
CREATE INDEX images_newest ON images(created, path);
CREATE INDEX images_folder_newest ON images(folder, created, path);
CREATE INDEX images_stat ON images(size, mtime_ns);
CREATE VIRTUAL TABLE images_fts USING fts5(
  prompt, content='images', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
CREATE TRIGGER images_ai AFTER INSERT ON images BEGIN
  INSERT INTO images_fts(rowid, prompt) VALUES (new.id, new.prompt);
END;
CREATE TRIGGER images_ad AFTER DELETE ON images BEGIN
  INSERT INTO images_fts(images_fts, rowid, prompt) VALUES ('delete', old.id, old.prompt);
END;
CREATE TRIGGER images_au AFTER UPDATE OF prompt ON images BEGIN
  INSERT INTO images_fts(images_fts, rowid, prompt) VALUES ('delete', old.id, old.prompt);
  INSERT INTO images_fts(rowid, prompt) VALUES (new.id, new.prompt);
END;
"""

_COLUMNS = ("path", "folder", "size", "mtime_ns", "width", "height", "provider", "model", "seed",
            "prompt", "favourite", "created")
_ORDER_SQL = {
    "newest": "created DESC, path DESC",
    "oldest": "created ASC, path ASC",
    "name": "path ASC",
}
_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Row:
    """One indexed image, as stored (``path`` is relative to the output folder, with ``/``)."""

    path: str
    folder: str
    size: int
    mtime_ns: int
    width: int | None
    height: int | None
    provider: str | None
    model: str | None
    seed: int | None
    prompt: str
    favourite: bool
    created: float

    def values(self) -> tuple[Any, ...]:
        return tuple(int(v) if isinstance(v, bool) else v for v in (getattr(self, c) for c in _COLUMNS))


def fts_query(text: str) -> str | None:
    """User search text -> a safe FTS5 query: every word must match, the last one as a prefix.

    Words are split on spaces and commas (prompts are comma-separated tags); each word is quoted,
    so FTS5 syntax (``AND``, ``NEAR``, ``*``, quotes) in the user's text is just text.
    """
    words = [w for w in re.split(r"[\s,]+", text) if _WORD.search(w)]
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


class Index:
    """The gallery database at ``db_path``; open once per store and share between threads.

    Connections come from a small pool (a connection is used by one thread at a time), so the
    short-lived worker threads of a TUI neither share a connection nor leak one each.
    """

    POOL_SIZE = 8
    """Idle connections kept. Above the TUI's reader concurrency (thumbnail and gallery workers), so
    that a burst of threads reuses connections instead of closing and reopening one per burst."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._idle: list[sqlite3.Connection] = []
        self._pool_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._writer = threading.local()
        self.opened = 0
        """How many connections were ever opened (the pool reuses them)."""
        self._ensure_schema()

    # -------------------------------------------------------------- connections
    def _open(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db_path, isolation_level=None, timeout=30.0, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA busy_timeout=30000")
        with self._pool_lock:
            self.opened += 1
        return con

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """A connection for this thread: the one of its open write transaction, or one from the pool."""
        mine: sqlite3.Connection | None = getattr(self._writer, "con", None)
        if mine is not None:
            yield mine
            return
        with self._pool_lock:
            con = self._idle.pop() if self._idle else None
        con = con or self._open()
        try:
            yield con
        finally:
            with self._pool_lock:
                keep = len(self._idle) < self.POOL_SIZE
                if keep:
                    self._idle.append(con)
            if not keep:
                con.close()

    def close(self) -> None:
        """Close the pooled connections (the index opens new ones if used again)."""
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for con in idle:
            con.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (serialised in-process, ``BEGIN IMMEDIATE`` across processes).

        Reads made by the same thread inside it see its changes.
        """
        with self._write_lock, self._use() as con:
            if getattr(self._writer, "con", None) is not None:  # nested: join the open transaction
                yield con
                return
            self._writer.con = con
            try:
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                self._writer.con = None

    def _ensure_schema(self) -> None:
        with self.write() as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return
            for (kind, name) in con.execute(
                "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'trigger') "
                "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'images_fts_%'"
            ).fetchall():
                con.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
            for stmt in _split_sql(_SCHEMA):
                con.execute(stmt)
            con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def bind_root(self, root: str) -> bool:
        """Tie the index to an output folder; rows of another folder are dropped. True if it changed."""
        with self.write() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'root'").fetchone()
            if row is not None and row[0] == root:
                return False
            if row is not None:
                self.clear(con)
            con.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('root', ?)", (root,))
            return row is not None

    # -------------------------------------------------------------- writes
    @staticmethod
    def upsert(con: sqlite3.Connection, rows: Iterable[Row]) -> None:
        cols = ", ".join(_COLUMNS)
        marks = ", ".join("?" for _ in _COLUMNS)
        updates = ", ".join(f"{c}=excluded.{c}" for c in _COLUMNS if c not in ("path", "favourite"))
        con.executemany(
            f"INSERT INTO images({cols}) VALUES ({marks}) ON CONFLICT(path) DO UPDATE SET {updates}",
            (r.values() for r in rows),
        )

    @staticmethod
    def delete_paths(con: sqlite3.Connection, paths: Iterable[str]) -> None:
        con.executemany("DELETE FROM images WHERE path = ?", ((p,) for p in paths))

    @staticmethod
    def move(con: sqlite3.Connection, old: str, new: str, folder: str) -> None:
        """The row of ``old`` now describes ``new`` (a stale row already at ``new`` is replaced)."""
        if con.execute("SELECT 1 FROM images WHERE path = ?", (old,)).fetchone() is None:
            return
        con.execute("DELETE FROM images WHERE path = ?", (new,))
        con.execute("UPDATE images SET path = ?, folder = ? WHERE path = ?", (new, folder, old))

    @staticmethod
    def rename_folder(con: sqlite3.Connection, old: str, new: str) -> None:
        n = len(old)
        con.execute(
            "UPDATE images SET path = ? || substr(path, ?), folder = ? || substr(folder, ?) "
            "WHERE folder = ? OR substr(folder, 1, ?) = ?",
            (new, n + 1, new, n + 1, old, n + 1, old + "/"),
        )

    @staticmethod
    def set_favourite(con: sqlite3.Connection, path: str, value: bool) -> int:
        return con.execute("UPDATE images SET favourite = ? WHERE path = ?", (int(value), path)).rowcount

    def clear(self, con: sqlite3.Connection) -> None:
        con.execute("DELETE FROM images")
        con.execute("INSERT INTO images_fts(images_fts) VALUES ('delete-all')")

    # -------------------------------------------------------------- reads
    def stats(self) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime_ns) for every indexed image (what :meth:`sync` compares)."""
        with self._use() as con:
            return {p: (s, m) for p, s, m in con.execute("SELECT path, size, mtime_ns FROM images")}

    def get(self, path: str) -> Row | None:
        with self._use() as con:
            r = con.execute(f"SELECT {', '.join(_COLUMNS)} FROM images WHERE path = ?", (path,)).fetchone()
        return _row(r) if r else None

    def rows(self, paths: Iterable[str]) -> list[Row]:
        return [r for p in paths if (r := self.get(p)) is not None]

    def page(self, *, folder: str | None = None, search: str | None = None, favourites_only: bool = False,
             offset: int = 0, limit: int = 60, order: Order = "newest") -> list[Row]:
        if order not in _ORDER_SQL:
            raise ValueError(i18n.gettext("order: {order} is not one of {choices}").format(order=repr(order), choices=', '.join(_ORDER_SQL)))
        where, args = _where(folder, search, favourites_only)
        sql = (f"SELECT {', '.join(_COLUMNS)} FROM images{where} ORDER BY {_ORDER_SQL[order]} "
               "LIMIT ? OFFSET ?")
        with self._use() as con:
            return [_row(r) for r in con.execute(sql, (*args, max(0, limit), max(0, offset)))]

    def count(self, *, folder: str | None = None, search: str | None = None,
              favourites_only: bool = False) -> int:
        where, args = _where(folder, search, favourites_only)
        with self._use() as con:
            return int(con.execute(f"SELECT count(*) FROM images{where}", args).fetchone()[0])

    def folders(self) -> list[tuple[str, int]]:
        """(folder, image count) for every folder holding indexed images, by name."""
        with self._use() as con:
            return list(con.execute("SELECT folder, count(*) FROM images GROUP BY folder ORDER BY folder"))

    def fts_integrity(self) -> None:
        """Raise sqlite3.DatabaseError if the FTS table disagrees with the images table."""
        with self._use() as con:
            con.execute("INSERT INTO images_fts(images_fts, rank) VALUES ('integrity-check', 1)")


def _where(folder: str | None, search: str | None, favourites_only: bool) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    args: list[Any] = []
    if folder is not None:
        clauses.append("folder = ?")
        args.append(folder)
    if favourites_only:
        clauses.append("favourite = 1")
    if search and search.strip():
        q = fts_query(search)
        if q is None:
            clauses.append("0")
        else:
            clauses.append("id IN (SELECT rowid FROM images_fts WHERE images_fts MATCH ?)")
            args.append(q)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def _row(r: tuple[Any, ...]) -> Row:
    d = dict(zip(_COLUMNS, r, strict=True))
    d["favourite"] = bool(d["favourite"])
    return Row(**d)


def _split_sql(script: str) -> list[str]:
    """Split the schema into statements (triggers contain ';' inside BEGIN … END)."""
    out: list[str] = []
    buf = ""
    for line in script.strip().splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    return out
