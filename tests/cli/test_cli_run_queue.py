"""``peropix run`` and ``peropix queue`` against the NovelAI emulator, in process: names, metadata,
index, JSON events, slot files and presets, refusals, pausing failures, resume, cancel, clear."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from peropix_tui.cli import main
from peropix_tui.core import paths
from peropix_tui.core.generation.lock import QueueLock
from peropix_tui.core.jobs import JobQueue
from peropix_tui.core.metadata import read_metadata
from peropix_tui.core.store import GalleryStore
from tests.nai_emulator import STREAM, NaiEmulator

SMALL = ["--prompt", "1girl", "--width", "64", "--height", "64", "--steps", "4"]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def queue_file() -> JobQueue:
    return JobQueue.read(paths.state_dir() / "queue.json")


def test_run_slots_times_repeats_names_metadata_and_index(
    nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    slots = tmp_path / "set.json"
    slots.write_text(json.dumps({"slots": [{"name": "smile", "prompt": "smile"},
                                           {"name": "angry", "prompt": "angry", "locked": True},
                                           {"name": "cry", "prompt": "crying"}], "repeats": 1}))
    code, out, err = cli(capsys, "run", *SMALL, "--slots", str(slots), "--repeat", "2")
    assert code == 0, err
    saved = [Path(m.group(1)) for m in re.finditer(r"saved (\S+)", out)]
    assert len(saved) == 4
    assert sorted(p.name[:9] for p in saved) == ["000_smile", "000_smile", "002_cry_0", "002_cry_0"]
    root = Path(os.environ["PEROPIX_OUTPUT_DIR"])
    assert {p.parent for p in saved} == {saved[0].parent} and saved[0].parent.parent == root
    assert saved[0].parent.name.startswith("session_")
    jobs = list(queue_file())
    assert [j.state.value for j in jobs] == ["done"] * 4
    assert sorted(len(j.images) for j in jobs) == [1, 1, 1, 1]
    for job in jobs:
        rec = read_metadata(job.images[0])
        assert rec.peropix is not None and rec.peropix["job"] == job.id
        assert rec.peropix["queue"] == queue_file().uid and rec.peropix["base_prompt"] == "1girl"
        assert rec.peropix["slot_name"] == job.slot_name
    prompts = sorted(r.body["input"].split(",")[1].strip() for r in nai_emulator.generations())
    assert prompts == ["crying", "crying", "smile", "smile"]
    with GalleryStore(root) as store:
        assert {s.file for s in store.page(limit=100)} == set(saved)


def test_run_json_prints_one_object_per_event(nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "run", *SMALL, "--slot", "a=smile", "--slot", "b=wink", "--json")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds.count("job_started") == 2 and kinds.count("image_saved") == 2 and kinds.count("job_finished") == 2
    assert events[-1] == {"event": "batch_ended", "done": 2, "total": 2, "interrupted": False, "reason": "",
                          "exit": 0}
    for e in events:
        if e["event"] == "image_saved":
            assert Path(e["path"]).is_file() and re.fullmatch(r"00[01]_[ab]_\d{7}\.png", Path(e["path"]).name)


def test_run_from_a_saved_preset(nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    from peropix_tui.core.presets import save_preset
    from peropix_tui.core.slots import Slot, SlotSet

    save_preset("emotions", SlotSet(slots=[Slot("joy", "laughing"), Slot("sad", "sad")], repeats=1))
    code, out, err = cli(capsys, "run", *SMALL, "--preset", "emotions", "--out", str(Path(os.environ["PEROPIX_OUTPUT_DIR"]) / "mine"))
    assert code == 0, err
    names = sorted(p.name for p in (Path(os.environ["PEROPIX_OUTPUT_DIR"]) / "mine").glob("*.png"))
    assert [n[:7] for n in names] == ["000_joy", "001_sad"]


def test_a_second_owner_is_refused_naming_the_pid(nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    with QueueLock(paths.state_dir()):
        code, out, err = cli(capsys, "run", *SMALL)
        assert code == 1 and out == ""
        assert len(err.strip().splitlines()) == 1 and f"PID {os.getpid()}" in err
        code, _, err = cli(capsys, "queue", "resume")
        assert code == 1 and f"PID {os.getpid()}" in err
    assert nai_emulator.generations() == []


def test_no_anlas_fails_one_job_pauses_the_rest_and_resume_finishes(
    nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    nai_emulator.inject("402", endpoint=STREAM)
    code, out, err = cli(capsys, "run", *SMALL, "--slot", "a=x", "--slot", "b=y", "--slot", "c=z")
    assert code == 1
    assert "3 of 3 jobs not done" in err and "Anlas" in err
    assert [j.state.value for j in queue_file()] == ["failed", "paused", "paused"]
    code, out, err = cli(capsys, "queue", "list", "--json")
    assert [r["state"] for r in json.loads(out)] == ["failed", "paused", "paused"]
    code, out, err = cli(capsys, "queue", "resume")
    assert code == 0, err
    assert [j.state.value for j in queue_file()] == ["failed", "done", "done"]
    assert len(nai_emulator.generations()) == 2


def test_over_budget_is_refused_before_anything_is_queued(
    nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEROPIX_BUDGET", "5")
    code, out, err = cli(capsys, "run", "--prompt", "x", "--width", "1024", "--height", "1536", "--steps", "40",
                         "--slot", "a=1", "--slot", "b=2")
    assert code == 1 and "over your budget of 5" in err and len(err.strip().splitlines()) == 1
    assert len(queue_file()) == 0 and nai_emulator.generations() == []


def test_queue_cancel_and_clear(nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    nai_emulator.inject("401", endpoint=STREAM)
    cli(capsys, "run", *SMALL, "--slot", "a=x", "--slot", "b=y", "--slot", "c=z")
    ids = [j.id for j in queue_file()]
    code, out, _ = cli(capsys, "queue", "cancel", ids[1])
    assert code == 0 and [j.state.value for j in queue_file()] == ["failed", "cancelled", "paused"]
    code, _, err = cli(capsys, "queue", "cancel", "j9999")
    assert code == 1 and "j9999" in err and len(err.strip().splitlines()) == 1
    code, out, _ = cli(capsys, "queue", "clear")
    assert code == 0 and [j.id for j in queue_file()] == [ids[2]]
    code, out, _ = cli(capsys, "queue", "clear", "--all")
    assert code == 0 and len(queue_file()) == 0
    code, out, _ = cli(capsys, "queue", "list")
    assert out.strip() == "queue empty"
