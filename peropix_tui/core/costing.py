"""What the next run and the whole slot set would cost, and whether to refuse it (no Textual).

The cost meter shows these numbers and the job runner refuses a run with :meth:`RunCost.check`, so
the two always agree. Per-request prices come from NovelAI's official formula
(:func:`peropix_tui.core.nai.cost.estimate_cost`); this module only counts requests:

- **next run**: one request of the base settings (what "generate" in Compose starts);
- **whole queue**: every unlocked slot × repeats, one request each (what "generate all" starts);
  Opus-free applies per request, and a vibe that needs encoding is paid once, on the first request.

Seeds do not change prices, so runs are counted without drawing seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..i18n import N_, _, ngettext
from .settings import GenerationSettings, SettingsError

if TYPE_CHECKING:
    from .slots import SlotSet

LOCAL_NOTE = N_("local — no Anlas")


@dataclass(frozen=True)
class RunCost:
    """Anlas for the next run and for the whole slot set, with the checks against balance/budget.

    ``exceeds_balance`` / ``exceeds_budget`` describe the whole slot set plus ``pending`` (what is
    already queued); :meth:`check` answers for the run actually requested.
    """

    next_run: int
    whole_queue: int
    runs: int
    free: bool
    notes: tuple[str, ...] = ()
    exceeds_balance: bool = False
    exceeds_budget: bool = False
    local: bool = False
    balance: int | None = None
    budget: int = 0
    pending: int = 0
    error: str = ""

    def amount(self, all_slots: bool) -> int:
        return self.whole_queue if all_slots else self.next_run

    def check(self, all_slots: bool) -> str | None:
        """None when the run may start, else a clear one-line reason to refuse it (in the current language)."""
        if self.local:
            return None
        if self.error:
            return _("cannot estimate the cost: {error}").format(error=self.error)
        cost = self.amount(all_slots)
        if self.budget and cost > self.budget:
            if all_slots:
                return ngettext("{n} run(s) would cost {cost} Anlas, over your budget of {budget} (generation.budget)",
                                "{n} run(s) would cost {cost} Anlas, over your budget of {budget} (generation.budget)",
                                self.runs).format(n=self.runs, cost=cost, budget=self.budget)
            return _("this run would cost {cost} Anlas, over your budget of {budget} (generation.budget)").format(
                cost=cost, budget=self.budget)
        if self.balance is not None and cost + self.pending > self.balance:
            if all_slots and self.pending:
                text = ngettext("{n} run(s) would cost {cost} Anlas + {pending} already queued, "
                                "but the balance is {balance} Anlas",
                                "{n} run(s) would cost {cost} Anlas + {pending} already queued, "
                                "but the balance is {balance} Anlas", self.runs)
            elif all_slots:
                text = ngettext("{n} run(s) would cost {cost} Anlas, but the balance is {balance} Anlas",
                                "{n} run(s) would cost {cost} Anlas, but the balance is {balance} Anlas", self.runs)
            elif self.pending:
                text = _("this run would cost {cost} Anlas + {pending} already queued, "
                         "but the balance is {balance} Anlas")
            else:
                text = _("this run would cost {cost} Anlas, but the balance is {balance} Anlas")
            return text.format(n=self.runs, cost=cost, pending=self.pending, balance=self.balance)
        return None


def local_cost(workspace: SlotSet) -> RunCost:
    return RunCost(0, 0, _run_count(workspace), True, (LOCAL_NOTE,), local=True)


def run_cost(
    workspace: SlotSet,
    *,
    tier: int | None,
    active: bool = True,
    balance: int | None = None,
    budget: int = 0,
    pending: int = 0,
    uncached_vibes: int | None = None,
) -> RunCost:
    """Price the workspace for NovelAI (``tier`` None = unknown: nothing is assumed free)."""
    base = workspace.base
    runs = _run_count(workspace)
    if base.provider in ("local", "comfyui"):  # no Anlas: your own GPU or ComfyUI server
        return local_cost(workspace)
    uncached = count_uncached(base) if uncached_vibes is None else uncached_vibes
    try:
        nxt, encode, free = _price_base(base, tier, active, uncached)
        per_repeat = sum(_price(s, tier, active, 0) for s in _targets(workspace))
    except SettingsError as e:
        return RunCost(0, 0, runs, False, (str(e),), balance=balance, budget=budget, pending=pending, error=str(e))
    whole = per_repeat * max(1, workspace.repeats) + encode
    notes = _notes(base, free, uncached, encode, tier)
    return RunCost(
        next_run=nxt,
        whole_queue=whole,
        runs=runs,
        free=free,
        notes=notes,
        exceeds_balance=balance is not None and whole + pending > balance,
        exceeds_budget=bool(budget) and whole > budget,
        balance=balance,
        budget=budget,
        pending=pending,
    )


def _price_base(base: GenerationSettings, tier: int | None, active: bool, uncached: int) -> tuple[int, int, bool]:
    """(next-run total, its vibe-encode part, Opus-free) for the base settings."""
    from .nai.cost import estimate_cost

    with_encode = estimate_cost(base, tier=tier or 0, active=active, uncached_vibes=uncached)
    without = estimate_cost(base, tier=tier or 0, active=active, uncached_vibes=0)
    return with_encode.total, with_encode.total - without.total, bool(with_encode.opus_free)


def _price(settings: GenerationSettings, tier: int | None, active: bool, uncached: int) -> int:
    from .nai.cost import estimate_cost

    return int(estimate_cost(settings, tier=tier or 0, active=active, uncached_vibes=uncached).total)


def _targets(workspace: SlotSet) -> list[GenerationSettings]:
    if not workspace.slots:
        return [workspace.settings_for(None)]
    return [workspace.settings_for(slot) for _, slot in workspace.active_slots()]


def _run_count(workspace: SlotSet) -> int:
    per_repeat = len(workspace.active_slots()) if workspace.slots else 1
    return per_repeat * max(1, workspace.repeats)


def count_uncached(settings: GenerationSettings) -> int:
    """Enabled vibes that will need an encode: the vibe cache decides when it is available."""
    if not settings.enabled_vibes():  # nothing to look up (and no vibe cache to open)
        return 0
    from .nai.vibe import count_uncached as cache_count

    return int(cache_count(settings))


def _notes(base: GenerationSettings, free: bool, uncached: int, encode: int, tier: int | None) -> tuple[str, ...]:
    notes: list[str] = []
    if free:
        notes.append(_("free (Opus: ≤ 1 MP, ≤ 28 steps)"))
    vibes = len(base.enabled_vibes())
    if vibes and encode:
        notes.append(ngettext("{n} vibe(s) need encoding: +{anlas} Anlas, once",
                              "{n} vibe(s) need encoding: +{anlas} Anlas, once", uncached).format(n=uncached, anlas=encode))
    elif vibes:
        notes.append(ngettext("{n} vibe(s): nothing to encode", "{n} vibe(s): nothing to encode", vibes).format(n=vibes))
    if tier is None:
        notes.append(_("tier unknown (no balance yet): Opus-free not assumed"))
    return tuple(notes)


def pending_cost(settings: list[GenerationSettings], *, tier: int | None, active: bool = True) -> int:
    """Anlas still to be spent by queued NovelAI jobs (local jobs and unpriceable ones count 0)."""
    from .nai.cost import estimate_cost

    total = 0
    for s in settings:
        if s.provider != "nai":
            continue
        try:
            total += int(estimate_cost(s, tier=tier or 0, active=active, uncached_vibes=0).total)
        except SettingsError:
            continue
    return total
