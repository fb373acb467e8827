"""LoRA / LoCon and LyCORIS (LoHa, LoKr, DoRA, full diff) files merged into the weights, and unmerged bit-exactly.

Names are generated from the model's own modules (never parsed back from LoRA names, since
underscores are ambiguous): ``lora_unet_<sgm name>``, ``lora_te1_<HF CLIP-L name>``,
``lora_te2_<HF CLIP-G name>`` with dots as underscores, plus diffusers-named aliases (``lora_unet_``,
``lycoris_``, ``unet.``). One parser groups a file's tensors by module and builds one adapter each
(:mod:`.lycoris` states the LoHa / LoKr / DoRA / diff formulas). Plain LoRA, per target weight ``W``:

    W ← W + s · (α / r) · reshape(up.flatten(1) @ down.flatten(1), W.shape)

(LoCon-Tucker puts a ``mid`` [r, r, kh, kw] core between them: Σ_ij up[o,i]·mid[i,j,h,w]·down[j,c].)

computed in fp32 and cast back; ``r`` is ``down.shape[0]``, ``α`` defaults to ``r``; ``s`` is the
LoRA's UNet weight or its CLIP weight. The original of every touched weight is kept (on the CPU), so
:meth:`LoraHandle.remove` restores it exactly. OFT, BOFT, GLoRA, (IA)³ and norm-layer files are refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from .. import i18n
from .clip import canonical_names
from .lycoris import Adapter, DoRA, FullDiff, LoHa, LoKr
from .unet import UNetConfig

if TYPE_CHECKING:
    from .checkpoint import SDXLModel


class LoraError(ValueError):
    """A LoRA file that cannot be applied to this model; the message names the file."""


@dataclass
class LoraHandle:
    path: str
    weight: float
    clip_weight: float
    model: SDXLModel = field(repr=False)
    originals: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict, repr=False)
    unmatched: list[str] = field(default_factory=list)  # modules this model lacks, then keys nothing reads

    @property
    def patched(self) -> int:
        return len(self.originals)

    def remove(self) -> None:
        """Restore every touched weight to its exact value before this LoRA (newest LoRA first)."""
        if not self.model.loras or self.model.loras[-1] is not self:
            raise LoraError(i18n.gettext("{file}: remove LoRAs in reverse order of applying them").format(file=self.path))
        with torch.no_grad():
            for param, original in reversed(self.originals.values()):  # a weight named twice: oldest wins
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
            keys["lycoris_" + alias.replace(".", "_")] = (w, False)
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
        raise LoraError(i18n.gettext("{file}: no such LoRA file").format(file=path)) from None
    except Exception as e:
        raise LoraError(i18n.gettext("{file}: cannot read as safetensors ({error})").format(file=path, error=e)) from None


@dataclass(frozen=True)
class LoraPair:
    up: torch.Tensor
    down: torch.Tensor
    alpha: float
    mid: torch.Tensor | None = None  # LoCon with Tucker decomposition: [r, r, kh, kw]

    @property
    def kind(self) -> str:
        return "LoRA" if self.mid is None else "LoCon-Tucker"

    def shapes(self) -> str:
        mid = "" if self.mid is None else f", mid{tuple(self.mid.shape)}"
        return f"up{tuple(self.up.shape)}, down{tuple(self.down.shape)}{mid}"

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


# Tensor-name suffix after a module's base name -> its role in the adapter.
ROLES = {
    "lora_up.weight": "up", "lora_B.weight": "up", "lora_down.weight": "down", "lora_A.weight": "down",
    "lora_mid.weight": "mid", "alpha": "alpha", "dora_scale": "dora", "lora_magnitude_vector": "dora",
    "lora_magnitude_vector.weight": "dora", "diff": "diff", "diff_b": "diff_b",
    **{n: n for n in ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2", "lokr_w1",
                      "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2")},
}
# Suffixes of adapter kinds we cannot merge: the whole file is refused.
REFUSED = {
    "oft_blocks": "OFT/BOFT", "oft_diag": "OFT", "rescale": "OFT/BOFT", "a1.weight": "GLoRA",
    "a2.weight": "GLoRA", "b1.weight": "GLoRA", "b2.weight": "GLoRA", "w_norm": "norm-layer (w_norm)",
    "b_norm": "norm-layer (b_norm)", "on_input": "(IA)³", "lokr_t1": "LoKr with a Tucker w1",
}
KINDS = {
    "LoRA": ("up", "down", "mid"),
    "LoHa": ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2"),
    "LoKr": ("lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2"),
    "diff": ("diff",),
}
_SUFFIXES = sorted([*ROLES, *REFUSED], key=len, reverse=True)


@dataclass
class ParsedLora:
    """A LoRA file's adapters by module base name (bias diffs apart), and the keys nothing reads."""

    adapters: dict[str, Adapter]
    bias_diffs: dict[str, FullDiff]
    ignored: list[str]


