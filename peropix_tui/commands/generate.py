"""``peropix generate``: make images headlessly with NovelAI (default) or the local engine.

The job runs through the same generation core as the app: wildcards drawn, the ``peropix``
metadata object added (NovelAI's own chunks are kept), the file written atomically with the app's
names (``NNN_slotname_SEQ.png``; no slot: ``SEQ.png``) into a session folder of the configured
output folder, or into ``--out DIR``, and indexed in the gallery when it lies inside the output
folder. One path printed per line (``--json``: a JSON list of paths). ``--dry-run`` sends nothing and prints the exact request
body (``--json``: the body alone, base64 fields shortened).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from ..i18n import _, ngettext
from .genopts import add_generation_options, settings_from_args


def register(sub: Any) -> None:
    p = sub.add_parser("generate", help=_("generate images without the TUI (NovelAI or local)"),
                       description=_("Generate images headlessly and save them as PNG files."))
    add_generation_options(p)
    o = p.add_argument_group(_("output"))
    o.add_argument("--out", metavar="DIR",
                   help=_("folder for the images (default: a session folder in the configured output folder)"))
    o.add_argument("--dry-run", action="store_true", help=_("send nothing; print the exact request body"))
    o.add_argument("--json", action="store_true", help=_("machine-readable output"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.config import load_config

    settings = settings_from_args(args)
    config = load_config()
    if args.dry_run and settings.provider == "comfyui":
        from .comfyui import dry_run

        return dry_run(args, settings, config)
    if args.dry_run:
        return _dry_run(settings, config, as_json=args.json)
    paths = asyncio.run(_generate(settings, config, args.out))
    if args.json:
        print(json.dumps([str(p) for p in paths]))
    else:
        for path in paths:
            print(path)
    return 0


async def _generate(settings: Any, config: Any, out: str | None) -> list[Path]:
    """One job through the generation core (an in-memory queue: nothing to resume for one request)."""
    from ..core.backend import BackendError
    from ..core.config import load_token
    from ..core.generation import events as ev
    from ..core.generation.scheduler import Scheduler
    from ..core.jobs import JobQueue
    from .batch import drive, out_folder, service_for

    scheduler = Scheduler(JobQueue(), requeue_lost=False)  # one request: a dead server is its error
    (job,) = scheduler.submit([(settings, None, "", 0)], folder=str(out_folder(out, config)),
                              base_prompt=settings.prompt)
    service, writer = service_for(config, load_token())
    saved: list[Path] = []
    failure: list[str] = []
    tty = sys.stderr.isatty()

    def report(event: ev.CoreEvent, _job: Any) -> None:
        if isinstance(event, ev.JobProgressed):
            if event.note:
                print(f"peropix: {event.note}", file=sys.stderr)
            elif tty and event.total:
                print("\r" + _("step {step}/{total}").format(step=event.step, total=event.total), end="",
                      file=sys.stderr, flush=True)
        elif isinstance(event, ev.ImageSaved):
            saved.append(event.path)
        elif isinstance(event, ev.JobFailed | ev.WorkerLost):
            failure.append(event.error)
        elif isinstance(event, ev.JobCancelled):
            failure.append(_("cancelled"))

    try:
        await drive(scheduler, service, [job.id], report)
    finally:
        writer.close()
        if tty:
            print("\r", end="", file=sys.stderr)
    if failure:
        raise BackendError(failure[0])
    return saved


def _dry_run(settings: Any, config: Any, *, as_json: bool) -> int:
    if settings.provider == "local":
        print(json.dumps(settings.to_dict(), indent=None if as_json else 2))
        return 0
    from ..core.nai.request import build_request, redact_body
    from ..core.nai.vibe import resolve_vibes_offline

    encodings, missing = resolve_vibes_offline(settings)
    stream = "msgpack" if config.nai.stream else None
    body = build_request(settings, vibe_encodings=encodings or None, stream=stream)
    endpoint = "/ai/generate-image-stream" if stream else "/ai/generate-image"
    print(_("dry run: would POST {url}; nothing sent").format(url=config.nai.base_url + endpoint), file=sys.stderr)
    if missing:
        print(ngettext("dry run: {n} vibe not encoded yet (placeholder shown)",
                       "dry run: {n} vibes not encoded yet (placeholders shown)", missing).format(n=missing),
              file=sys.stderr)
    if as_json:
        print(json.dumps(redact_body(body), ensure_ascii=False))
    else:
        print(json.dumps(body, ensure_ascii=False, indent=2))
    return 0
