"""diffusers (test-only dependency) configs and converters used as the numerical oracle."""

from __future__ import annotations

from typing import Any

import torch
from diffusers import AutoencoderKL as DiffusersVAE
from diffusers import UNet2DConditionModel
from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint

from peropix_tui.engine.unet import UNetConfig
from peropix_tui.engine.vae import VAEConfig


def unet_config(cfg: UNetConfig) -> dict[str, Any]:
    """The diffusers UNet2DConditionModel config equal to an SGM config with uniform depth per level
    (diffusers' ``attention_head_dim`` is really the number of heads)."""
    levels = len(cfg.channel_mult)
    chans = tuple(cfg.model_channels * m for m in cfg.channel_mult)
    depths = tuple(cfg.depth_in[i * cfg.num_res_blocks] for i in range(levels))
    down = tuple("CrossAttnDownBlock2D" if d else "DownBlock2D" for d in depths)
    up = tuple("CrossAttnUpBlock2D" if d else "UpBlock2D" for d in reversed(depths))
    pooled = cfg.adm_in - 6 * 256
    return {
        "sample_size": 32, "in_channels": cfg.in_channels, "out_channels": cfg.out_channels,
        "down_block_types": down, "up_block_types": up, "block_out_channels": chans,
        "layers_per_block": cfg.num_res_blocks, "attention_head_dim": tuple(max(1, c // cfg.head_dim) for c in chans),
        "transformer_layers_per_block": tuple(max(1, d) for d in depths), "cross_attention_dim": cfg.context_dim,
        "use_linear_projection": True, "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
        "projection_class_embeddings_input_dim": pooled + 6 * 256, "norm_num_groups": 32,
    }


def vae_config(cfg: VAEConfig) -> dict[str, Any]:
    n = len(cfg.ch_mult)
    return {
        "in_channels": cfg.in_channels, "out_channels": cfg.in_channels,
        "down_block_types": ("DownEncoderBlock2D",) * n, "up_block_types": ("UpDecoderBlock2D",) * n,
        "block_out_channels": tuple(cfg.ch * m for m in cfg.ch_mult), "layers_per_block": cfg.num_res_blocks,
        "latent_channels": cfg.z_channels, "norm_num_groups": 32, "sample_size": 128,
    }


def diffusers_unet(checkpoint: dict[str, torch.Tensor], cfg: UNetConfig, device: str = "cpu") -> UNet2DConditionModel:
    config = unet_config(cfg)
    sd = convert_ldm_unet_checkpoint(checkpoint, config)
    with torch.device("meta"):
        model = UNet2DConditionModel(**config)
    result = model.load_state_dict(sd, strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys
    return model.to(device).eval()


def diffusers_vae(checkpoint: dict[str, torch.Tensor], cfg: VAEConfig) -> DiffusersVAE:
    config = vae_config(cfg)
    sd = convert_ldm_vae_checkpoint(checkpoint, config)
    with torch.device("meta"):
        model = DiffusersVAE(**config)
    model.load_state_dict(sd, strict=True, assign=True)
    return model.eval()
