"""An inpaint made in the app is recorded as what was sent: action infill, the inpainting model
(NovelAI's own Comment says Img2ImgRequest and names the base model's Source)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from peropix_tui.core.config import load_config
from peropix_tui.core.metadata import read_metadata
from peropix_tui.core.nai.backend import NaiBackend, client_from_config
from peropix_tui.messages import ImageSaved
from peropix_tui.screens.gallery import meta_text
from tests.tui_app.conftest import settle

pytestmark = pytest.mark.usefixtures("nai_emulator")


async def test_inpaint_is_recorded_as_infill_with_the_inpainting_model(
        make_app: Any, nai_emulator: Any, tmp_path: Path) -> None:
    src, mask = tmp_path / "src.png", tmp_path / "mask.png"
    Image.new("RGB", (512, 512), (90, 120, 200)).save(src)
    m = Image.new("L", (512, 512), 0)
    m.paste(255, (128, 128, 384, 384))
    m.save(mask)
    app = make_app(backends={"nai": NaiBackend(client_from_config(load_config()))})
    base = app.workspace.base
    base.width, base.height, base.steps, base.prompt = 512, 512, 12, "1girl, [hat]"
    base.action, base.image, base.mask = "infill", str(src), str(mask)
    seen: list[Any] = []
    async with app.run_test(size=(120, 40), message_hook=seen.append) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+g")
        await settle(app, pilot)
    body = nai_emulator.generations()[-1].body
    assert (body["action"], body["model"]) == ("infill", "nai-diffusion-4-5-full-inpainting")
    (path,) = {m.path for m in seen if isinstance(m, ImageSaved)}
    record = read_metadata(path)
    assert record.settings.action == "infill"
    assert record.settings.model == "nai-diffusion-4-5-full"  # the settings' vocabulary: restorable
    assert record.peropix is not None and record.peropix["sent_model"] == "nai-diffusion-4-5-full-inpainting"
    panel = meta_text(path, record).splitlines()
    assert "action: infill" in panel
    assert "model: nai-diffusion-4-5-full-inpainting (base nai-diffusion-4-5-full)" in panel
    assert "prompt: 1girl, [hat]" in panel
