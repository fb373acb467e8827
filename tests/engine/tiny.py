"""Tiny SDXL-shaped single-file checkpoints and kohya LoRAs for tests (random weights, real key layout).

Layout is exactly a Civitai SDXL file: ``model.diffusion_model.*`` (SGM UNet, 3 levels, the first
without attention), ``first_stage_model.*`` (4-level LDM VAE), ``conditioner.embedders.0.transformer.*``
(HF CLIP-L) and ``conditioner.embedders.1.model.*`` (OpenCLIP-layout CLIP-G with fused ``in_proj`` and a
``text_projection`` used as ``x @ P``). Weights are N(0, 0.05) (norm scales 1 + N(0, 0.05)) so that no
zero-initialised layer can hide a bug. Token vocabulary is the real 49408 so real token ids work.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

from peropix_tui.engine.clip import CLIP_G_CONFIG, CLIP_L_CONFIG, build_text_model, canonical_names
from peropix_tui.engine.unet import UNet, UNetConfig
from peropix_tui.engine.vae import AutoencoderKL, VAEConfig

CLIP_L_TINY = {**CLIP_L_CONFIG, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
               "num_attention_heads": 1, "projection_dim": 64}
CLIP_G_TINY = {**CLIP_G_CONFIG, "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
               "num_attention_heads": 2, "projection_dim": 128}
ADM_PER_VALUE = 256  # each of the 6 size/crop numbers is a 256-d sinusoid, as in SDXL
UNET_TINY = UNetConfig(
    model_channels=32,
    channel_mult=(1, 2, 4),
    num_res_blocks=2,
    depth_in=(0, 0, 1, 1, 2, 2),
    depth_mid=2,
    depth_out=(2, 2, 2, 1, 1, 1, 0, 0, 0),
    context_dim=CLIP_L_TINY["hidden_size"] + CLIP_G_TINY["hidden_size"],
    adm_in=CLIP_G_TINY["projection_dim"] + 6 * ADM_PER_VALUE,
)
VAE_TINY = VAEConfig(ch=32, ch_mult=(1, 1, 2, 2), num_res_blocks=2)


CLIP_L_MODEL = build_text_model(CLIP_L_TINY, False)
CLIP_L_TENSORS = {k: v.shape for k, v in CLIP_L_MODEL.state_dict().items()}


def _random_like(shapes: dict[str, tuple[int, ...]], gen: torch.Generator) -> dict[str, torch.Tensor]:
    out = {}
    for key, shape in shapes.items():
        t = torch.randn(shape, generator=gen) * 0.05
        if _is_norm_scale(key, shape):
            t += 1.0
        out[key] = t
    return out


def _is_norm_scale(key: str, shape: tuple[int, ...]) -> bool:
    names = ("norm", "ln_", "layer_norm", "in_layers.0", "out_layers.0", "out.0", "ln_final")
    return len(shape) == 1 and key.endswith("weight") and any(n in key for n in names)


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _meta(factory, *args):  # type: ignore[no-untyped-def]
    with torch.device("meta"):
        return factory(*args)


def openclip_shapes(cfg: dict) -> dict[str, tuple[int, ...]]:
    """OpenCLIP text-tower key names and shapes for an HF-style CLIP-G config."""
    d, ff = cfg["hidden_size"], cfg["intermediate_size"]
    shapes: dict[str, tuple[int, ...]] = {
        "token_embedding.weight": (cfg["vocab_size"], d),
        "positional_embedding": (cfg["max_position_embeddings"], d),
        "ln_final.weight": (d,),
        "ln_final.bias": (d,),
        "text_projection": (d, cfg["projection_dim"]),
        "logit_scale": (),
    }
    for i in range(cfg["num_hidden_layers"]):
        p = f"transformer.resblocks.{i}."
        shapes.update({
            p + "ln_1.weight": (d,), p + "ln_1.bias": (d,), p + "ln_2.weight": (d,), p + "ln_2.bias": (d,),
            p + "attn.in_proj_weight": (3 * d, d), p + "attn.in_proj_bias": (3 * d,),
            p + "attn.out_proj.weight": (d, d), p + "attn.out_proj.bias": (d,),
            p + "mlp.c_fc.weight": (ff, d), p + "mlp.c_fc.bias": (ff,),
            p + "mlp.c_proj.weight": (d, ff), p + "mlp.c_proj.bias": (d,),
        })
    return shapes


def tiny_state_dict(
    *, v_pred: bool = False, ztsnr: bool = False, inpaint: bool = False, seed: int = 0, vae: bool = True
) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    ucfg = UNetConfig(**{**UNET_TINY.to_json(), "in_channels": 9 if inpaint else 4})  # type: ignore[arg-type]
    sd: dict[str, torch.Tensor] = {}
    parts = [("model.diffusion_model.", _shapes(_meta(UNet, ucfg)))]
    if vae:
        parts.append(("first_stage_model.", _shapes(_meta(AutoencoderKL, VAE_TINY))))
    clip_l = {canon: tuple(CLIP_L_TENSORS[own]) for canon, own in canonical_names(CLIP_L_MODEL).items()}
    parts += [("conditioner.embedders.0.transformer.", clip_l),
              ("conditioner.embedders.1.model.", openclip_shapes(CLIP_G_TINY))]
    for prefix, shapes in parts:
        sd.update({prefix + k: v for k, v in _random_like(shapes, gen).items()})
    sd["conditioner.embedders.1.model.logit_scale"] = torch.tensor(4.6052)
    if v_pred:
        sd["v_pred"] = torch.tensor([])
    if ztsnr:
        sd["ztsnr"] = torch.tensor([])
    return sd


def make_tiny_checkpoint(
    path: str | Path,
    *,
    v_pred: bool = False,
    ztsnr: bool = False,
    inpaint: bool = False,
    seed: int = 0,
    vae: bool = True,
    dtype: torch.dtype = torch.float32,
) -> Path:
    """Write a tiny SDXL-shaped single-file ``.safetensors`` checkpoint and return its path."""
    sd = tiny_state_dict(v_pred=v_pred, ztsnr=ztsnr, inpaint=inpaint, seed=seed, vae=vae)
    sd = {k: v.to(dtype).contiguous() for k, v in sd.items()}
    path = Path(path)
    save_file(sd, str(path), metadata={"modelspec.title": "peropix tiny sdxl"})
    return path


def lora_targets() -> dict[str, tuple[int, ...]]:
    """kohya LoRA base names -> weight shapes, for every Linear/Conv a LoRA usually touches."""
    targets: dict[str, tuple[int, ...]] = {}
    unet = _shapes(_meta(UNet, UNET_TINY))
    for key, shape in unet.items():
        if not key.endswith(".weight") or len(shape) < 2:
            continue
        if any(p in key for p in ("attn1.", "attn2.", "ff.net", "proj_in", "proj_out")) or (
            key.endswith("in_layers.2.weight") or key.endswith("out_layers.3.weight")
        ):
            targets["lora_unet_" + key[: -len(".weight")].replace(".", "_")] = shape
    for te, cfg, proj in (("lora_te1_", CLIP_L_TINY, False), ("lora_te2_", CLIP_G_TINY, True)):
        model = build_text_model(cfg, proj)
        own = _shapes(model)
        for key, name in canonical_names(model).items():
            shape = own[name]
            if ".encoder.layers." in key and key.endswith(".weight") and len(shape) == 2:
                targets[te + key[: -len(".weight")].replace(".", "_")] = shape
    return targets


def make_tiny_lora(
    path: str | Path, *, rank: int = 4, alpha: float = 2.0, seed: int = 1, every: int = 1
) -> Path:
    """Write a kohya-format LoRA (``lora_up``/``lora_down``/``alpha``) for the tiny checkpoint.
    Conv targets get a 3×3 (or 1×1) down and a 1×1 up (LoCon). ``every`` keeps every n-th target."""
    gen = torch.Generator().manual_seed(seed)
    sd: dict[str, torch.Tensor] = {}
    for i, (name, shape) in enumerate(sorted(lora_targets().items())):
        if i % every:
            continue
        out_f, in_f = shape[0], shape[1]
        kernel = tuple(shape[2:])
        sd[f"{name}.lora_down.weight"] = torch.randn((rank, in_f, *kernel), generator=gen) * 0.1
        sd[f"{name}.lora_up.weight"] = torch.randn((out_f, rank, *([1] * len(kernel))), generator=gen) * 0.1
        sd[f"{name}.alpha"] = torch.tensor(float(alpha))
    path = Path(path)
    save_file(sd, str(path), metadata={"ss_network_module": "networks.lora"})
    return path


def make_sparse_checkpoint(path: str | Path, shapes: dict[str, tuple[int, ...]], dtype: str = "F16") -> Path:
    """A header-valid safetensors file whose data region is a hole (sparse, no disk use): lets the
    header-only inspector see a full-size SDXL file without writing gigabytes."""
    import json
    import os

    size = {"F16": 2, "BF16": 2, "F32": 4}[dtype]
    header: dict[str, object] = {}
    offset = 0
    for key, shape in shapes.items():
        n = size
        for s in shape:
            n *= s
        header[key] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    path = Path(path)
    with open(path, "wb") as f:
        f.write(len(blob).to_bytes(8, "little"))
        f.write(blob)
        f.truncate(8 + len(blob) + offset)
        os.fsync(f.fileno())
    return path


def full_sdxl_shapes() -> dict[str, tuple[int, ...]]:
    """Every tensor name and shape of a full-size SDXL base single-file checkpoint (meta device)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for prefix, module in (("model.diffusion_model.", _meta(UNet, UNetConfig())),
                           ("first_stage_model.", _meta(AutoencoderKL, VAEConfig()))):
        shapes.update({prefix + k: s for k, s in _shapes(module).items()})
    clip_l = build_text_model(CLIP_L_CONFIG, False)
    own = _shapes(clip_l)
    shapes.update({"conditioner.embedders.0.transformer." + c: own[n] for c, n in canonical_names(clip_l).items()})
    shapes["conditioner.embedders.0.transformer.text_model.embeddings.position_ids"] = (1, 77)
    shapes.update({"conditioner.embedders.1.model." + k: s for k, s in openclip_shapes(CLIP_G_CONFIG).items()})
    return shapes


