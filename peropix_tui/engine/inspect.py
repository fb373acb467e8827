"""Human-readable and JSON views of a :class:`~peropix_tui.engine.checkpoint.ModelInfo`."""

from __future__ import annotations

import json
from typing import Any

from .checkpoint import ModelInfo
from .unet import UNetConfig
from .vae import VAEConfig


def _millions(n: int) -> str:
    return f"{n / 1e6:,.1f} M"


def _levels(depths: tuple[int, ...], per_level: int) -> str:
    return "/".join(str(depths[i]) for i in range(0, len(depths), per_level))


def _prediction(info: ModelInfo) -> str:
    name = {"eps": "eps (epsilon)", "v": "v-prediction", "edm": "EDM (not supported)"}[info.prediction]
    if info.ztsnr:
        name += " + zero-terminal-SNR"
    source = {"marker": "from marker keys", "override": "user override",
              "default": "no v_pred marker; override with --prediction if this is a v-pred model"}
    return f"{name} ({source[info.prediction_source]})"


def _arch(info: ModelInfo) -> str:
    standard = info.unet == UNetConfig(in_channels=info.unet.in_channels, out_channels=info.unet.out_channels)
    return f"{info.arch} ({'standard SDXL base dims' if standard else 'SDXL-shaped, non-standard dims'})"


def _unet(u: UNetConfig) -> str:
    mult = "-".join(map(str, u.channel_mult))
    return (f"model_channels {u.model_channels}, channel_mult {mult}, res blocks {u.num_res_blocks}, "
            f"transformer depth {_levels(u.depth_in, u.num_res_blocks)} (middle {u.depth_mid}), "
            f"context {u.context_dim}, adm {u.adm_in}, in_channels {u.in_channels}")


def _vae(v: VAEConfig | None) -> str:
    if v is None:
        return "absent (give a separate VAE file with --vae)"
    return f"ch {v.ch}, ch_mult {'-'.join(map(str, v.ch_mult))}, res blocks {v.num_res_blocks}, z {v.z_channels}"


def _clip(c: dict[str, Any]) -> str:
    heads = c["num_attention_heads"]
    text = f"{c['hidden_size']} wide, {c['num_hidden_layers']} layers, {heads} head{'s' * (heads != 1)}"
    return text + (f", projection {c['projection_dim']}" if c["hidden_act"] == "gelu" else "")


def format_info(info: ModelInfo) -> str:
    rows = [
        ("checkpoint", info.path),
        ("architecture", _arch(info)),
        ("prediction", _prediction(info)),
        ("components", ", ".join(info.components)),
        ("file dtypes", ", ".join(info.file_dtypes)),
        ("unet", _unet(info.unet)),
        ("vae", _vae(info.vae)),
        ("clip_l", _clip(info.clip_l)),
        ("clip_g", _clip(info.clip_g)),
    ]
    if info.ignored_keys:
        shown = ", ".join(info.ignored_keys[:5]) + (", …" if len(info.ignored_keys) > 5 else "")
        rows.append(("ignored keys", f"{len(info.ignored_keys)} ({shown})"))
    lines = [f"{k:<13}{v}" for k, v in rows]
    lines.append("parameters")
    counts = {**info.param_counts, "total": sum(info.param_counts.values())}
    lines += [f"  {k:<9}{_millions(n):>12}" for k, n in counts.items()]
    return "\n".join(lines)


def info_json(info: ModelInfo) -> str:
    return json.dumps(info.to_json(), indent=2)
