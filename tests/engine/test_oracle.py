"""Our UNet / VAE / CLIP-G equal independent implementations on the same tiny weights (fp32, CPU)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from peropix_tui.engine.checkpoint import CLIP_G
from peropix_tui.engine.unet import timestep_embedding

from .oracle import diffusers_unet, diffusers_vae
from .tiny import CLIP_G_TINY, CLIP_L_TINY

TOL = 1e-5


@pytest.fixture(scope="module")
def raw(tiny_ckpt: Path) -> dict[str, torch.Tensor]:
    return load_file(str(tiny_ckpt))


def _adm(pooled: torch.Tensor, time_ids: torch.Tensor) -> torch.Tensor:
    """SDXL ADM vector: pooled ++ 256-d sinusoids of (h, w, crop_h, crop_w, target_h, target_w)."""
    emb = timestep_embedding(time_ids.flatten(), 256).reshape(time_ids.shape[0], -1)
    return torch.cat([pooled, emb], dim=1)


@pytest.mark.parametrize("size", [(16, 16), (15, 21)])
def test_unet_equals_diffusers(tiny_model, raw, size) -> None:  # type: ignore[no-untyped-def]
    cfg = tiny_model.info.unet
    ref = diffusers_unet(raw, cfg)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, *size, generator=gen)
    t = torch.tensor([999.0, 37.0])
    ctx = torch.randn(2, 77, cfg.context_dim, generator=gen)
    pooled = torch.randn(2, cfg.adm_in - 6 * 256, generator=gen)
    time_ids = torch.tensor([[128.0, 128, 0, 0, 128, 128], [96.0, 160, 8, 16, 96, 160]])
    with torch.inference_mode():
        ours = tiny_model.unet(x, t, ctx, _adm(pooled, time_ids))
        theirs = ref(x, t, encoder_hidden_states=ctx,
                     added_cond_kwargs={"text_embeds": pooled, "time_ids": time_ids}).sample
    assert ours.shape == x.shape
    assert ours.std() > 0.05  # a real signal, not a collapsed output
    assert (ours - theirs).abs().max().item() < TOL


def test_unet_scalar_timestep_broadcasts(tiny_model) -> None:  # type: ignore[no-untyped-def]
    cfg = tiny_model.info.unet
    x = torch.randn(2, 4, 8, 8)
    ctx, y = torch.randn(2, 77, cfg.context_dim), torch.randn(2, cfg.adm_in)
    with torch.inference_mode():
        a = tiny_model.unet(x, torch.tensor(500.0), ctx, y)
        b = tiny_model.unet(x, torch.tensor([500.0, 500.0]), ctx, y)
    assert torch.equal(a, b)


def test_vae_equals_diffusers(tiny_model, raw) -> None:  # type: ignore[no-untyped-def]
    ref = diffusers_vae(raw, tiny_model.info.vae)
    gen = torch.Generator().manual_seed(5)
    img = torch.rand(1, 3, 64, 48, generator=gen) * 2 - 1
    z = torch.randn(1, 4, 8, 6, generator=gen)
    with torch.inference_mode():
        ours_z = tiny_model.vae.encode(img)
        ours_img = tiny_model.vae.decode(z)
        ref_z = ref.encode(img).latent_dist.mean
        ref_img = ref.decode(z).sample
    assert ours_z.shape == (1, 4, 8, 6) and ours_img.shape == (1, 3, 64, 48)
    assert (ours_z - ref_z).abs().max().item() < TOL
    assert (ours_img - ref_img).abs().max().item() < TOL


def openclip_forward(
    sd: dict[str, torch.Tensor], ids: torch.Tensor, heads: int, act: Callable[[torch.Tensor], torch.Tensor] = F.gelu
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Reference OpenCLIP text tower on the raw (unconverted) weights: (penultimate hidden, pooled)."""
    x = sd["token_embedding.weight"][ids] + sd["positional_embedding"][: ids.shape[1]]
    layers = sorted({int(k.split(".")[2]) for k in sd if k.startswith("transformer.resblocks.")})
    b, n, d = x.shape
    hidden = []
    for i in layers:
        hidden.append(x)
        p = f"transformer.resblocks.{i}."
        h = F.layer_norm(x, (d,), sd[p + "ln_1.weight"], sd[p + "ln_1.bias"])
        qkv = h @ sd[p + "attn.in_proj_weight"].T + sd[p + "attn.in_proj_bias"]
        q, k, v = (t.reshape(b, n, heads, d // heads).transpose(1, 2) for t in qkv.chunk(3, dim=-1))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(d // heads)
        att = att.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf")).softmax(-1)
        h = (att @ v).transpose(1, 2).reshape(b, n, d)
        x = x + h @ sd[p + "attn.out_proj.weight"].T + sd[p + "attn.out_proj.bias"]
        h = F.layer_norm(x, (d,), sd[p + "ln_2.weight"], sd[p + "ln_2.bias"])
        h = act(h @ sd[p + "mlp.c_fc.weight"].T + sd[p + "mlp.c_fc.bias"])
        x = x + h @ sd[p + "mlp.c_proj.weight"].T + sd[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (d,), sd["ln_final.weight"], sd["ln_final.bias"])
    eos = (ids == 49407).int().argmax(dim=1)
    pooled = x[torch.arange(b), eos] @ sd["text_projection"] if "text_projection" in sd else None
    return hidden[-1], pooled


def test_clip_g_equals_openclip_reference(tiny_model, raw) -> None:  # type: ignore[no-untyped-def]
    sd = {k[len(CLIP_G):]: v for k, v in raw.items() if k.startswith(CLIP_G)}
    ids = torch.tensor([[49406, 272, 1611, 267, 5797, 49407] + [0] * 71,
                        [49406, 1125, 49407] + [0] * 74])
    ref_hidden, ref_pooled = openclip_forward(sd, ids, CLIP_G_TINY["num_attention_heads"])
    with torch.inference_mode():
        out = tiny_model.clip_g(ids, output_hidden_states=True)
    assert (out.hidden_states[-2] - ref_hidden).abs().max().item() < TOL
    assert (out.text_embeds - ref_pooled).abs().max().item() < TOL


def test_clip_g_conversion_equals_diffusers_converter(raw) -> None:  # type: ignore[no-untyped-def]
    from diffusers.loaders.single_file_utils import convert_open_clip_checkpoint
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection

    from peropix_tui.engine.clip import openclip_to_hf

    ours = openclip_to_hf({k[len(CLIP_G):]: v for k, v in raw.items() if k.startswith(CLIP_G)})
    with torch.device("meta"):
        model = CLIPTextModelWithProjection(CLIPTextConfig(**CLIP_G_TINY))
    theirs = convert_open_clip_checkpoint(model, raw, prefix=CLIP_G)
    theirs.pop("text_model.embeddings.position_ids", None)
    assert set(ours) == set(theirs)
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_unet_channels_last_gives_the_same_output(tiny_model) -> None:  # type: ignore[no-untyped-def]
    import copy

    cfg = tiny_model.info.unet
    cl = copy.deepcopy(tiny_model.unet).to(memory_format=torch.channels_last)
    assert cl.memory_format == torch.channels_last and tiny_model.unet.memory_format == torch.contiguous_format
    x, ctx, y = torch.randn(2, 4, 16, 16), torch.randn(2, 77, cfg.context_dim), torch.randn(2, cfg.adm_in)
    t = torch.tensor([10.0, 900.0])
    with torch.inference_mode():
        a, b = tiny_model.unet(x, t, ctx, y), cl(x, t, ctx, y)
    assert b.is_contiguous() and (a - b).abs().max().item() < TOL


def test_clip_l_equals_reference_with_quick_gelu(tiny_model, raw) -> None:  # type: ignore[no-untyped-def]
    """CLIP-L (HF layout in the file) run by the same reference tower with OpenAI's quick-GELU."""
    pre = "conditioner.embedders.0.transformer.text_model."
    hf = {k[len(pre):]: v for k, v in raw.items() if k.startswith(pre)}
    sd = {"token_embedding.weight": hf["embeddings.token_embedding.weight"],
          "positional_embedding": hf["embeddings.position_embedding.weight"],
          "ln_final.weight": hf["final_layer_norm.weight"], "ln_final.bias": hf["final_layer_norm.bias"]}
    names = {"layer_norm1": "ln_1", "layer_norm2": "ln_2", "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj",
             "self_attn.out_proj": "attn.out_proj"}
    for i in range(CLIP_L_TINY["num_hidden_layers"]):
        src, dst = f"encoder.layers.{i}.", f"transformer.resblocks.{i}."
        for a, b in names.items():
            for kind in ("weight", "bias"):
                sd[f"{dst}{b}.{kind}"] = hf[f"{src}{a}.{kind}"]
        for kind in ("weight", "bias"):
            sd[f"{dst}attn.in_proj_{kind}"] = torch.cat([hf[f"{src}self_attn.{n}_proj.{kind}"] for n in "qkv"])
    ids = torch.tensor([[49406, 272, 1611, 267, 5797, 49407] + [49407] * 71])
    ref_hidden, _ = openclip_forward(sd, ids, CLIP_L_TINY["num_attention_heads"], lambda t: t * torch.sigmoid(1.702 * t))
    with torch.inference_mode():
        out = tiny_model.clip_l(ids, output_hidden_states=True)
    assert (out.hidden_states[-2] - ref_hidden).abs().max().item() < TOL
