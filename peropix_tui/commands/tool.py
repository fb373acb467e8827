"""``peropix tool``: NovelAI Director Tools on image files (a CLI contract).

``peropix tool bg-removal|lineart|sketch|colorize|emotion|declutter|declutter-keep-bubbles
IMAGE... [--mood M]... [--defry N] [--prompt TEXT] [--out DIR] [--dry-run] [--json]``

Every request (image × mood) is priced first and the total printed before anything is sent; a
run over ``generation.budget`` or over the balance is refused. Results are saved next to each
source (or in ``--out``) as ``NNN_name_SEQ.png`` (emotion: ``NNN_mood_SEQ.png``), one path per
line (``--json``: one object with the cost and the paths). ``--dry-run`` sends nothing and
prints the plan (``--json``: the bodies with base64 shortened).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ..i18n import _, ngettext

TOOLS = ("bg-removal", "lineart", "sketch", "colorize", "emotion", "declutter", "declutter-keep-bubbles")


def register(sub: Any) -> None:
    from ..textwidth import CellWidthHelpFormatter

    p = sub.add_parser("tool", formatter_class=CellWidthHelpFormatter,
                       help=_("NovelAI Director Tools (bg-removal, lineart, emotion, ...) on images"),
                       description=_("Run a NovelAI Director Tool on images and save the results next to them. "
                                     "The cost is shown before anything is sent."))
    add_tool_arguments(p)
    p.add_argument("--out", metavar="DIR", help=_("folder for the results (default: next to each source)"))
    p.add_argument("--dry-run", action="store_true", help=_("send nothing; print the plan and request bodies"))
    p.add_argument("--json", action="store_true", help=_("machine-readable output"))
    p.add_argument("--save-moods", metavar="NAME",
                   help=_("also save the --mood list as mood set NAME (use: --mood @NAME)"))
    p.set_defaults(func=run)


def add_tool_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("tool", choices=TOOLS, metavar="TOOL", help=" | ".join(TOOLS))
    p.add_argument("images", nargs="+", metavar="IMAGE", help=_("source image(s)"))
    p.add_argument("--mood", action="append", metavar="M",
                   help=_("emotion: one of the 24 moods, repeatable; 'all' = all 24; '@NAME' = a saved mood set"))
    p.add_argument("--defry", type=int, metavar="N",
                   help=_("colorize/emotion strength 0..5: 0 = normal (strongest) … 5 = weakest (default 0)"))
    p.add_argument("--prompt", metavar="TEXT", default="",
                   help=_("colorize: what to colour; emotion: extra prompt after the mood"))
    p.add_argument("--tier", type=int, choices=range(4), metavar="0..3",
                   help=_("price for this tier (0 Paper … 3 Opus) instead of asking NovelAI"))


def plan_from_args(args: argparse.Namespace, tier: int, active: bool = True) -> Any:
    from ..core.mood_presets import resolve_moods, save_moodset
    from ..core.nai.tools_jobs import plan_tool

    moods = resolve_moods(args.mood) if args.mood else None
    if getattr(args, "save_moods", None) and moods:
        save_moodset(args.save_moods, moods)
    return plan_tool(args.tool, args.images, moods=moods, defry=args.defry, prompt=args.prompt,
                     tier=tier, active=active)


def account(args: argparse.Namespace) -> tuple[int, bool, int | None]:
    """(tier, active, balance): ``--tier`` as given, else from ``/user/subscription``."""
    if getattr(args, "tier", None) is not None:
        return args.tier, True, None
    from ..core.nai.tools_client import tools_client_from_config

    async def ask() -> Any:
        async with tools_client_from_config() as client:
            return await client.subscription()

    sub = asyncio.run(ask())
    return sub.tier, sub.active, sub.anlas


def run(args: argparse.Namespace) -> int:
    if args.dry_run:
        tier = args.tier if args.tier is not None else 0
        plan = plan_from_args(args, tier)
        return print_dry_run(plan, as_json=args.json, tier_known=args.tier is not None)
    tier, active, balance = account(args)
    plan = plan_from_args(args, tier, active)
    return execute(plan, args, balance=balance)


def print_cost_line(plan: Any, balance: int | None) -> None:
    n = len(plan.jobs)
    line = ngettext("cost {anlas} Anlas for {n} request(s)", "cost {anlas} Anlas for {n} request(s)", n).format(
        anlas=plan.total, n=n)
    if plan.free_jobs:
        # TRANSLATORS: follows "cost … for N request(s)" on the same line
        line += ngettext(", {n} free (Opus)", ", {n} free (Opus)", plan.free_jobs).format(n=plan.free_jobs)
    if balance is not None:
        # TRANSLATORS: follows the cost on the same line
        line += _("; balance {anlas} Anlas").format(anlas=balance)
    print(f"peropix: {line}", file=sys.stderr)


def execute(plan: Any, args: argparse.Namespace, *, balance: int | None) -> int:
    """Show the cost, refuse over budget/balance, run every job, print what was saved."""
    from ..core.config import load_config
    from ..core.nai.tools_client import tools_client_from_config
    from ..core.nai.tools_jobs import refusal, run_tool_job
    from ..core.nai.tools_save import ToolSaver
    from ..core.store.gallery import GalleryStore

    config = load_config()
    print_cost_line(plan, balance)
    reason = refusal(plan.total, balance=balance, budget=config.generation.budget)
    if reason:
        from ..core.backend import BackendError

        raise BackendError(_("{reason}; nothing was sent").format(reason=reason))
    dest = Path(args.out).expanduser() if getattr(args, "out", None) else None
    saved: list[str] = []

    async def go() -> None:
        client = tools_client_from_config(config)
        tty = sys.stderr.isatty()
        try:
            for n, job in enumerate(plan.jobs, 1):
                if tty:
                    what = job.options.mood if job.options is not None and job.options.mood else job.kind
                    print(f"peropix: [{n}/{len(plan.jobs)}] {job.image.path.name} {what}", file=sys.stderr, flush=True)
                for path in await run_tool_job(job, client, saver):
                    saved.append(str(path))
                    if not args.json:
                        print(path, flush=True)
        finally:
            await client.aclose()

    with GalleryStore.from_config(config) as store:
        saver = ToolSaver(store, dest)
        try:
            asyncio.run(go())
        finally:
            if args.json:
                print(json.dumps({"cost": plan.total, "requests": len(plan.jobs), "saved": saved}))
    return 0


def print_dry_run(plan: Any, *, as_json: bool, tier_known: bool) -> int:
    from ..core.nai.request import _redact_value

    bodies = []
    for job in plan.jobs:
        body = job.body()
        bodies.append({k: (_redact_value(v) if k == "image" else v) for k, v in body.items()})
    n = len(plan.jobs)
    if tier_known:
        line = ngettext("dry run: {n} request(s), {anlas} Anlas; nothing sent",
                        "dry run: {n} request(s), {anlas} Anlas; nothing sent", n)
    else:
        line = ngettext("dry run: {n} request(s), {anlas} Anlas (tier unknown: nothing assumed Opus-free; "
                        "pass --tier); nothing sent",
                        "dry run: {n} request(s), {anlas} Anlas (tier unknown: nothing assumed Opus-free; "
                        "pass --tier); nothing sent", n)
    print(line.format(n=n, anlas=plan.total), file=sys.stderr)
    if as_json:
        print(json.dumps({**plan.to_json(), "bodies": bodies}, ensure_ascii=False))
    else:
        for job, body in zip(plan.jobs, bodies, strict=True):
            print(json.dumps({"cost": job.cost.total, **body}, ensure_ascii=False))
    return 0


# ------------------------------------------------------------------ peropix cost tool
def register_cost(costsub: Any) -> None:
    """``peropix cost tool TOOL IMAGE...``: the price of a tool run, nothing sent."""
    from ..textwidth import CellWidthHelpFormatter

    p = costsub.add_parser("tool", formatter_class=CellWidthHelpFormatter, help=_("Anlas cost of a Director Tool run"),
                           description=_("Price a Director Tool run (image × mood), nothing sent."))
    add_tool_arguments(p)
    p.add_argument("--json", action="store_true", help=_("one JSON object"))
    p.set_defaults(func=run_cost)


def run_cost(args: argparse.Namespace) -> int:
    tier, active, balance = account(args)
    plan = plan_from_args(args, tier, active)
    return print_cost(plan, tier, balance, as_json=args.json)


def print_cost(plan: Any, tier: int | None, balance: int | None, *, as_json: bool) -> int:
    data = {**plan.to_json()}
    if tier is not None:
        data["tier"] = tier
    if balance is not None:
        data["balance"] = balance
    if as_json:
        print(json.dumps(data))
        return 0
    n = len(plan.jobs)
    print(ngettext("Cost: {anlas} Anlas for {n} request(s)", "Cost: {anlas} Anlas for {n} request(s)", n).format(
        anlas=plan.total, n=n))
    for job in plan.jobs:
        what = job.options.mood if job.options is not None and job.options.mood else job.kind
        size = f"{job.image.size[0]}x{job.image.size[1]}"
        line = (_("{file} {tool} at {size}: {anlas} (free, Opus)") if job.cost.opus_free
                else _("{file} {tool} at {size}: {anlas}"))
        print("  " + line.format(file=job.image.path.name, tool=what, size=size, anlas=job.cost.total))
    if balance is not None:
        print(_("Balance: {anlas} Anlas").format(anlas=balance))
    return 0
