"""Single-file SDXL checkpoints: inspect (header only) and load (one memory-mapped pass).

The architecture is inferred from tensor shapes (``detect.py``-style, as ComfyUI does), every
component is checked key-by-key and shape-by-shape against our modules built on the meta device,
and the prediction type comes from marker keys (``v_pred``, ``ztsnr``) unless the user overrides it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..i18n import _
from . import clip as clipmod
from .header import CheckpointError, TensorEntry, read_header
from .unet import UNet, UNetConfig
from .vae import AutoencoderKL, VAEConfig, diffusers_to_ldm, is_diffusers_layout

UNET = "model.diffusion_model."
VAE = "first_stage_model."
CLIP_L = "conditioner.embedders.0.transformer."
CLIP_G = "conditioner.embedders.1.model."
PREFIXES = {"unet": UNET, "vae": VAE, "clip_l": CLIP_L, "clip_g": CLIP_G}
MARKERS = ("v_pred", "ztsnr", "edm_mean", "edm_std", "edm_vpred.sigma_max", "edm_vpred.sigma_min")
# LDM training leftovers found in real files: harmless, never loaded
IGNORED_ROOTS = (
    "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
    "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod",
    "posterior_variance", "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2",
    "logvar", "model_ema.decay", "model_ema.num_updates", "denoiser.sigmas", "denoiser.log_sigmas",
)
PREDICTIONS = ("eps", "v", "v-zsnr")
COMPILE_BACKEND = "inductor"  # torch.compile backend of SDXLModel.denoiser_unet (tests use a quicker one)


@dataclass
class ModelInfo:
    unet: UNetConfig
    vae: VAEConfig | None
    clip_l: dict[str, Any]
    clip_g: dict[str, Any]
    prediction: str  # "eps" | "v" | "edm"
    ztsnr: bool
    components: list[str]
    param_counts: dict[str, int]
    arch: str
    adm_in: int
    prediction_source: str = "default"  # "marker" | "override" | "default"
    file_dtypes: list[str] = field(default_factory=list)
    ignored_keys: list[str] = field(default_factory=list)
    path: str = ""

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["unet"] = self.unet.to_json()
        d["vae"] = self.vae.to_json() if self.vae else None
        d["total_params"] = sum(self.param_counts.values())
        return d


# --- safetensors header ----------------------------------------------------------------------


# --- detection ------------------------------------------------------------------------------


def _split(entries: dict[str, TensorEntry]) -> tuple[dict[str, dict[str, tuple[int, ...]]], list[str]]:
    parts: dict[str, dict[str, tuple[int, ...]]] = {name: {} for name in PREFIXES}
    other: list[str] = []
    for key, e in entries.items():
        for name, prefix in PREFIXES.items():
            if key.startswith(prefix):
                parts[name][key[len(prefix):]] = e.shape
                break
        else:
            other.append(key)
    return parts, other


def _indices(shapes: dict[str, tuple[int, ...]], prefix: str) -> list[int]:
    """Sorted distinct integers N in keys ``prefix + "N." ...``."""
    found = {int(k[len(prefix):].split(".")[0]) for k in shapes if k.startswith(prefix)}
    return sorted(found)


def _depth(shapes: dict[str, tuple[int, ...]], block: str) -> int:
    return len(_indices(shapes, f"{block}.1.transformer_blocks."))


def detect_unet(shapes: dict[str, tuple[int, ...]], where: str) -> UNetConfig:
    """Infer an SGM UNet config from tensor shapes (channels, levels, depths, context and ADM dims)."""

    def need(key: str) -> tuple[int, ...]:
        if key not in shapes:
            raise CheckpointError(_("{file}: UNet tensor {tensor} is missing").format(file=where, tensor=UNET + key))
        return shapes[key]

    if "label_emb.0.0.weight" not in shapes:
        raise CheckpointError(_("{file}: not SDXL: the UNet has no ADM input (label_emb); SD1.x/SD2.x-shaped")
                              .format(file=where))
    mc, in_ch = need("input_blocks.0.0.weight")[:2]
    levels: list[list[int]] = [[]]
    for i in _indices(shapes, "input_blocks.")[1:]:
        if f"input_blocks.{i}.0.op.weight" in shapes:
            levels.append([])
        else:
            levels[-1].append(i)
    res_counts = {len(lv) for lv in levels}
    if len(res_counts) != 1:
        raise CheckpointError(_("{file}: unsupported UNet: uneven res blocks per level {counts}")
                              .format(file=where, counts=sorted(res_counts)))
    mult = tuple(need(f"input_blocks.{lv[0]}.0.out_layers.3.weight")[0] // mc for lv in levels)
    ctx = [s[1] for k, s in shapes.items() if k.endswith("attn2.to_k.weight")]
    proj = [s for k, s in shapes.items() if k.endswith(".proj_in.weight")]
    if not ctx or any(len(s) != 2 for s in proj):
        raise CheckpointError(_("{file}: not SDXL: UNet attention layout (conv proj_in / no cross-attention)")
                              .format(file=where))
    mid_depth = _depth(shapes, "middle_block") if "middle_block.2.in_layers.0.weight" in shapes else 0
    return UNetConfig(
        in_channels=in_ch,
        out_channels=need("out.2.weight")[0],
        model_channels=mc,
        channel_mult=mult,
        num_res_blocks=res_counts.pop(),
        depth_in=tuple(_depth(shapes, f"input_blocks.{i}") for lv in levels for i in lv),
        depth_mid=mid_depth,
        depth_out=tuple(_depth(shapes, f"output_blocks.{i}") for i in _indices(shapes, "output_blocks.")),
        context_dim=ctx[0],
        adm_in=need("label_emb.0.0.weight")[1],
    )


def detect_vae(shapes: dict[str, tuple[int, ...]], where: str) -> VAEConfig:
    try:
        ch, in_ch = shapes["encoder.conv_in.weight"][:2]
        levels = _indices(shapes, "encoder.down.")
        mult = tuple(shapes[f"encoder.down.{i}.block.0.conv2.weight"][0] // ch for i in levels)
        return VAEConfig(
            ch=ch,
            ch_mult=mult,
            num_res_blocks=len(_indices(shapes, "encoder.down.0.block.")),
            z_channels=shapes["decoder.conv_in.weight"][1],
            in_channels=in_ch,
        )
    except KeyError as e:
        raise CheckpointError(_("{file}: VAE tensor {tensor} is missing (not an LDM AutoencoderKL)")
                              .format(file=where, tensor=e.args[0])) from None


def _check_keys(module: nn.Module, shapes: dict[str, tuple[int, ...]], what: str, where: str) -> None:
    """Strict: every module tensor present with the right shape and no unknown tensor in the file."""
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    if what.startswith("CLIP"):
        names = clipmod.canonical_names(module)
        expected = {canon: expected[own] for canon, own in names.items()}
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    wrong = sorted(k for k in set(expected) & set(shapes) if expected[k] != shapes[k])
    problems = []
    if missing:
        problems.append(_("{n} missing (e.g. {tensor})").format(n=len(missing), tensor=missing[0]))
    if unexpected:
        problems.append(_("{n} unexpected (e.g. {tensor})").format(n=len(unexpected), tensor=unexpected[0]))
    if wrong:
        problems.append(_("{n} with wrong shape (e.g. {tensor}: {shape} != {expected})")
                        .format(n=len(wrong), tensor=wrong[0], shape=shapes[wrong[0]], expected=expected[wrong[0]]))
    if problems:
        raise CheckpointError(_("{file}: {part} does not match the SDXL layout: {problems}")
                              .format(file=where, part=what, problems="; ".join(problems)))


def _meta(factory: Any, *args: Any) -> nn.Module:
    with torch.device("meta"):
        return factory(*args)  # type: ignore[no-any-return]


def _not_sdxl_reason(parts: dict[str, dict[str, tuple[int, ...]]], other: list[str]) -> str | None:
    if any(k.startswith(("lora_", "lycoris_")) for k in other):
        return _("this is a LoRA, not a checkpoint")
    if not parts["unet"]:
        if any(k.startswith(("encoder.", "decoder.")) for k in other):
            return _("this is a VAE, not a checkpoint")
        if any(k.startswith(("down_blocks.", "conv_in.")) for k in other):
            return _("diffusers-layout weights are not supported; use a single-file checkpoint")
        return _("no SDXL UNet ({prefix}*)").format(prefix=UNET)
    if any(k.startswith("cond_stage_model.") for k in other):
        return _("SD1.x/SD2.x checkpoint (cond_stage_model.*), not SDXL")
    if parts["clip_g"] and not parts["clip_l"]:
        return _("SDXL refiner (CLIP-G only) is not supported")
    if not parts["clip_l"] or not parts["clip_g"]:
        return _("text encoders missing ({clip_l}* and {clip_g}* expected)").format(clip_l=CLIP_L, clip_g=CLIP_G)
    return None


def _count(shapes: dict[str, tuple[int, ...]], skip: tuple[str, ...] = ()) -> int:
    total = 0
    for key, shape in shapes.items():
        if key not in skip:
            n = 1
            for s in shape:
                n *= s
            total += n
    return total


def _prediction(entries: dict[str, TensorEntry]) -> tuple[str, bool, str]:
    if "edm_mean" in entries or "edm_vpred.sigma_max" in entries:
        return "edm", False, "marker"
    if "v_pred" in entries:
        return "v", "ztsnr" in entries, "marker"
    return "eps", False, "default"


def inspect_checkpoint(path: str | os.PathLike[str]) -> ModelInfo:
    """Detect architecture, prediction type, components and parameter counts from the header alone."""
    entries, _metadata = read_header(path)
    return _inspect_entries(entries, str(path))


def _inspect_entries(entries: dict[str, TensorEntry], where: str) -> ModelInfo:
    parts, other = _split(entries)
    reason = _not_sdxl_reason(parts, other)
    if reason:
        raise CheckpointError(f"{where}: {reason}")
    ucfg = detect_unet(parts["unet"], where)
    _check_keys(_meta(UNet, ucfg), parts["unet"], "UNet", where)
    vcfg = None
    if parts["vae"]:
        vcfg = detect_vae(parts["vae"], where)
        _check_keys(_meta(AutoencoderKL, vcfg), parts["vae"], "VAE", where)
    l_shapes = {k: s for k, s in parts["clip_l"].items() if k not in clipmod.HF_IGNORED}
    g_shapes = clipmod.openclip_shapes_to_hf(parts["clip_g"])
    try:
        l_cfg = clipmod.config_from_shapes(clipmod.CLIP_L_CONFIG, l_shapes)
        g_cfg = clipmod.config_from_shapes(clipmod.CLIP_G_CONFIG, g_shapes)
    except KeyError as e:
        raise CheckpointError(_("{file}: text encoder tensor {tensor} is missing")
                              .format(file=where, tensor=e.args[0])) from None
    _check_keys(clipmod.build_text_model(l_cfg, False), l_shapes, "CLIP-L", where)
    _check_keys(clipmod.build_text_model(g_cfg, True), g_shapes, "CLIP-G", where)
    if ucfg.context_dim != l_cfg["hidden_size"] + g_cfg["hidden_size"]:
        raise CheckpointError(_("{file}: UNet context dim {dim} != CLIP-L + CLIP-G widths")
                              .format(file=where, dim=ucfg.context_dim))
    prediction, ztsnr, source = _prediction(entries)
    counts = {
        "unet": _count(parts["unet"]),
        "vae": _count(parts["vae"]),
        "clip_l": _count(l_shapes),
        "clip_g": _count(g_shapes),
    }
    return ModelInfo(
        unet=ucfg,
        vae=vcfg,
        clip_l=l_cfg,
        clip_g=g_cfg,
        prediction=prediction,
        ztsnr=ztsnr,
        components=[name for name in PREFIXES if parts[name]],
        param_counts={k: v for k, v in counts.items() if v},
        arch="sdxl-inpaint" if ucfg.in_channels == 9 else "sdxl",
        adm_in=ucfg.adm_in,
        prediction_source=source,
        file_dtypes=sorted({e.dtype for e in entries.values()}),
        ignored_keys=sorted(k for k in other if k not in MARKERS),
        path=where,
    )


def with_prediction(info: ModelInfo, prediction: str | None) -> ModelInfo:
    """Apply a user override ``eps`` / ``v`` / ``v-zsnr`` (``None`` keeps what was detected)."""
    if prediction is None:
        return info
    if prediction not in PREDICTIONS:
        raise CheckpointError(_("prediction must be one of {choices}, not {value}")
                              .format(choices=", ".join(PREDICTIONS), value=repr(prediction)))
    return replace(
        info, prediction="eps" if prediction == "eps" else "v", ztsnr=prediction == "v-zsnr",
        prediction_source="override",
    )


# --- hashing --------------------------------------------------------------------------------

HASH_CACHE = "model-hashes.json"


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Full-file SHA-256, remembered in the cache folder by (path, size, mtime): a 7 GB checkpoint is
    hashed once, not on every start."""
    from ..core.fsutil import atomic_write
    from ..core.paths import cache_dir

    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_size}|{st.st_mtime_ns}"
    cache = cache_dir() / HASH_CACHE
    try:
        known = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    if isinstance(known.get(key), str):
        return str(known[key])
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    known = {k: v for k, v in known.items() if not k.startswith(f"{p}|")}
    known[key] = h.hexdigest()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(cache, json.dumps(known, indent=1).encode())
    except OSError:
        pass  # a read-only cache only costs a re-hash next time
    return h.hexdigest()


