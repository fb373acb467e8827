"""SDXL text encoders as transformers models built from in-code configs (never the hub).

CLIP-L (``conditioner.embedders.0.transformer.``) is already in HF ``CLIPTextModel`` layout. CLIP-G
(``conditioner.embedders.1.model.``) is OpenCLIP ViT-bigG layout and is converted to HF
``CLIPTextModelWithProjection``: fused ``in_proj`` split into q/k/v, ``text_projection`` (used as
``x @ P``) transposed into a Linear weight, ``logit_scale``/``attn_mask`` dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

HEAD_DIM = 64  # both CLIP-L (768 = 12·64) and bigG (1280 = 20·64)
BOS, EOS = 49406, 49407

CLIP_L_CONFIG: dict[str, Any] = {
    "vocab_size": 49408, "hidden_size": 768, "intermediate_size": 3072, "projection_dim": 768,
    "num_hidden_layers": 12, "num_attention_heads": 12, "max_position_embeddings": 77,
    "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "bos_token_id": BOS, "eos_token_id": EOS,
    "pad_token_id": 1,
}
CLIP_G_CONFIG: dict[str, Any] = {
    "vocab_size": 49408, "hidden_size": 1280, "intermediate_size": 5120, "projection_dim": 1280,
    "num_hidden_layers": 32, "num_attention_heads": 20, "max_position_embeddings": 77,
    "hidden_act": "gelu", "layer_norm_eps": 1e-5, "bos_token_id": BOS, "eos_token_id": EOS,
    "pad_token_id": 1,
}

# OpenCLIP name -> HF name (after the ``text_model.`` prefix), applied in order
_OPENCLIP_RENAMES = [
    (r"^positional_embedding$", "embeddings.position_embedding.weight"),
    (r"^token_embedding\.", "embeddings.token_embedding."),
    (r"^ln_final\.", "final_layer_norm."),
    (r"^transformer\.resblocks\.(\d+)\.ln_1\.", r"encoder.layers.\1.layer_norm1."),
    (r"^transformer\.resblocks\.(\d+)\.ln_2\.", r"encoder.layers.\1.layer_norm2."),
    (r"^transformer\.resblocks\.(\d+)\.mlp\.c_fc\.", r"encoder.layers.\1.mlp.fc1."),
    (r"^transformer\.resblocks\.(\d+)\.mlp\.c_proj\.", r"encoder.layers.\1.mlp.fc2."),
    (r"^transformer\.resblocks\.(\d+)\.attn\.out_proj\.", r"encoder.layers.\1.self_attn.out_proj."),
]
_IN_PROJ = re.compile(r"^transformer\.resblocks\.(\d+)\.attn\.in_proj_(weight|bias)$")
OPENCLIP_IGNORED = ("logit_scale", "attn_mask")
HF_IGNORED = ("text_model.embeddings.position_ids",)


def openclip_to_hf(sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Convert an OpenCLIP text-tower state dict (prefix stripped) to HF CLIPTextModelWithProjection keys.
    Keys it does not know are kept as ``?<key>`` so the strict load reports them."""
    out: dict[str, torch.Tensor] = {}
    for key, tensor in sd.items():
        if key in OPENCLIP_IGNORED:
            continue
        if key == "text_projection":
            out["text_projection.weight"] = tensor.T.contiguous()
            continue
        m = _IN_PROJ.match(key)
        if m:
            q, k, v = tensor.chunk(3, dim=0)
            for name, part in (("q", q), ("k", k), ("v", v)):
                out[f"text_model.encoder.layers.{m.group(1)}.self_attn.{name}_proj.{m.group(2)}"] = part
            continue
        new = key
        for pattern, repl in _OPENCLIP_RENAMES:
            new = re.sub(pattern, repl, new)
        out[f"text_model.{new}" if new != key else f"?{key}"] = tensor
    return out


def config_from_shapes(base: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]]) -> dict[str, Any]:
    """HF config for a text tower with HF-named ``shapes``: dims from tensor shapes, the rest from ``base``."""
    vocab, hidden = shapes["text_model.embeddings.token_embedding.weight"]
    layers = {int(k.split(".")[3]) for k in shapes if k.startswith("text_model.encoder.layers.")}
    cfg = dict(base)
    cfg.update(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=shapes["text_model.encoder.layers.0.mlp.fc1.weight"][0],
        num_hidden_layers=len(layers),
        num_attention_heads=max(1, hidden // HEAD_DIM),
        max_position_embeddings=shapes["text_model.embeddings.position_embedding.weight"][0],
    )
    if "text_projection.weight" in shapes:
        cfg["projection_dim"] = shapes["text_projection.weight"][0]
    return cfg


def openclip_shapes_to_hf(shapes: Mapping[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """The HF names and shapes :func:`openclip_to_hf` would produce, from shapes alone (no data)."""
    meta = {k: torch.empty(s, device="meta") for k, s in shapes.items()}
    return {k: tuple(v.shape) for k, v in openclip_to_hf(meta).items()}


def build_text_model(config: Mapping[str, Any], with_projection: bool) -> torch.nn.Module:
    """An HF CLIP text model with ``config``, parameters on the meta device (load with ``assign=True``)."""
    cfg = CLIPTextConfig(**config)
    cfg._attn_implementation = "sdpa"
    cls = CLIPTextModelWithProjection if with_projection else CLIPTextModel
    with torch.device("meta"):
        model: torch.nn.Module = cls(cfg)
    model.eval()
    return model


def text_transformer(model: torch.nn.Module) -> torch.nn.Module:
    """The module holding ``embeddings``/``encoder`` (transformers v5 CLIPTextModel *is* it; v4 wraps it)."""
    inner = getattr(model, "text_model", model)
    assert isinstance(inner, torch.nn.Module)
    return inner


def canonical_names(model: torch.nn.Module) -> dict[str, str]:
    """Canonical (checkpoint-style ``text_model.*``) tensor name -> the model's own state-dict name."""
    out = {}
    for name in model.state_dict():
        canon = name if name.startswith(("text_model.", "text_projection.")) else f"text_model.{name}"
        out[canon] = name
    return out


def to_model_keys(model: torch.nn.Module, sd: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename canonical ``text_model.*`` keys to what ``model.load_state_dict`` expects."""
    names = canonical_names(model)
    return {names.get(k, k): v for k, v in sd.items()}


def restore_buffers(model: torch.nn.Module, device: torch.device | str) -> None:
    """Rebuild the non-persistent ``position_ids`` buffer (not in checkpoints) on ``device``."""
    emb: Any = text_transformer(model).embeddings
    n = int(emb.position_embedding.weight.shape[0])
    emb.register_buffer("position_ids", torch.arange(n, device=device).expand((1, -1)), persistent=False)
