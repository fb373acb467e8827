"""Runner pieces without the UI: progress throttling, metadata embedding, refusal reasons."""

from __future__ import annotations

from typing import Any

from peropix_tui.core.backend import GeneratedImage, Progress
from peropix_tui.core.metadata import read_metadata, write_novelai_png
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.messages import JobProgressed
from peropix_tui.runner import ProgressRelay, with_metadata


def test_progress_is_throttled_to_ten_a_second_but_keeps_notes_and_the_last_step() -> None:
    now = [0.0]
    posted: list[Any] = []
    relay = ProgressRelay("j1", posted.append, clock=lambda: now[0])
    for step in range(1, 101):  # 100 steps in 1 s
        now[0] = step * 0.01
        relay(Progress(step, 100))
        if step == 50:
            relay(Progress(step, 100, message="account busy, retrying in 3 s"))
    steps = [m.step for m in posted if isinstance(m, JobProgressed)]
    assert len(steps) <= 12 and steps[-1] == 100
    assert any(m.note.startswith("account busy") for m in posted)


def test_metadata_added_to_png_keeps_the_image() -> None:
    from PIL import Image

    png = write_novelai_png(Image.new("RGB", (8, 8), (1, 2, 3)), GenerationSettings(prompt="a"), seed=7)
    out = with_metadata(GeneratedImage(png, 7), {"provider": "nai", "slot_name": "smile", "base_prompt": "a"})
    rec = read_metadata(out)
    assert rec.peropix is not None and rec.peropix["slot_name"] == "smile"
    assert rec.settings.seed == 7
    not_png = GeneratedImage(b"RIFFxxxxWEBP", 1, extension="webp")
    assert with_metadata(not_png, {"a": 1}) == b"RIFFxxxxWEBP"
