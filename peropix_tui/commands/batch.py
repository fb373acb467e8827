"""Running the persistent queue headlessly: shared by ``peropix run`` and ``peropix queue resume``.

:func:`drive` runs a :class:`~peropix_tui.core.generation.driver.BatchDriver` to the end with a
reporter: on a terminal a progress bar (stderr) and one line per finished job (stdout); with
``--json`` one JSON object per event on stdout. Ctrl+C once stops after the current image, twice
stops at once (the running job comes back paused); pending jobs stay queued either way.

People read the lines in the language of the command line; the ``--json`` lines carry the English
text whatever the language (a :class:`Said` is one message in both).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from ..core.config import Config, Secret
from ..core.generation import events as ev
from ..core.generation.account import fetch_account
from ..core.generation.admission import Account, pooled
from ..core.generation.backends import BackendPool
from ..core.generation.driver import BatchDriver, EventHook
from ..core.generation.output import ImageWriter
from ..core.generation.scheduler import Scheduler, Worker
from ..core.generation.service import GenerationService
from ..core.generation.workers import (
    DEFAULT_ACCOUNT,
    NaiAccount,
    load_accounts,
    nai_worker_id,
    workers_from_config,
)
from ..core.jobs import Job, JobState, shown
from ..i18n import N_, _, ngettext

EXIT_INTERRUPTED = 130


class Translator(Protocol):
    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


class _English:
    """The text in the code, whatever the language (what ``--json`` output carries)."""

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural


ENGLISH: Translator = _English()


@dataclass(frozen=True)
class Said:
    """One message twice: in English (``--json``) and in the current language (people)."""

    english: str
    shown: str

    @classmethod
    def of(cls, render: Callable[[Translator], str], **fields: object) -> Said:
        """``render(t)`` writes the message with ``t.gettext`` / ``t.ngettext`` (literal msgids, so
        that they are extracted); it runs once in English and once in the current language, and
        ``fields``, when given, fill the ``{fields}`` of both."""
        from .. import i18n

        english, shown = render(ENGLISH), render(i18n)
        if fields:
            english, shown = english.format(**fields), shown.format(**fields)
        return cls(english, shown)

    @classmethod
    def plain(cls, text: str) -> Said:
        """Text that is the same in both (a message from elsewhere, already in its final form)."""
        return cls(text, text)


Note = Callable[["str | Said"], None]


def said(text: str | Said) -> Said:
    return text if isinstance(text, Said) else Said.plain(text)


NO_TOKEN = N_("No NovelAI token: set PEROPIX_NAI_TOKEN or save one in the TUI's Settings (F5).")


class BatchError(Exception):
    """A batch that cannot start (token, cost); printed as one line, exit code 1."""


def one_line_errors(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A command whose refusals (:class:`BatchError`, another process owning the queue) print one line."""
    from ..core.generation.lock import QueueLocked

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (BatchError, QueueLocked) as e:
            print(_("peropix: error: {message}").format(message=e), file=sys.stderr)
            return 1

    return wrapper


@dataclass
class Outcome:
    done: int
    total: int
    interrupted: bool
    why: Said | None = None

    @property
    def reason(self) -> str:
        """Why not every job is done, in English ("" when all are)."""
        return self.why.english if self.why is not None else ""

    @property
    def code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return 0 if self.done == self.total else 1


