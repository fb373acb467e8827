"""Checkpoint detection (shapes, prediction markers, override), separate VAE files, bad files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from peropix_tui.engine.checkpoint import (
    CheckpointError,
    inspect_checkpoint,
    load_checkpoint,
    load_vae_file,
)

from .oracle import vae_config
from .tiny import UNET_TINY, VAE_TINY, make_tiny_checkpoint, tiny_state_dict


@pytest.fixture(scope="module")
def sd() -> dict[str, torch.Tensor]:
    return tiny_state_dict(seed=7)


def _save(sd: dict[str, torch.Tensor], path: Path) -> Path:
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    return path


def test_detects_tiny_architecture_from_shapes(tiny_ckpt: Path) -> None:
    info = inspect_checkpoint(tiny_ckpt)
    assert info.unet == UNET_TINY and info.vae == VAE_TINY
    assert info.arch == "sdxl" and info.components == ["unet", "vae", "clip_l", "clip_g"]
    assert (info.prediction, info.ztsnr, info.prediction_source) == ("eps", False, "default")
    assert info.clip_g["projection_dim"] == 128 and info.clip_l["hidden_size"] == 64
    assert info.param_counts["unet"] == sum(p.numel() for p in load_checkpoint(tiny_ckpt).unet.parameters())


@pytest.mark.parametrize(("v_pred", "ztsnr", "expected"), [(True, False, ("v", False)), (True, True, ("v", True))])
def test_prediction_markers(tmp_path: Path, v_pred: bool, ztsnr: bool, expected: tuple[str, bool]) -> None:
    path = make_tiny_checkpoint(tmp_path / "v.safetensors", v_pred=v_pred, ztsnr=ztsnr, vae=False)
    info = inspect_checkpoint(path)
    assert (info.prediction, info.ztsnr, info.prediction_source) == (*expected, "marker")
    assert "v_pred" not in info.ignored_keys


@pytest.fixture(scope="module")
def vz_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("vz") / "vz.safetensors", v_pred=True, ztsnr=True)


@pytest.mark.parametrize(("override", "expected"), [("eps", ("eps", False)), ("v", ("v", False)),
                                                     ("v-zsnr", ("v", True))])
def test_prediction_override(vz_ckpt: Path, override: str, expected: tuple[str, bool]) -> None:
    info = load_checkpoint(vz_ckpt, prediction=override).info
    assert (info.prediction, info.ztsnr, info.prediction_source) == (*expected, "override")


def test_bad_override_is_rejected(tiny_ckpt: Path) -> None:
    with pytest.raises(CheckpointError, match="prediction must be one of"):
        load_checkpoint(tiny_ckpt, prediction="x0")


def test_inpaint_unet_is_detected(tmp_path: Path) -> None:
    info = inspect_checkpoint(make_tiny_checkpoint(tmp_path / "i.safetensors", inpaint=True, vae=False))
    assert info.arch == "sdxl-inpaint" and info.unet.in_channels == 9


def test_fp16_file_loads_in_requested_dtypes_and_vae_never_fp16(tmp_path: Path) -> None:
    path = make_tiny_checkpoint(tmp_path / "h.safetensors", dtype=torch.float16)
    assert inspect_checkpoint(path).file_dtypes == ["F16"]
    m = load_checkpoint(path, dtype=torch.float16)
    assert m.unet.time_embed[0].weight.dtype == torch.float16
    assert next(m.clip_g.parameters()).dtype == torch.float16
    assert m.vae.dtype == torch.float32
    assert load_checkpoint(path, dtype=torch.bfloat16).vae.dtype == torch.bfloat16
    assert load_checkpoint(path, dtype=torch.float16, vae_dtype=torch.float16).vae.dtype == torch.float16


@pytest.mark.parametrize(("dtype", "name"), [(torch.float8_e4m3fn, "F8_E4M3"), (torch.float8_e5m2, "F8_E5M2")])
def test_fp8_file_is_upcast_on_load(tmp_path: Path, dtype: torch.dtype, name: str) -> None:
    """Civitai "fp8" checkpoints store e4m3 (or e5m2) weights: each tensor is cast to the compute dtype as read."""
    from safetensors.torch import load_file

    path = make_tiny_checkpoint(tmp_path / "f8.safetensors", dtype=dtype)
    assert inspect_checkpoint(path).file_dtypes == [name]
    stored = load_file(str(path))["model.diffusion_model.time_embed.0.weight"]
    m = load_checkpoint(path, dtype=torch.bfloat16)
    assert torch.equal(m.unet.time_embed[0].weight, stored.to(torch.bfloat16))
    assert m.vae.dtype == torch.bfloat16 and next(m.clip_l.parameters()).dtype == torch.bfloat16


def test_loaded_model_is_inference_only_and_hashes_lazily(tiny_ckpt: Path, tiny_model) -> None:  # type: ignore[no-untyped-def]
    assert not any(p.requires_grad for p in tiny_model.unet.parameters())
    assert not tiny_model.unet.training and not tiny_model.clip_l.training
    assert tiny_model.sha256_short == hashlib.sha256(tiny_ckpt.read_bytes()).hexdigest()[:10]
    ids = torch.tensor([[49406, 49407] + [49407] * 75])
    with torch.inference_mode():  # the non-persistent position_ids buffer was rebuilt
        tiny_model.clip_l(ids)


def test_missing_vae_needs_a_vae_file_in_any_layout(sd, tmp_path: Path, tiny_model) -> None:  # type: ignore[no-untyped-def]
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    no_vae = _save({k: v for k, v in sd.items() if not k.startswith("first_stage_model.")}, tmp_path / "n.safetensors")
    info = inspect_checkpoint(no_vae)
    assert info.vae is None and "vae" not in info.components
    with pytest.raises(CheckpointError, match="n.safetensors: has no VAE"):
        load_checkpoint(no_vae)
    vae_sd = {k: v for k, v in sd.items() if k.startswith("first_stage_model.")}
    bare = _save({k[len("first_stage_model."):]: v for k, v in vae_sd.items()}, tmp_path / "bare.safetensors")
    prefixed = _save(vae_sd, tmp_path / "prefixed.safetensors")
    diffusers = _save(convert_ldm_vae_checkpoint(vae_sd, vae_config(VAE_TINY)), tmp_path / "diff.safetensors")
    z = torch.randn(1, 4, 4, 4)
    with torch.inference_mode():
        outs = [load_vae_file(p).decode(z) for p in (bare, prefixed, diffusers)]
        m = load_checkpoint(no_vae, vae_path=diffusers)
        outs.append(m.vae.decode(z))
    assert m.info.vae == VAE_TINY and "vae" in m.info.components
    assert outs[0].abs().max() > 0
    assert all(torch.equal(outs[0], o) for o in outs[1:])


def _expect(path: Path, pattern: str) -> None:
    with pytest.raises(CheckpointError, match=pattern) as e:
        load_checkpoint(path)
    assert str(path) in str(e.value)


def test_truncated_file(tiny_ckpt: Path, tmp_path: Path) -> None:
    data = tiny_ckpt.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    _expect(tmp_path / "cut.safetensors", "truncated")
    (tmp_path / "head.safetensors").write_bytes(data[:100])
    _expect(tmp_path / "head.safetensors", "not a valid .safetensors file")


def test_random_bytes_and_corrupt_header(tmp_path: Path) -> None:
    (tmp_path / "rand.safetensors").write_bytes(torch.randint(0, 256, (4096,), dtype=torch.uint8).numpy().tobytes())
    _expect(tmp_path / "rand.safetensors", "not a valid .safetensors file: bad header length")
    header = b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]'  # unterminated JSON
    (tmp_path / "json.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 4)
    _expect(tmp_path / "json.safetensors", "not a valid .safetensors file: header is not JSON")
    (tmp_path / "tiny.safetensors").write_bytes(b"abc")
    _expect(tmp_path / "tiny.safetensors", "not a valid .safetensors file")
    _expect(tmp_path / "absent.safetensors", "cannot read")


def test_sd15_shaped_and_other_non_sdxl_files(sd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sd15 = {k.replace("conditioner.embedders.0.transformer.", "cond_stage_model.transformer."): v
            for k, v in sd.items() if "label_emb" not in k and not k.startswith("conditioner.embedders.1.")}
    _expect(_save(sd15, tmp_path / "sd15.safetensors"), "SD1.x/SD2.x")
    no_adm = {k: v for k, v in sd.items() if "label_emb" not in k}
    _expect(_save(no_adm, tmp_path / "noadm.safetensors"), "not SDXL: the UNet has no ADM")
    refiner = {k: v for k, v in sd.items() if not k.startswith("conditioner.embedders.0.")}
    _expect(_save(refiner, tmp_path / "refiner.safetensors"), "refiner")
    lora = {"lora_unet_x.lora_up.weight": torch.zeros(2, 2)}
    _expect(_save(lora, tmp_path / "lora.safetensors"), "this is a LoRA")
    vae = {k[len("first_stage_model."):]: v for k, v in sd.items() if k.startswith("first_stage_model.")}
    _expect(_save(vae, tmp_path / "vae.safetensors"), "this is a VAE")


def test_missing_unexpected_and_misshaped_tensors(sd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_v.weight"
    missing = {k: v for k, v in sd.items() if k != key}
    _expect(_save(missing, tmp_path / "m.safetensors"), r"UNet does not match .* 1 missing \(e.g. input_blocks.4.1")
    extra = {**sd, "model.diffusion_model.input_blocks.4.1.extra.weight": torch.zeros(3)}
    _expect(_save(extra, tmp_path / "u.safetensors"), "1 unexpected")
    bad = dict(sd)
    bad["first_stage_model.decoder.mid.attn_1.q.weight"] = torch.zeros(64, 64, 1, 1)[:32]
    _expect(_save(bad, tmp_path / "s.safetensors"), "VAE does not match .* wrong shape")
    g = {k: v for k, v in sd.items() if "embedders.1.model.transformer.resblocks.1.attn.in_proj_bias" not in k}
    _expect(_save(g, tmp_path / "g.safetensors"), "CLIP-G does not match")


def test_edm_checkpoints_are_refused(sd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _save({**sd, "edm_mean": torch.zeros(1, 4, 1, 1), "edm_std": torch.ones(1, 4, 1, 1)}, tmp_path / "e.safetensors")
    assert inspect_checkpoint(path).prediction == "edm"
    _expect(path, "EDM")


def test_unknown_root_keys_are_ignored_but_reported(sd, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = _save({**sd, "alphas_cumprod": torch.ones(1000), "some_trainer_step": torch.zeros(1)}, tmp_path / "x.safetensors")
    info = load_checkpoint(path).info
    assert info.ignored_keys == ["alphas_cumprod", "some_trainer_step"]


def test_unavailable_or_unknown_device_is_a_clear_error(tiny_ckpt: Path) -> None:
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        load_checkpoint(tiny_ckpt, device="gpu0")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present, so 'cuda' is not an unavailable device here")
    with pytest.raises(ValueError, match="device cuda is not available"):
        load_checkpoint(tiny_ckpt, device="cuda")


def test_file_hash_is_remembered_per_path_size_and_mtime(tmp_path: Path) -> None:
    import json
    import os

    from peropix_tui.core.paths import cache_dir
    from peropix_tui.engine.checkpoint import HASH_CACHE, file_sha256

    f = tmp_path / "m.safetensors"
    f.write_bytes(b"weights-v1")
    assert file_sha256(f) == hashlib.sha256(b"weights-v1").hexdigest()
    cache = cache_dir() / HASH_CACHE
    entries = json.loads(cache.read_text())
    assert list(entries.values()) == [hashlib.sha256(b"weights-v1").hexdigest()]
    (key,) = entries
    cache.write_text(json.dumps({key: "remembered"}))  # proves the cache is consulted
    assert file_sha256(f) == "remembered"
    f.write_bytes(b"weights-v2!")  # new size and mtime: hashed again, stale entry dropped
    os.utime(f, ns=(1, 1))
    assert file_sha256(f) == hashlib.sha256(b"weights-v2!").hexdigest()
    assert "remembered" not in json.loads(cache.read_text()).values()
    cache.write_text("{not json")  # a corrupt cache is rebuilt, never fatal
    assert file_sha256(f) == hashlib.sha256(b"weights-v2!").hexdigest()
