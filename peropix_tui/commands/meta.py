"""``peropix meta FILE… [--json]``: the recipe stored in images, in whatever dialect each was written.

One file: a JSON object (or text). Several: a JSON array with one record or ``{"file", "error"}``
per file (text: a ``== name ==`` header per file). Exit 1 when any file could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "meta",
        help="show the generation settings stored in images (NovelAI, PeroPix, A1111/Forge, SD.Next, ComfyUI, "
        "InvokeAI, Fooocus, SwarmUI, Civitai, TensorArt, Stability Matrix, …)",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="PNG, WebP or JPEG image(s)")
    p.add_argument("--json", action="store_true",
                   help="JSON instead of text: an object for one file, an array (record or {file, error}) for several")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.metadata import NoMetadataError, read_metadata

    files: list[str] = list(args.files)
    results: list[dict[str, Any]] = []
    failed = 0
    for i, name in enumerate(files):
        try:
            data = read_metadata(name).to_json()
        except NoMetadataError as e:
            failed += 1
            error = _one_line(str(e))
            results.append({"file": name, "error": error})
            if not args.json:
                print(error, file=sys.stderr)
            continue
        data = {"file": name, **data} if len(files) > 1 else data
        results.append(data)
        if not args.json:
            if len(files) > 1:
                print(("\n" if i else "") + f"== {name} ==")
            print(format_record(data))
    if args.json:
        if len(files) == 1 and "error" in results[0] and "dialect" not in results[0]:
            print(results[0]["error"], file=sys.stderr)
        else:
            print(json.dumps(results if len(files) > 1 else results[0], ensure_ascii=False, indent=2))
    return 1 if failed else 0


def _one_line(text: str) -> str:
    return " ".join(text.split())


_ORDER = (
    ("dialect", "Dialect"), ("provider", "Provider"), ("model", "Model"), ("action", "Action"),
    ("prompt", "Prompt"), ("negative", "Negative"), ("quality", "Quality tags"), ("uc_preset", "UC preset"),
    ("seed", "Seed"), ("steps", "Steps"), ("scale", "Scale"), ("cfg_rescale", "CFG rescale"),
    ("sampler", "Sampler"), ("noise_schedule", "Schedule"), ("n_samples", "Samples"),
    ("variety", "Variety+"), ("smea", "SMEA"), ("smea_dyn", "SMEA DYN"),
    ("strength", "Strength"), ("noise", "Noise"), ("checkpoint", "Checkpoint"), ("model_hash", "Model hash"),
    ("vae", "VAE"), ("clip_skip", "Clip skip"), ("denoise", "Denoise"), ("prediction", "Prediction"),
    ("hires_scale", "Hires scale"), ("hires_denoise", "Hires denoise"), ("hires_steps", "Hires steps"),
    ("hires_upscaler", "Hires upscaler"), ("app", "Made with"),
)


_W = 15  # label column
_NAI_ONLY = ("quality", "uc_preset", "variety", "smea", "smea_dyn")


def format_record(data: dict[str, Any]) -> str:
    """The record as aligned ``Label: value`` lines (characters, vibes, LoRAs, the tool and notes listed)."""
    from ..core.metadata.record import tool_lines

    lines = []
    hidden = _NAI_ONLY if data["provider"] == "local" else ()
    for key, label in _ORDER:
        if key in data and data[key] not in (None, "") and key not in hidden:
            lines.append(f"{label + ':':<{_W}}{data[key]}")
        if key == "dialect" and data.get("container") not in (None, "png"):
            lines.append(f"{'Stored in:':<{_W}}{data['container']}")
        if key == "dialect" and isinstance(data.get("tool"), dict):
            lines += [f"{name + ':':<{_W}}{value}" for name, value in tool_lines(data["tool"])]
        if key == "model" and data.get("width") is not None and data.get("height") is not None:
            lines.append(f"{'Size:':<{_W}}{data['width']}x{data['height']}")
    if data.get("full_prompt") and data["full_prompt"] != data["prompt"]:
        lines.append(f"{'Sent prompt:':<{_W}}{data['full_prompt']}")
    if data.get("full_negative") and data["full_negative"] != data["negative"]:
        lines.append(f"{'Sent UC:':<{_W}}{data['full_negative']}")
    for i, ch in enumerate(data["characters"], 1):
        where = ch["position"] or "AI's choice"
        state = "" if ch["enabled"] else " (disabled)"
        lines.append(f"{f'Character {i}:':<{_W}}{ch['prompt']}  [{where}]{state}")
        if ch["uc"]:
            lines.append(f"{'':<{_W}}UC: {ch['uc']}")
    for i, v in enumerate(data["vibes"], 1):
        enc = "encoding stored" if v["encoding_known"] else "source image not recoverable"
        lines.append(f"{f'Vibe {i}:':<{_W}}info {v['information_extracted']:g}, strength {v['strength']:g} ({enc})")
    for i, cr in enumerate(data.get("charrefs") or [], 1):
        mode = cr["mode"] or "mode unknown"
        lines.append(f"{f'Char ref {i}:':<{_W}}{mode}, strength {cr['strength']:g}, fidelity {cr['fidelity']:g} "
                     "(image not recoverable)")
    for lo in data.get("loras", []):
        lines.append(f"{'LoRA:':<{_W}}{lo['path']} @ {lo['weight']:g}")
    for note in data.get("notes", []):
        lines.append(f"{'Note:':<{_W}}{note}")
    return "\n".join(lines)

