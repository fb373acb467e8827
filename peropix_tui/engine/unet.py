"""SDXL UNet with SGM ("openaimodel") parameter names, so a checkpoint's ``model.diffusion_model.*``
tensors load with a prefix strip and no renaming.

Layout (SDXL base): ``time_embed``/``label_emb`` MLPs, ``input_blocks`` (conv, then per level
``num_res_blocks`` × [ResBlock, SpatialTransformer?] and a strided-conv Downsample), ``middle_block``
(ResBlock, SpatialTransformer, ResBlock), ``output_blocks`` (mirror, with skip concatenation and a
nearest ×2 Upsample), ``out`` (GroupNorm, SiLU, conv). Attention uses ``scaled_dot_product_attention``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

HEAD_DIM = 64  # SDXL family: num_head_channels = 64 (10 heads at 640 ch, 20 at 1280)
GROUPS = 32


@dataclass(frozen=True)
class UNetConfig:
    """Shape of an SGM UNet. Defaults are SDXL base. Transformer depths are listed per block:
    ``depth_in`` per input ResBlock (level-major), ``depth_out`` per output block (deepest level first)."""

    in_channels: int = 4
    out_channels: int = 4
    model_channels: int = 320
    channel_mult: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 2
    depth_in: tuple[int, ...] = (0, 0, 2, 2, 10, 10)
    depth_mid: int = 10
    depth_out: tuple[int, ...] = (10, 10, 10, 2, 2, 2, 0, 0, 0)
    context_dim: int = 2048
    adm_in: int = 2816
    head_dim: int = HEAD_DIM

    @property
    def time_embed_dim(self) -> int:
        return self.model_channels * 4

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding, cos first: ``cat(cos(t·f), sin(t·f))`` with ``f_i = max_period^(-i/half)``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def _norm(channels: int, eps: float = 1e-5) -> nn.GroupNorm:
    return nn.GroupNorm(GROUPS, channels, eps=eps)


class ResBlock(nn.Module):
    """GN-SiLU-conv, + Linear(emb), GN-SiLU-conv, plus a 1×1 skip when channels change."""

    def __init__(self, ch: int, emb_dim: int, out_ch: int) -> None:
        super().__init__()
        self.in_layers = nn.Sequential(_norm(ch), nn.SiLU(), nn.Conv2d(ch, out_ch, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_dim, out_ch))
        self.out_layers = nn.Sequential(
            _norm(out_ch), nn.SiLU(), nn.Dropout(0.0), nn.Conv2d(out_ch, out_ch, 3, padding=1)
        )
        self.skip_connection: nn.Module = nn.Identity() if ch == out_ch else nn.Conv2d(ch, out_ch, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None].to(x.dtype)
        result: torch.Tensor = self.skip_connection(x) + self.out_layers(h)
        return result


class Attention(nn.Module):
    """Multi-head attention (self when ``context`` is None), no q/k/v bias, SDPA."""

    def __init__(self, dim: int, context_dim: int, heads: int, head_dim: int) -> None:
        super().__init__()
        inner = heads * head_dim
        self.heads = heads
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(context_dim, inner, bias=False)
        self.to_v = nn.Linear(context_dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        ctx = x if context is None else context
        q, k, v = self.to_q(x), self.to_k(ctx), self.to_v(ctx)
        b, n, inner = q.shape
        q, k, v = (t.view(b, -1, self.heads, inner // self.heads).transpose(1, 2) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v)
        result: torch.Tensor = self.to_out(out.transpose(1, 2).reshape(b, n, inner))
        return result


class GEGLU(nn.Module):
    def __init__(self, dim: int, inner: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, gate = self.proj(x).chunk(2, dim=-1)
        result: torch.Tensor = h * F.gelu(gate)
        return result


class FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.net(x)
        return result


class BasicTransformerBlock(nn.Module):
    """x += attn1(norm1 x); x += attn2(norm2 x, context); x += ff(norm3 x)."""

    def __init__(self, dim: int, context_dim: int, heads: int, head_dim: int) -> None:
        super().__init__()
        self.attn1 = Attention(dim, dim, heads, head_dim)
        self.ff = FeedForward(dim)
        self.attn2 = Attention(dim, context_dim, heads, head_dim)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        result: torch.Tensor = self.ff(self.norm3(x)) + x
        return result


class SpatialTransformer(nn.Module):
    """GroupNorm, linear proj_in, ``depth`` transformer blocks over H·W tokens, linear proj_out, residual."""

    def __init__(self, ch: int, depth: int, context_dim: int, head_dim: int) -> None:
        super().__init__()
        heads = ch // head_dim
        self.norm = _norm(ch, eps=1e-6)
        self.proj_in = nn.Linear(ch, heads * head_dim)
        self.transformer_blocks = nn.ModuleList(
            BasicTransformerBlock(heads * head_dim, context_dim, heads, head_dim) for _ in range(depth)
        )
        self.proj_out = nn.Linear(heads * head_dim, ch)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        t = self.proj_in(self.norm(x).permute(0, 2, 3, 1).reshape(b, h * w, c))
        for block in self.transformer_blocks:
            t = block(t, context)
        # x first: keeps x's layout
        result: torch.Tensor = x + self.proj_out(t).view(b, h, w, c).permute(0, 3, 1, 2)
        return result


class Downsample(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.op = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        result: torch.Tensor = self.op(x)
        return result


class Upsample(nn.Module):
    def __init__(self, ch: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, padding=1)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        if size is None:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = F.interpolate(x, size=size, mode="nearest")
        result: torch.Tensor = self.conv(x)
        return result


class Block(nn.Sequential):
    """One entry of input/middle/output_blocks: layers applied in order, each fed what it needs."""

    def forward(  # type: ignore[override]
        self,
        x: torch.Tensor,
        emb: torch.Tensor,
        context: torch.Tensor,
        up_size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        for layer in self:
            if isinstance(layer, ResBlock):
                x = layer(x, emb)
            elif isinstance(layer, SpatialTransformer):
                x = layer(x, context)
            elif isinstance(layer, Upsample):
                x = layer(x, up_size)
            else:
                x = layer(x)
        return x


def _maybe_transformer(layers: list[nn.Module], ch: int, depth: int, cfg: UNetConfig) -> None:
    if depth > 0:
        layers.append(SpatialTransformer(ch, depth, cfg.context_dim, cfg.head_dim))


class UNet(nn.Module):
    """``forward(x, timesteps, context, y) -> ε or v`` (same shape as ``x`` with ``out_channels``)."""

    def __init__(self, cfg: UNetConfig) -> None:
        super().__init__()
        self.config = cfg
        mc, ted = cfg.model_channels, cfg.time_embed_dim
        self.time_embed = nn.Sequential(nn.Linear(mc, ted), nn.SiLU(), nn.Linear(ted, ted))
        self.label_emb = nn.Sequential(nn.Sequential(nn.Linear(cfg.adm_in, ted), nn.SiLU(), nn.Linear(ted, ted)))
        self.input_blocks = nn.ModuleList([Block(nn.Conv2d(cfg.in_channels, mc, 3, padding=1))])
        skip_chs, ch = [mc], mc
        depth_in = iter(cfg.depth_in)
        for level, mult in enumerate(cfg.channel_mult):
            for _ in range(cfg.num_res_blocks):
                layers: list[nn.Module] = [ResBlock(ch, ted, mult * mc)]
                ch = mult * mc
                _maybe_transformer(layers, ch, next(depth_in), cfg)
                self.input_blocks.append(Block(*layers))
                skip_chs.append(ch)
            if level != len(cfg.channel_mult) - 1:
                self.input_blocks.append(Block(Downsample(ch)))
                skip_chs.append(ch)
        mid: list[nn.Module] = [ResBlock(ch, ted, ch)]
        _maybe_transformer(mid, ch, cfg.depth_mid, cfg)
        self.middle_block = Block(*mid, ResBlock(ch, ted, ch))
        self.output_blocks = nn.ModuleList()
        depth_out = iter(cfg.depth_out)
        for level, mult in reversed(list(enumerate(cfg.channel_mult))):
            for i in range(cfg.num_res_blocks + 1):
                layers = [ResBlock(ch + skip_chs.pop(), ted, mult * mc)]
                ch = mult * mc
                _maybe_transformer(layers, ch, next(depth_out), cfg)
                if level and i == cfg.num_res_blocks:
                    layers.append(Upsample(ch))
                self.output_blocks.append(Block(*layers))
        self.out = nn.Sequential(_norm(ch), nn.SiLU(), nn.Conv2d(mc, cfg.out_channels, 3, padding=1))

    @property
    def dtype(self) -> torch.dtype:
        return self.out[2].weight.dtype  # type: ignore[return-value]

    @property
    def memory_format(self) -> torch.memory_format:
        """channels_last after ``unet.to(memory_format=torch.channels_last)`` (inputs follow it)."""
        w: torch.Tensor = self.out[2].weight  # type: ignore[assignment]
        cl = w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous()
        return torch.channels_last if cl else torch.contiguous_format

    def forward(
        self, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        dtype = self.dtype
        t_emb = timestep_embedding(timesteps.expand(x.shape[0]), self.config.model_channels)
        emb = self.time_embed(t_emb.to(dtype)) + self.label_emb(y.to(dtype))
        h, context = x.to(dtype, memory_format=self.memory_format), context.to(dtype)
        skips = []
        for block in self.input_blocks:
            h = block(h, emb, context)
            skips.append(h)
        h = self.middle_block(h, emb, context)
        for block in self.output_blocks:
            skip = skips.pop()
            h = torch.cat([h, skip], dim=1)
            up_size = (skips[-1].shape[2], skips[-1].shape[3]) if skips else None
            h = block(h, emb, context, up_size)
        result: torch.Tensor = self.out(h).to(x.dtype, memory_format=torch.contiguous_format)
        return result
