from __future__ import annotations

import random

from peropix_tui.core.settings import CharacterPrompt, GenerationSettings
from peropix_tui.core.slots import Slot, SlotSet, join_prompt


def test_join_prompt_skips_empty_parts() -> None:
    assert join_prompt("1girl, solo,", "smile") == "1girl, solo, smile"
    assert join_prompt("", "smile") == "smile"
    assert join_prompt("1girl", "") == "1girl"


def test_three_slots_two_repeats_one_locked_gives_four_runs() -> None:
    ws = SlotSet(
        base=GenerationSettings(prompt="1girl"),
        slots=[Slot("happy", "smile"), Slot("sad", "tears", locked=True), Slot("angry", "frown")],
        repeats=2,
    )
    runs = ws.expand(random.Random(1))
    assert [(r.slot_index, r.slot_name, r.repeat) for r in runs] == [
        (0, "happy", 0), (2, "angry", 0), (0, "happy", 1), (2, "angry", 1),
    ]
    assert runs[1].settings.prompt == "1girl, frown"
    assert len({r.settings.seed for r in runs}) == 4
    assert ws.base.seed is None  # the workspace itself is untouched


def test_fixed_seed_counts_up_per_run_and_single_run_keeps_it() -> None:
    ws = SlotSet(base=GenerationSettings(prompt="x", seed=100), slots=[Slot("a"), Slot("b")], repeats=1)
    assert [r.settings.seed for r in ws.expand()] == [100, 101]
    assert [r.settings.seed for r in SlotSet(base=GenerationSettings(seed=7)).expand()] == [7]


def test_slot_overrides_and_round_trip() -> None:
    ws = SlotSet(
        base=GenerationSettings(prompt="base", width=832, height=1216),
        slots=[Slot("wide", "x", width=1216, height=832, characters=[CharacterPrompt("boy", position="A1")])],
    )
    run = ws.expand()[0]
    assert (run.settings.width, run.settings.height) == (1216, 832)
    assert run.settings.characters[0].position == "A1"
    assert SlotSet.from_dict(ws.to_dict()) == ws
