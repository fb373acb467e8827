"""Full-size SDXL layout on the meta device (no memory): our modules' key/shape sets convert with the
diffusers converters into diffusers/transformers models without a missing or unexpected key, and the
header-only inspector detects the SDXL base config from a sparse full-size file."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import AutoencoderKL as DiffusersVAE
from diffusers import UNet2DConditionModel
from diffusers.loaders.single_file_utils import (
    convert_ldm_unet_checkpoint,
    convert_ldm_vae_checkpoint,
    convert_open_clip_checkpoint,
)
from transformers import CLIPTextConfig, CLIPTextModelWithProjection

from peropix_tui.engine.checkpoint import CLIP_G, UNET, VAE, inspect_checkpoint
from peropix_tui.engine.clip import CLIP_G_CONFIG, canonical_names, openclip_to_hf
from peropix_tui.engine.unet import UNet, UNetConfig
from peropix_tui.engine.vae import AutoencoderKL, VAEConfig

from .oracle import unet_config, vae_config
from .tiny import full_sdxl_shapes, make_sparse_checkpoint, openclip_shapes


def _meta_sd(module: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {prefix + k: v for k, v in module.state_dict().items()}


def _shapes(sd: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in sd.items()}


def _params(sd: dict[str, torch.Tensor]) -> int:
    return sum(v.numel() for v in sd.values())


def test_full_unet_converts_to_diffusers_sdxl_without_missing_or_unexpected_keys() -> None:
    with torch.device("meta"):
        ours = UNet(UNetConfig())
        config = unet_config(UNetConfig())
        ref = UNet2DConditionModel(**config)
    assert config["attention_head_dim"] == (5, 10, 20)
    converted = convert_ldm_unet_checkpoint(_meta_sd(ours, UNET), config)
    assert _shapes(converted) == _shapes(ref.state_dict())
    assert len(ours.state_dict()) == len(ref.state_dict()) == 1680
    assert round(_params(ours.state_dict()) / 1e9, 4) == 2.5675


def test_full_vae_converts_to_diffusers_without_missing_or_unexpected_keys() -> None:
    with torch.device("meta"):
        ours = AutoencoderKL(VAEConfig())
        ref = DiffusersVAE(**vae_config(VAEConfig()))
    converted = convert_ldm_vae_checkpoint(_meta_sd(ours, VAE), vae_config(VAEConfig()))
    assert _shapes(converted) == _shapes(ref.state_dict())
    assert round(_params(ours.state_dict()) / 1e6, 1) == 83.7


def test_full_clip_g_conversion_matches_transformers_model() -> None:
    meta = {k: torch.empty(s, device="meta") for k, s in openclip_shapes(CLIP_G_CONFIG).items()}
    ours = openclip_to_hf(meta)
    with torch.device("meta"):
        model = CLIPTextModelWithProjection(CLIPTextConfig(**CLIP_G_CONFIG))
    names = canonical_names(model)
    expected = {c: tuple(model.state_dict()[n].shape) for c, n in names.items()}
    assert _shapes(ours) == expected
    theirs = convert_open_clip_checkpoint(model, {CLIP_G + k: v for k, v in meta.items()}, prefix=CLIP_G)
    theirs.pop("text_model.embeddings.position_ids", None)
    assert _shapes(theirs) == _shapes(ours)
    assert round(_params(ours) / 1e6, 1) == 694.7


def test_inspect_detects_sdxl_base_from_full_size_header(tmp_path: Path) -> None:
    shapes = full_sdxl_shapes()
    shapes["v_pred"] = ()
    path = make_sparse_checkpoint(tmp_path / "sdxl.safetensors", shapes)
    info = inspect_checkpoint(path)
    assert info.unet == UNetConfig()
    assert info.vae == VAEConfig()
    assert info.arch == "sdxl" and info.adm_in == 2816
    assert (info.clip_l["hidden_size"], info.clip_l["num_attention_heads"], info.clip_l["num_hidden_layers"]) == (768, 12, 12)
    assert (info.clip_g["hidden_size"], info.clip_g["num_attention_heads"], info.clip_g["num_hidden_layers"]) == (1280, 20, 32)
    assert info.prediction == "v" and not info.ztsnr
    assert info.file_dtypes == ["F16"]
    assert round(info.param_counts["unet"] / 1e9, 4) == 2.5675
    assert round(info.param_counts["clip_l"] / 1e6, 1) == 123.1
    assert round(info.param_counts["clip_g"] / 1e6, 1) == 694.7
