"""``peropix queue``: the persistent job queue the app and ``peropix run`` share.

``list`` reads it (no lock needed); ``resume`` runs every pending or paused job to the end (after a
crash the recovery scan first marks done every job whose image is on disk); ``clear`` removes
finished jobs (``--all``: every job not running); ``cancel JOB_ID`` cancels a waiting job. All but
``list`` take the queue's lock: while another ``peropix`` owns it they refuse, naming its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Collection
from typing import Any

from ..i18n import N_, _, ngettext


def register(sub: Any) -> None:
    p = sub.add_parser("queue", help=_("the persistent job queue: list, resume, clear, cancel"))
    qsub = p.add_subparsers(dest="queue_command", metavar="ACTION", required=True)
    ls = qsub.add_parser("list", help=_("every job with its state"))
    ls.add_argument("--json", action="store_true", help=_("one JSON array of jobs"))
    ls.set_defaults(func=_list)
    rs = qsub.add_parser("resume", help=_("run pending and paused jobs to the end"))
    rs.add_argument("--json", action="store_true", help=_("one JSON object per event line"))
    rs.set_defaults(func=_resume)
    cl = qsub.add_parser("clear", help=_("remove finished jobs (done, failed, cancelled)"))
    cl.add_argument("--all", action="store_true", help=_("also remove pending and paused jobs"))
    cl.set_defaults(func=_clear)
    cn = qsub.add_parser("cancel", help=_("cancel one pending or paused job"))
    cn.add_argument("job_id", metavar="JOB_ID")
    cn.set_defaults(func=_cancel)


def job_record(job: Any) -> dict[str, Any]:
    s = job.settings
    return {"id": job.id, "state": job.state.value, "kind": job.kind, "provider": s.provider,
            "slot_index": job.slot_index, "slot_name": job.slot_name, "repeat": job.repeat, "seed": s.seed,
            "prompt": s.prompt, "folder": job.folder, "images": list(job.images), "error": job.error,
            "notice": job.notice, "worker": job.worker}


def _list(args: argparse.Namespace) -> int:
    from ..core.generation.lock import QueueLock, QueueLocked
    from ..core.generation.session import queue_path
    from ..core.jobs import JobQueue, JobState

    queue = JobQueue.read(queue_path())
    owner_alive = False
    probe = QueueLock(queue_path().parent)
    try:
        probe.acquire()
    except QueueLocked:
        owner_alive = True
    finally:
        probe.release()
    records = [job_record(j) for j in queue]
    orphaned: set[str] = set()
    for rec in records:
        if rec["state"] == JobState.RUNNING.value and not owner_alive and not rec["notice"]:
            rec["notice"] = ORPHANED
            orphaned.add(rec["id"])
    states = asyncio.run(worker_states(queue, owner_alive))
    for rec in records:
        rec["worker_state"] = worker_state_text(*states[rec["worker"]]) if rec["worker"] in states else ""
    if args.json:
        print(json.dumps(records, ensure_ascii=False))
        return 0
    if not records:
        print(_("queue empty"))
        return 0
    for line in job_table(records, orphaned):
        print(line)
    if states:
        print(_("workers: {states}").format(states=", ".join(
            f"{wid} {worker_state_text(state, error, shown=True)}" for wid, (state, error) in states.items())))
    return 0


STATE_NAMES: dict[str, str] = {
    "pending": N_("pending"), "running": N_("running"), "paused": N_("paused"), "done": N_("done"),
    "failed": N_("failed"), "cancelled": N_("cancelled"),
}
"""A job state's name for people, by its stored value (the value itself stays English in files and JSON)."""


def state_name(value: str) -> str:
    return _(STATE_NAMES[value]) if value in STATE_NAMES else value


ORPHANED = N_("interrupted (no peropix owns the queue): resume recovers it")
WORKER_STATES = {"idle": N_("idle"), "busy": N_("busy"), "down": N_("down")}


def worker_state_text(state: str, error: str, *, shown: bool = False) -> str:
    """``idle``, ``busy`` or ``down (error)``: in English (``--json``), or ``shown`` to people."""
    if not shown:
        return f"{state} ({error})" if error else state
    name = _(WORKER_STATES[state]) if state in WORKER_STATES else state
    return _("{state} ({error})").format(state=name, error=error) if error else name


def job_table(records: list[dict[str, Any]], orphaned: Collection[str] = ()) -> list[str]:
    """One line per job, the columns aligned by terminal cells (Korean / Japanese slot names and
    state names take two cells a character)."""
    from ..textwidth import cell_width

    rows = []
    for rec in records:
        name = rec["slot_name"] or _("base")
        notice = _(ORPHANED) if rec["id"] in orphaned else rec["notice"]
        n = len(rec["images"])
        rows.append([rec["id"], state_name(rec["state"]), rec["provider"], rec["worker"] or "-",
                     f"{name} #{rec['repeat'] + 1}", _("seed {seed}").format(seed=rec["seed"]),
                     ngettext("{n} image", "{n} images", n).format(n=n), rec["error"] or notice or ""])
    least = (0, 9, 7, 16, 0, 0, 0, 0)  # the English columns' usual widths, so that most lines keep them
    widths = [max([least[i]] + [cell_width(row[i]) for row in rows]) for i in range(len(least))]
    gaps = ("  ", " ", " ", " ", "  ", "  ", "  ", "")
    lines = []
    for row in rows:
        cells = (text + " " * (width - cell_width(text)) + gap for text, width, gap in zip(row, widths, gaps, strict=True))
        lines.append("".join(cells).rstrip())
    return lines


