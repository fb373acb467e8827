"""LocalBackend (settings → engine → NovelAI-format PNGs), the model cache and the CLI run."""

from __future__ import annotations

import gc
import io
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from peropix_tui.core.backend import Backend, BackendError, CancelToken, GenerationCancelled, Progress
from peropix_tui.core.metadata import read_metadata
from peropix_tui.core.settings import GenerationSettings, LoraSpec
from peropix_tui.engine.backend import LocalBackend, to_request
from peropix_tui.engine.cache import ModelCache


def local(tiny_path: Path, **kw: Any) -> GenerationSettings:
    base: dict[str, Any] = dict(provider="local", checkpoint=str(tiny_path), prompt="1girl, smile", uc="lowres",
                                width=64, height=64, steps=2, seed=5, sampler="k_euler_ancestral",
                                noise_schedule="native", device="cpu")
    base.update(kw)
    return GenerationSettings(**base)


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


async def test_generate_returns_pngs_with_metadata_and_progress(tiny_path: Path) -> None:
    backend = LocalBackend(ModelCache())
    assert isinstance(backend, Backend) and backend.name == "local"
    progress: list[Progress] = []
    images = await backend.generate(local(tiny_path, n_samples=2), progress.append, CancelToken())
    assert [im.seed for im in images] == [5, 6] and [im.index for im in images] == [0, 1]
    assert progress[0].message == "loading tiny.safetensors (cpu, fp32)" and progress[0].step == 0
    steps = progress[1:]
    assert [(p.step, p.total, p.sample) for p in steps] == [(1, 2, 0), (2, 2, 0), (1, 2, 1), (2, 2, 1)]
    assert all(p.preview and p.preview[:2] == b"\xff\xd8" for p in steps)  # JPEG previews
    first = Image.open(io.BytesIO(images[0].data))
    assert first.format == "PNG" and first.size == (64, 64)
    record = read_metadata(images[1].data)
    assert record.settings.seed == 6 and record.settings.prompt == "1girl, smile"
    assert record.peropix is not None
    assert record.peropix["provider"] == "local" and record.peropix["checkpoint"] == "tiny.safetensors"
    assert len(record.peropix["checkpoint_hash"]) == 10
    assert record.peropix["sampler"] == "euler_ancestral" and record.peropix["schedule"] == "normal"


async def test_same_seed_same_image_and_cache_reuse(tiny_path: Path) -> None:
    cache = ModelCache()
    backend = LocalBackend(cache)
    a = await backend.generate(local(tiny_path), lambda p: None, CancelToken())
    model = cache.model
    messages: list[str] = []
    b = await backend.generate(local(tiny_path), lambda p: messages.append(p.message), CancelToken())
    assert cache.model is model and not any(messages)  # loaded once
    assert np.array_equal(pixels(a[0].data), pixels(b[0].data))  # (generation time differs)


async def test_lora_is_merged_for_a_run_and_removed_after(tiny_path: Path, tmp_path: Path) -> None:
    from tests.engine.tiny import make_tiny_lora

    lora = make_tiny_lora(tmp_path / "style.safetensors", alpha=8.0)
    backend = LocalBackend(ModelCache())
    plain = await backend.generate(local(tiny_path), lambda p: None, CancelToken())
    styled = await backend.generate(local(tiny_path, loras=[LoraSpec(str(lora), 1.0)]), lambda p: None, CancelToken())
    again = await backend.generate(local(tiny_path), lambda p: None, CancelToken())
    assert not np.array_equal(pixels(plain[0].data), pixels(styled[0].data))
    assert np.array_equal(pixels(plain[0].data), pixels(again[0].data))
    assert read_metadata(styled[0].data).peropix["loras"] == [{"name": "style.safetensors", "weight": 1.0}]  # type: ignore[index]


async def test_cancel_and_errors_name_the_problem(tiny_path: Path, tmp_path: Path) -> None:
    backend = LocalBackend(ModelCache())
    token = CancelToken()
    token.cancel()
    with pytest.raises(GenerationCancelled):
        await backend.generate(local(tiny_path), lambda p: None, token)
    with pytest.raises(BackendError, match="checkpoint"):
        await backend.generate(local(tiny_path, checkpoint=None), lambda p: None, CancelToken())
    with pytest.raises(BackendError, match="sampler: unknown sampler 'k_lms'"):
        await backend.generate(local(tiny_path, sampler="k_lms"), lambda p: None, CancelToken())
    with pytest.raises(BackendError, match="missing.png"):
        await backend.generate(local(tiny_path, action="img2img", image=str(tmp_path / "missing.png")),
                               lambda p: None, CancelToken())
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(BackendError, match="bad.safetensors"):
        await backend.generate(local(bad), lambda p: None, CancelToken())


