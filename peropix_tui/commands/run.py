"""``peropix run``: queue base × slots × repeats into the persistent queue and run it to the end.

The jobs go into the same queue the app uses (``queue.json`` in the state folder, one owner at a
time), so a batch killed at any moment is finished by ``peropix queue resume`` with exactly one
image per job. Exit 0 when every job of this run is done; otherwise 1 with a one-line reason (130
after Ctrl+C: the rest stays queued).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from ..i18n import _
from .genopts import add_generation_options, settings_from_args


def register(sub: Any) -> None:
    p = sub.add_parser("run", help=_("run a slot set (base × slots × repeats) headlessly through the queue"),
                       description=_("Queue base × slots × repeats (locked slots skipped) into the persistent "
                                     "queue and run it to the end. Ctrl+C stops after the current image; twice, "
                                     "at once."))
    add_generation_options(p)
    s = p.add_argument_group(_("slots"))
    s.add_argument("--slot", action="append", metavar="NAME=PROMPT", type=_slot_arg,
                   help=_("a slot: its name (goes into the file name) and the prompt added to the base; "
                          "repeatable"))
    s.add_argument("--slots", metavar="FILE", help=_("slots and repeats from a slot-set JSON (as the Slots screen saves)"))
    s.add_argument("--preset", metavar="NAME", help=_("a saved slot-set preset (Slots screen, ctrl+s)"))
    s.add_argument("--repeat", type=int, metavar="N", help=_("repeats per slot (default: the preset's, else 1)"))
    o = p.add_argument_group(_("output"))
    o.add_argument("--out", metavar="DIR",
                   help=_("folder for the images (default: a session folder in the configured output folder)"))
    o.add_argument("--json", action="store_true", help=_("one JSON object per event line"))
    p.set_defaults(func=run)


def _slot_arg(text: str) -> tuple[str, str]:
    name, sep, prompt = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(_("{text} is not NAME=PROMPT").format(text=repr(text)))
    return name.strip(), prompt.strip()


def slots_from_file(path: str) -> Any:
    """A SlotSet (slots + repeats) from a slot-set JSON file; errors name the file."""
    from ..core.presets import PresetError
    from ..core.slots import SlotSet

    p = Path(path).expanduser()
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or not isinstance(raw.get("slots", []), list):
            raise ValueError(_('expected an object with a "slots" list'))
        return SlotSet.from_dict({"slots": raw.get("slots", []), "repeats": raw.get("repeats", 1)})
    except FileNotFoundError:
        raise PresetError(_("{file}: no such slots file").format(file=p)) from None
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise PresetError(_("{file}: not a slot-set file ({error})").format(file=p, error=e)) from None


def build_workspace(args: argparse.Namespace) -> Any:
    from ..core.presets import load_preset
    from ..core.slots import Slot, SlotSet

    ws = SlotSet(base=settings_from_args(args))
    if args.slots:
        loaded = slots_from_file(args.slots)
        ws.slots, ws.repeats = loaded.slots, loaded.repeats
    if args.preset:
        load_preset(args.preset, ws)
    ws.slots += [Slot(name=name, prompt=prompt) for name, prompt in args.slot or []]
    if args.repeat is not None:
        if args.repeat < 1:
            from ..cli import CliError

            raise CliError(_("--repeat: must be 1 or more, got {value}").format(value=args.repeat))
        ws.repeats = args.repeat
    return ws


def run(args: argparse.Namespace) -> int:
    from ..core.config import load_config
    from .batch import one_line_errors

    ws = build_workspace(args)
    return one_line_errors(lambda a: asyncio.run(_run(ws, load_config(), a)))(args)


async def _run(ws: Any, config: Any, args: argparse.Namespace) -> int:
    from ..core.config import load_token
    from ..core.generation.admission import refusal
    from ..core.generation.service import check_settings
    from ..core.generation.session import open_queue
    from ..core.jobs import Job
    from .batch import (
        BatchError,
        Reporter,
        Said,
        accounts_for,
        out_folder,
        pool_for,
        run_reported,
        service_for,
    )

    runs = ws.expand()
    if not runs:
        raise BatchError(_("nothing to run: every slot is locked"))
    for r in runs:
        check_settings(r.settings)
    token = load_token()
    accounts, workers = pool_for(config, token)
    service, writer = service_for(config, token, accounts)
    session = open_queue(images=writer, workers=workers)
    try:
        queue = session.scheduler.queue
        reporter = Reporter([], as_json=args.json)
        probe = [Job("", r.settings) for r in runs]
        account, session.scheduler.accounts = await accounts_for(probe, config, accounts, reporter)
        reason = refusal(ws, True, queue, account, config.generation.budget)
        if reason:
            raise BatchError(reason)
        jobs = session.scheduler.submit(((r.settings, r.slot_index, r.slot_name, r.repeat) for r in runs),
                                        folder=str(out_folder(args.out, config)), base_prompt=ws.base.prompt)
        ids = [j.id for j in jobs]
        reporter = Reporter(ids, as_json=args.json)
        n = len(jobs)
        reporter.note(Said.of(lambda t: t.ngettext("queued {n} job into {folder}", "queued {n} jobs into {folder}", n),
                              n=n, folder=jobs[0].folder))
        return await run_reported(session.scheduler, service, ids, reporter)
    finally:
        writer.close()
        session.close()
