"""LDM ``AutoencoderKL`` (the SD/SDXL KL-VAE) with the checkpoint's ``first_stage_model.*`` names.

``encode(img in [-1, 1]) -> latent mean`` (unscaled) and ``decode(z) -> img in [-1, 1]``; the SDXL
latent scale factor 0.13025 is applied by the pipeline, not here. Also converts a diffusers-layout
VAE state dict to these names (:func:`diffusers_to_ldm`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

GROUPS = 32


@dataclass(frozen=True)
class VAEConfig:
    """Defaults are the SD/SDXL VAE: 4 levels of 128·(1, 2, 4, 4) channels, 4 latent channels."""

    ch: int = 128
    ch_mult: tuple[int, ...] = (1, 2, 4, 4)
    num_res_blocks: int = 2
    z_channels: int = 4
    in_channels: int = 3

    @property
    def downscale(self) -> int:
        return 1 << (len(self.ch_mult) - 1)

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(GROUPS, ch, eps=1e-6)


class ResnetBlock(nn.Module):
    def __init__(self, ch: int, out_ch: int) -> None:
        super().__init__()
        self.norm1 = _norm(ch)
        self.conv1 = nn.Conv2d(ch, out_ch, 3, padding=1)
        self.norm2 = _norm(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.nin_shortcut: nn.Module = nn.Identity() if ch == out_ch else nn.Conv2d(ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # At 1024² one full-resolution activation of the decoder is 0.25–0.5 GB: SiLU and the
        # residual add work in place on fresh temporaries, and each step rebinds ``h`` so that its
        # input is freed before the next convolution allocates. With Decoder.forward's block-by-block
        # loop: 1.61 → 1.34 GB above the weights for a 1024² bf16 decode (tests/engine/test_vram.py).
        h = F.silu(self.norm1(x), inplace=True)
        h = self.conv1(h)
        h = F.silu(self.norm2(h), inplace=True)
        h = self.conv2(h)
        result: torch.Tensor = h.add_(self.nin_shortcut(x))
        return result


class AttnBlock(nn.Module):
    """Single-head self-attention over pixels; q, k, v, proj_out are 1×1 convs."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.norm = _norm(ch)
        self.q, self.k, self.v = nn.Conv2d(ch, ch, 1), nn.Conv2d(ch, ch, 1), nn.Conv2d(ch, ch, 1)
        self.proj_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        n = self.norm(x)
        q, k, v = (conv(n).flatten(2).transpose(1, 2)[:, None] for conv in (self.q, self.k, self.v))
        out = F.scaled_dot_product_attention(q, k, v)[:, 0]
        result: torch.Tensor = x + self.proj_out(out.transpose(1, 2).reshape(b, c, h, w))
        return result


