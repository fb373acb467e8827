"""``peropix export``: copy a finished set to a folder or a ZIP, named by slot / mood.

``peropix export SOURCE... --to DEST [--zip] [--only NAME]... [--no-seq] [--format png|webp|jpeg]
[--quality N] [--strip] [--overwrite] [--json]``

SOURCE is image files or folders (a slot set or an emotion set folder). ``--only`` keeps the
images of the named slots / moods. ``--strip`` removes the metadata *and* NovelAI's stealth copy
in the alpha channel. An existing target is refused unless ``--overwrite``; nothing is written
then. One written path per line (``--json``: a JSON list).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..i18n import _


def register(sub: Any) -> None:
    from ..textwidth import CellWidthHelpFormatter

    p = sub.add_parser("export", formatter_class=CellWidthHelpFormatter,
                       help=_("copy a set to a folder or ZIP (rename, convert, strip metadata)"),
                       description=_("Export images (files or set folders) to a folder or a ZIP, named by "
                                     "slot / mood. Nothing is overwritten unless --overwrite."))
    p.add_argument("sources", nargs="+", metavar="SOURCE", help=_("image files or folders"))
    p.add_argument("--to", required=True, metavar="DEST", help=_("target folder, or a .zip file"))
    p.add_argument("--zip", action="store_true", help=_("write a ZIP (implied by a DEST ending in .zip)"))
    p.add_argument("--only", action="append", metavar="NAME",
                   help=_("only these slot / mood names or patterns (e.g. happy, '*_bg-blend'); repeatable"))
    p.add_argument("--no-seq", action="store_true", help=_("leave the sequence number out: 001_happy.png"))
    p.add_argument("--format", choices=("png", "webp", "jpeg"), help=_("convert (default: keep each format)"))
    p.add_argument("--quality", type=int, default=95,
                   help=_("WebP / JPEG quality 1..100 (WebP 100 = lossless)"))
    p.add_argument("--strip", action="store_true",
                   help=_("remove metadata, including NovelAI's stealth copy in the alpha channel"))
    p.add_argument("--overwrite", action="store_true", help=_("replace existing targets"))
    p.add_argument("--json", action="store_true", help=_("a JSON list of written paths"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.export import ExportOptions, collect, plan_export, run_export

    options = ExportOptions(fmt=args.format, quality=args.quality, strip=args.strip, keep_seq=not args.no_seq,
                            only=frozenset(args.only or ()), overwrite=args.overwrite).check()
    dest = Path(args.to).expanduser()
    as_zip = args.zip or dest.suffix.lower() == ".zip"
    plan = plan_export(collect(args.sources, options.only), dest, options, as_zip=as_zip)
    written = [str(p) for p in run_export(plan, options)]
    if args.json:
        print(json.dumps(written))
    else:
        print("\n".join(written))
    return 0
