"""The real app against the loopback NovelAI emulator: prompt → generate → preview, gallery,
cost meter; slots × repeats; 429 back-off; bad token / 402 with the queue intact; the log file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from peropix_tui.applog import log_path
from peropix_tui.core.config import Secret, load_config
from peropix_tui.core.jobs import JobState
from peropix_tui.core.metadata import read_metadata
from peropix_tui.core.nai.backend import NaiBackend, client_from_config
from peropix_tui.core.nai.client import RetryPolicy
from peropix_tui.core.slots import Slot
from peropix_tui.messages import (
    BalanceUpdated,
    ImageSaved,
    JobFailed,
    JobFinished,
    JobProgressed,
    JobStarted,
)
from tests.tui_app.conftest import settle

pytestmark = pytest.mark.usefixtures("nai_emulator")
FAST = RetryPolicy(busy_base=0.05, busy_cap=0.2, error_base=0.05)


def _app(make_app: Any, **kw: Any) -> Any:
    backend = NaiBackend(client_from_config(load_config(), retry=FAST))
    return make_app(backends={"nai": backend}, **kw)


async def _settle(app: Any, pilot: Any) -> None:
    await settle(app, pilot)


def _unique_saved(seen: list[Any]) -> list[ImageSaved]:
    """ImageSaved once per image (the hook also sees the copies broadcast to the screens)."""
    return list({m.path: m for m in seen if isinstance(m, ImageSaved)}.values())


def _small(app: Any) -> None:
    base = app.workspace.base
    base.width, base.height, base.steps = 512, 512, 12  # small and Opus-free


async def test_type_prompt_generate_preview_gallery_cost(make_app: Any, nai_emulator: Any) -> None:
    app = _app(make_app)
    base = app.workspace.base
    base.width, base.height, base.steps = 1088, 1024, 12  # over 1 MP: not Opus-free, so Anlas are spent
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await _settle(app, pilot)
        assert app.balance is not None and app.balance.anlas == 10_500
        assert "balance 10500 Anlas" in str(app.screen.query_one("#cost").render())
        prompt = app.screen.query_one("#prompt")
        prompt.focus()
        await pilot.press(*"1girl, smile")
        assert app.workspace.base.prompt == "1girl, smile"
        await pilot.press("ctrl+g")
        await _settle(app, pilot)
        kinds = [type(m) for m in seen]
        assert JobStarted in kinds and JobProgressed in kinds and JobFinished in kinds
        saved = _unique_saved(seen)
        assert len(saved) == 1 and saved[0].path.exists()
        assert re.fullmatch(r"\d{7}\.png", saved[0].path.name), saved[0].path.name  # no slot: number only
        body = nai_emulator.generations()[-1].body
        assert body["input"].startswith("1girl, smile")
        # preview shows the image; the balance was refreshed after the job
        assert app.screen.query("#preview-box *")
        assert [m for m in seen if isinstance(m, BalanceUpdated)][-1].anlas == nai_emulator.account.anlas < 10_500
        assert f"balance {nai_emulator.account.anlas} Anlas" in str(app.screen.query_one("#cost").render())
        gen = nai_emulator.generations()[-1]
        after = [r for r in nai_emulator.requests  # the editor's tag suggestions have their own client
                 if r.arrival > gen.arrival and not r.path.startswith("/ai/generate-image/suggest-tags")]
        assert after and {r.client_port for r in after} == {gen.client_port}  # balance on the job's connection
        record = read_metadata(saved[0].path)
        assert record.settings.prompt.startswith("1girl, smile") and record.peropix is not None
        assert record.peropix["provider"] == "nai" and record.peropix["base_prompt"] == "1girl, smile"
        # the gallery lists it
        await pilot.press("f4")
        await _settle(app, pilot)
        assert app.screen.current is not None and app.screen.current.file == saved[0].path
        assert "1girl, smile" in str(app.screen.query_one("#meta").render())
        await pilot.press("ctrl+q")
    text = log_path().read_text(encoding="utf-8")
    assert re.search(r"\[Generate\] Job j\d+ started - 1 image\(s\), 1088x1024, 12 steps", text)
    assert nai_emulator.token not in text


async def test_three_slots_two_repeats_one_locked_gives_four_named_images(make_app: Any, nai_emulator: Any) -> None:
    app = _app(make_app)
    _small(app)
    app.workspace.base.prompt = "1girl"
    app.workspace.slots = [Slot("smile", "smile"), Slot("angry", "angry", locked=True), Slot("cry", "crying")]
    app.workspace.repeats = 2
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await pilot.press("f3")
        await pilot.press("ctrl+g")
        await _settle(app, pilot)
        names = sorted(m.path.name for m in _unique_saved(seen))
        assert len(names) == 4
        assert [n[:9] for n in names] == ["000_smile", "000_smile", "002_cry_0", "002_cry_0"]
        prompts = sorted(r.body["input"].split(",")[1].strip() for r in nai_emulator.generations())
        assert prompts == ["crying", "crying", "smile", "smile"]
        seeds = {r.body["parameters"]["seed"] for r in nai_emulator.generations()}
        assert len(seeds) == 4
        assert [j.state for j in app.queue] == [JobState.DONE] * 4
        await _settle(app, pilot)  # thumbnails are decoded in a worker, then placed
        assert len(app.screen.query("JobRow .thumb")) == 4


async def test_account_busy_then_success_completes(make_app: Any, nai_emulator: Any) -> None:
    app = _app(make_app)
    _small(app)
    app.workspace.base.prompt = "1girl"
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await _settle(app, pilot)  # the start-up balance request is answered first
        nai_emulator.inject("429", times=2)
        await pilot.press("ctrl+g")
        await _settle(app, pilot)
        notes = [m.note for m in seen if isinstance(m, JobProgressed) and m.note]
        assert any("busy" in n for n in notes), notes
        assert [j.state for j in app.queue] == [JobState.DONE]
        assert len(_unique_saved(seen)) == 1


@pytest.mark.parametrize("fault,words", [("401", "token"), ("402", "Anlas")])
async def test_bad_token_or_no_anlas_keeps_the_queue(make_app: Any, nai_emulator: Any, fault: str, words: str) -> None:
    app = _app(make_app)
    _small(app)
    app.workspace.base.prompt = "1girl"
    app.workspace.slots = [Slot("a", "smile"), Slot("b", "angry"), Slot("c", "cry")]
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await _settle(app, pilot)
        nai_emulator.inject(fault, times=1, endpoint=None)
        await pilot.press("f3", "ctrl+g")
        await _settle(app, pilot)
        failed = list({m.job_id: m for m in seen if isinstance(m, JobFailed)}.values())
        assert len(failed) == 1 and words.lower() in failed[0].error.lower()
        assert nai_emulator.token not in failed[0].error
        assert [j.state for j in app.queue] == [JobState.FAILED, JobState.PAUSED, JobState.PAUSED]
        assert not list(Path(load_config().output_dir).rglob("*.png"))
        # fixed (fault consumed): resume and retry -> everything completes, nothing lost
        await pilot.press("p")
        await _settle(app, pilot)
        await pilot.press("r")
        await _settle(app, pilot)
        assert [j.state for j in app.queue] == [JobState.DONE] * 3


async def test_run_over_budget_is_refused_with_a_clear_message(make_app: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("PEROPIX_BUDGET", "5")
    app = _app(make_app)
    app.workspace.base.prompt = "1girl"
    app.workspace.base.width, app.workspace.base.height, app.workspace.base.steps = 1024, 1536, 40
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(app, pilot)
        await pilot.press("ctrl+g")
        await _settle(app, pilot)
        assert len(app.queue) == 0
        notes = [n.message for n in app._notifications]
        assert any("over your budget of 5" in n for n in notes), notes


def test_token_never_in_log_even_if_a_message_contains_it(tmp_path: Path) -> None:
    from peropix_tui.applog import close_log, setup_log

    secret = "pst-" + "x" * 40
    log = setup_log(Secret(secret))
    log.error("server said: bad header Bearer %s", secret)
    close_log()
    text = log_path().read_text(encoding="utf-8")
    assert secret not in text and "Bearer ********" in text


async def test_cancel_a_novelai_job_mid_request(make_app: Any, nai_emulator: Any) -> None:
    from peropix_tui.messages import JobCancelled

    app = _app(make_app)
    _small(app)
    app.workspace.base.prompt = "1girl"
    app.workspace.slots = [Slot("a", "smile"), Slot("b", "cry")]
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await _settle(app, pilot)
        nai_emulator.inject("delay", delay=3.0, endpoint=None)
        await pilot.press("f3", "ctrl+g")
        for _ in range(100):
            await pilot.pause(0.02)
            if app.runner.busy:
                break
        await pilot.pause(0.2)  # the request is on the wire, the emulator is sitting on it
        await pilot.press("x")
        await _settle(app, pilot)
        assert any(isinstance(m, JobCancelled) for m in seen)
        states = [j.state for j in app.queue]
        assert states == [JobState.CANCELLED, JobState.DONE]  # the queue moved on to the next job
        assert len(_unique_saved(seen)) == 1


def _wildcard_file(name: str, lines: list[str]) -> None:
    from peropix_tui.core.prompt import wildcards_dir

    wildcards_dir().mkdir(parents=True, exist_ok=True)
    (wildcards_dir() / f"{name}.txt").write_text("# hair colours\n" + "\n".join(lines) + "\n", encoding="utf-8")


async def test_wildcards_drawn_per_run_metadata_keeps_the_template(make_app: Any, nai_emulator: Any) -> None:
    import random

    colours = ["red hair", "blue hair", "green hair", "white hair"]
    _wildcard_file("hair", colours)
    app = _app(make_app)
    _small(app)
    app.workspace.base.prompt = "1girl, __hair__"
    app.workspace.repeats = 2
    app.runner.rng = random.Random(1)  # this seed draws two different colours
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await _settle(app, pilot)
        await pilot.press("f3", "ctrl+g")
        await _settle(app, pilot)
        assert [j.state for j in app.queue] == [JobState.DONE] * 2
        sent = [r.body["input"] for r in nai_emulator.generations()]
        drawn = [p.split(",")[1].strip() for p in sent]
        assert len(sent) == 2 and all("__" not in p for p in sent)
        assert set(drawn) <= set(colours) and drawn[0] != drawn[1], drawn
        assert all(j.settings.prompt == "1girl, __hair__" for j in app.queue)  # the queue keeps the template
        for msg in _unique_saved(seen):
            record = read_metadata(msg.path)
            assert record.full_prompt in sent  # what was sent
            assert record.settings.prompt.split(", ")[1] in colours
            assert record.peropix is not None and record.peropix["template"]["prompt"] == "1girl, __hair__"


async def test_missing_wildcard_fails_the_job_by_name_and_keeps_the_queue(make_app: Any, nai_emulator: Any) -> None:
    app = _app(make_app)
    _small(app)
    app.workspace.base.prompt = "1girl"
    app.workspace.slots = [Slot("a", "__nosuch__"), Slot("b", "smile")]
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await _settle(app, pilot)
        await pilot.press("f3", "ctrl+g")
        await _settle(app, pilot)
        failed = list({m.job_id: m for m in seen if isinstance(m, JobFailed)}.values())
        assert len(failed) == 1 and "__nosuch__" in failed[0].error and "not found" in failed[0].error
        assert [j.state for j in app.queue] == [JobState.FAILED, JobState.DONE]
        assert ["1girl, smile" in r.body["input"] for r in nai_emulator.generations()] == [True]
        _wildcard_file("nosuch", ["wink"])  # fixed: retry draws from the new file
        await pilot.press("r")
        await _settle(app, pilot)
        assert [j.state for j in app.queue] == [JobState.DONE, JobState.DONE]
        assert nai_emulator.generations()[-1].body["input"].startswith("1girl, wink")
        assert app.queue.jobs[-1].settings.prompt == "1girl, __nosuch__"
