"""A bad file in the tags folder is reported once, by name, and completion still works."""

from __future__ import annotations

from typing import Any

from peropix_tui.core import paths
from tests.tui_app.conftest import settle


async def test_bad_tag_files_are_reported_once_and_good_ones_still_load(make_app: Any) -> None:
    tags = paths.data_dir() / "tags"
    tags.mkdir(parents=True)
    (tags / "good.csv").write_text("solo,0,3000\nhuge,0,1e999\n", encoding="utf-8")
    (tags / "broken.csv").write_bytes(b"\x00\xff\xfe\x00")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.tags is not None and app.tags.complete("so") == "solo"
        messages = [n.message for n in app._notifications]
        assert sum("broken.csv" in m for m in messages) == 1
        assert sum("good.csv: skipped 1 row" in m for m in messages) == 1