def _small_factor(n: int) -> int:
    """The largest divisor of ``n`` not above √n (LyCORIS' balanced factorization picks the same split)."""
    return max(d for d in range(1, int(n**0.5) + 1) if n % d == 0)


def _factor_rng(seed: int):  # type: ignore[no-untyped-def]
    """Seeded random factors, scaled so that merged deltas are visible but small."""
    gen = torch.Generator().manual_seed(seed)

    def rnd(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=gen) * 0.3

    return rnd


def _every_target(every: int) -> list[tuple[str, tuple[int, ...]]]:
    """Every ``every``-th LoRA target of the tiny checkpoint (name, weight shape), in a fixed order."""
    return [item for i, item in enumerate(sorted(lora_targets().items())) if i % every == 0]


def _save_lycoris(sd: dict[str, torch.Tensor], path: str | Path) -> Path:
    save_file(sd, str(path), metadata={"ss_network_module": "lycoris.kohya"})
    return Path(path)


def make_tiny_loha(
    path: str | Path, *, rank: int = 2, alpha: float | None = 1.0, seed: int = 3, tucker: bool = False, every: int = 1
) -> Path:
    """A LyCORIS LoHa (``hada_w{1,2}_{a,b}``, optional ``alpha``) for the tiny checkpoint, in LyCORIS' layouts:
    linear and non-Tucker conv ``w_a`` [out, r], ``w_b`` [r, in·kh·kw]; with ``tucker`` the 3×3 convs get
    ``hada_t{1,2}`` [r, r, kh, kw], ``w_a`` [r, out], ``w_b`` [r, in]."""
    rnd = _factor_rng(seed)
    sd: dict[str, torch.Tensor] = {}
    for name, shape in _every_target(every):
        out_f, in_f, kernel = shape[0], shape[1], tuple(shape[2:])
        for n in ("1", "2"):
            if tucker and kernel and max(kernel) > 1:
                sd[f"{name}.hada_t{n}"] = rnd(rank, rank, *kernel)
                sd[f"{name}.hada_w{n}_a"], sd[f"{name}.hada_w{n}_b"] = rnd(rank, out_f), rnd(rank, in_f)
            else:
                flat_in = in_f * (kernel[0] * kernel[1] if kernel else 1)
                sd[f"{name}.hada_w{n}_a"], sd[f"{name}.hada_w{n}_b"] = rnd(out_f, rank), rnd(rank, flat_in)
        if alpha is not None:
            sd[f"{name}.alpha"] = torch.tensor(float(alpha))
    return _save_lycoris(sd, path)


