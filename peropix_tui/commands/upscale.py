"""``peropix upscale``: NovelAI's V5 upscaler on image files (a CLI contract).

``peropix upscale IMAGE... [--model ID] [--out DIR]``: always 2x, V5 models only
(``nai-diffusion-5-curated`` default, ``nai-diffusion-5-full``), inputs up to 3,145,728 px.
1..4 Anlas per image by input size, never free; the total is shown before sending and a run
over ``generation.budget`` or the balance is refused. Results are saved next to each source (or
in ``--out``) as ``NNN_name_2x_SEQ.png`` with the source's metadata kept.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..i18n import _


def register(sub: Any) -> None:
    from ..textwidth import CellWidthHelpFormatter

    p = sub.add_parser("upscale", formatter_class=CellWidthHelpFormatter,
                       help=_("NovelAI V5 upscaler (2x) on images"),
                       description=_("Upscale images 2x with NovelAI's V5 upscaler; the cost is shown first."))
    add_upscale_arguments(p)
    p.add_argument("--out", metavar="DIR", help=_("folder for the results (default: next to each source)"))
    p.add_argument("--dry-run", action="store_true", help=_("send nothing; print the plan"))
    p.add_argument("--json", action="store_true", help=_("machine-readable output"))
    p.set_defaults(func=run)


def add_upscale_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("images", nargs="+", metavar="IMAGE", help=_("source image(s), up to 3,145,728 px each"))
    p.add_argument("--model", default="nai-diffusion-5-curated",
                   help=_("nai-diffusion-5-curated (default) or nai-diffusion-5-full"))
    p.add_argument("--blur-sigma", type=float, default=0.0,
                   help=_("declared blur of the source, rounded to 0, .30, .35, .40, .45 or .50 (default 0)"))


def plan_from_args(args: argparse.Namespace) -> Any:
    from ..core.nai.tools_jobs import plan_upscale

    return plan_upscale(args.images, model=args.model, blur_sigma=args.blur_sigma)


def run(args: argparse.Namespace) -> int:
    from .tool import execute, print_dry_run

    plan = plan_from_args(args)
    if args.dry_run:
        return print_dry_run(plan, as_json=args.json, tier_known=True)
    from .tool import account

    args.tier = None
    balance = account(args)[2]
    return execute(plan, args, balance=balance)


def register_cost(costsub: Any) -> None:
    from ..textwidth import CellWidthHelpFormatter

    p = costsub.add_parser("upscale", formatter_class=CellWidthHelpFormatter, help=_("Anlas cost of upscaling"),
                           description=_("Price an upscale, nothing sent."))
    add_upscale_arguments(p)
    p.add_argument("--json", action="store_true", help=_("one JSON object"))
    p.set_defaults(func=run_cost)


def run_cost(args: argparse.Namespace) -> int:
    from .tool import print_cost

    plan = plan_from_args(args)
    return print_cost(plan, None, None, as_json=args.json)