class Reporter:
    """Turns core events into terminal lines / a progress bar, or JSON lines."""

    def __init__(self, job_ids: list[str], *, as_json: bool, out: TextIO | None = None,
                 err: TextIO | None = None) -> None:
        self.ids = set(job_ids)
        self.total = len(job_ids)
        self.as_json = as_json
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.tty = not as_json and self.err.isatty()
        self.ended = 0
        self._bar_shown = False

    def __call__(self, event: ev.CoreEvent, job: Job | None) -> None:
        if self.as_json:
            print(json.dumps(ev.event_dict(event), ensure_ascii=False), file=self.out, flush=True)
            return
        label = job.label if job is not None else event.job_id
        if isinstance(event, ev.JobProgressed):
            if event.note:
                self._line(f"{event.job_id} {label}: {shown(event.note)}", to_err=True)
            self._bar(event)
            return
        if isinstance(event, ev.WorkerLost):
            what = shown(event.notice) if event.notice else _("worker {worker} lost").format(worker=event.worker)
            self._line(f"{event.job_id} {label}: {what}", to_err=True)
        elif isinstance(event, ev.ImageSaved):
            self._line(_("{job} {label}: saved {file}").format(job=event.job_id, label=label, file=event.path))
        elif isinstance(event, ev.JobFinished | ev.JobFailed | ev.JobCancelled):
            self.ended += 1
            if isinstance(event, ev.JobFailed):
                self._line(_("{job} {label}: failed: {error}").format(job=event.job_id, label=label,
                                                                      error=shown(event.error)))
            elif isinstance(event, ev.JobCancelled):
                self._line(_("{job} {label}: stopped").format(job=event.job_id, label=label))
            self._bar(None)

    def note(self, text: str | Said) -> None:
        message = said(text)
        if self.as_json:
            print(json.dumps({"event": "note", "message": message.english}, ensure_ascii=False), file=self.out,
                  flush=True)
        else:
            self._line(f"peropix: {message.shown}", to_err=True)

    def _line(self, text: str, *, to_err: bool = False) -> None:
        if self._bar_shown:
            print("\r\x1b[K", end="", file=self.err)
            self._bar_shown = False
        print(text, file=self.err if to_err else self.out, flush=True)

    def _bar(self, p: ev.JobProgressed | None) -> None:
        if not self.tty or not self.total:
            return
        width = 24
        filled = int(width * self.ended / self.total)
        step = "  " + _("step {step}/{total}").format(step=p.step, total=p.total) if p is not None and p.total else ""
        bar = "#" * filled + "-" * (width - filled)
        jobs = ngettext("{ended}/{total} job", "{ended}/{total} jobs", self.total).format(ended=self.ended,
                                                                                         total=self.total)
        print(f"\r[{bar}] {jobs}{step}\x1b[K", end="", file=self.err, flush=True)
        self._bar_shown = True

    def finish(self, outcome: Outcome) -> None:
        if self._bar_shown:
            print("", file=self.err)
        if self.as_json:
            print(json.dumps({"event": "batch_ended", "done": outcome.done, "total": outcome.total,
                              "interrupted": outcome.interrupted, "reason": outcome.reason, "exit": outcome.code}),
                  file=self.out, flush=True)


async def account_for(jobs: list[Job], config: Config, token: Secret | None, reporter: Reporter) -> Account:
    """The account for the admission check (unknown when no NovelAI job needs it or it cannot be read)."""
    if not any(j.settings.provider == "nai" for j in jobs):
        return Account()
    if not token:
        raise BatchError(_(NO_TOKEN))
    report = await fetch_account(config, token)
    if report.account is None:
        reporter.note(Said.of(lambda t: t.gettext("balance unknown ({error}); the cost is not checked against it"),
                              error=report.error))
        return Account()
    return report.account


def service_for(config: Config, token: Secret | None,
                accounts: list[NaiAccount] | None = None) -> tuple[GenerationService, ImageWriter]:
    writer = ImageWriter(config.output_dir)
    named = {a.name: a.token for a in accounts or [] if a.name != DEFAULT_ACCOUNT}
    return GenerationService(BackendPool(config, token, named), writer), writer


def pool_for(config: Config, token: Secret | None) -> tuple[list[NaiAccount], tuple[Worker, ...]]:
    """The NovelAI accounts (default token + ``[nai] accounts``) and every worker of the config."""
    from ..core.config import ConfigError

    try:
        accounts = load_accounts(config, token)
    except ConfigError as e:
        raise BatchError(str(e)) from None
    return accounts, workers_from_config(config, accounts)


async def accounts_for(jobs: list[Job], config: Config, accounts: list[NaiAccount],
                       reporter: Reporter) -> tuple[Account, dict[str, Account]]:
    """(all accounts as one, worker id → account) for the admission checks; unknown when not needed."""
    if not any(j.settings.provider == "nai" for j in jobs):
        return Account(), {}
    if not accounts:
        raise BatchError(_(NO_TOKEN))
    reports = await asyncio.gather(*(fetch_account(config, a.token) for a in accounts))
    per: dict[str, Account] = {}
    for acc, report in zip(accounts, reports, strict=True):
        if report.account is None:
            reporter.note(Said.of(lambda t: t.gettext(
                "account {name}: balance unknown ({error}); the cost is not checked against it"),
                name=acc.name, error=report.error))
        per[nai_worker_id(acc.name)] = report.account or Account()
    return pooled(per.values()), per


