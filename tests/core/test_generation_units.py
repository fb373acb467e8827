"""Generation core pieces without a face: progress throttling, the peropix object, events as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peropix_tui.core.backend import GeneratedImage, Progress
from peropix_tui.core.generation.events import ImageSaved, JobFailed, JobProgressed, event_dict
from peropix_tui.core.generation.peropix import build_peropix, job_tag, with_metadata
from peropix_tui.core.generation.service import ProgressThrottle
from peropix_tui.core.jobs import Job
from peropix_tui.core.metadata import read_metadata, write_novelai_png
from peropix_tui.core.settings import GenerationSettings


def test_progress_is_throttled_to_ten_a_second_but_keeps_notes_and_the_last_step() -> None:
    now = [0.0]
    posted: list[Any] = []
    relay = ProgressThrottle("j1", posted.append, clock=lambda: now[0])
    for step in range(1, 101):  # 100 steps in 1 s
        now[0] = step * 0.01
        relay(Progress(step, 100))
        if step == 50:
            relay(Progress(step, 100, message="account busy, retrying in 3 s"))
    steps = [m.step for m in posted if isinstance(m, JobProgressed)]
    assert len(steps) <= 12 and steps[-1] == 100
    assert any(m.note.startswith("account busy") for m in posted)


def test_metadata_added_to_png_keeps_the_image_and_names_the_job() -> None:
    from PIL import Image

    png = write_novelai_png(Image.new("RGB", (8, 8), (1, 2, 3)), GenerationSettings(prompt="a"), seed=7)
    job = Job("j0042", GenerationSettings(prompt="a, smile"), 3, "smile", 1, base_prompt="a")
    out = with_metadata(GeneratedImage(png, 7), build_peropix(job, queue_uid="q1"))
    rec = read_metadata(out)
    assert rec.peropix is not None
    assert (rec.peropix["slot_name"], rec.peropix["slot_index"], rec.peropix["repeat"]) == ("smile", 3, 1)
    assert (rec.peropix["job"], rec.peropix["queue"], rec.peropix["base_prompt"]) == ("j0042", "q1", "a")
    assert rec.settings.seed == 7
    assert job_tag(out) == ("q1", "j0042")
    assert job_tag(png) is None  # an image without our object names no job
    not_png = GeneratedImage(b"RIFFxxxxWEBP", 1, extension="webp")
    assert with_metadata(not_png, {"a": 1}) == b"RIFFxxxxWEBP"


def test_wildcard_template_is_kept_when_the_sent_settings_differ() -> None:
    job = Job("j1", GenerationSettings(prompt="1girl, __hair__"))
    sent = job.settings.copy(prompt="1girl, red hair")
    extra = build_peropix(job, sent=sent)
    assert extra["template"]["prompt"] == "1girl, __hair__"
    assert "template" not in build_peropix(job, sent=job.settings)


def test_events_as_json_objects() -> None:
    assert event_dict(ImageSaved("j1", Path("/o/001_a_0000001.png"), 5)) == {
        "event": "image_saved", "job": "j1", "path": "/o/001_a_0000001.png", "seed": 5}
    assert event_dict(JobProgressed("j1", 3, 28, b"jpeg", "busy")) == {
        "event": "job_progressed", "job": "j1", "step": 3, "total": 28, "note": "busy"}
    assert event_dict(JobFailed("j2", "HTTP 500", True, 500))["event"] == "job_failed"
