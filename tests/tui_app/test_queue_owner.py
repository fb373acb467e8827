"""The app as one owner of the queue: read-only while another peropix holds it, the runner an
adapter that does not import the app, and the same job written identically by the app and the CLI."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from peropix_tui.app import PeroPixApp
from peropix_tui.core import paths
from peropix_tui.core.config import Secret, load_config
from peropix_tui.core.generation.lock import QueueLock
from peropix_tui.core.jobs import JobState
from peropix_tui.core.metadata import read_metadata
from peropix_tui.core.nai.backend import NaiBackend, client_from_config
from peropix_tui.core.nai.client import RetryPolicy
from peropix_tui.core.slots import Slot
from peropix_tui.core.store import GalleryStore
from peropix_tui.messages import ImageSaved
from peropix_tui.services import AppServices
from tests.tui_app.conftest import settle

RUNNER = Path(__file__).resolve().parents[2] / "peropix_tui" / "runner.py"


def test_runner_does_not_import_the_app() -> None:
    tree = ast.parse(RUNNER.read_text(encoding="utf-8"))
    names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [n for n in names if n == "app" or n.endswith(".app") or n == "peropix_tui.app"]


async def test_a_second_app_attaches_read_only_and_refuses_to_queue(make_app: Any) -> None:
    with QueueLock(paths.state_dir()):
        app = make_app(token=Secret("pst-not-used-here-0000"))
        assert app.scheduler.readonly
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            notes = [n.message for n in app._notifications]
            assert any(f"PID {os.getpid()}" in n for n in notes), notes
            app.workspace.base.prompt = "1girl"
            await pilot.press("ctrl+g")
            await pilot.pause()
            assert len(app.queue) == 0
            assert any("read-only" in n.message for n in app._notifications)


async def test_the_app_and_peropix_run_write_the_same_job_the_same_way(
    make_app: Any, nai_emulator: Any
) -> None:
    backend = NaiBackend(client_from_config(load_config(), retry=RetryPolicy(busy_base=0.05, error_base=0.05)))
    app = make_app(backends={"nai": backend})
    base = app.workspace.base
    base.prompt, base.width, base.height, base.steps, base.seed = "1girl", 512, 512, 12, 77
    app.workspace.slots = [Slot("smile", "smile")]
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await settle(app, pilot)
        await pilot.press("f3", "ctrl+g")
        await settle(app, pilot)
        assert [j.state for j in app.queue] == [JobState.DONE]
        (tui_path,) = {m.path for m in seen if isinstance(m, ImageSaved)}
        await pilot.press("ctrl+q")
    root_dir = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "peropix_tui", "run", "--prompt", "1girl", "--width", "512", "--height", "512",
         "--steps", "12", "--seed", "77", "--slot", "smile=smile"],
        cwd=root_dir, env={**os.environ, "PYTHONPATH": str(root_dir)}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (cli_path,) = [Path(m) for m in re.findall(r"saved (\S+)", proc.stdout)]
    # names: slot index + slot name + the folder's sequence; both in a session folder of the output folder
    assert re.fullmatch(r"000_smile_\d{7}\.png", tui_path.name) and re.fullmatch(r"000_smile_\d{7}\.png", cli_path.name)
    root = Path(os.environ["PEROPIX_OUTPUT_DIR"])
    assert tui_path.parent.parent == cli_path.parent.parent == root
    assert tui_path.parent.name.startswith("session_") and cli_path.parent.name.startswith("session_")
    a, b = read_metadata(tui_path), read_metadata(cli_path)
    assert a.peropix is not None and b.peropix is not None
    for key in ("job", "queue"):
        assert a.peropix.pop(key) and b.peropix.pop(key)
    assert a.peropix == b.peropix  # the same peropix object, but for which job of which queue
    assert a.settings.to_dict() == b.settings.to_dict() and a.full_prompt == b.full_prompt
    sent = [r.body for r in nai_emulator.generations()]
    assert len(sent) == 2 and json.dumps(sent[0], sort_keys=True) == json.dumps(sent[1], sort_keys=True)
    with GalleryStore(root) as store:
        rows = {s.file: s for s in store.page(limit=10)}
        ra, rb = rows[tui_path], rows[cli_path]
        for field in ("width", "height", "provider", "model", "seed", "prompt"):
            assert getattr(ra, field) == getattr(rb, field), field


def _app_keeps_the_services_contract(app: PeroPixApp) -> AppServices:
    return app  # checked by mypy --strict: the app provides every service screens are typed against


def test_screens_reach_the_app_through_typed_services(make_app: Any) -> None:
    app = make_app()
    typed = _app_keeps_the_services_contract(app)
    assert typed.scheduler.queue is typed.queue and typed.runner.scheduler is typed.scheduler


async def test_the_app_recovers_a_job_whose_image_landed_before_the_crash(make_app: Any, tmp_path: Path) -> None:
    from PIL import Image

    from peropix_tui.core.backend import GeneratedImage
    from peropix_tui.core.generation.output import ImageWriter
    from peropix_tui.core.generation.peropix import build_peropix, with_metadata
    from peropix_tui.core.jobs import JobQueue
    from peropix_tui.core.metadata import write_novelai_png
    from peropix_tui.core.settings import GenerationSettings

    root = Path(os.environ["PEROPIX_OUTPUT_DIR"])
    q = JobQueue(paths.state_dir() / "queue.json")
    done, cut = q.add([(GenerationSettings(prompt="1girl", seed=i), i, f"s{i}", 0) for i in range(2)],
                      folder=str(root / "session_x"))
    q.start(done.id)
    q.start(cut.id)  # both running when the process died; only the first image had landed
    png = write_novelai_png(Image.new("RGB", (8, 8)), done.settings, seed=0)
    writer = ImageWriter(root)
    path = writer.save(with_metadata(GeneratedImage(png, 0), build_peropix(done, queue_uid=q.uid)), done.folder,
                       0, "s0")
    writer.close()
    app = make_app(token=Secret("pst-not-used-here-0000"))
    assert [j.state for j in app.queue] == [JobState.DONE, JobState.PAUSED]
    assert app.queue.jobs[0].images == [str(path)]
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        notes = " ".join(n.message for n in app._notifications)
        assert "not sent again" in notes and "NovelAI may have charged" in notes
        assert app.runner.busy == {}  # nothing is sent until the user resumes
