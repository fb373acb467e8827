"""``peropix gallery``: rebuild or sync the gallery index, list images, list folders."""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("gallery", help="the gallery index of the output folder: reindex, sync, list")
    gsub = p.add_subparsers(dest="gallery_command", metavar="ACTION", required=True)

    gsub.add_parser("reindex", help="rebuild the index from the image files").set_defaults(func=_reindex)
    gsub.add_parser("sync", help="index new, changed, moved and vanished files").set_defaults(func=_sync)

    ls = gsub.add_parser("list", help="list indexed images, newest first")
    ls.add_argument("--folder", help="only this folder ('' = the output folder itself)")
    ls.add_argument("--search", metavar="TEXT", help="full-text search in prompts (all words must match)")
    ls.add_argument("--favourites", action="store_true", help="only favourites")
    ls.add_argument("-n", "--limit", type=int, default=50)
    ls.add_argument("--offset", type=int, default=0)
    ls.add_argument("--order", choices=("newest", "oldest", "name"), default="newest")
    ls.add_argument("--json", action="store_true", help="one JSON array of records")
    ls.set_defaults(func=_list)

    gsub.add_parser("folders", help="folders and their image counts").set_defaults(func=_folders)


def _open() -> Any:
    from ..core.store import GalleryStore

    return GalleryStore.from_config()


def _reindex(args: argparse.Namespace) -> int:
    with _open() as store:
        r = store.reindex()
        folders = len(store.index.folders())
        rate = r.added / r.seconds if r.seconds > 0 else 0.0
        print(f"indexed {r.added} images in {folders} folders from {store.root} "
              f"in {r.seconds:.2f} s ({rate:.0f} images/s)")
        print(f"index: {store.index.db_path}")
    return 0


def _sync(args: argparse.Namespace) -> int:
    with _open() as store:
        r = store.sync()
        print(f"{r.added} added, {r.updated} updated, {r.moved} moved, {r.removed} removed, "
              f"{r.unchanged} unchanged in {r.seconds:.2f} s")
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
            prompt = i.prompt.replace("\n", " | ")
            print(f"{star} {i.path}\t{size}\tseed {i.seed if i.seed is not None else '-'}\t{prompt[:80]}")
        total = store.count(folder=args.folder, search=args.search, favourites_only=args.favourites)
        print(f"{len(images)} of {total} images")
    return 0


def _folders(args: argparse.Namespace) -> int:
    with _open() as store:
        store.sync()
        for f in store.folders():
            print(f"{f.count:6d}  {f.name or '(output folder)'}")
    return 0


def _record(i: Any) -> dict[str, Any]:
    return {
        "path": i.path, "file": str(i.file), "folder": i.folder, "size": i.size, "width": i.width,
        "height": i.height, "provider": i.provider, "model": i.model, "seed": i.seed, "prompt": i.prompt,
        "favourite": i.favourite, "created": i.created,
    }
