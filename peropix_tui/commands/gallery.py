"""``peropix gallery``: rebuild or sync the gallery index, list images, list folders."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..i18n import _, ngettext


def register(sub: Any) -> None:
    from ..textwidth import CellWidthHelpFormatter

    fmt = CellWidthHelpFormatter
    p = sub.add_parser("gallery", formatter_class=fmt,
                       help=_("the gallery index of the output folder: reindex, sync, list"))
    gsub = p.add_subparsers(dest="gallery_command", metavar="ACTION", required=True)

    gsub.add_parser("reindex", formatter_class=fmt,
                    help=_("rebuild the index from the image files")).set_defaults(func=_reindex)
    gsub.add_parser("sync", formatter_class=fmt,
                    help=_("index new, changed, moved and vanished files")).set_defaults(func=_sync)

    ls = gsub.add_parser("list", formatter_class=fmt, help=_("list indexed images, newest first"))
    ls.add_argument("--folder", help=_("only this folder ('' = the output folder itself)"))
    ls.add_argument("--search", metavar="TEXT", help=_("full-text search in prompts (all words must match)"))
    ls.add_argument("--favourites", action="store_true", help=_("only favourites"))
    ls.add_argument("-n", "--limit", type=int, default=50, help=_("how many images (default 50)"))
    ls.add_argument("--offset", type=int, default=0, help=_("skip this many images first (default 0)"))
    ls.add_argument("--order", choices=("newest", "oldest", "name"), default="newest",
                    help=_("newest (default), oldest or name"))
    ls.add_argument("--json", action="store_true", help=_("one JSON array of records"))
    ls.set_defaults(func=_list)

    gsub.add_parser("folders", formatter_class=fmt,
                    help=_("folders and their image counts")).set_defaults(func=_folders)


def _open() -> Any:
    from ..core.store import GalleryStore

    return GalleryStore.from_config()


def _reindex(args: argparse.Namespace) -> int:
    with _open() as store:
        r = store.reindex()
        folders = len(store.index.folders())
        rate = r.added / r.seconds if r.seconds > 0 else 0.0
        print(ngettext("indexed {n} images in {folders} folders from {root} in {seconds} s ({rate} images/s)",
                       "indexed {n} images in {folders} folders from {root} in {seconds} s ({rate} images/s)",
                       r.added).format(n=r.added, folders=folders, root=store.root, seconds=f"{r.seconds:.2f}",
                                       rate=f"{rate:.0f}"))
        print(_("index: {path}").format(path=store.index.db_path))
    return 0


def _sync(args: argparse.Namespace) -> int:
    with _open() as store:
        r = store.sync()
        print(_("{added} added, {updated} updated, {moved} moved, {removed} removed, "
                "{unchanged} unchanged in {seconds} s").format(
            added=r.added, updated=r.updated, moved=r.moved, removed=r.removed, unchanged=r.unchanged,
            seconds=f"{r.seconds:.2f}"))
    return 0


def _list(args: argparse.Namespace) -> int:
    with _open() as store:
        store.sync()
        images = store.page(folder=args.folder, search=args.search, favourites_only=args.favourites,
                            offset=args.offset, limit=args.limit, order=args.order)
        if args.json:
            print(json.dumps([_record(i) for i in images], ensure_ascii=False, indent=2))
            return 0
        for i in images:
            star = "*" if i.favourite else " "
            size = f"{i.width}x{i.height}" if i.width else "?"
            prompt = _cut(i.prompt.replace("\n", " | "), 80)
            seed = _("seed {seed}").format(seed=i.seed if i.seed is not None else "-")
            print(f"{star} {i.path}\t{size}\t{seed}\t{prompt}")
        total = store.count(folder=args.folder, search=args.search, favourites_only=args.favourites)
        print(ngettext("{shown} of {total} images", "{shown} of {total} images", total).format(
            shown=len(images), total=total))
    return 0


def _folders(args: argparse.Namespace) -> int:
    with _open() as store:
        store.sync()
        for f in store.folders():
            name = f.name or _("(output folder)")
            print(f"{f.count:6d}  {name}")
    return 0


def _cut(text: str, cells: int) -> str:
    """The start of ``text`` that fits in ``cells`` terminal cells (a Korean / Japanese character
    takes two; none is cut in half)."""
    from ..textwidth import cell_width, char_width

    if cell_width(text) <= cells:
        return text
    out, used = [], 0
    for ch in text:
        used += char_width(ch)
        if used > cells:
            break
        out.append(ch)
    return "".join(out)


def _record(i: Any) -> dict[str, Any]:
    return {
        "path": i.path, "file": str(i.file), "folder": i.folder, "size": i.size, "width": i.width,
        "height": i.height, "provider": i.provider, "model": i.model, "seed": i.seed, "prompt": i.prompt,
        "favourite": i.favourite, "created": i.created,
    }
