"""Vibe inputs: big images are downscaled before upload, absurd or hostile files refused before use."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from peropix_tui.core.backend import CancelToken
from peropix_tui.core.config import Secret
from peropix_tui.core.nai.backend import NaiBackend
from peropix_tui.core.nai.client import NaiClient, RetryPolicy
from peropix_tui.core.nai.images import MAX_REFERENCE_FILE, VIBE_MAX_PIXELS
from peropix_tui.core.nai.vibe import load_naiv4vibe
from peropix_tui.core.settings import GenerationSettings, SettingsError, VibeReference
from tests.nai_emulator import ENCODE, NaiEmulator

FAST = RetryPolicy(busy_base=0.02, busy_cap=0.05, error_base=0.01, cancel_poll=0.01)


def settings(vibe: str, **kw: object) -> GenerationSettings:
    base: dict[str, object] = {"prompt": "1girl", "width": 64, "height": 64, "steps": 4, "seed": 1,
                               "vibes": [VibeReference(path=vibe)]}
    base.update(kw)
    return GenerationSettings(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize("model", ["nai-diffusion-4-5-full", "nai-diffusion-3"])
async def test_big_vibe_image_is_downscaled_before_upload(nai_emulator: NaiEmulator, tmp_path: Path,
                                                          model: str) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (3000, 2000), (200, 30, 30)).save(path)
    backend = NaiBackend(NaiClient(nai_emulator.url, Secret(nai_emulator.token), retry=FAST))
    await backend.generate(settings(str(path), model=model), lambda p: None, CancelToken())
    if model == "nai-diffusion-3":
        sent = nai_emulator.generations()[-1].body["parameters"]["reference_image_multiple"][0]
    else:
        (call,) = nai_emulator.calls(ENCODE)
        sent = call.body["image"]
    img = Image.open(io.BytesIO(base64.b64decode(sent)))
    assert img.width * img.height <= VIBE_MAX_PIXELS and img.width > 1000
    assert abs(img.width / img.height - 1.5) < 0.01  # aspect kept


def test_oversized_vibe_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with open(path, "wb") as f:  # sparse: no disk space used
        f.truncate(MAX_REFERENCE_FILE + 1)
    from peropix_tui.core.nai.vibe import vibe_source

    with pytest.raises(SettingsError, match="too large for a vibe"):
        vibe_source(VibeReference(path=str(path)), "v4-5full")


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply|not a valid"),
        ('{"encodings": ' + '{"a": ' * 50_000 + "1" + "}" * 50_001, "nested too deeply|not a valid"),
        ('{"importInfo": {"information_extracted": "high"}, "encodings": {"v4-5full": {"x": '
         '{"encoding": "QUJD", "params": {"information_extracted": 0.5}}}}}', None),
        ('{"importInfo": "v4-5full", "encodings": {"v4-5full": {"x": {"encoding": "QUJD"}}}}', None),
        ('{"importInfo": [1, 2], "encodings": {"v4-5full": {"x": {"encoding": "QUJD", "params": "p"}}}}', None),
        ('{"encodings": {"v4-5full": {"x": {"encoding": "QUJD", "params": {"information_extracted": true}}}}}',
         None),
        ('{"encodings": [1, 2]}', "'encodings' is not an object"),
        ('"a string"', "not a .naiv4vibe object"),
    ],
)
def test_hostile_naiv4vibe_files_are_one_settings_error_or_used_safely(tmp_path: Path, content: str,
                                                                       needle: str | None) -> None:
    path = tmp_path / "v.naiv4vibe"
    path.write_text(content)
    if needle is None:
        src = load_naiv4vibe(path, "v4-5full", 0.9)
        assert src.encoding == "QUJD"
        assert src.info is None or 0 <= src.info <= 1
        return
    with pytest.raises(SettingsError, match=needle) as info:
        load_naiv4vibe(path, "v4-5full")
    assert str(path) in str(info.value)


def test_naiv4vibe_with_non_text_keys_in_encodings_is_named(tmp_path: Path) -> None:
    path = tmp_path / "v.naiv4vibe"
    path.write_text(json.dumps({"encodings": {"v4full": {}}}))
    with pytest.raises(SettingsError, match="no encoding for model family v4-5full"):
        load_naiv4vibe(path, "v4-5full")
