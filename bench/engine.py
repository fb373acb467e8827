"""UNet step benchmark: PeroPix's SGM UNet vs diffusers' UNet2DConditionModel, same weights, same
dtype, same device, same run. One CFG step = batch 2.

    python bench/engine.py                         # CPU, mid-size SDXL-shaped config, fp32
    python bench/engine.py --compile               # + torch.compile rows (slow to compile on CPU)
    python bench/engine.py --full --device cuda --dtype bf16 --compile   # full SDXL at 1024²

Prints ms/step, achieved TFLOP/s, % of peak (the peak is a large matmul measured in the same run;
on CUDA also % of 790 TFLOP/s, the H100 bf16 dense practical peak), peak memory, the ratio
ours/diffusers, and max|Δ| between the two outputs. FLOPs are counted with
``torch.utils.flop_counter.FlopCounterMode`` on the meta device (13.52 TFLOP for full SDXL at 1024²).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peropix_tui.engine.unet import UNet, UNetConfig, timestep_embedding  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
H100_BF16_PEAK = 790e12
MID = UNetConfig(  # SDXL-shaped (3 levels, no attention at level 0, 64-d heads), CPU-sized
    model_channels=64, channel_mult=(1, 2, 4), depth_in=(0, 0, 1, 1, 2, 2), depth_mid=2,
    depth_out=(2, 2, 2, 1, 1, 1, 0, 0, 0),
)


def diffusers_config(cfg: UNetConfig) -> dict[str, object]:
    chans = tuple(cfg.model_channels * m for m in cfg.channel_mult)
    depths = tuple(cfg.depth_in[i * cfg.num_res_blocks] for i in range(len(chans)))
    return {
        "sample_size": 128, "in_channels": cfg.in_channels, "out_channels": cfg.out_channels,
        "down_block_types": tuple("CrossAttnDownBlock2D" if d else "DownBlock2D" for d in depths),
        "up_block_types": tuple("CrossAttnUpBlock2D" if d else "UpBlock2D" for d in reversed(depths)),
        "block_out_channels": chans, "layers_per_block": cfg.num_res_blocks,
        "attention_head_dim": tuple(max(1, c // cfg.head_dim) for c in chans),
        "transformer_layers_per_block": tuple(max(1, d) for d in depths), "cross_attention_dim": cfg.context_dim,
        "use_linear_projection": True, "addition_embed_type": "text_time", "addition_time_embed_dim": 256,
        "projection_class_embeddings_input_dim": cfg.adm_in, "norm_num_groups": 32,
    }


def build_pair(cfg: UNetConfig, device: str, dtype: torch.dtype, seed: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Our UNet with random N(0, 0.02) weights and diffusers' UNet holding the very same tensors."""
    from diffusers import UNet2DConditionModel
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

    with torch.device("meta"):
        ours = UNet(cfg)
    ours = ours.to(dtype).to_empty(device=device)  # never materialise fp32 copies of a bf16 model
    if device != "meta":
        gen = torch.Generator(device=device).manual_seed(seed)
        with torch.no_grad():
            for name, p in ours.named_parameters():
                p.normal_(1.0 if p.ndim == 1 and "norm" in name else 0.0, 0.02, generator=gen)
    sd = {"model.diffusion_model." + k: v for k, v in ours.state_dict().items()}
    config = diffusers_config(cfg)
    with torch.device("meta"):
        theirs = UNet2DConditionModel(**config)
    theirs.load_state_dict(convert_ldm_unet_checkpoint(sd, config), strict=True, assign=True)
    return ours.eval().requires_grad_(False), theirs.eval().requires_grad_(False)