class Downsample(nn.Module):
    """Stride-2 3×3 conv after asymmetric zero padding (right/bottom by 1)."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.conv(F.pad(x, (0, 1, 0, 1)))
        return result


class Upsample(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return result


class Mid(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.block_1, self.attn_1, self.block_2 = ResnetBlock(ch, ch), AttnBlock(ch), ResnetBlock(ch, ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.block_2(self.attn_1(self.block_1(x)))
        return result


class Level(nn.Module):
    """``block`` ResnetBlocks then an optional ``downsample`` / ``upsample``."""

    def __init__(self, blocks: list[nn.Module], resample: tuple[str, nn.Module] | None) -> None:
        super().__init__()
        self.block = nn.ModuleList(blocks)
        self.resample_name = resample[0] if resample else None
        if resample:
            self.add_module(*resample)

    def stages(self) -> list[nn.Module]:
        return [*self.block, getattr(self, self.resample_name)] if self.resample_name else list(self.block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.stages():
            x = module(x)
        return x


class Encoder(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(cfg.in_channels, cfg.ch, 3, padding=1)
        chans = [cfg.ch] + [cfg.ch * m for m in cfg.ch_mult]
        last = len(cfg.ch_mult) - 1
        self.down = nn.ModuleList()
        for i in range(len(cfg.ch_mult)):
            blocks: list[nn.Module] = [
                ResnetBlock(chans[i] if j == 0 else chans[i + 1], chans[i + 1]) for j in range(cfg.num_res_blocks)
            ]
            self.down.append(Level(blocks, ("downsample", Downsample(chans[i + 1])) if i != last else None))
        self.mid = Mid(chans[-1])
        self.norm_out = _norm(chans[-1])
        self.conv_out = nn.Conv2d(chans[-1], 2 * cfg.z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level in self.down:
            h = level(h)
        result: torch.Tensor = self.conv_out(F.silu(self.norm_out(self.mid(h))))
        return result


class Decoder(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        top = cfg.ch * cfg.ch_mult[-1]
        self.conv_in = nn.Conv2d(cfg.z_channels, top, 3, padding=1)
        self.mid = Mid(top)
        levels: list[nn.Module] = []
        ch = top
        for i in reversed(range(len(cfg.ch_mult))):
            out = cfg.ch * cfg.ch_mult[i]
            blocks: list[nn.Module] = [ResnetBlock(ch if j == 0 else out, out) for j in range(cfg.num_res_blocks + 1)]
            ch = out
            levels.insert(0, Level(blocks, ("upsample", Upsample(out)) if i != 0 else None))
        self.up = nn.ModuleList(levels)  # up[0] is the full-resolution level, run last
        self.norm_out = _norm(ch)
        self.conv_out = nn.Conv2d(ch, 3, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for level in reversed(self.up):  # block by block, so each output frees the one before it
            assert isinstance(level, Level)
            for module in level.stages():
                h = module(h)
        result: torch.Tensor = self.conv_out(F.silu(self.norm_out(h), inplace=True))
        return result


class AutoencoderKL(nn.Module):
    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.config = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.quant_conv = nn.Conv2d(2 * cfg.z_channels, 2 * cfg.z_channels, 1)
        self.post_quant_conv = nn.Conv2d(cfg.z_channels, cfg.z_channels, 1)

    @property
    def dtype(self) -> torch.dtype:
        return self.post_quant_conv.weight.dtype

    def encode(self, img: torch.Tensor) -> torch.Tensor:
        """Image in [-1, 1], (B, 3, H, W) → latent distribution mean (B, z, H/8, W/8), unscaled."""
        moments = self.quant_conv(self.encoder(img.to(self.dtype)))
        result: torch.Tensor = moments[:, : self.config.z_channels].to(img.dtype)
        return result

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Unscaled latent → image in [-1, 1] (not clamped), in ``z``'s dtype."""
        result: torch.Tensor = self.decoder(self.post_quant_conv(z.to(self.dtype))).to(z.dtype)
        return result


# --- diffusers layout -> LDM names -------------------------------------------------------------

_DIFFUSERS_RENAMES = [
    (r"^(encoder|decoder)\.conv_norm_out\.", r"\1.norm_out."),
    (r"^(encoder|decoder)\.mid_block\.resnets\.0\.", r"\1.mid.block_1."),
    (r"^(encoder|decoder)\.mid_block\.resnets\.1\.", r"\1.mid.block_2."),
    (r"^(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|norm)\.", r"\1.mid.attn_1.norm."),
    (r"^(encoder|decoder)\.mid_block\.attentions\.0\.(to_q|query)\.", r"\1.mid.attn_1.q."),
    (r"^(encoder|decoder)\.mid_block\.attentions\.0\.(to_k|key)\.", r"\1.mid.attn_1.k."),
    (r"^(encoder|decoder)\.mid_block\.attentions\.0\.(to_v|value)\.", r"\1.mid.attn_1.v."),
    (r"^(encoder|decoder)\.mid_block\.attentions\.0\.(to_out\.0|proj_attn)\.", r"\1.mid.attn_1.proj_out."),
    (r"^encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.", r"encoder.down.\1.block.\2."),
    (r"^encoder\.down_blocks\.(\d+)\.downsamplers\.0\.", r"encoder.down.\1.downsample."),
    (r"\.conv_shortcut\.", r".nin_shortcut."),
]
_DECODER_UP = re.compile(r"^decoder\.up_blocks\.(\d+)\.(resnets|upsamplers)\.(\d+)\.")


def is_diffusers_layout(keys: list[str]) -> bool:
    return any(k.startswith(("encoder.down_blocks.", "decoder.up_blocks.")) for k in keys)


def diffusers_to_ldm(sd: dict[str, torch.Tensor], levels: int) -> dict[str, torch.Tensor]:
    """Rename a diffusers ``AutoencoderKL`` state dict to LDM names; attention linears become 1×1 convs."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in sd.items():
        new = key
        m = _DECODER_UP.match(new)
        if m:
            level = levels - 1 - int(m.group(1))
            part = f"block.{m.group(3)}." if m.group(2) == "resnets" else "upsample."
            new = f"decoder.up.{level}.{part}" + new[m.end():]
        for pattern, repl in _DIFFUSERS_RENAMES:
            new = re.sub(pattern, repl, new)
        if ".mid.attn_1." in new and new.endswith(".weight") and tensor.ndim == 2:
            tensor = tensor[:, :, None, None]
        out[new] = tensor
    return out
