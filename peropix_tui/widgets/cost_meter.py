"""The always-visible cost meter: this image, the whole slot plan, free/vibe notes, balance.

It reads the app's typed services (:func:`peropix_tui.services.services`): ``workspace``,
``balance`` (the latest BalanceUpdated, with the V5 Opus usage quota when NovelAI sent one),
``config`` (budget) and ``queue`` (unfinished jobs), prices them with :func:`peropix_tui.core.generation.admission.price`
(the same numbers the job runner and ``peropix run`` use to refuse a run) and renders a few short lines. Call :meth:`recompute`
when any of those change; the Compose screen does on every edit and on BalanceUpdated/QueueChanged.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ..core.costing import RunCost
from ..core.generation.admission import Account, price
from ..core.nai.usage import meter_note
from ..i18n import _, ngettext
from ..services import services

TIERS = {0: "Paper", 1: "Tablet", 2: "Scroll", 3: "Opus"}


def queued_jobs(queue: Any) -> list[Any]:
    """The jobs of the app's queue (empty when there is no queue yet)."""
    return [] if queue is None else list(queue)


class CostMeter(Static):
    """Anlas for this image / the whole slot plan, and the balance; each line says which."""

    DEFAULT_CSS = """
    CostMeter { height: auto; padding: 0 1; border: round $primary-darken-2; border-title-color: $text-muted; }
    CostMeter.-over { border: round $error; }
    """

    cost: reactive[RunCost | None] = reactive(None, always_update=True)  # the image count is not in it

    def on_mount(self) -> None:
        self.border_title = _("Cost")
        self.recompute()

    def recompute(self) -> None:
        app = services(self)
        workspace = app.workspace
        balance = app.balance
        tier = balance.tier if balance is not None else None
        active = balance.active if balance is not None else True
        anlas = balance.anlas if balance is not None else None
        budget = app.config.generation.budget
        # the runner's admission check prices the same way (core.generation.admission)
        self.cost = price(workspace, queued_jobs(app.queue), Account(anlas, tier, active), budget)
        self.set_class(self.cost.exceeds_balance or self.cost.exceeds_budget, "-over")

    def watch_cost(self, cost: RunCost | None) -> None:
        if cost is not None:
            self.border_title = _("Cost")
            app = services(self)
            base = app.workspace.base
            self.update(render_cost(cost, app.balance, base.n_samples, model=base.model))


def render_cost(cost: RunCost, balance: Any = None, images: int = 1, model: str = "") -> Text:
    """The meter's lines, each saying what it prices: this image (Compose's generate key makes the
    base prompt's run of ``images`` image(s)) versus the whole slot plan (slots × repeats, F3).
    For a V5 ``model`` a line shows the Opus usage quota of ``balance`` (when NovelAI sent one)."""
    text = Text()
    plan = ngettext("slot plan ({n} run)", "slot plan ({n} runs)", cost.runs).format(n=cost.runs)  # slots × repeats, F3
    if cost.local:
        text.append(_("local — no Anlas"), style="bold")
        text.append(f"\n{plan}")
        return text
    if cost.error:
        text.append(cost.error, style="bold red")
        return text
    text.append(_("this image: ") if images == 1
                else ngettext("this run ({n} image): ", "this run ({n} images): ", images).format(n=images))
    over_now = cost.balance is not None and cost.next_run + cost.pending > cost.balance
    text.append(_("free") if cost.free and cost.next_run == 0 else _("{anlas} Anlas").format(anlas=cost.next_run),
                style="bold red" if over_now else "bold")
    text.append(f"\n{plan}: ")
    text.append(_("{anlas} Anlas").format(anlas=cost.whole_queue), style="bold red" if cost.exceeds_balance else "bold")
    if cost.pending:
        text.append("\n" + _("already queued: {anlas} Anlas").format(anlas=cost.pending))
    for note in cost.notes:
        text.append(f"\n{note}", style="italic")
    text.append("\n" + balance_line(balance))
    quota = getattr(balance, "quota", None) if balance is not None and not getattr(balance, "error", "") else None
    quota_line = meter_note(model, quota)
    if quota_line is not None:
        text.append("\n" + quota_line, style="bold red" if quota is not None and quota.low else "")
    if cost.exceeds_budget:
        text.append("\n" + _("slot plan over budget ({budget})").format(budget=cost.budget), style="bold red")
    return text


def balance_line(balance: Any) -> str:
    if balance is None:
        return _("balance: —")
    if getattr(balance, "error", ""):
        return _("balance: {error}").format(error=balance.error)
    tier = TIERS.get(balance.tier, "?") if balance.tier is not None else "?"
    anlas = "?" if balance.anlas is None else f"{balance.anlas}"
    if balance.active:
        return _("balance {anlas} Anlas ({tier})").format(anlas=anlas, tier=tier)
    return _("balance {anlas} Anlas ({tier}, inactive)").format(anlas=anlas, tier=tier)
