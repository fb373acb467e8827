"""kohya-format LoRA / LoCon merged into the weights, and unmerged bit-exactly.

Names are generated from the model's own modules (never parsed back from LoRA names, since
underscores are ambiguous): ``lora_unet_<sgm name>``, ``lora_te1_<HF CLIP-L name>``,
``lora_te2_<HF CLIP-G name>`` with dots as underscores. Merge, per target weight ``W``:

    W ← W + s · (α / r) · reshape(up.flatten(1) @ down.flatten(1), W.shape)

(LoCon-Tucker puts a ``mid`` [r, r, kh, kw] core between them: Σ_ij up[o,i]·mid[i,j,h,w]·down[j,c].)

computed in fp32 and cast back; ``r`` is ``down.shape[0]``, ``α`` defaults to ``r``. The original of
every touched weight is kept (on the CPU), so :meth:`LoraHandle.remove` restores it exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from .clip import canonical_names
from .unet import UNetConfig

if TYPE_CHECKING:
    from .checkpoint import SDXLModel

UNSUPPORTED = ("hada_w1", "lokr_w1", "dora_scale")
PAIRS = ((".lora_up.weight", ".lora_down.weight"), (".lora_B.weight", ".lora_A.weight"))


class LoraError(ValueError):
    """A LoRA file that cannot be applied to this model; the message names the file."""


@dataclass
class LoraHandle:
    path: str
    weight: float
    clip_weight: float
    model: SDXLModel = field(repr=False)
    originals: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict, repr=False)
    unmatched: list[str] = field(default_factory=list)

    @property
    def patched(self) -> int:
        return len(self.originals)

    def remove(self) -> None:
        """Restore every touched weight to its exact value before this LoRA (newest LoRA first)."""
        if not self.model.loras or self.model.loras[-1] is not self:
            raise LoraError(f"{self.path}: remove LoRAs in reverse order of applying them")
        with torch.no_grad():
            for param, original in self.originals.values():
                param.copy_(original)
        self.originals.clear()
        self.model.loras.pop()


def _linear_weights(module: nn.Module, names: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
    out = {}
    for name, mod in module.named_modules():
        if isinstance(mod, nn.Linear | nn.Conv2d):
            key = f"{name}.weight"
            out[(names or {}).get(key, key)[: -len(".weight")]] = mod.weight
    return out


def lora_key_map(model: SDXLModel) -> dict[str, tuple[torch.Tensor, bool]]:
    """LoRA base name -> (target weight, is_text_encoder). Accepted names per weight: kohya on SGM
    names (sd-scripts), kohya on diffusers names (OneTrainer), and dotted diffusers/PEFT names."""
    keys: dict[str, tuple[torch.Tensor, bool]] = {}
    to_diffusers = unet_diffusers_names(model.unet.config)
    for name, w in _linear_weights(model.unet).items():
        keys["lora_unet_" + name.replace(".", "_")] = (w, False)
        alias = _sgm_to_diffusers(name, to_diffusers)
        if alias:
            keys["lora_unet_" + alias.replace(".", "_")] = (w, False)
            keys["unet." + alias] = (w, False)
    for prefix, dotted, enc in (("lora_te1_", "text_encoder.", model.clip_l),
                                ("lora_te2_", "text_encoder_2.", model.clip_g)):
        canon = {own: c for c, own in canonical_names(enc).items()}
        for name, w in _linear_weights(enc, canon).items():
            keys[prefix + name.replace(".", "_")] = (w, True)
            keys[dotted + name] = (w, True)
    return keys


def unet_diffusers_names(cfg: UNetConfig) -> dict[str, str]:
    """SGM module name -> diffusers ``UNet2DConditionModel`` module name, for every Linear/Conv."""
    resnet = {"in_layers.2": "conv1", "emb_layers.1": "time_emb_proj", "out_layers.3": "conv2",
              "skip_connection": "conv_shortcut"}
    names = {"time_embed.0": "time_embedding.linear_1", "time_embed.2": "time_embedding.linear_2",
             "label_emb.0.0": "add_embedding.linear_1", "label_emb.0.2": "add_embedding.linear_2",
             "input_blocks.0.0": "conv_in", "out.2": "conv_out"}
    per = cfg.num_res_blocks + 1

    def block(sgm: str, res: str, attn: str | None) -> None:
        names.update({f"{sgm}.0.{k}": f"{res}.{v}" for k, v in resnet.items()})
        if attn:
            names[f"{sgm}.1"] = attn  # prefix: transformer inner names are identical

    for i in range(1, len(cfg.channel_mult) * per):
        level, j = divmod(i - 1, per)
        if j == cfg.num_res_blocks:
            names[f"input_blocks.{i}.0.op"] = f"down_blocks.{level}.downsamplers.0.conv"
        else:
            block(f"input_blocks.{i}", f"down_blocks.{level}.resnets.{j}", f"down_blocks.{level}.attentions.{j}")
    block("middle_block", "mid_block.resnets.0", "mid_block.attentions.0")
    names.update({f"middle_block.2.{k}": f"mid_block.resnets.1.{v}" for k, v in resnet.items()})
    depth_out = iter(cfg.depth_out)
    for i in range(len(cfg.channel_mult) * per):
        level, j = divmod(i, per)
        has_attn = next(depth_out) > 0
        block(f"output_blocks.{i}", f"up_blocks.{level}.resnets.{j}", f"up_blocks.{level}.attentions.{j}")
        names[f"output_blocks.{i}.{2 if has_attn else 1}.conv"] = f"up_blocks.{level}.upsamplers.0.conv"
    return names


def _sgm_to_diffusers(name: str, names: dict[str, str]) -> str | None:
    """Translate a full SGM module name through the longest matching prefix in ``names``."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in names:
            return ".".join([names[head], *parts[cut:]])
    return None