def make_tiny_lokr(
    path: str | Path,
    *,
    rank: int = 2,
    alpha: float | None = 1.0,
    seed: int = 4,
    decompose: tuple[bool, bool] = (False, False),
    tucker: bool = False,
    every: int = 1,
) -> Path:
    """A LyCORIS LoKr for the tiny checkpoint: ``W = kron(w1 [a, c], w2 [b, d, (kh, kw)])`` with ``a``, ``c``
    the small factors of out/in. ``decompose`` = (w1 as ``lokr_w1_a @ lokr_w1_b``, w2 as ``lokr_w2_a @ lokr_w2_b``,
    the conv one flattened to [r, d·kh·kw]); ``tucker`` gives decomposed 3×3 convs ``lokr_t2`` [r, r, kh, kw]
    with ``lokr_w2_a`` [r, b], ``lokr_w2_b`` [r, d]."""
    rnd = _factor_rng(seed)
    sd: dict[str, torch.Tensor] = {}
    for name, shape in _every_target(every):
        a, c = _small_factor(shape[0]), _small_factor(shape[1])
        b, d, kernel = shape[0] // a, shape[1] // c, tuple(shape[2:])
        if decompose[0]:
            sd[f"{name}.lokr_w1_a"], sd[f"{name}.lokr_w1_b"] = rnd(a, rank), rnd(rank, c)
        else:
            sd[f"{name}.lokr_w1"] = rnd(a, c)
        if tucker and kernel and max(kernel) > 1:
            sd[f"{name}.lokr_t2"] = rnd(rank, rank, *kernel)
            sd[f"{name}.lokr_w2_a"], sd[f"{name}.lokr_w2_b"] = rnd(rank, b), rnd(rank, d)
        elif decompose[1]:
            flat_d = d * (kernel[0] * kernel[1] if kernel else 1)
            sd[f"{name}.lokr_w2_a"], sd[f"{name}.lokr_w2_b"] = rnd(b, rank), rnd(rank, flat_d)
        else:
            sd[f"{name}.lokr_w2"] = rnd(b, d, *kernel)
        if alpha is not None:
            sd[f"{name}.alpha"] = torch.tensor(float(alpha))
    return _save_lycoris(sd, path)


