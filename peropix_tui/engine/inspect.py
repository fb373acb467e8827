"""Human-readable and JSON views of a :class:`~peropix_tui.engine.checkpoint.ModelInfo`."""

from __future__ import annotations

import json
from typing import Any

from ..i18n import N_, _
from ..textwidth import cell_width
from .checkpoint import ModelInfo
from .unet import UNetConfig
from .vae import VAEConfig

LABEL_WIDTH = 13
"""Cells of the label column (wider when a translated label needs more)."""


def _millions(n: int) -> str:
    return f"{n / 1e6:,.1f} M"


def _levels(depths: tuple[int, ...], per_level: int) -> str:
    return "/".join(str(depths[i]) for i in range(0, len(depths), per_level))


def _pad(text: str, width: int) -> str:
    """``text`` followed by spaces to ``width`` terminal cells (Korean and Japanese take two each)."""
    return text + " " * max(0, width - cell_width(text))


_PREDICTIONS = {"eps": N_("eps (epsilon)"), "v": N_("v-prediction"), "edm": N_("EDM (not supported)")}
_SOURCES = {"marker": N_("from marker keys"), "override": N_("user override"),
            "default": N_("no v_pred marker; override with --prediction if this is a v-pred model")}


def _prediction(info: ModelInfo) -> str:
    name = _(_PREDICTIONS[info.prediction])
    if info.ztsnr:
        name += " + zero-terminal-SNR"
    return _("{prediction} ({source})").format(prediction=name, source=_(_SOURCES[info.prediction_source]))


def _arch(info: ModelInfo) -> str:
    standard = info.unet == UNetConfig(in_channels=info.unet.in_channels, out_channels=info.unet.out_channels)
    if standard:
        return _("{arch} (standard SDXL base dims)").format(arch=info.arch)
    return _("{arch} (SDXL-shaped, non-standard dims)").format(arch=info.arch)


def _unet(u: UNetConfig) -> str:
    mult = "-".join(map(str, u.channel_mult))
    return (f"model_channels {u.model_channels}, channel_mult {mult}, res blocks {u.num_res_blocks}, "
            f"transformer depth {_levels(u.depth_in, u.num_res_blocks)} (middle {u.depth_mid}), "
            f"context {u.context_dim}, adm {u.adm_in}, in_channels {u.in_channels}")


def _vae(v: VAEConfig | None) -> str:
    if v is None:
        return _("absent (give a separate VAE file with --vae)")
    return f"ch {v.ch}, ch_mult {'-'.join(map(str, v.ch_mult))}, res blocks {v.num_res_blocks}, z {v.z_channels}"


def _clip(c: dict[str, Any]) -> str:
    heads = c["num_attention_heads"]
    text = f"{c['hidden_size']} wide, {c['num_hidden_layers']} layers, {heads} head{'s' * (heads != 1)}"
    return text + (f", projection {c['projection_dim']}" if c["hidden_act"] == "gelu" else "")


def format_info(info: ModelInfo) -> str:
    """The ``peropix engine inspect`` table: labels in the current language, layer shapes as they are."""
    rows = [
        (_("checkpoint"), info.path),
        (_("architecture"), _arch(info)),
        (_("prediction"), _prediction(info)),
        (_("components"), ", ".join(info.components)),
        (_("file dtypes"), ", ".join(info.file_dtypes)),
        ("unet", _unet(info.unet)),
        ("vae", _vae(info.vae)),
        ("clip_l", _clip(info.clip_l)),
        ("clip_g", _clip(info.clip_g)),
    ]
    if info.ignored_keys:
        shown = ", ".join(info.ignored_keys[:5]) + (", …" if len(info.ignored_keys) > 5 else "")
        rows.append((_("ignored keys"), f"{len(info.ignored_keys)} ({shown})"))
    width = max(LABEL_WIDTH, *(cell_width(k) + 1 for k, _v in rows))
    lines = [_pad(k, width) + v for k, v in rows]
    lines.append(_("parameters"))
    counts = {**info.param_counts, _("total"): sum(info.param_counts.values())}
    lines += ["  " + _pad(k, 9) + f"{_millions(n):>12}" for k, n in counts.items()]
    return "\n".join(lines)


def info_json(info: ModelInfo) -> str:
    return json.dumps(info.to_json(), indent=2)