# --- loading --------------------------------------------------------------------------------


@dataclass
class SDXLModel:
    unet: UNet
    vae: AutoencoderKL
    clip_l: nn.Module  # transformers.CLIPTextModel
    clip_g: nn.Module  # transformers.CLIPTextModelWithProjection
    info: ModelInfo
    path: str
    loras: list[Any] = field(default_factory=list)  # applied LoraHandles, oldest first
    _sha256: str | None = field(default=None, repr=False)
    _compiled: nn.Module | None = field(default=None, repr=False)

    def denoiser_unet(self, compiled: bool = False) -> nn.Module:
        """The UNet the sampler calls: ``torch.compile``'d when asked (built once, kept with the model).

        The compiled module shares the UNet's parameters, so LoRA merges (in place) reach it; it
        specialises on the latent size (``dynamic=False``), so each new size compiles once.
        """
        if not compiled:
            return self.unet
        if self._compiled is None:
            self._compiled = torch.compile(self.unet, dynamic=False, backend=COMPILE_BACKEND)  # type: ignore[assignment]
        return self._compiled  # type: ignore[return-value]

    @property
    def sha256_short(self) -> str:
        """First 10 hex digits of the file's SHA-256 (A1111 "AutoV2" hash); computed on first use."""
        if self._sha256 is None:
            self._sha256 = file_sha256(self.path)
        return self._sha256[:10]

    @property
    def device(self) -> torch.device:
        return next(self.unet.parameters()).device


