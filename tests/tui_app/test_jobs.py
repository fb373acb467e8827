"""The queue state machine and its persistence (pure, no Textual)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peropix_tui.core.jobs import JobQueue, JobState, JobStateError, QueueFileError
from peropix_tui.core.settings import GenerationSettings


def _runs(n: int) -> list[tuple[GenerationSettings, int | None, str, int]]:
    return [(GenerationSettings(prompt=f"p{i}", seed=i), i, f"s{i}", 0) for i in range(n)]


def test_lifecycle_pending_running_done(tmp_path: Path) -> None:
    q = JobQueue(tmp_path / "queue.json")
    a, b = q.add(_runs(2))
    assert q.next_pending() is a
    q.start(a.id)
    assert q.running is a and q.next_pending() is b
    q.progress(a.id, 14, 28)
    assert a.fraction == 0.5
    q.add_image(a.id, tmp_path / "x.png")
    q.finish(a.id)
    assert a.state is JobState.DONE and a.images == [str(tmp_path / "x.png")]
    with pytest.raises(JobStateError):
        q.start(a.id)


def test_fail_retry_keeps_seed_and_moves_to_end() -> None:
    q = JobQueue()
    a, b = q.add(_runs(2))
    q.start(a.id)
    q.fail(a.id, "HTTP 500", retryable=True)
    assert a.state is JobState.FAILED and a.error == "HTTP 500"
    assert q.retry_failed() == [a]
    assert [j.id for j in q] == [b.id, a.id]
    assert a.state is JobState.PENDING and a.settings.seed == 0 and a.error == ""


def test_cancel_all_pause_resume_reorder() -> None:
    q = JobQueue()
    a, b, c = q.add(_runs(3))
    q.start(a.id)
    q.pause_pending()
    assert b.state is c.state is JobState.PAUSED
    assert q.next_pending() is None
    q.resume()
    assert q.next_pending() is b
    assert q.reorder(c.id, -5) == 0
    assert [j.id for j in q] == [c.id, a.id, b.id]
    q.cancel_all()
    assert {j.state for j in q} == {JobState.CANCELLED}
    assert q.clear_finished() and len(q) == 0


def test_restart_brings_pending_and_running_back_paused(tmp_path: Path) -> None:
    path = tmp_path / "queue.json"
    q = JobQueue(path)
    a, b, c = q.add(_runs(3))
    q.start(a.id)
    q.finish(a.id)
    q.start(b.id)  # "crash" while b runs
    again = JobQueue.load(path)
    states = {j.id: j.state for j in again}
    assert states == {a.id: JobState.DONE, b.id: JobState.PAUSED, c.id: JobState.PAUSED}
    assert again.get(c.id).settings.prompt == "p2"
    # new ids never collide with the restored ones
    (d,) = again.add(_runs(1))
    assert d.id not in {a.id, b.id, c.id}


def test_unreadable_queue_is_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "queue.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(QueueFileError, match="queue.json"):
        JobQueue.load(path)
    assert (tmp_path / "queue.json.bad").read_text(encoding="utf-8") == "{not json"
    assert JobQueue.load(path).jobs == []


def test_saved_file_is_json_with_states(tmp_path: Path) -> None:
    path = tmp_path / "queue.json"
    q = JobQueue(path)
    (a,) = q.add(_runs(1))
    q.cancel(a.id)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["jobs"][0]["state"] == "cancelled"
