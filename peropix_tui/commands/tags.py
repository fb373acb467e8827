"""``peropix tags``: import tagcomplete CSVs for autocompletion and search the index."""

from __future__ import annotations

import sys
from pathlib import Path

from ..i18n import _, ngettext

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: a one-off `tags search` does not import typing
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any


def register(sub: Any) -> None:
    from ..textwidth import CellWidthHelpFormatter

    fmt = CellWidthHelpFormatter
    p = sub.add_parser("tags", formatter_class=fmt, help=_("tag autocompletion data: import CSVs, search"))
    tsub = p.add_subparsers(dest="tags_command", metavar="ACTION", required=True)

    imp = tsub.add_parser("import", formatter_class=fmt,
                          help=_("import a tagcomplete CSV (tag,category,count,\"aliases\")"))
    imp.add_argument("path", type=Path, nargs="+", metavar="PATH", help=_("tagcomplete CSV file(s)"))
    imp.set_defaults(func=_import)

    search = tsub.add_parser("search", formatter_class=fmt, help=_("show the best completions for a prefix"))
    search.add_argument("prefix", help=_("the start of a tag or an alias"))
    search.add_argument("-n", "--limit", type=int, default=10, help=_("how many completions (default 10)"))
    search.set_defaults(func=_search)


def quick(rest: Sequence[str]) -> Callable[[], int] | None:
    """``tags search PREFIX`` (the one-off query) without building a parser: the run argparse would
    make of exactly that line; any other line (an option, ``--help``, a missing prefix) is parsed."""
    if len(rest) == 2 and rest[0] == "search" and not rest[1].startswith("-"):
        prefix = rest[1]
        return lambda: _run_search(prefix, 10)
    return None


def _directory() -> Path:
    from ..core.config_stamp import load_quick
    from ..core.paths import tags_dir

    return tags_dir(load_quick().tags_dir)


def _import(args: argparse.Namespace) -> int:
    from ..core.tags import TagFileError, import_csv, load_index

    directory = _directory()
    failed = 0
    for path in args.path:
        try:
            stats = import_csv(path, directory)
        except TagFileError as e:
            print(_("peropix: error: {message}").format(message=e), file=sys.stderr)
            failed += 1
            continue
        line = ngettext("imported {tags} tags and {aliases} aliases from {source} -> {target}",
                        "imported {tags} tags and {aliases} aliases from {source} -> {target}", stats.tags).format(
            tags=stats.tags, aliases=stats.aliases, source=path, target=stats.path)
        if stats.skipped:
            # TRANSLATORS: follows "imported … -> FILE" on the same line
            line += ngettext(", {n} row skipped", ", {n} rows skipped", stats.skipped).format(n=stats.skipped)
        print(line)
    index, _problems = load_index(directory)
    print(ngettext("tag index: {n} tag in {folder}", "tag index: {n} tags in {folder}", len(index)).format(
        n=len(index), folder=directory))
    return 1 if failed else 0


def _search(args: argparse.Namespace) -> int:
    return _run_search(args.prefix, args.limit)


def _run_search(prefix: str, limit: int) -> int:
    import sqlite3

    from ..core.tag_db import open_index
    from ..core.tag_keys import TagMatch

    directory = _directory()
    found: list[TagMatch]
    try:  # the persistent index: no CSV parsing per call
        db = open_index(directory)
    except (OSError, sqlite3.Error, ValueError) as e:  # ValueError: TagFileError while building
        from ..core.tags import load_index

        print(_("peropix: warning: tag index not usable ({error}); reading the CSVs").format(error=e),
              file=sys.stderr)
        index, problems = load_index(directory)
        found = index.search(prefix, limit=limit)
    else:
        problems = db.problems
        found = db.search(prefix, limit=limit)
        db.close()
    for problem in problems:
        print(_("peropix: warning: {warning}").format(warning=problem), file=sys.stderr)
    for m in found:
        via = "  " + _("(alias {alias})").format(alias=m.alias) if m.alias else ""
        print(f"{m.tag}\t{m.category}\t{m.count}{via}")
    return 0
