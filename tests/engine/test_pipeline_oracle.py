"""One denoiser call (prompt → context/pooled/ADM → scaled input → UNet → x0) against diffusers.

diffusers (test-only) runs the same tiny weights, converted with its own single-file converter,
through ``EulerDiscreteScheduler`` at an integer timestep of the table ("trailing" spacing), so
σ, the input scale, the time embedding, ``time_ids`` and the x0 formula are all diffusers'.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from peropix_tui.engine.conditioning import adm_vector
from peropix_tui.engine.sampling import Conditioning, ModelSampling, model_denoiser
from peropix_tui.engine.text import encode_prompt

diffusers = pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def reference_unet(tiny_path: Path, tiny: Any) -> Any:
    from safetensors.torch import load_file

    from tests.engine.oracle import diffusers_unet

    return diffusers_unet(load_file(str(tiny_path)), tiny.info.unet)


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("step", [0, 6])
def test_denoiser_equals_diffusers(tiny: Any, reference_unet: Any, prediction: str, step: int) -> None:
    sched = diffusers.EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                             timestep_spacing="trailing", prediction_type=prediction)
    sched.set_timesteps(10)
    t = sched.timesteps[step]
    sigma = sched.sigmas[step]
    height, width = 64, 80
    enc = encode_prompt(tiny.clip_l, tiny.clip_g, "1girl, (smile:1.2), night sky")
    x = torch.randn(1, 4, height // 8, width // 8, generator=torch.manual_seed(0)) * float(sigma)
    time_ids = torch.tensor([[height, width, 0, 0, height, width]], dtype=torch.float32)
    with torch.inference_mode():
        eps_or_v = reference_unet(sched.scale_model_input(x, t), t, encoder_hidden_states=enc.context,
                                  added_cond_kwargs={"text_embeds": enc.pooled, "time_ids": time_ids}).sample
        theirs = sched.step(eps_or_v, t, x).pred_original_sample
        ms = ModelSampling("eps" if prediction == "epsilon" else "v")
        cond = Conditioning(enc.context, adm_vector(enc.pooled, tiny.info.adm_in, height=height, width=width))
        ours = model_denoiser(tiny.unet, ms)(x, sigma.float(), cond)
    assert int(ms.timestep(sigma.float())) == int(t)
    assert torch.allclose(ours, theirs, atol=1e-4, rtol=1e-4), float((ours - theirs).abs().max())