def parse_adapters(path: str, tensors: dict[str, torch.Tensor]) -> ParsedLora:
    """Group tensors by module and build one adapter each; refuse unsupported kinds and incomplete sets."""
    groups: dict[str, dict[str, torch.Tensor]] = {}
    refused: set[str] = set()
    ignored = []
    for key, tensor in tensors.items():
        sfx = next((s for s in _SUFFIXES if key.endswith("." + s)), None)
        if sfx is None:
            ignored.append(key)
        elif sfx in REFUSED:
            refused.add(REFUSED[sfx])
        else:
            groups.setdefault(key[: -len(sfx) - 1], {})[ROLES[sfx]] = tensor
    if refused:
        raise LoraError(i18n.gettext("{file}: {kinds} adapters are not supported "
                                     "(LoRA, LoCon, LoHa, LoKr, DoRA and full diffs are)")
                        .format(file=path, kinds=", ".join(sorted(refused))))
    parsed = ParsedLora({}, {}, ignored)
    for base, parts in groups.items():
        if "diff_b" in parts:
            parsed.bias_diffs[base] = FullDiff(parts.pop("diff_b"), "diff_b")
        adapter = _adapter(path, base, parts)
        if adapter is not None:
            parsed.adapters[base] = adapter
        elif base not in parsed.bias_diffs:
            parsed.ignored.append(base)  # a lone alpha
    return parsed


def _adapter(path: str, base: str, parts: dict[str, torch.Tensor]) -> Adapter | None:
    kinds = [kind for kind, roles in KINDS.items() if any(r in parts for r in roles)]
    if len(kinds) > 1:
        raise LoraError(i18n.gettext("{file}: {layer} mixes {kinds} tensors")
                        .format(file=path, layer=base, kinds=" and ".join(kinds)))
    if not kinds:
        if "dora" in parts:
            raise LoraError(i18n.gettext("{file}: {layer} has a DoRA magnitude (dora_scale) but no LoRA/LoHa/LoKr "
                                         "tensors").format(file=path, layer=base))
        return None
    kind = kinds[0]
    missing = _missing(kind, parts)
    if missing:
        raise LoraError(i18n.gettext("{file}: {layer} is an incomplete {kind}: missing {tensors}")
                        .format(file=path, layer=base, kind=kind, tensors=", ".join(missing)))
    alpha = float(parts["alpha"]) if "alpha" in parts else None
    adapter: Adapter
    if kind == "LoRA":
        rank = float(parts["down"].shape[0])
        adapter = LoraPair(parts["up"], parts["down"], rank if alpha is None else alpha, parts.get("mid"))
    elif kind == "LoHa":
        adapter = LoHa(parts["hada_w1_a"], parts["hada_w1_b"], parts["hada_w2_a"], parts["hada_w2_b"], alpha,
                       parts.get("hada_t1"), parts.get("hada_t2"))
    elif kind == "LoKr":
        p = parts.get
        adapter = LoKr(p("lokr_w1"), p("lokr_w1_a"), p("lokr_w1_b"), p("lokr_w2"), p("lokr_w2_a"), p("lokr_w2_b"),
                       p("lokr_t2"), alpha)
    else:
        adapter = FullDiff(parts["diff"])
    return DoRA(adapter, parts["dora"]) if "dora" in parts else adapter