def _assign(module: nn.Module, tensors: dict[str, torch.Tensor], what: str, where: str) -> nn.Module:
    result = module.load_state_dict(tensors, strict=False, assign=True)
    if result.missing_keys or result.unexpected_keys:
        missing, unexpected = result.missing_keys, result.unexpected_keys
        raise CheckpointError(_("{file}: {part}: missing {missing}, unexpected {unexpected}")
                              .format(file=where, part=what, missing=missing[:3], unexpected=unexpected[:3]))
    return module.eval().requires_grad_(False)


def _read(
    f: Any, prefix: str, keys: Iterable[str], device: str | torch.device, dtype: torch.dtype
) -> dict[str, torch.Tensor]:
    """Read ``prefix + key`` tensors from an open safetensors file, cast and moved as they arrive."""
    return {k: f.get_tensor(prefix + k).to(device=device, dtype=dtype) for k in keys}


def _load_clip(
    f: Any, config: dict[str, Any], prefix: str, keys: Iterable[str], device: str | torch.device,
    dtype: torch.dtype, where: str,
) -> nn.Module:
    """CLIP-L (already HF names) or CLIP-G (OpenCLIP, converted) into a transformers model."""
    is_g = prefix == CLIP_G
    model = clipmod.build_text_model(config, with_projection=is_g)
    tensors = _read(f, prefix, [k for k in keys if k not in clipmod.HF_IGNORED], device, dtype)
    if is_g:
        tensors = clipmod.openclip_to_hf(tensors)
    _assign(model, clipmod.to_model_keys(model, tensors), "CLIP-G" if is_g else "CLIP-L", where)
    clipmod.restore_buffers(model, device)
    return model


