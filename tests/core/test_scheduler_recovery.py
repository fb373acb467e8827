"""The scheduler (dispatch onto workers, events, pausing failures, read-only), the recovery scan,
the queue lock and the background queue writer: pure core, real files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from peropix_tui.core.backend import GeneratedImage
from peropix_tui.core.generation.admission import Account, queued_cost, refusal
from peropix_tui.core.generation.events import ImageSaved, JobFailed, JobFinished, JobProgressed
from peropix_tui.core.generation.lock import QueueLock, QueueLocked
from peropix_tui.core.generation.output import ImageWriter
from peropix_tui.core.generation.peropix import build_peropix, with_metadata
from peropix_tui.core.generation.recovery import find_job_images
from peropix_tui.core.generation.scheduler import QueueReadOnly, Scheduler, Worker
from peropix_tui.core.generation.session import open_queue
from peropix_tui.core.generation.statefile import BackgroundWriter
from peropix_tui.core.jobs import Job, JobQueue, JobState
from peropix_tui.core.metadata import write_novelai_png
from peropix_tui.core.settings import GenerationSettings
from peropix_tui.core.slots import Slot, SlotSet


def _runs(n: int, provider: str = "nai") -> list[tuple[GenerationSettings, int | None, str, int]]:
    return [(GenerationSettings(prompt=f"p{i}", seed=i, provider=provider), i, f"s{i}", 0) for i in range(n)]


def _state(job: Job) -> JobState:
    return job.state  # read afresh: the scheduler changes it in place


def test_dispatch_fills_each_worker_up_to_its_capacity() -> None:
    sched = Scheduler(JobQueue(), [Worker("acct-a", "nai"), Worker("acct-b", "nai"), Worker("gpu", "local", 2)])
    nai = sched.submit(_runs(3), folder="/o")
    local = sched.submit(_runs(3, "local"), folder="/o")
    started = sched.dispatch()
    assert [(w.id, j.id) for w, j in started] == [
        ("acct-a", nai[0].id), ("acct-b", nai[1].id), ("gpu", local[0].id), ("gpu", local[1].id)]
    assert sched.dispatch() == []  # every worker is full
    assert nai[0].state is JobState.RUNNING and nai[0].worker == "acct-a" and nai[0].started > 0
    sched.apply(JobProgressed(nai[0].id, 3, 28, note="busy"))
    assert (nai[0].step, nai[0].note) == (3, "busy")
    sched.apply(ImageSaved(nai[0].id, Path("/o/000_s0_0000001.png"), 0))
    sched.apply(ImageSaved(nai[0].id, Path("/o/000_s0_0000001.png"), 0))  # the same image twice: once
    assert sched.apply(JobFinished(nai[0].id)).ended
    assert _state(nai[0]) is JobState.DONE and nai[0].images == ["/o/000_s0_0000001.png"]
    assert [(w.id, j.id) for w, j in sched.dispatch()] == [("acct-a", nai[2].id)]


def test_a_pausing_failure_holds_the_rest_and_a_plain_one_does_not() -> None:
    sched = Scheduler(JobQueue())
    a, b, c = sched.submit(_runs(3), folder="/o")
    sched.dispatch()
    applied = sched.apply(JobFailed(a.id, "HTTP 500", True, 500))
    assert applied.paused == [] and a.state is JobState.FAILED and b.state is JobState.PENDING
    sched.dispatch()
    applied = sched.apply(JobFailed(b.id, "Not enough Anlas", False, 402))
    assert applied.paused == [c] and c.state is JobState.PAUSED and sched.dispatch() == []
    assert sched.cancel(c.id) is False and _state(c) is JobState.CANCELLED


def test_a_read_only_scheduler_refuses_requests_and_never_dispatches(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "queue.json")
    queue.add(_runs(1))
    sched = Scheduler(JobQueue.read(tmp_path / "queue.json"), readonly_reason="read-only: owned by PID 42")
    with pytest.raises(QueueReadOnly, match="PID 42"):
        sched.submit(_runs(1), folder="/o")
    assert sched.dispatch() == []
    before = (tmp_path / "queue.json").read_bytes()
    sched.pause_pending()  # in memory only: the owner's file is never written
    assert (tmp_path / "queue.json").read_bytes() == before


def _tagged_png(job: object, uid: str) -> bytes:
    png = write_novelai_png(Image.new("RGB", (8, 8)), GenerationSettings(prompt="p"), seed=1)
    return with_metadata(GeneratedImage(png, 1), build_peropix(job, queue_uid=uid))  # type: ignore[arg-type]


def test_recovery_marks_a_running_job_done_when_its_image_is_on_disk(tmp_path: Path) -> None:
    out = tmp_path / "out" / "session"
    path = tmp_path / "state" / "queue.json"
    queue = JobQueue(path)
    a, b, c = queue.add(_runs(3), folder=str(out))
    queue.start(a.id)
    queue.start(b.id)
    writer = ImageWriter(tmp_path / "out")
    saved = writer.save(_tagged_png(a, queue.uid), out, a.slot_index, a.slot_name)  # crash before it is recorded
    other = JobQueue()  # an image of another queue with the same job id is not ours
    writer.save(_tagged_png(b, other.uid), out, b.slot_index, b.slot_name)
    assert find_job_images(a, queue.uid) == [str(saved)]
    assert find_job_images(b, queue.uid) == []
    session = open_queue(path.parent, images=writer)
    try:
        got = {j.id: j for j in session.queue}
        assert got[a.id].state is JobState.DONE and got[a.id].images == [str(saved)]
        assert got[b.id].state is JobState.PAUSED and "NovelAI may have charged it" in got[b.id].notice
        assert got[c.id].state is JobState.PAUSED and got[c.id].notice == ""
        assert [j.id for j in session.recovered] == [a.id] and [j.id for j in session.interrupted] == [b.id]
        assert writer.store is not None and writer.store.get(f"session/{saved.name}") is not None  # indexed
    finally:
        session.close()
        writer.close()
    again = JobQueue.read(path)  # the recovery was saved: a second crash finds the same facts
    assert [j.state for j in again] == [JobState.DONE, JobState.PAUSED, JobState.PAUSED]
    assert again.uid == queue.uid and again.next_id == queue.next_id


def test_job_ids_are_never_given_twice_even_after_clearing(tmp_path: Path) -> None:
    path = tmp_path / "queue.json"
    q = JobQueue(path)
    (a,) = q.add(_runs(1))
    q.start(a.id)
    q.finish(a.id)
    q.clear_finished()
    (b,) = JobQueue.load(path).add(_runs(1))
    assert b.id != a.id


def test_the_queue_lock_names_the_owner_and_dies_with_it(tmp_path: Path) -> None:
    with QueueLock(tmp_path):
        with pytest.raises(QueueLocked, match=f"PID {os.getpid()}"):
            QueueLock(tmp_path).acquire()
        with pytest.raises(QueueLocked):
            open_queue(tmp_path)
        ro = open_queue(tmp_path, attach_readonly=True)
        assert ro.scheduler.readonly and f"PID {os.getpid()}" in ro.warnings[-1]
    QueueLock(tmp_path).acquire().release()  # free again once the owner let go


def test_background_writer_keeps_the_newest_snapshot_and_flush_waits_for_it(tmp_path: Path) -> None:
    writer = BackgroundWriter()
    q = JobQueue(tmp_path / "queue.json", writer=writer)
    for n in range(20):
        q.add(_runs(1))
        assert len(q) == n + 1
    assert writer.flush(timeout=30)
    assert len(json.loads((tmp_path / "queue.json").read_text())["jobs"]) == 20


def test_one_admission_check_counts_every_unfinished_job() -> None:
    q = JobQueue()
    pending, running, paused, done = q.add(_runs(4))
    for i, s in enumerate((pending, running, paused, done)):
        s.settings.width, s.settings.height, s.settings.steps = 1024, 1536, 28 + i
    q.start(running.id)
    q.pause_pending()
    q.resume()
    paused.state = JobState.PAUSED
    done.state = JobState.DONE
    account = Account(anlas=10_000, tier=3)
    expected = queued_cost([pending, running, paused], account)
    assert queued_cost(q, account) == expected > 0
    ws = SlotSet(base=GenerationSettings(prompt="x", width=1024, height=1536, steps=28),
                 slots=[Slot("a", "1"), Slot("b", "2")])
    assert refusal(ws, True, q, account, 0) is None
    tight = Account(anlas=expected + 1, tier=3)
    reason = refusal(ws, True, q, tight, 0)
    assert reason is not None and f"+ {expected} already queued" in reason