def _missing(kind: str, parts: dict[str, torch.Tensor]) -> list[str]:
    """Tensor names a ``kind`` adapter still needs, given the ones present."""
    if kind == "LoRA":
        names = {"up": "lora_up.weight (or lora_B.weight)", "down": "lora_down.weight (or lora_A.weight)"}
        return [name for role, name in names.items() if role not in parts]
    if kind == "LoHa":
        tucker = ("hada_t1", "hada_t2") if "hada_t1" in parts or "hada_t2" in parts else ()
        return [n for n in ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", *tucker) if n not in parts]
    if kind == "LoKr":
        return _factor_missing(parts, "lokr_w1") + _factor_missing(parts, "lokr_w2", "lokr_t2" in parts)
    return []


def _factor_missing(parts: dict[str, torch.Tensor], name: str, low_rank: bool = False) -> list[str]:
    """A LoKr factor is ``name`` or ``name_a @ name_b`` (always the latter with a Tucker core)."""
    halves = (f"{name}_a", f"{name}_b")
    if name in parts and not low_rank:
        return []
    if low_rank or any(h in parts for h in halves):
        return [h for h in halves if h not in parts]
    return [f"{name} (or {halves[0]} and {halves[1]})"]


def apply_lora(
    model: SDXLModel, lora_path: str | os.PathLike[str], weight: float = 1.0, *, clip_weight: float | None = None
) -> LoraHandle:
    """Merge a LoRA / LyCORIS file into ``model`` (UNet at ``weight``, text encoders at ``clip_weight``).
    Every check runs before the first weight changes."""
    path = str(lora_path)
    parsed = parse_adapters(path, _read(path))
    patches = _patches(path, parsed, model)
    cw = weight if clip_weight is None else clip_weight
    matched = {name.removesuffix(".bias") for name, *_ in patches}
    unmatched = sorted({*parsed.adapters, *parsed.bias_diffs} - matched) + sorted(parsed.ignored)
    handle = LoraHandle(path, weight, cw, model, unmatched=unmatched)
    with torch.no_grad():
        for name, w, adapter, is_text in patches:
            handle.originals[name] = (w, w.detach().to("cpu", copy=True))
            w.copy_((w.float() + adapter.delta(w, cw if is_text else weight)).to(w.dtype))
    model.loras.append(handle)
    return handle


Patch = tuple[str, torch.Tensor, Adapter, bool]  # (name, target parameter, adapter, is_text_encoder)


def _patches(path: str, parsed: ParsedLora, model: SDXLModel) -> list[Patch]:
    """Every (target, adapter) this file touches in ``model``, checked to fit; raises before any change."""
    targets = lora_key_map(model)
    biases = {id(m.weight): m.bias for part in (model.unet, model.clip_l, model.clip_g)
              for m in part.modules() if isinstance(m, nn.Linear | nn.Conv2d)}
    patches: list[Patch] = [(base, targets[base][0], adapter, targets[base][1])
                            for base, adapter in parsed.adapters.items() if base in targets]
    for base, diff in parsed.bias_diffs.items():
        if base in targets:
            bias = biases[id(targets[base][0])]
            if bias is None:
                raise LoraError(i18n.gettext("{file}: {layer} has diff_b but that model layer has no bias")
                                .format(file=path, layer=base))
            patches.append((base + ".bias", bias, diff, targets[base][1]))
    if not patches:
        raise LoraError(i18n.gettext("{file}: no LoRA tensor matches this model (not an SDXL LoRA?)").format(file=path))
    for name, w, adapter, _ in patches:
        if not adapter.fits(w):
            raise LoraError(i18n.gettext("{file}: {layer} ({kind}: {shapes}) does not fit the model weight {shape} "
                                         "(LoRA for another model?)")
                            .format(file=path, layer=name, kind=adapter.kind, shapes=adapter.shapes(),
                                    shape=tuple(w.shape)))
    return patches