def _read(path: str) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not a dict
    except FileNotFoundError:
        raise LoraError(f"{path}: no such LoRA file") from None
    except Exception as e:
        raise LoraError(f"{path}: cannot read as safetensors ({e})") from None


@dataclass(frozen=True)
class LoraPair:
    up: torch.Tensor
    down: torch.Tensor
    alpha: float
    mid: torch.Tensor | None = None  # LoCon with Tucker decomposition: [r, r, kh, kw]

    @property
    def rank(self) -> int:
        return int(self.down.shape[0])

    def delta(self, weight: torch.Tensor, scale: float) -> torch.Tensor:
        """``scale · (α/r) · up @ [mid ×] down`` shaped like ``weight``, in fp32 on ``weight``'s device."""
        up = self.up.to(weight.device, torch.float32).flatten(1)
        down = self.down.to(weight.device, torch.float32).flatten(1)
        if self.mid is None:
            prod = up @ down
        else:
            mid = self.mid.to(weight.device, torch.float32)
            prod = torch.einsum("oi,ijhw,jc->ochw", up, mid, down)
        return prod.reshape(weight.shape) * (scale * self.alpha / self.rank)

    def fits(self, weight: torch.Tensor) -> bool:
        if self.up.flatten(1).shape[1] != self.rank:
            return False
        if self.mid is None:
            return self.up.shape[0] * self.down.flatten(1).shape[1] == weight.numel()
        return weight.shape == (self.up.shape[0], self.down.flatten(1).shape[1], *self.mid.shape[2:])


def _pairs(tensors: dict[str, torch.Tensor]) -> dict[str, LoraPair]:
    out = {}
    for key in tensors:
        for up_sfx, down_sfx in PAIRS:
            if key.endswith(up_sfx):
                base = key[: -len(up_sfx)]
                down = tensors.get(base + down_sfx)
                if down is not None:
                    alpha = tensors.get(base + ".alpha")
                    out[base] = LoraPair(tensors[key], down, float(alpha) if alpha is not None else float(down.shape[0]),
                                         tensors.get(base + ".lora_mid.weight"))
    return out


def apply_lora(
    model: SDXLModel, lora_path: str | os.PathLike[str], weight: float = 1.0, *, clip_weight: float | None = None
) -> LoraHandle:
    """Merge a kohya LoRA into ``model`` (UNet at ``weight``, text encoders at ``clip_weight``)."""
    path = str(lora_path)
    tensors = _read(path)
    unsupported = sorted({kind for k in tensors for kind in UNSUPPORTED if f".{kind}" in k})
    if unsupported:
        raise LoraError(f"{path}: {', '.join(unsupported)} tensors (LoCon-Tucker / LoHa / LoKr / DoRA) "
                        "are not supported; plain LoRA and LoCon are")
    pairs = _pairs(tensors)
    targets = lora_key_map(model)
    matched = {base: v for base, v in pairs.items() if base in targets}
    if not matched:
        raise LoraError(f"{path}: no LoRA tensor matches this model (not a kohya SDXL LoRA?)")
    for base, pair in matched.items():
        w = targets[base][0]
        if not pair.fits(w):
            raise LoraError(f"{path}: {base} has shape up{tuple(pair.up.shape)}/down{tuple(pair.down.shape)}, "
                            f"the model weight is {tuple(w.shape)} (LoRA for another model?)")
    cw = weight if clip_weight is None else clip_weight
    handle = LoraHandle(path, weight, cw, model, unmatched=sorted(set(pairs) - set(matched)))
    with torch.no_grad():
        for base, pair in matched.items():
            w, is_text = targets[base]
            handle.originals[base] = (w, w.detach().to("cpu", copy=True))
            w.copy_((w.float() + pair.delta(w, cw if is_text else weight)).to(w.dtype))
    model.loras.append(handle)
    return handle