def _stderr_note(text: str | Said) -> None:
    print(f"peropix: {said(text).shown}", file=sys.stderr, flush=True)


async def drive(scheduler: Scheduler, service: GenerationService, job_ids: list[str], on_event: EventHook,
                note: Note = _stderr_note) -> Outcome:
    """Run the queue until nothing can start; the outcome counts the jobs of ``job_ids``."""
    def on_probe(worker: Worker, ok: bool, error: str) -> None:
        if ok:
            note(Said.of(lambda t: t.gettext("worker {worker} is back"), worker=worker.id))
        else:
            note(Said.of(lambda t: t.gettext("worker {worker} still down ({error})"), worker=worker.id, error=error))

    driver = BatchDriver(scheduler, service, on_event, on_probe=on_probe)
    loop = asyncio.get_running_loop()
    presses = [0]

    def on_sigint() -> None:
        presses[0] += 1
        if presses[0] == 1:
            note(Said.of(lambda t: t.gettext(
                "stopping after the current image (Ctrl+C again stops at once); pending jobs stay queued")))
            driver.stop_soon()
        else:
            driver.stop_now()

    installed = _install(loop, on_sigint)
    try:
        await driver.run()
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
        await service.backends.aclose()
    return outcome_of(scheduler, job_ids, interrupted=driver.stopping)


async def run_reported(scheduler: Scheduler, service: GenerationService, job_ids: list[str],
                       reporter: Reporter) -> int:
    """:func:`drive` the jobs to the end, reported; the exit code (and the reason on stderr when not 0)."""
    outcome = await drive(scheduler, service, job_ids, reporter, reporter.note)
    reporter.finish(outcome)
    if outcome.why is not None:
        print(f"peropix: {outcome.why.shown}", file=sys.stderr)
    return outcome.code


def _install(loop: asyncio.AbstractEventLoop, handler: Callable[[], None]) -> bool:
    try:
        loop.add_signal_handler(signal.SIGINT, handler)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / no signals here
        return False
    return True


def outcome_of(scheduler: Scheduler, job_ids: list[str], *, interrupted: bool) -> Outcome:
    jobs = [j for j in scheduler.queue if j.id in set(job_ids)]
    done = [j for j in jobs if j.state is JobState.DONE]
    rest = [j for j in jobs if j.state is not JobState.DONE]
    why: Said | None = None
    left, total = len(rest), len(jobs)
    if interrupted and rest:
        why = Said.of(lambda t: t.ngettext(
            "interrupted: {n} job left in the queue; `peropix queue resume` continues",
            "interrupted: {n} jobs left in the queue; `peropix queue resume` continues", left), n=left)
    elif rest:
        counts: dict[str, int] = {}
        for j in rest:
            counts[j.state.value] = counts.get(j.state.value, 0) + 1
        first = next((j for j in rest if j.error or j.notice), None)

        def reason(t: Translator) -> str:
            what = ", ".join(state_count(state, n, t) for state, n in counts.items())
            detail = "" if first is None else t.gettext(" (first error: {job} {error})").format(
                job=first.id, error=first.error or first.notice)
            return t.ngettext("{left} of {total} job not done: {what}{detail}",
                              "{left} of {total} jobs not done: {what}{detail}", total).format(
                left=left, total=total, what=what, detail=detail)

        why = Said.of(reason)
    return Outcome(len(done), total, interrupted and bool(rest), why)


def state_count(state: str, n: int, t: Translator) -> str:
    """``"2 pending"``: how many jobs are in ``state`` (a JobState value), as the Queue screen says it."""
    forms = {
        "pending": t.ngettext("{n} pending", "{n} pending", n), "running": t.ngettext("{n} running", "{n} running", n),
        "done": t.ngettext("{n} done", "{n} done", n), "failed": t.ngettext("{n} failed", "{n} failed", n),
        "cancelled": t.ngettext("{n} cancelled", "{n} cancelled", n),
        "paused": t.ngettext("{n} paused", "{n} paused", n),
    }
    return forms.get(state, "{n} " + state).format(n=n)


def out_folder(arg: str | None, config: Config) -> Path:
    """``--out DIR`` as given, else this invocation's session folder in the output folder."""
    from ..core.generation.session import new_session_folder

    return Path(arg).expanduser().resolve() if arg else new_session_folder(config.output_dir)
