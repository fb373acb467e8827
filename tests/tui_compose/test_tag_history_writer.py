"""Generating from Compose learns the prompt's tags; the history file is written off the event loop."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.worker import WorkerCancelled

from peropix_tui.core import fsutil
from peropix_tui.core import tags as tags_module
from peropix_tui.core.tags import TagIndex, write_history


async def test_history_fsync_runs_on_a_worker_thread(make_app: Any, tag_index: TagIndex, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    tag_index.history_path = tmp_path / "tags" / "history.json"
    writers: list[str] = []
    real_write = fsutil.atomic_write  # what core.tags writes with

    def recording_write(path: Path, data: bytes, **kw: Any) -> Path:
        writers.append(threading.current_thread().name)
        return real_write(path, data, **kw)

    monkeypatch.setattr(tags_module, "atomic_write", recording_write)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.screen.query_one("#prompt").load_text("1girl, cat ears, my own tag")
        await pilot.pause()
        await pilot.press("ctrl+g")
        for _ in range(3):
            try:
                await app.workers.wait_for_complete()
            except WorkerCancelled:
                pass
            await pilot.pause()
        main = threading.main_thread().name
        assert writers and main not in writers
        saved = json.loads(tag_index.history_path.read_text(encoding="utf-8"))
        assert saved.get("my own tag") == 1 and saved.get("cat ears") == 1


def test_an_older_snapshot_never_replaces_a_newer_one(tmp_path: Path) -> None:
    index = TagIndex(history_path=tmp_path / "history.json")
    index.learn(["smile"])
    older = index.history_snapshot()
    index.learn(["smile", "blush"])
    newer = index.history_snapshot()
    assert older is not None and newer is not None
    assert write_history(newer) == newer.path
    assert write_history(older) is None  # a late thread with the older snapshot writes nothing
    assert json.loads(newer.path.read_text(encoding="utf-8")) == {"smile": 2, "blush": 1}
