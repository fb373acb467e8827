"""Memory at full SDXL size, simulated on the meta device by bench/vram.py's live-bytes tracker
(no GPU, no memory): the ≤ 8 GB peak target at 1024² and the VAE decoder's activation budget."""

from __future__ import annotations

import torch

from bench.vram import LiveBytes, _cuda, build_ours, fused_attention, ours, simulate
from peropix_tui.engine.vae import AutoencoderKL, VAEConfig


def test_full_sdxl_generation_at_1024_peaks_under_8_gb_in_bf16() -> None:
    stages = simulate(ours, build_ours(), torch.bfloat16, 1024, 1024)
    assert set(stages) == {"load (resident models)", "encode prompts", "CFG step (batch 2)", "VAE decode"}
    assert 5.0 < stages["load (resident models)"] < 5.5  # 2.57 B UNet + 84 M VAE parameters in bf16
    assert max(stages.values()) <= 8.0


def test_vae_decoder_keeps_few_full_resolution_activations_alive() -> None:
    with torch.device("meta"):
        vae = AutoencoderKL(VAEConfig())
    mem = LiveBytes()
    with fused_attention(), mem, torch.inference_mode():
        decoder = _cuda(vae, torch.bfloat16)
        weights = mem.current()
        mem.peak = weights
        out = decoder.decode(torch.zeros(1, 4, 128, 128, device="meta"))
    assert out.shape == (1, 3, 1024, 1024)
    unit = 128 * 1024 * 1024 * 2  # one 128-channel full-resolution bf16 activation: 268 MB
    # x (256 ch) + its GroupNorm (256 ch) + conv1's output: 5 units; the plain eager form held 6.
    assert mem.peak - weights <= 5.1 * unit  # + GroupNorm statistics and the small tensors