async def worker_states(queue: Any, owner_alive: bool) -> dict[str, tuple[str, str]]:
    """Worker id → (busy | idle | down, the error when down): the config's workers, jobs running on
    them, ComfyUI servers probed."""
    from ..core.config import ConfigError, Secret, load_config
    from ..core.generation.health import probe_worker
    from ..core.generation.workers import DEFAULT_ACCOUNT, NaiAccount, workers_from_config
    from ..core.jobs import JobState

    try:
        config = load_config()
    except ConfigError:  # the jobs are still listed; the workers are unknown (the error shows on `run`)
        return {}
    names = [DEFAULT_ACCOUNT] + [a.name for a in config.accounts]  # names only: no token is read here
    workers = workers_from_config(config, [NaiAccount(n, Secret("")) for n in names])
    busy = {j.worker for j in queue if j.state is JobState.RUNNING and owner_alive}
    servers = [w for w in workers if w.provider == "comfyui" and w.target]
    probed = await asyncio.gather(*(probe_worker(w, config, timeout=2.0) for w in servers))
    down = {w.id: err for w, (ok, err) in zip(servers, probed, strict=True) if not ok}
    return {w.id: ("down", down[w.id]) if w.id in down else ("busy" if w.id in busy else "idle", "") for w in workers}


def _resume(args: argparse.Namespace) -> int:
    from ..core.config import load_config
    from .batch import one_line_errors

    return one_line_errors(lambda a: asyncio.run(_resume_async(load_config(), a)))(args)


async def _resume_async(config: Any, args: argparse.Namespace) -> int:
    from ..core.config import load_token
    from ..core.generation.admission import queue_refusal
    from ..core.generation.session import open_queue
    from ..core.jobs import shown
    from .batch import BatchError, Reporter, Said, accounts_for, pool_for, run_reported, service_for

    token = load_token()
    accounts, workers = pool_for(config, token)
    service, writer = service_for(config, token, accounts)
    session = open_queue(images=writer, workers=workers)
    try:
        reporter = Reporter([], as_json=args.json)
        for w in session.warnings:
            reporter.note(w)
        for job in session.recovered:
            reporter.note(Said.of(lambda t: t.gettext(
                "{job} {label}: finished before the last stop (image on disk); not sent again"),
                job=job.id, label=job.label))
        for job in session.interrupted:
            head = f"{job.id} {job.label}: "
            reporter.note(Said(head + job.notice, head + shown(job.notice)))
        scheduler = session.scheduler
        from ..core.jobs import JobState

        waiting = scheduler.queue.in_state(JobState.PENDING, JobState.PAUSED)
        if not waiting:
            reporter.note(Said.of(lambda t: t.gettext("nothing to resume")))
            return 0
        account, scheduler.accounts = await accounts_for(waiting, config, accounts, reporter)
        reason = queue_refusal(scheduler.queue, account)
        if reason:
            raise BatchError(reason)
        scheduler.resume()
        ids = [j.id for j in waiting]
        reporter = Reporter(ids, as_json=args.json)
        return await run_reported(scheduler, service, ids, reporter)
    finally:
        writer.close()
        session.close()


def _clear(args: argparse.Namespace) -> int:
    from .batch import one_line_errors

    return one_line_errors(_clear_locked)(args)


def _clear_locked(args: argparse.Namespace) -> int:
    from ..core.generation.session import open_queue

    session = open_queue()
    try:
        gone = session.scheduler.clear_all() if args.all else session.scheduler.clear_finished()
        print(ngettext("removed {n} job", "removed {n} jobs", len(gone)).format(n=len(gone)))
        return 0
    finally:
        session.close()


def _cancel(args: argparse.Namespace) -> int:
    from .batch import one_line_errors

    return one_line_errors(_cancel_locked)(args)


def _cancel_locked(args: argparse.Namespace) -> int:
    from ..core.generation.session import open_queue
    from ..core.jobs import JobStateError

    session = open_queue()
    try:
        try:
            session.scheduler.cancel(args.job_id)
        except KeyError:
            print(_("peropix: error: {message}").format(message=_(
                "no job {job} in the queue (peropix queue list shows them)").format(job=repr(args.job_id))),
                  file=sys.stderr)
            return 1
        except JobStateError as e:
            print(_("peropix: error: {message}").format(message=e), file=sys.stderr)
            return 1
        print(_("cancelled {job}").format(job=args.job_id))
        return 0
    finally:
        session.close()
