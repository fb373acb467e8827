"""End-to-end txt2img benchmark: PeroPix's local pipeline vs diffusers' StableDiffusionXLPipeline,
same weights (a generated SDXL-shaped checkpoint, converted for diffusers with its own single-file
converters), same text encoders, same size, Euler, CFG 5, same device, same run.

    python bench/pipeline.py                     # CPU, tiny checkpoint, 256², 10 and 20 steps
    python bench/pipeline.py --size 512 --runs 5
    python bench/pipeline.py --threads 1 --clock cpu    # steadier numbers on a busy machine

Each pipeline runs at two step counts; per-step cost = slope, fixed cost (text encoding, VAE
decode, set-up) = intercept. Prints the median of ``--runs`` warm runs and the ratio ours/diffusers.
This measures everything around the UNet (sampling loop, CFG batching, conditioning, previews are
off); the UNet itself is compared by ``bench/engine.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from peropix_tui.engine.checkpoint import load_checkpoint  # noqa: E402
from peropix_tui.engine.latents import SCALE_FACTOR  # noqa: E402
from peropix_tui.engine.pipeline import Request, generate  # noqa: E402
from peropix_tui.engine.tokenizer import get_tokenizer  # noqa: E402

PROMPT = "1girl, solo, (smile:1.1), looking at viewer, night sky, city lights"
NEGATIVE = "lowres, bad anatomy"


def diffusers_pipeline(model: Any, raw: dict[str, torch.Tensor], workdir: Path) -> Any:
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline
    from transformers import CLIPTokenizer

    from tests.engine.oracle import diffusers_unet, diffusers_vae

    tok = get_tokenizer()
    (workdir / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tok.vocab)}), encoding="utf-8")
    merges = "#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in tok.merges) + "\n"
    (workdir / "merges.txt").write_text(merges, encoding="utf-8")
    vae = diffusers_vae(raw, model.info.vae)
    vae.register_to_config(scaling_factor=SCALE_FACTOR, force_upcast=False)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="leading", steps_offset=1)
    return StableDiffusionXLPipeline(
        vae=vae, text_encoder=model.clip_l, text_encoder_2=model.clip_g,
        tokenizer=CLIPTokenizer.from_pretrained(str(workdir), model_max_length=77),
        tokenizer_2=CLIPTokenizer.from_pretrained(str(workdir), pad_token="!", model_max_length=77),
        unet=diffusers_unet(raw, model.info.unet), scheduler=scheduler, force_zeros_for_empty_prompt=False,
    )


def interleaved_medians(fns: dict[str, Callable[[], object]], runs: int,
                        clock: Callable[[], float]) -> dict[str, float]:
    """Median time of each function; runs alternate so background load hits every one alike."""
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = clock()
            fn()
            times[name].append(clock() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--steps", type=int, nargs=2, default=(10, 20))
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="cpu = process CPU time: steadier on a shared machine (use with --threads 1)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from safetensors.torch import load_file

    from tests.engine.tiny import make_tiny_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        path = make_tiny_checkpoint(Path(tmp) / "bench.safetensors")
        model = load_checkpoint(path)
        pipe = diffusers_pipeline(model, load_file(str(path)), Path(tmp))
        pipe.set_progress_bar_config(disable=True)
        rows: dict[str, list[float]] = {"peropix": [], "diffusers": []}
        for steps in args.steps:
            req = Request(prompt=PROMPT, negative=NEGATIVE, width=args.size, height=args.size, steps=steps,
                          cfg=5.0, sampler="euler", schedule="normal", seed=1)
            medians = interleaved_medians({
                "peropix": lambda r=req: generate(model, r),  # type: ignore[misc]
                "diffusers": lambda s=steps: pipe(
                    PROMPT, negative_prompt=NEGATIVE, num_inference_steps=s, guidance_scale=5.0, height=args.size,
                    width=args.size, generator=torch.manual_seed(1)),
            }, args.runs, time.process_time if args.clock == "cpu" else time.perf_counter)
            for name, seconds in medians.items():
                rows[name].append(seconds)
    a, b = args.steps
    print(f"txt2img {args.size}x{args.size}, euler, CFG 5, device cpu, {torch.get_num_threads()} threads, "
          f"{args.clock} time, median of {args.runs} interleaved warm runs (tiny SDXL-shaped checkpoint)")
    print(f"{'pipeline':<10} {f'{a} steps s':>11} {f'{b} steps s':>11} {'ms/step':>9} {'fixed ms':>9}")
    derived = {}
    for name, (ta, tb) in rows.items():
        per_step = (tb - ta) / (b - a)
        derived[name] = (per_step, ta - per_step * a)
        print(f"{name:<10} {ta:>11.3f} {tb:>11.3f} {per_step * 1e3:>9.1f} {derived[name][1] * 1e3:>9.1f}")
    ratio = [rows["peropix"][i] / rows["diffusers"][i] for i in range(2)]
    print(f"ratio peropix/diffusers: {ratio[0]:.2f} ({a} steps), {ratio[1]:.2f} ({b} steps), "
          f"per step {derived['peropix'][0] / derived['diffusers'][0]:.2f}")


if __name__ == "__main__":
    main()
