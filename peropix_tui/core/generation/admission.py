"""The one admission check: the cost of what is queued + this run, against balance and budget.

The cost meter (what it shows and when it turns red), the TUI's runner (whether "generate" starts)
and the command line (``peropix run`` / ``queue resume``) all call these functions, so they always
agree. "Queued" means every NovelAI job that has not finished (pending, running or paused: paused
ones are spent when resumed). The budget (``generation.budget``) caps one run; the balance caps
queued + run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ...i18n import _
from ..costing import RunCost, pending_cost, run_cost
from ..jobs import TOOL, Job, JobState
from ..slots import SlotSet

QUEUED = (JobState.PENDING, JobState.RUNNING, JobState.PAUSED)


@dataclass(frozen=True)
class Account:
    """What is known of the NovelAI account (None: unknown, nothing is assumed)."""

    anlas: int | None = None
    tier: int | None = None
    active: bool = True


def pooled(accounts: Iterable[Account]) -> Account:
    """Several NovelAI accounts as one for a whole run's check: the balances added up (unknown when
    any is unknown), the lowest tier (fewest free images: the cost is not under-counted).

    Each job is then checked against the account it runs on when it is dispatched
    (:attr:`~.scheduler.Scheduler.accounts`)."""
    accs = list(accounts)
    if not accs:
        return Account()
    balances = [a.anlas for a in accs]
    tiers = [a.tier for a in accs if a.tier is not None]
    return Account(None if any(b is None for b in balances) else sum(b for b in balances if b is not None),
                   min(tiers) if len(tiers) == len(accs) else None, all(a.active for a in accs))


def queued_jobs(jobs: Iterable[Job]) -> list[Job]:
    return [j for j in jobs if j.state in QUEUED]


def queued_cost(jobs: Iterable[Job], account: Account) -> int:
    """Anlas still to be spent by the queue's unfinished NovelAI jobs (generations and tools)."""
    from .tool_jobs import tool_job_cost

    queued = queued_jobs(jobs)
    gen = pending_cost([j.settings for j in queued if j.kind != TOOL], tier=account.tier, active=account.active)
    return gen + sum(tool_job_cost(j.tool, tier=account.tier, active=account.active)
                     for j in queued if j.kind == TOOL)


def price(workspace: SlotSet, jobs: Iterable[Job], account: Account, budget: int) -> RunCost:
    """The run's cost with the queue's in ``pending`` (what the cost meter shows)."""
    return run_cost(workspace, tier=account.tier, active=account.active, balance=account.anlas, budget=budget,
                    pending=queued_cost(jobs, account))


def refusal(workspace: SlotSet, all_slots: bool, jobs: Iterable[Job], account: Account,
            budget: int) -> str | None:
    """Why this run must not start (one sentence), or None."""
    ws = workspace if all_slots else SlotSet(base=workspace.base)
    reason = price(ws, jobs, account, budget).check(all_slots)
    # TRANSLATORS: a refusal ("this run would cost …") as a sentence: the full stop of the language
    return None if reason is None else _("{reason}.").format(reason=reason[0].upper() + reason[1:])


def queue_refusal(jobs: Iterable[Job], account: Account) -> str | None:
    """Why resuming the queue must not start: its unfinished jobs cost more than the balance."""
    total = queued_cost(jobs, account)
    if account.anlas is not None and total > account.anlas:
        return _("The queued jobs would cost {total} Anlas, but the balance is {balance} Anlas.").format(
            total=total, balance=account.anlas)
    return None


def tools_refusal(total: int, jobs: Iterable[Job], account: Account, budget: int) -> str | None:
    """Why a tool run of ``total`` Anlas must not start (the same rule as a generation run: the
    budget caps the run, the balance caps what is queued plus the run), or None."""
    if budget and total > budget:
        return _("This run would cost {total} Anlas, over your budget of {budget} (generation.budget).").format(
            total=total, budget=budget)
    queued = queued_cost(jobs, account)
    if account.anlas is not None and queued + total > account.anlas:
        if queued:
            return _("This run would cost {total} Anlas with {queued} Anlas already queued, "
                     "but the balance is {balance} Anlas.").format(total=total, queued=queued, balance=account.anlas)
        return _("This run would cost {total} Anlas, but the balance is {balance} Anlas.").format(
            total=total, balance=account.anlas)
    return None
