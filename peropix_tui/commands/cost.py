"""``peropix cost``: the Anlas a generation will cost, by NovelAI's own formula.

``--tier`` 0..3 is used as given (no server call); without it the tier and balance come from
``GET /user/subscription`` (a token is needed then). ``--json`` prints at least
``{"total", "per_image", "opus_free", "breakdown"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from ..i18n import N_, _
from .genopts import add_generation_options, settings_from_args

TIERS = ("Paper", "Tablet", "Scroll", "Opus")
"""NovelAI's subscription tiers, by number (product names: shown as they are in every language)."""
BREAKDOWN = {"generation": N_("generation"), "vibe_encode": N_("vibe encode"),
             "vibe_surcharge": N_("vibe surcharge"), "charref": N_("character reference")}
"""The names of the cost parts (keys of ``breakdown`` in ``--json``) shown to people."""


def register(sub: Any) -> None:
    p = sub.add_parser("cost", help=_("Anlas cost of a NovelAI generation"),
                       description=_("Estimate the Anlas cost of a NovelAI generation before sending it."))
    add_generation_options(p)
    p.add_argument("--tier", type=int, choices=range(4), metavar="0..3",
                   help=_("subscription tier (0 Paper … 3 Opus); without it, ask NovelAI"))
    p.add_argument("--json", action="store_true", help=_("one JSON object"))
    p.set_defaults(func=run)
    what = p.add_subparsers(dest="cost_what", metavar="[tool|upscale]",
                            description=_("price a Director Tool or upscale run instead of a generation"))
    from . import tool, upscale

    tool.register_cost(what)
    upscale.register_cost(what)


def run(args: argparse.Namespace) -> int:
    from ..core.nai.cost import estimate_cost
    from ..core.nai.models import validate
    from ..core.nai.vibe import count_uncached

    settings = settings_from_args(args)
    if settings.provider in ("local", "comfyui"):
        return _print({"total": 0, "per_image": 0, "opus_free": False, "breakdown": {},
                       "provider": settings.provider}, args.json, balance=None)
    validate(settings)
    tier, active, balance, negative = (args.tier, True, None, False) if args.tier is not None else _ask_server()
    estimate = estimate_cost(settings, tier=tier, active=active, uncached_vibes=count_uncached(settings),
                             v5_usage_negative=negative)
    data = {**estimate.to_json(), "tier": tier}
    if balance is not None:
        data["balance"] = balance
    return _print(data, args.json, balance=balance)


def _ask_server() -> tuple[int, bool, int, bool]:
    from ..core.nai.backend import client_from_config

    async def ask() -> Any:
        async with client_from_config() as client:
            return await client.subscription()

    sub = asyncio.run(ask())
    return sub.tier, sub.active, sub.anlas, sub.usage_negative


def _print(data: dict[str, Any], as_json: bool, *, balance: int | None) -> int:
    if as_json:
        print(json.dumps(data))
        return 0
    if data.get("provider") in ("local", "comfyui"):
        print(_("Cost: 0 Anlas (local engine)") if data["provider"] == "local" else _("Cost: 0 Anlas (ComfyUI server)"))
        return 0
    print(_("Cost: {total} Anlas ({per_image} per image x {billable} billable of {n_samples})").format(
        total=data["total"], per_image=data["per_image"], billable=data.get("billable_images", "?"),
        n_samples=data.get("n_samples", "?")))
    for key, value in data["breakdown"].items():
        if value:
            name = _(BREAKDOWN[key]) if key in BREAKDOWN else key.replace("_", " ")
            print(f"  {name}: {value}")
    if data["opus_free"]:
        print("  " + _("first image free (Opus)"))
    tier = data.get("tier")
    if balance is not None and isinstance(tier, int):
        print(_("Balance: {balance} Anlas ({tier})").format(balance=balance,
                                                           tier=TIERS[tier] if 0 <= tier < 4 else tier))
    return 0
