"""Simulated peak VRAM of a full-size SDXL generation at 1024², ours vs diffusers, without a GPU.

    python bench/vram.py                      # bf16, 1024², batch 1
    python bench/vram.py --dtype fp16 --size 1216x832

Every model is built at full SDXL size on the ``meta`` device standing in for the GPU (shapes and
dtypes, no memory; a CPU-only torch cannot fake a CUDA device through indexing), and each stage of
a generation runs through the real modules. A dispatch mode follows every storage an operator
creates on that device and sums the bytes still alive after each operator: the peak of that sum is
what ``torch.cuda.max_memory_allocated`` would report, less allocator rounding and fragmentation
and kernel workspaces (cuDNN convolution workspaces can add some hundreds of MB at 1024²).

Attention runs the kernel CUDA would pick: flash attention for fp16/bf16 with head dim ≤ 256,
memory-efficient attention otherwise (fp32, or the VAE's 512-wide single head). The stand-in
device cannot choose by itself (it would take the math path and materialise the attention matrix).

Stages, as each pipeline runs them:
- ours: UNet + VAE resident; the text encoders rest on the CPU and come to the GPU one at a time
  to encode (pipeline._resident); one CFG step (cond and uncond in one batch of 2); VAE decode
  (VAE in bf16, or fp32 when the dtype is fp16: checkpoint._vae_dtype).
- diffusers: ``StableDiffusionXLPipeline.to("cuda")`` keeps all four models resident; same CFG
  step; decode (upcast to fp32 for fp16, as its ``force_upcast`` does).

Calibration point: diffusers' tutorial measured 8.96 GB for its SDXL bf16 + SDPA pipeline at 1024²
on an A100 (specs/local-engine.md §5.2; its unit is likely GiB, i.e. 9.6 GB). The diffusers column
here comes out 0.4–1.1 GB lower: that gap is the order of what the simulation leaves out.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peropix_tui.engine import clip as clipmod  # noqa: E402
from peropix_tui.engine.unet import UNet, UNetConfig  # noqa: E402
from peropix_tui.engine.vae import AutoencoderKL, VAEConfig  # noqa: E402

GPU = "meta"  # stands in for CUDA: shapes and dtypes, no memory
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
GB = 1e9


class LiveBytes(TorchDispatchMode):
    """Sum of the bytes of CUDA storages still referenced, and its peak per named stage."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, tuple[StorageWeakRef, int]] = {}
        self.peak = 0
        self.stage_peaks: dict[str, float] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type == GPU:
                storage = t.untyped_storage()
                ref = StorageWeakRef(storage)
                if ref.cdata not in self.live:
                    self.live[ref.cdata] = (ref, storage.nbytes())
        self.peak = max(self.peak, self.current())
        return out

    def current(self) -> int:
        dead = [k for k, (ref, _) in self.live.items() if ref.expired()]
        for k in dead:
            del self.live[k]
        return sum(n for _, n in self.live.values())

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.peak = self.current()
        yield
        self.stage_peaks[name] = max(self.peak, self.current()) / GB


def cuda_kernel_sdpa(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, attn_mask: Any = None,
                     dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                     **_: Any) -> torch.Tensor:
    """SDPA through the fused kernel CUDA picks for these shapes (see the module docstring)."""
    if attn_mask is None and q.dtype in (torch.float16, torch.bfloat16) and q.shape[-1] <= 256:
        return torch.ops.aten._scaled_dot_product_flash_attention(q, k, v, dropout_p, is_causal, scale=scale)[0]
    return torch.ops.aten._scaled_dot_product_efficient_attention(
        q, k, v, attn_mask, False, dropout_p, is_causal, scale=scale)[0]


@contextlib.contextmanager
def fused_attention() -> Iterator[None]:
    original = F.scaled_dot_product_attention
    F.scaled_dot_product_attention = cuda_kernel_sdpa  # type: ignore[assignment]
    try:
        yield
    finally:
        F.scaled_dot_product_attention = original  # type: ignore[assignment]