def with_dora_scale(
    src: str | Path, dst: str | Path, weights: dict[str, torch.Tensor], *, on_output: bool, seed: int = 5
) -> Path:
    """Copy a LoRA/LoHa/LoKr file adding a DoRA magnitude per module: the norm of the module's current
    weight (``weights``: base name -> weight) per output row ([out, 1, …], LyCORIS ``wd_on_output``) or per
    input column ([1, in, 1, …], LyCORIS' default), times 1 + N(0, 0.1) so that it differs from the norm."""
    from safetensors.torch import load_file

    gen = torch.Generator().manual_seed(seed)
    sd = load_file(str(src))
    bases = {k.split(".", 1)[0] for k in sd}
    for base in sorted(bases):
        w = weights[base].detach().float()
        if on_output:
            norm = w.flatten(1).norm(dim=1).reshape(w.shape[0], *[1] * (w.ndim - 1))
        else:
            norm = w.transpose(0, 1).flatten(1).norm(dim=1).reshape(1, w.shape[1], *[1] * (w.ndim - 2))
        sd[f"{base}.dora_scale"] = norm * (1 + 0.1 * torch.randn(norm.shape, generator=gen))
    path = Path(dst)
    save_file(sd, str(path), metadata={"ss_network_module": "lycoris.kohya"})
    return path


def weights_snapshot(model) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    """Copies of every tensor of a loaded model (UNet, CLIP-L, CLIP-G, VAE), to compare after a change."""
    out = {}
    for name, mod in (("unet", model.unet), ("l", model.clip_l), ("g", model.clip_g), ("vae", model.vae)):
        out.update({f"{name}.{k}": v.clone() for k, v in mod.state_dict().items()})
    return out
