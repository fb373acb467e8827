"""SDXL's ADM vector: pooled CLIP-G ‖ sinusoids of the image size, crop and target size.

``y = cat(pooled, E(h), E(w), E(crop_h), E(crop_w), E(target_h), E(target_w))`` with E the
256-d cos-first timestep embedding (height before width), 1280 + 6·256 = 2816 for SDXL.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .unet import timestep_embedding

N_SIZE_VALUES = 6


def adm_vector(
    pooled: Tensor,
    adm_in: int,
    *,
    height: int,
    width: int,
    crop_h: int = 0,
    crop_w: int = 0,
    target_height: int | None = None,
    target_width: int | None = None,
) -> Tensor:
    """The UNet's ``y`` [B, adm_in] for pooled [B, P]; the target defaults to the image size."""
    per_value = (adm_in - pooled.shape[-1]) // N_SIZE_VALUES
    if per_value <= 0 or pooled.shape[-1] + N_SIZE_VALUES * per_value != adm_in:
        raise ValueError(f"adm_in {adm_in} is not pooled {pooled.shape[-1]} + 6 × embedding size")
    sizes = [height, width, crop_h, crop_w, target_height or height, target_width or width]
    emb = timestep_embedding(torch.tensor(sizes, dtype=torch.float32, device=pooled.device), per_value)
    emb = emb.reshape(1, -1).expand(pooled.shape[0], -1)
    return torch.cat([pooled.float(), emb], dim=-1)