def _vae_dtype(dtype: torch.dtype, vae_dtype: torch.dtype | None) -> torch.dtype:
    if vae_dtype is not None:
        return vae_dtype
    return dtype if dtype in (torch.float32, torch.bfloat16) else torch.float32  # never fp16 by default


def load_vae_file(
    path: str | os.PathLike[str], device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> AutoencoderKL:
    """A standalone VAE file: LDM layout (bare or ``first_stage_model.``) or diffusers layout."""
    from safetensors import safe_open

    where = str(path)
    entries, _metadata = read_header(path)
    keys = [k for k in entries if not k.startswith(("loss.", "model_ema."))]
    prefix = VAE if any(k.startswith(VAE) for k in keys) else ""
    keys = [k for k in keys if k.startswith(prefix)]
    if is_diffusers_layout(keys):
        levels = len({k.split(".")[2] for k in keys if k.startswith("encoder.down_blocks.")})
        meta = {k: torch.empty(entries[k].shape, device="meta") for k in keys}
        shapes = {k: tuple(v.shape) for k, v in diffusers_to_ldm(meta, levels).items()}
    else:
        shapes = {k[len(prefix):]: entries[k].shape for k in keys}
    cfg = detect_vae(shapes, where)
    vae = _meta(AutoencoderKL, cfg)
    _check_keys(vae, shapes, "VAE", where)
    with _open(safe_open, path, device) as f:
        raw = {k[len(prefix):]: f.get_tensor(k) for k in keys}
    sd = diffusers_to_ldm(raw, len(cfg.ch_mult)) if is_diffusers_layout(keys) else raw
    sd = {k: v.to(device=device, dtype=dtype).contiguous() for k, v in sd.items()}
    return _assign(vae, sd, "VAE", where)  # type: ignore[return-value]


def _open(safe_open: Any, path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Any:
    """Memory-mapped reader; on a GPU the tensors go straight to it (cast there, not on the CPU)."""
    try:
        return safe_open(str(path), framework="pt", device=str(torch.device(device)))
    except Exception as e:  # safetensors raises its own error type for corrupt files
        raise CheckpointError(_("{file}: cannot open as safetensors ({error})").format(file=path, error=e)) from None


def _check_device(device: str | torch.device) -> None:
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ValueError(_("unknown device {device} (use cuda, cpu or mps)").format(device=repr(device))) from None
    available: dict[str, Callable[[], bool]] = {
        "cuda": torch.cuda.is_available, "mps": torch.backends.mps.is_available,
    }
    if kind in available and not available[kind]():
        raise ValueError(_("device {kind} is not available (this torch build has no {kind} support or no GPU "
                           "is visible); use --device cpu or install the matching torch build").format(kind=kind))


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    vae_path: str | os.PathLike[str] | None = None,
    prediction: str | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    vae_dtype: torch.dtype | None = None,
) -> SDXLModel:
    """Load UNet and VAE (onto ``device``), CLIP-L and CLIP-G (kept on the CPU between encodings)
    from one memory-mapped pass over ``path``."""
    from safetensors import safe_open

    where = str(path)
    _check_device(device)
    entries, _metadata = read_header(path)
    info = with_prediction(_inspect_entries(entries, where), prediction)
    if info.prediction == "edm":
        raise CheckpointError(_("{file}: EDM checkpoints (Playground v2.5 style) are not supported").format(file=where))
    if info.vae is None and vae_path is None:
        raise CheckpointError(_("{file}: has no VAE ({prefix}*); give a separate VAE file (--vae)")
                              .format(file=where, prefix=VAE))
    parts, _other = _split(entries)
    vdtype = _vae_dtype(dtype, vae_dtype)
    try:
        with _open(safe_open, path, device) as f:
            unet = _assign(_meta(UNet, info.unet), _read(f, UNET, parts["unet"], device, dtype), "UNet", where)
            # text encoders rest on the CPU (the pipeline brings one at a time to the GPU to encode)
            clip_l = _load_clip(f, info.clip_l, CLIP_L, parts["clip_l"], device, dtype, where).to("cpu")
            clip_g = _load_clip(f, info.clip_g, CLIP_G, parts["clip_g"], device, dtype, where).to("cpu")
            vae = None
            if vae_path is None:
                vae = _assign(_meta(AutoencoderKL, info.vae), _read(f, VAE, parts["vae"], device, vdtype), "VAE", where)
    except CheckpointError:
        raise
    except Exception as e:  # corrupt tensor data surfaces here
        raise CheckpointError(_("{file}: cannot read tensors ({error})").format(file=where, error=e)) from None
    if vae is None:
        vae = load_vae_file(vae_path, device, vdtype)  # type: ignore[arg-type]
        info = replace(info, vae=vae.config, components=list(PREFIXES))
    return SDXLModel(unet=unet, vae=vae, clip_l=clip_l, clip_g=clip_g, info=info, path=where)  # type: ignore[arg-type]
