"""End to end on a tiny SDXL-shaped checkpoint: txt2img, img2img, inpaint, hires, batch, cancel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from peropix_tui.core.backend import CancelToken, GenerationCancelled
from peropix_tui.engine import latents
from peropix_tui.engine.pipeline import Request, generate, image_seed


def req(**kw: Any) -> Request:
    base: dict[str, Any] = dict(prompt="1girl, (smile:1.2)", negative="lowres", width=64, height=64,
                                steps=3, seed=42, sampler="k_euler_ancestral", schedule="karras")
    base.update(kw)
    return Request(**base)


def arr(img: Image.Image) -> np.ndarray:
    return np.asarray(img).astype(np.int16)


def test_txt2img_size_and_determinism(tiny: Any) -> None:
    a = generate(tiny, req(width=72, height=64))
    b = generate(tiny, req(width=72, height=64))
    c = generate(tiny, req(width=72, height=64, seed=43))
    assert len(a) == 1 and a[0].size == (72, 64) and a[0].mode == "RGB"
    assert np.array_equal(arr(a[0]), arr(b[0]))
    assert not np.array_equal(arr(a[0]), arr(c[0]))


def test_batch_image_i_uses_seed_plus_i(tiny: Any) -> None:
    both = generate(tiny, req(batch=2, steps=2))
    second = generate(tiny, req(seed=43, steps=2))
    assert len(both) == 2
    assert np.array_equal(arr(both[1]), arr(second[0]))
    assert not np.array_equal(arr(both[0]), arr(both[1]))
    assert image_seed(2**32 - 1, 1) == 0  # seeds stay in NovelAI's 32-bit range


def test_progress_once_per_step_and_cancel(tiny: Any) -> None:
    seen: list[tuple[int, int, int]] = []
    generate(tiny, req(steps=4, sampler="dpmpp_2s_ancestral"), on_step=lambda s, t, i, x0: seen.append((s, t, i)))
    assert seen == [(1, 4, 0), (2, 4, 0), (3, 4, 0), (4, 4, 0)]
    token = CancelToken()
    steps: list[int] = []

    def stop_after_two(s: int, t: int, i: int, x0: torch.Tensor) -> None:
        steps.append(s)
        if s == 2:
            token.cancel()

    with pytest.raises(GenerationCancelled):
        generate(tiny, req(steps=6), on_step=stop_after_two, cancel=token)
    assert steps == [1, 2]


@pytest.mark.parametrize("sampler", ["euler", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_sde"])
def test_every_sampler_and_cfg_one(tiny: Any, sampler: str) -> None:
    img = generate(tiny, req(sampler=sampler, steps=2, cfg=1.0 if sampler == "euler" else 5.0, cfg_rescale=0.5))[0]
    assert img.size == (64, 64)


def test_img2img_uses_fewer_noise_levels(tiny: Any) -> None:
    source = generate(tiny, req(steps=2))[0].resize((80, 80))
    calls: list[float] = []
    unet = tiny.unet
    original_forward = unet.forward

    def spy(x: torch.Tensor, t: torch.Tensor, c: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        calls.append(float(t[0]))
        return original_forward(x, t, c, y)

    unet.forward = spy
    try:
        out = generate(tiny, req(image=source, denoise=0.4, steps=3, sampler="euler"))[0]
    finally:
        del unet.forward
    assert out.size == (64, 64)  # resized to the request
    assert len(calls) == 3 and max(calls) < 700  # starts well below t = 999


def test_img2img_at_zero_denoise_is_the_vae_round_trip(tiny: Any) -> None:
    source = generate(tiny, req(steps=2))[0]
    out = generate(tiny, req(image=source, denoise=0.0))[0]
    pix = latents.image_to_tensor(source, 64, 64)
    expected = latents.tensor_to_images(latents.decode(tiny.vae, latents.encode(tiny.vae, pix)))[0]
    assert np.array_equal(arr(out), arr(expected))


def _square_mask(size: int = 64) -> Image.Image:
    mask = Image.new("L", (size, size), 0)
    mask.paste(255, (16, 16, 48, 48))
    return mask


def test_inpaint_keeps_pixels_outside_the_mask(tiny: Any) -> None:
    source = generate(tiny, req(steps=2, seed=1))[0]
    out = generate(tiny, req(image=source, mask=_square_mask(), steps=3))[0]
    diff = np.abs(arr(out) - arr(source))
    assert diff[:12].max() == 0 and diff[:, :12].max() == 0
    assert diff[20:44, 20:44].max() > 0


def test_nine_channel_inpainting_unet(tmp_path: Path) -> None:
    from peropix_tui.engine.checkpoint import load_checkpoint
    from tests.engine.tiny import make_tiny_checkpoint

    model = load_checkpoint(make_tiny_checkpoint(tmp_path / "inpaint.safetensors", inpaint=True))
    assert model.info.unet.in_channels == 9
    source = Image.new("RGB", (64, 64), (200, 30, 30))
    out = generate(model, req(image=source, mask=_square_mask(), steps=2))[0]
    txt = generate(model, req(steps=2))[0]  # txt2img on an inpainting model: full mask, gray image
    assert out.size == txt.size == (64, 64)
    assert arr(out)[0, 0].tolist() == [200, 30, 30]


@pytest.mark.parametrize("mode", ["image", "latent"])
def test_hires_fix_scales_and_counts_both_passes(tiny: Any, mode: str) -> None:
    seen: list[tuple[int, int]] = []
    out = generate(tiny, req(steps=2, hires_scale=1.5, hires_denoise=0.5, hires_mode=mode),
                   on_step=lambda s, t, i, x0: seen.append((s, t)))[0]
    assert out.size == (96, 96)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_v_prediction_zsnr_checkpoint(tmp_path: Path) -> None:
    from peropix_tui.engine.checkpoint import load_checkpoint
    from tests.engine.tiny import make_tiny_checkpoint

    model = load_checkpoint(make_tiny_checkpoint(tmp_path / "v.safetensors", v_pred=True, ztsnr=True))
    assert model.info.prediction == "v" and model.info.ztsnr
    img = generate(model, req(steps=2, cfg_rescale=0.7))[0]
    assert np.isfinite(arr(img)).all() and img.size == (64, 64)


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"width": 60}, "width: 60"), ({"steps": 0}, "steps"), ({"sampler": "k_lms"}, "sampler"),
     ({"schedule": "cosine"}, "noise_schedule"), ({"mask": Image.new("L", (8, 8))}, "mask")],
)
def test_bad_requests_name_the_field(tiny: Any, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(tiny, req(**changes))


def test_decode_nan_in_half_precision_is_retried_in_float32(tiny_path: Path) -> None:
    from peropix_tui.engine.checkpoint import load_checkpoint

    vae = load_checkpoint(tiny_path).vae
    with torch.no_grad():
        vae.decoder.conv_in.weight.mul_(2.5e5)  # activations too large for fp16, as in the SDXL VAE
    vae.to(torch.float16)
    z = torch.randn(1, 4, 8, 8, generator=torch.manual_seed(0)) * 100 * latents.SCALE_FACTOR
    with torch.inference_mode():
        half = vae.decode((z / latents.SCALE_FACTOR).half()).float()
    assert not torch.isfinite(half).all()  # the fp16 overflow really happens
    out = latents.decode(vae, z)
    assert torch.isfinite(out).all()
    assert next(vae.parameters()).dtype == torch.float32
    assert not any(p.is_inference() for p in vae.parameters())  # still usable outside inference mode


def test_tiled_decode(tiny: Any) -> None:
    z = torch.randn(1, 4, 24, 20, generator=torch.manual_seed(0))
    full = latents.decode(tiny.vae, z)
    one_tile = latents.decode(tiny.vae, z, tile=32)
    assert torch.equal(full, one_tile)
    tiled = latents.decode(tiny.vae, z, tile=12)
    assert tiled.shape == full.shape and torch.isfinite(tiled).all()
    assert (tiled - full).abs().mean() < full.abs().mean()


class SmallMemoryVAE(torch.nn.Module):
    """Fault injection: the tiny VAE on a "GPU" that runs out of memory above 12 latent pixels a side."""

    def __init__(self, vae: Any) -> None:
        super().__init__()
        self.inner = vae

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        if max(z.shape[-2:]) > 12:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")
        return self.inner.decode(z)  # type: ignore[no-any-return]


def test_out_of_memory_falls_back_to_tiles(tiny: Any) -> None:
    z = torch.randn(1, 4, 24, 20, generator=torch.manual_seed(0))
    out = latents.decode(SmallMemoryVAE(tiny.vae), z)
    assert torch.equal(out, latents.decode(tiny.vae, z, tile=12))


def test_preview_is_a_small_jpeg() -> None:
    data = latents.preview_jpeg(torch.randn(1, 4, 128, 96))
    img = Image.open(__import__("io").BytesIO(data))
    assert img.format == "JPEG" and max(img.size) <= 192 and img.size[0] < img.size[1]


def test_prompt_encodings_are_reused(tiny_path: Path) -> None:
    from peropix_tui.engine.checkpoint import load_checkpoint

    model = load_checkpoint(tiny_path)
    calls: list[int] = []
    model.clip_g.register_forward_hook(lambda m, a, kw: calls.append(1))
    first = generate(model, req(steps=1, prompt="a cat", negative="lowres"))[0]
    assert len(calls) == 2
    again = generate(model, req(steps=1, prompt="a cat", negative="lowres"))[0]
    assert len(calls) == 2 and np.array_equal(arr(first), arr(again))
    generate(model, req(steps=1, prompt="a dog", negative="lowres"))
    assert len(calls) == 3  # only the new prompt is encoded


def test_long_prompt_against_short_negative(tiny: Any) -> None:
    seen: list[int] = []
    original_forward = tiny.unet.forward

    def spy(x: torch.Tensor, t: torch.Tensor, c: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        seen.append(c.shape[1])
        return original_forward(x, t, c, y)

    tiny.unet.forward = spy
    try:
        img = generate(tiny, req(prompt="cat, " * 60, negative="lowres", steps=1))[0]  # 2 chunks vs 1
    finally:
        del tiny.unet.forward
    assert img.size == (64, 64)
    assert seen == [154]  # uncond repeated to the LCM length, one batched call


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_runs_every_path_and_keeps_the_vae_out_of_fp16(tiny_path: Path, dtype: torch.dtype) -> None:
    """What a GPU run uses (bf16, or fp16 on cards without bf16), on the CPU: UNet and text
    encoders in ``dtype``; the VAE in bf16, or fp32 when the model is fp16 (never fp16 unless told)."""
    from peropix_tui.engine.checkpoint import load_checkpoint

    model = load_checkpoint(tiny_path, dtype=dtype)
    assert next(model.unet.parameters()).dtype == dtype
    assert model.vae.dtype == (torch.bfloat16 if dtype == torch.bfloat16 else torch.float32)
    image = Image.new("RGB", (64, 64), (200, 40, 40))
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    for kw in ({"hires_scale": 1.5, "hires_denoise": 0.5, "cfg_rescale": 0.5}, {"image": image, "mask": mask}):
        out = generate(model, req(steps=2, sampler="dpmpp_2m_sde", **kw))
        assert len(out) == 1 and out[0].size == ((96, 96) if "hires_scale" in kw else (64, 64))
        assert 0 < arr(out[0]).std()  # a picture, not a constant (NaN decodes to a constant)


def test_compiled_unet_gives_the_same_images_and_sees_lora_merges(tiny_path: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``compile=True`` samples through ``torch.compile(unet)``. Inductor takes minutes on two CPU
    cores, so this uses the ``aot_eager`` backend: the same Dynamo graph capture and guards, without
    code generation (bench/engine.py --compile times Inductor). LoRA merges write the parameters
    in place, and the compiled module must see them, not constants captured at compile time."""
    import peropix_tui.engine.checkpoint as checkpoint
    from peropix_tui.engine.lora import apply_lora
    from tests.engine.tiny import make_tiny_lora

    monkeypatch.setattr(checkpoint, "COMPILE_BACKEND", "aot_eager")
    model = checkpoint.load_checkpoint(tiny_path)
    r = req(steps=2, sampler="euler")
    eager, compiled = generate(model, r)[0], generate(model, req(steps=2, sampler="euler", compile=True))[0]
    assert model.denoiser_unet(True) is model.denoiser_unet(True) is not model.unet
    assert np.array_equal(arr(eager), arr(compiled))
    apply_lora(model, make_tiny_lora(tmp_path / "l.safetensors"), 1.0)
    with_lora = generate(model, req(steps=2, sampler="euler", compile=True))[0]
    assert np.array_equal(arr(with_lora), arr(generate(model, r)[0]))
    assert not np.array_equal(arr(with_lora), arr(compiled))