def inputs(cfg: UNetConfig, latent: int, device: str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    gen = None if device == "meta" else torch.Generator(device=device).manual_seed(0)
    pooled_dim = cfg.adm_in - 6 * 256
    time_ids = torch.tensor([[8.0 * latent, 8.0 * latent, 0, 0, 8.0 * latent, 8.0 * latent]] * 2, device=device)
    pooled = torch.randn(2, pooled_dim, generator=gen, device=device, dtype=dtype)
    adm = torch.cat([pooled, timestep_embedding(time_ids.flatten(), 256).reshape(2, -1).to(dtype)], dim=1)
    return {
        "x": torch.randn(2, cfg.in_channels, latent, latent, generator=gen, device=device, dtype=dtype),
        "t": torch.tensor([500.0, 500.0], device=device),
        "ctx": torch.randn(2, 77, cfg.context_dim, generator=gen, device=device, dtype=dtype),
        "adm": adm, "pooled": pooled, "time_ids": time_ids.to(dtype),
    }


def step_fns(ours: torch.nn.Module, theirs: torch.nn.Module, inp: dict[str, torch.Tensor]
             ) -> dict[str, Callable[[], torch.Tensor]]:
    return {
        "peropix": lambda: ours(inp["x"], inp["t"], inp["ctx"], inp["adm"]),
        "diffusers": lambda: theirs(inp["x"], inp["t"], encoder_hidden_states=inp["ctx"], added_cond_kwargs={
            "text_embeds": inp["pooled"], "time_ids": inp["time_ids"]}).sample,
    }


def count_flops(cfg: UNetConfig, latent: int) -> float:
    with torch.device("meta"):
        model = UNet(cfg)
        inp = inputs_meta(cfg, latent)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(*inp)
    return float(counter.get_total_flops())


def inputs_meta(cfg: UNetConfig, latent: int) -> tuple[torch.Tensor, ...]:
    return (torch.empty(2, cfg.in_channels, latent, latent), torch.empty(2), torch.empty(2, 77, cfg.context_dim),
            torch.empty(2, cfg.adm_in))


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_ms(fns: dict[str, Callable[[], object]], device: str, warmup: int, iters: int) -> dict[str, float]:
    """Median ms per call; the models run interleaved so load changes hit both alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    with torch.inference_mode():
        for _ in range(warmup):
            for fn in fns.values():
                fn()
        sync(device)
        for _ in range(iters):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                sync(device)
                times[name].append((time.perf_counter() - t0) * 1e3)
    pick = statistics.median if device == "cuda" else min
    return {name: pick(ts) for name, ts in times.items()}


def matmul_peak(device: str, dtype: torch.dtype) -> float:
    """FLOP/s of a large square matmul on this device/dtype: the practical peak for the % column."""
    n = 8192 if device == "cuda" else 2048
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    ms = time_ms({"mm": lambda: a @ b}, device, warmup=2, iters=10 if device == "cuda" else 7)["mm"]
    return 2 * n**3 / (ms / 1e3)


def peak_mem(device: str, fn: Callable[[], object]) -> str:
    if device != "cuda":
        return "-"
    torch.cuda.reset_peak_memory_stats()
    with torch.inference_mode():
        fn()
    sync(device)
    return f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"


def dry_run(fns: dict[str, Callable[[], torch.Tensor]], flops: float, cfg: UNetConfig) -> int:
    """--device meta: build both models with shared weights and run both forwards without memory."""
    with torch.inference_mode():
        shapes = {name: tuple(fn().shape) for name, fn in fns.items()}
    print(f"meta dry run: config {cfg}\nFLOP per CFG step {flops / 1e12:.3f} T; output shapes {shapes}")
    return 0 if len(set(shapes.values())) == 1 else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda", "meta"],
                    help="meta: build both models and run both forwards with no memory or timing (a check)")
    ap.add_argument("--dtype", default=None, choices=list(DTYPES), help="default: bf16 on cuda, fp32 on cpu")
    ap.add_argument("--full", action="store_true", help="full SDXL UNet (2.57 B params)")
    ap.add_argument("--latent", type=int, default=None, help="latent side (default 128 with --full, else 32)")
    ap.add_argument("--iters", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="also time torch.compile'd models")
    ap.add_argument("--compile-mode", default=None,
                    choices=["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"],
                    help="torch.compile mode for --compile (default: torch's default)")
    ap.add_argument("--channels-last", action="store_true", help="also time both in channels_last ('cl')")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads (default 1 on cpu: steadier on a shared machine)")
    args = ap.parse_args(argv)
    if args.threads or args.device == "cpu":
        torch.set_num_threads(args.threads or 1)
    dtype = DTYPES[args.dtype or ("bf16" if args.device == "cuda" else "fp32")]
    cfg = UNetConfig() if args.full else MID
    latent = args.latent or (128 if args.full else 32)
    iters = args.iters or (20 if args.device == "cuda" else 5)

    flops = count_flops(cfg, latent)
    ours, theirs = build_pair(cfg, args.device, dtype, seed=0)
    inp = inputs(cfg, latent, args.device, dtype)
    fns = step_fns(ours, theirs, inp)
    if args.device == "meta":
        return dry_run(fns, flops, cfg)
    with torch.inference_mode():
        diff = (fns["peropix"]().float() - fns["diffusers"]().float()).abs().max().item()
    measured_peak = matmul_peak(args.device, dtype)
    rows = []
    variants = [("eager", fns)]
    if args.channels_last:
        ours_cl = copy.deepcopy(ours).to(memory_format=torch.channels_last)
        theirs_cl = copy.deepcopy(theirs).to(memory_format=torch.channels_last)
        inp_cl = {**inp, "x": inp["x"].contiguous(memory_format=torch.channels_last)}
        variants.append(("cl", step_fns(ours_cl, theirs_cl, inp_cl)))
    if args.compile:
        mode = None if args.compile_mode in (None, "default") else args.compile_mode
        compiled = step_fns(torch.compile(ours, mode=mode), torch.compile(theirs, mode=mode), inp)
        variants.append(("compile", compiled))
    for mode, table in variants:
        for name, ms in time_ms(table, args.device, args.warmup, iters).items():
            rows.append((name, mode, ms, peak_mem(args.device, table[name])))
    peak = max(matmul_peak(args.device, dtype), measured_peak)  # measured around the runs
    params = sum(p.numel() for p in ours.parameters())
    print(f"UNet {'SDXL full' if args.full else 'mid-size SDXL-shaped'}: {params / 1e6:,.1f} M params, "
          f"latent {latent}x{latent} (image {8 * latent}²), CFG batch 2, {args.device} {str(dtype)[6:]}, "
          f"threads {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"FLOP per CFG step {flops / 1e12:.3f} T; matmul peak measured {peak / 1e12:.2f} TFLOP/s; "
          f"max|peropix - diffusers| = {diff:.2e}")
    # on a shared CPU the best of N is the steadier estimate; on CUDA the median
    stat = f"{'median' if args.device == 'cuda' else 'best'} of {iters}, models interleaved"
    print(f"ms/step = {stat}")
    header = f"{'model':<10}{'mode':<9}{'ms/step':>10}{'TFLOP/s':>9}{'% peak':>8}"
    header += f"{'% 790T':>8}" if args.device == "cuda" else ""
    print(header + f"{'peak mem':>12}{'ours/diff':>11}")
    base = {mode: ms for name, mode, ms, _ in rows if name == "diffusers"}
    for name, mode, ms, mem in rows:
        tflops = flops / (ms / 1e3) / 1e12
        line = f"{name:<10}{mode:<9}{ms:>10.1f}{tflops:>9.2f}{100 * tflops * 1e12 / peak:>7.1f}%"
        line += f"{100 * tflops * 1e12 / H100_BF16_PEAK:>7.1f}%" if args.device == "cuda" else ""
        ratio = f"{ms / base[mode]:.3f}" if name == "peropix" else ""
        print(line + f"{mem:>12}{ratio:>11}")
    best = min((ms, mode) for name, mode, ms, _ in rows if name == "peropix")
    print(f"fastest peropix ({best[1]}) / diffusers eager = {best[0] / base['eager']:.3f} "
          f"(goal on an H100: ≤ 0.6, and ≤ 38 ms per CFG step at 1024²)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