def _cuda(module: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """``module.to("cuda", dtype)`` on the stand-in device: each parameter and buffer is replaced by
    a fresh tensor of its shape there, so the measurement sees it allocated."""
    return _replace(module, lambda t: torch.empty_like(
        t, device=GPU, dtype=dtype if t.is_floating_point() else t.dtype))


def _replace(module: torch.nn.Module, move: Callable[[torch.Tensor], torch.Tensor]) -> torch.nn.Module:
    for mod in module.modules():
        for name, p in mod._parameters.items():
            if p is not None:
                mod._parameters[name] = torch.nn.Parameter(move(p), requires_grad=False)
        for name, b in mod._buffers.items():
            if b is not None:
                mod._buffers[name] = move(b)
    return module.eval()


def _encode_with(tower: torch.nn.Module) -> None:
    """One tower on one 77-token chunk of the prompt and one of the negative."""
    tower(torch.zeros(2, 77, dtype=torch.long, device=GPU), output_hidden_states=True)


def clip_models() -> tuple[torch.nn.Module, torch.nn.Module]:
    return (clipmod.build_text_model(clipmod.CLIP_L_CONFIG, with_projection=False),
            clipmod.build_text_model(clipmod.CLIP_G_CONFIG, with_projection=True))


def build_ours() -> dict[str, torch.nn.Module]:
    """Full-size modules, weightless (moved onto the stand-in GPU inside the measurement)."""
    with torch.device("meta"):
        clip_l, clip_g = clip_models()
        return {"unet": UNet(UNetConfig()), "vae": AutoencoderKL(VAEConfig()), "clip_l": clip_l, "clip_g": clip_g}


def build_diffusers() -> dict[str, torch.nn.Module]:
    from diffusers import AutoencoderKL as DAutoencoderKL
    from diffusers import UNet2DConditionModel

    from bench.engine import diffusers_config

    with torch.device("meta"):
        clip_l, clip_g = clip_models()
        return {"unet": UNet2DConditionModel(**diffusers_config(UNetConfig())), "vae": DAutoencoderKL(**SDXL_VAE),
                "clip_l": clip_l, "clip_g": clip_g}


def ours(m: dict[str, torch.nn.Module], dtype: torch.dtype, h: int, w: int, mem: LiveBytes) -> None:
    vae_dtype = torch.float32 if dtype == torch.float16 else dtype
    with mem.stage("load (resident models)"):
        unet = _cuda(m["unet"], dtype)
        vae = _cuda(m["vae"], vae_dtype)
    with mem.stage("encode prompts"):  # one encoder on the GPU at a time (pipeline._resident)
        for tower in (m["clip_l"], m["clip_g"]):
            _encode_with(_cuda(tower, dtype))
            _to_cpu(tower)
    _denoise_and_decode(unet, vae.decode, dtype, h, w, mem)


def diffusers(m: dict[str, torch.nn.Module], dtype: torch.dtype, h: int, w: int, mem: LiveBytes) -> None:
    with mem.stage("load (resident models)"):
        unet, vae = _cuda(m["unet"], dtype), _cuda(m["vae"], dtype)
        clip_l, clip_g = _cuda(m["clip_l"], dtype), _cuda(m["clip_g"], dtype)
    with mem.stage("encode prompts"):
        _encode_with(clip_l)
        _encode_with(clip_g)
    if dtype == torch.float16:  # force_upcast: the pipeline moves the VAE to fp32 to decode
        vae = _cuda(vae, torch.float32)

    def decode(z: torch.Tensor) -> torch.Tensor:
        return vae.decode(z.to(vae.dtype)).sample  # type: ignore[no-any-return]

    def step(x: torch.Tensor, t: torch.Tensor, ctx: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        ids = torch.zeros(x.shape[0], 6, device=GPU, dtype=x.dtype)
        return unet(x, t, ctx, added_cond_kwargs={"text_embeds": y[:, :1280], "time_ids": ids}).sample  # type: ignore[no-any-return]

    _denoise_and_decode(step, decode, dtype, h, w, mem)


def _to_cpu(module: torch.nn.Module) -> None:
    """Back to the host: off the GPU's books (the encoders are not used again in this run)."""
    _replace(module, lambda t: torch.empty(0, dtype=t.dtype))


def _denoise_and_decode(unet: Callable[..., torch.Tensor], decode: Callable[[torch.Tensor], torch.Tensor],
                        dtype: torch.dtype, h: int, w: int, mem: LiveBytes) -> None:
    cfg = UNetConfig()
    x = torch.zeros(1, 4, h // 8, w // 8, device=GPU)
    ctx = torch.zeros(2, 77, cfg.context_dim, device=GPU, dtype=dtype)
    y = torch.zeros(2, cfg.adm_in, device=GPU, dtype=dtype)
    t = torch.zeros(2, device=GPU)
    with mem.stage("CFG step (batch 2)"):
        x = unet(torch.cat([x, x]).to(dtype), t, ctx, y)[:1].float()
    with mem.stage("VAE decode"):
        decode(x / 0.13025)


SDXL_VAE: dict[str, Any] = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "sample_size": 1024,
    "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512], "layers_per_block": 2, "scaling_factor": 0.13025,
}


Pipeline = Callable[[dict[str, torch.nn.Module], torch.dtype, int, int, LiveBytes], None]


def simulate(run: Pipeline, models: dict[str, torch.nn.Module], dtype: torch.dtype, h: int, w: int
             ) -> dict[str, float]:
    mem = LiveBytes()
    with fused_attention(), mem, torch.inference_mode():
        run(models, dtype, h, w, mem)
    return mem.stage_peaks


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dtype", default="bf16", choices=list(DTYPES))
    ap.add_argument("--size", default="1024x1024", help="WIDTHxHEIGHT (default 1024x1024)")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    dtype = DTYPES[args.dtype]
    rows = {"peropix": simulate(ours, build_ours(), dtype, h, w),
            "diffusers": simulate(diffusers, build_diffusers(), dtype, h, w)}
    print(f"simulated peak VRAM (GB = 1e9 B), SDXL {w}x{h}, {args.dtype}, batch 1, simulated on the meta device\n")
    stages = list(rows["peropix"])
    print("| stage | " + " | ".join(rows) + " |\n|---|" + "---|" * len(rows))
    for stage in stages:
        print(f"| {stage} | " + " | ".join(f"{r.get(stage, 0):.2f}" for r in rows.values()) + " |")
    peaks = {name: max(r.values()) for name, r in rows.items()}
    print("| **peak** | " + " | ".join(f"**{p:.2f}**" for p in peaks.values()) + " |")
    ok = peaks["peropix"] <= 8.0
    print(f"\ntarget: peak ≤ 8 GB → {'met' if ok else 'NOT met'} (simulated; see the docstring for what is left out)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
