"""The cost meter's V5 line: the Opus usage quota from /user/subscription, shown for V5 models only."""

from __future__ import annotations

from typing import Any

import pytest

from peropix_tui.widgets.cost_meter import CostMeter
from tests.tui_app.conftest import settle

pytestmark = pytest.mark.usefixtures("nai_emulator")


def _meter_text(app: Any) -> str:
    return str(app.screen.query_one(CostMeter).render())


async def test_v5_model_shows_the_usage_quota_and_v45_does_not(make_app: Any, nai_emulator: Any) -> None:
    nai_emulator.usage_percent = 40
    nai_emulator.usage_refill = 7854  # 86400 / 7854 -> 11.0 % a day
    app = make_app()
    app.workspace.base.model = "nai-diffusion-5-full"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.balance is not None and app.balance.quota is not None
        assert app.balance.quota.percent == 40
        assert "V5 free 40% (~692 images, +11%/day)" in _meter_text(app)
        app.workspace.base.model = "nai-diffusion-4-5-full"
        app.screen.query_one(CostMeter).recompute()
        await pilot.pause()
        assert "V5 free" not in _meter_text(app)


async def test_used_up_quota_says_anlas_are_charged(make_app: Any, nai_emulator: Any) -> None:
    nai_emulator.usage_negative = True
    app = make_app()
    app.workspace.base.model = "nai-diffusion-5-curated"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "V5 free quota used up: Anlas are charged" in _meter_text(app)


async def test_no_usage_field_shows_no_quota_line(make_app: Any, nai_emulator: Any) -> None:
    nai_emulator.account.tier = 1  # usage is sent only for an active Opus subscription
    app = make_app()
    app.workspace.base.model = "nai-diffusion-5-full"
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.balance is not None and app.balance.tier == 1 and app.balance.quota is None
        assert "V5 free" not in _meter_text(app)
