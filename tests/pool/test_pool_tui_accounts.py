"""The app with two NovelAI accounts on the emulator (real loopback sockets, Textual pilot): each
account's balance is fetched and gates which account takes a job, and a 402 on one account holds
only that account's worker while the other finishes the batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peropix_tui.core import paths
from peropix_tui.core.config import load_config
from peropix_tui.core.jobs import JobState
from peropix_tui.core.slots import Slot
from tests.nai_emulator.server import Account, NaiEmulator
from tests.tui_app.conftest import settle, tui_env  # noqa: F401  (autouse fixture)

SECOND_TOKEN = "pst-second-account-fedcba9876543210"


def two_accounts_app(tmp_path: Path, emu: NaiEmulator, second: Account) -> Any:
    from peropix_tui.app import PeroPixApp

    emu.add_account("second", SECOND_TOKEN, second)
    token_file = tmp_path / "second.token"
    token_file.write_text(SECOND_TOKEN + "\n", encoding="utf-8")
    paths.config_file().write_text(
        f'[nai]\nstream = true\n\n[[nai.accounts]]\nname = "second"\ntoken_file = "{token_file}"\n',
        encoding="utf-8")
    app = PeroPixApp(load_config())
    base = app.workspace.base
    # larger than 1024x1024: not free on Opus, so every image costs Anlas
    base.provider, base.prompt, base.width, base.height, base.steps = "nai", "1girl", 1024, 1536, 12
    app.workspace.slots = [Slot("a", "red hair"), Slot("b", "blue hair")]
    app.workspace.repeats = 2
    return app


async def balances_known(app: Any, pilot: Any) -> None:
    for _ in range(20):
        if {"nai", "nai:second"} <= app.scheduler.accounts.keys():
            return
        await settle(app, pilot, rounds=1)
    raise AssertionError(f"balances never fetched: {app.scheduler.accounts}")


async def test_jobs_go_only_to_the_account_whose_balance_covers_them(
        tmp_path: Path, nai_emulator: NaiEmulator) -> None:
    poor = Account(fixed=0, purchased=5)
    app = two_accounts_app(tmp_path, nai_emulator, poor)
    async with app.run_test(size=(120, 40)) as pilot:
        await balances_known(app, pilot)
        balances = app.runner.account_balances()
        assert balances["second"].anlas == 5 and balances["default"].anlas == 10_500
        assert app.runner.admission_account().anlas == 10_505  # pooled, as `peropix run` checks
        jobs = app.runner.request(True)
        assert len(jobs) == 4
        await settle(app, pilot, rounds=10)
        final = [app.queue.get(j.id) for j in jobs]
        assert [j.state for j in final] == [JobState.DONE] * 4, [(j.state, j.error) for j in final]
        assert {j.worker for j in final} == {"nai"}
        gens = nai_emulator.generations()
        assert len(gens) == 4 and {g.account for g in gens} == {"default"}
        assert poor.anlas == 5
        # each job's account was asked again afterwards: the default balance is what the emulator holds
        assert app.runner.account_balances()["default"].anlas == nai_emulator.account.anlas < 10_500
        # the balance the screens show (cost meter, queue) is the pooled one, each account's beside it
        assert app.balance.per_account == (("default", nai_emulator.account.anlas), ("second", 5))
        assert app.balance.anlas == nai_emulator.account.anlas + 5


async def test_a_402_on_one_account_holds_it_and_the_other_finishes_the_batch(
        tmp_path: Path, nai_emulator: NaiEmulator) -> None:
    second = Account()
    app = two_accounts_app(tmp_path, nai_emulator, second)
    async with app.run_test(size=(120, 40)) as pilot:
        await balances_known(app, pilot)
        second.fixed = second.purchased = 0  # spent elsewhere: the app's figure is stale, NovelAI says 402
        jobs = app.runner.request(True)
        await settle(app, pilot, rounds=10)
        final = [app.queue.get(j.id) for j in jobs]
        states = sorted((j.state.value, j.worker) for j in final)
        assert states == [("done", "nai")] * 3 + [("failed", "nai:second")], [(j.state, j.error) for j in final]
        assert not app.queue.in_state(JobState.PAUSED)
        held = app.scheduler.held()
        assert list(held) == ["nai:second"] and "Anlas" in held["nai:second"]
        assert app.scheduler.next_probe_in() is None  # held, not probed back
        assert ("nai:second", "down") in [(w.id, s) for w, s, _ in app.scheduler.worker_states()]
        assert app.runner.admission_account().anlas == app.runner.account_balances()["default"].anlas
        assert [name for name, _ in app.balance.per_account] == ["default"]  # the held one is left out
        assert app.balance.anlas == app.runner.admission_account().anlas
        gens = nai_emulator.generations()
        assert sum(g.account == "default" and g.status == 200 for g in gens) == 3
        app.scheduler.resume()  # the user's resume makes the account usable again
        assert app.scheduler.held() == {}