def test_a_failing_torch_compile_is_a_clear_error_and_eager_still_works(tiny_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import peropix_tui.engine.checkpoint as checkpoint

    def no_compiler(gm: Any, example_inputs: Any) -> Any:
        raise RuntimeError("no C++ compiler found")

    monkeypatch.setattr(checkpoint, "COMPILE_BACKEND", no_compiler)
    backend = LocalBackend(ModelCache())
    with pytest.raises(BackendError, match=r"torch.compile failed .*no C\+\+ compiler.*--no-compile"):
        backend.generate_sync(local(tiny_path, compile=True), lambda p: None, CancelToken())
    images = backend.generate_sync(local(tiny_path), lambda p: None, CancelToken())
    assert len(images) == 1 and pixels(images[0].data).shape == (64, 64, 3)


def test_settings_map_onto_the_request(tmp_path: Path) -> None:
    src = tmp_path / "in.png"
    Image.new("RGB", (32, 32)).save(src)
    s = GenerationSettings(provider="local", action="img2img", image=str(src), strength=0.35, prompt="a",
                           uc="b", scale=6.5, cfg_rescale=0.2, sampler="k_dpmpp_2m", noise_schedule="karras",
                           n_samples=3, hires_scale=1.5, hires_denoise=0.4)
    from peropix_tui.core.settings import CharacterPrompt

    s.characters = [CharacterPrompt("girl, red hair", uc="blue hair"), CharacterPrompt("boy", enabled=False)]
    r = to_request(s, seed=9)
    assert (r.prompt, r.negative) == ("a, girl, red hair", "b, blue hair")
    assert (r.denoise, r.cfg, r.cfg_rescale, r.batch, r.seed) == (0.35, 6.5, 0.2, 3, 9)
    assert (r.sampler, r.schedule, r.hires_scale, r.hires_denoise) == ("k_dpmpp_2m", "karras", 1.5, 0.4)
    assert r.image is not None and r.image.size == (32, 32) and r.mask is None
    assert not r.compile and to_request(s.copy(compile=True), seed=9).compile


def test_compile_flag_reaches_the_settings() -> None:
    from peropix_tui.cli import build_parser
    from peropix_tui.commands.genopts import settings_from_args

    parse = build_parser().parse_args
    base = ["generate", "--provider", "local", "--checkpoint", "x.safetensors", "--prompt", "a"]
    assert settings_from_args(parse([*base, "--compile"])).compile
    assert not settings_from_args(parse([*base, "--no-compile"])).compile
    assert not settings_from_args(parse(base)).compile


def test_cli_quality_and_uc_preset_mean_what_the_local_config_says(
        tiny_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from peropix_tui.cli import main
    from peropix_tui.core import paths

    def run(*extra: str) -> np.ndarray:
        out = tmp_path / f"out{len(list(tmp_path.glob('out*')))}"
        rc = main(["generate", "--provider", "local", "--checkpoint", str(tiny_path), "--prompt", "1girl",
                   "--negative", "blurry", "--steps", "2", "--width", "64", "--height", "64", "--seed", "3",
                   "--device", "cpu", "--out", str(out), "--json", *extra])
        assert rc == 0, capsys.readouterr().err
        return pixels(Path(json.loads(capsys.readouterr().out)[0]).read_bytes())

    bare = run("--no-quality", "--uc-preset", "none")
    assert np.array_equal(run(), bare)  # nothing configured: the NovelAI toggles change nothing locally
    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text('[local]\nquality_tags = "masterpiece, best quality"\n'
                                   '[local.uc_presets]\nheavy = "lowres, bad hands"\n')
    assert np.array_equal(run("--no-quality", "--uc-preset", "none"), bare)
    assert not np.array_equal(run("--uc-preset", "none"), bare)  # quality tags now appended
    assert not np.array_equal(run("--no-quality", "--uc-preset", "heavy"), bare)  # preset before the negative


def test_unload_really_drops_the_model(tiny_path: Path) -> None:
    from peropix_tui.engine.cache import ModelKey
    from peropix_tui.engine.checkpoint import load_checkpoint

    cache = ModelCache()
    key = ModelKey.for_file(str(tiny_path), None, None, "cpu", "fp32")
    ref = weakref.ref(cache.get(key, lambda: load_checkpoint(tiny_path)))
    assert cache.get(key, lambda: pytest.fail("reloaded")) is ref()
    cache.unload()
    gc.collect()
    assert ref() is None and cache.model is None


def test_cli_generate_local(tiny_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from peropix_tui.cli import main

    out = tmp_path / "out"
    rc = main(["generate", "--provider", "local", "--prompt", "1girl", "--checkpoint", str(tiny_path), "--steps", "2",
               "--width", "64", "--height", "64", "--seed", "11", "--device", "cpu", "--out", str(out)])
    assert rc == 0
    files = sorted(out.glob("*.png"))
    assert len(files) == 1 and capsys.readouterr().out.strip() == str(files[0])
    record = read_metadata(files[0])
    assert Image.open(files[0]).size == (64, 64)
    assert record.settings.seed == 11 and record.peropix and record.peropix["provider"] == "local"


def test_cli_img2img_with_hires_and_lora(tiny_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from peropix_tui.cli import main
    from tests.engine.tiny import make_tiny_lora

    src = tmp_path / "src.png"
    Image.new("RGB", (64, 64), (30, 120, 200)).save(src)
    lora = make_tiny_lora(tmp_path / "style.safetensors")
    out = tmp_path / "out"
    rc = main(["generate", "--provider", "local", "--prompt", "1girl", "--checkpoint", str(tiny_path),
               "--image", str(src),
               "--strength", "0.5", "--hires", "1.5:0.5", "--lora", f"{lora}:0.7", "--sampler", "dpmpp_2m",
               "--schedule", "karras", "--steps", "2", "--width", "64", "--height", "64", "--seed", "3",
               "--n-samples", "2", "--device", "cpu", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    files = sorted(out.glob("*.png"))
    assert len(files) == 2 and all(Image.open(f).size == (96, 96) for f in files)
    records = [read_metadata(f) for f in files]
    assert sorted(r.settings.seed for r in records) == [3, 4]
    assert records[0].settings.action == "img2img"
    assert records[0].peropix["loras"] == [{"name": "style.safetensors", "weight": 0.7}]  # type: ignore[index]


def test_cli_local_errors_are_clear(tiny_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from peropix_tui.cli import main

    rc = main(["generate", "--provider", "local", "--prompt", "1girl", "--checkpoint", str(tmp_path / "nope.safetensors"),
               "--steps", "2", "--width", "64", "--height", "64", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc != 0 and "nope.safetensors" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
