"""Costing helper: slots × repeats with locks, Opus-free, vibe encode once, balance/budget refusals."""

from __future__ import annotations

import pytest

from peropix_tui.core.costing import LOCAL_NOTE, run_cost
from peropix_tui.core.settings import GenerationSettings, VibeReference
from peropix_tui.core.slots import Slot, SlotSet

cost = pytest.importorskip(
    "peropix_tui.core.nai.cost", reason="peropix_tui.core.nai.cost (NovelAI price formula) is absent"
)


def per_request(s: GenerationSettings, tier: int = 0, uncached: int = 0) -> int:
    return int(cost.estimate_cost(s, tier=tier, active=True, uncached_vibes=uncached).total)


def three_slots(locked: int | None = 1, repeats: int = 2) -> SlotSet:
    base = GenerationSettings(prompt="1girl", width=832, height=1216, steps=28)
    slots = [Slot(name=n, prompt=n, locked=(i == locked)) for i, n in enumerate(("smile", "angry", "sad"))]
    return SlotSet(base=base, slots=slots, repeats=repeats)


def test_three_slots_two_repeats_one_locked_costs_four_runs() -> None:
    ws = three_slots()
    rc = run_cost(ws, tier=0, balance=1000)
    one = per_request(ws.base)
    assert one == 20  # spec §10.4: 832×1216, 28 steps
    assert rc.runs == 4
    assert rc.next_run == one
    assert rc.whole_queue == 4 * one
    assert not rc.free and not rc.exceeds_balance
    assert rc.check(all_slots=True) is None


def test_slot_size_override_is_priced_per_slot() -> None:
    ws = three_slots(locked=None, repeats=1)
    ws.slots[2].width, ws.slots[2].height = 1024, 1536
    rc = run_cost(ws, tier=0)
    big = per_request(ws.base.copy(width=1024, height=1536))
    assert rc.whole_queue == 2 * per_request(ws.base) + big


def test_opus_free_per_request() -> None:
    ws = three_slots()
    rc = run_cost(ws, tier=3, active=True, balance=0)
    assert rc.free and rc.next_run == 0 and rc.whole_queue == 0
    assert any("free" in n for n in rc.notes)
    assert rc.check(all_slots=True) is None
    inactive = run_cost(ws, tier=3, active=False, balance=0)
    assert not inactive.free and inactive.next_run > 0


def test_vibe_encode_is_paid_once_for_the_whole_set() -> None:
    ws = three_slots()
    ws.base.vibes = [VibeReference(path="a.png"), VibeReference(path="b.png", encoding="QUJD")]
    rc = run_cost(ws, tier=0, uncached_vibes=1)
    encode = per_request(ws.base, uncached=1) - per_request(ws.base, uncached=0)
    assert encode == 2
    assert rc.next_run == per_request(ws.base, uncached=1)
    assert rc.whole_queue == 4 * per_request(ws.base, uncached=0) + encode
    assert any("1 vibe(s) need encoding: +2 Anlas, once" in n for n in rc.notes)


def test_refusals_name_balance_and_budget() -> None:
    ws = three_slots()
    rc = run_cost(ws, tier=0, balance=50, pending=10)
    assert rc.exceeds_balance  # 80 + 10 > 50
    assert rc.check(all_slots=False) is None  # 20 + 10 <= 50
    msg = rc.check(all_slots=True)
    assert msg is not None and "80 Anlas" in msg and "balance is 50" in msg and "10 already queued" in msg
    rc = run_cost(ws, tier=0, balance=10_000, budget=60)
    assert rc.exceeds_budget and not rc.exceeds_balance
    assert "budget of 60" in (rc.check(all_slots=True) or "")


def test_local_provider_costs_nothing() -> None:
    ws = three_slots()
    ws.base.provider = "local"
    rc = run_cost(ws, tier=0, balance=0)
    assert rc.local and rc.whole_queue == 0 and rc.notes == (LOCAL_NOTE,)
    assert rc.check(all_slots=True) is None


def test_impossible_settings_refuse_with_the_error() -> None:
    ws = three_slots()
    ws.base.width, ws.base.height, ws.base.steps = 2048, 3072, 50
    rc = run_cost(ws, tier=0)  # over the 140 Anlas per-image cap of the official formula
    assert rc.error
    assert "cannot estimate the cost" in (rc.check(all_slots=False) or "")
