"""``peropix meta FILE… [--json]``: the recipe stored in images, in whatever dialect each was written.

One file: a JSON object (or text). Several: a JSON array with one record or ``{"file", "error"}``
per file (text: a ``== name ==`` header per file). Exit 1 when any file could not be read.

The text output is in the user's language (labels, the words around the values; the values are
the file's, shown as they are); ``--json`` is the same in every language.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..i18n import N_, _, current_language, pgettext


def register(sub: Any) -> None:
    from ..textwidth import CellWidthHelpFormatter

    p = sub.add_parser(
        "meta",
        formatter_class=CellWidthHelpFormatter,
        help=_("show the generation settings stored in images (NovelAI, PeroPix, A1111/Forge, SD.Next, ComfyUI, "
               "InvokeAI, Fooocus, SwarmUI, Civitai, TensorArt, Stability Matrix, …)"),
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=_("PNG, WebP or JPEG image(s)"))
    p.add_argument("--json", action="store_true",
                   help=_("JSON instead of text: an object for one file, an array (record or {file, error}) "
                          "for several"))
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
            results.append({"file": name, "error": error})  # --json: the reader's text, in English
            if not args.json:
                print(error_text(name, e), file=sys.stderr)
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


_REASONS = (
    N_("not a PNG, WebP or JPEG image (unrecognised format)"),
    N_("empty file"),
)
"""Reasons of the reader (core/metadata) shown translated when a reason is exactly one of these;
any other reason is shown as the reader wrote it."""


def error_text(name: str, error: Any) -> str:
    """The one-line message for a file without readable metadata, in the user's language: the
    file named first as the reader names it (``x.png: …``), each ``;``-separated reason translated
    when the catalog knows it."""
    why = _one_line(str(getattr(error, "why", error)))
    file = next((f for f in (Path(name).name, name) if why.startswith(f + ": ")), None)
    if file is not None:
        why = why[len(file) + 2:]
    reason = "; ".join(_(part) if part else part for part in why.split("; "))  # _("") is the catalog header
    if file is None:
        return _("no readable metadata: {reason}").format(reason=reason)
    return _("no readable metadata: {file}: {reason}").format(file=file, reason=reason)


_ORDER = (
    ("dialect", N_("Dialect")), ("provider", N_("Provider")), ("model", N_("Model")), ("action", N_("Action")),
    ("prompt", N_("Prompt")), ("negative", N_("Negative")), ("quality", N_("Quality tags")),
    ("uc_preset", N_("UC preset")), ("seed", N_("Seed")), ("steps", N_("Steps")), ("scale", N_("Scale")),
    ("cfg_rescale", N_("CFG rescale")), ("sampler", N_("Sampler")), ("noise_schedule", N_("Schedule")),
    ("n_samples", N_("Samples")), ("variety", N_("Variety+")), ("smea", N_("SMEA")), ("smea_dyn", N_("SMEA DYN")),
    ("strength", N_("Strength")), ("noise", N_("Noise")), ("checkpoint", N_("Checkpoint")),
    ("model_hash", N_("Model hash")), ("vae", N_("VAE")), ("clip_skip", N_("Clip skip")),
    ("denoise", N_("Denoise")), ("prediction", N_("Prediction")), ("hires_scale", N_("Hires scale")),
    ("hires_denoise", N_("Hires denoise")), ("hires_steps", N_("Hires steps")),
    ("hires_upscaler", N_("Hires upscaler")), ("app", N_("Made with")),
)
"""Record keys (untranslated: the ``--json`` names) in display order, with their text labels."""

_TOOL_LABELS = {
    "Tool": N_("Tool"), "Tool part": N_("Tool part"), "Tool options": N_("Tool options"),
    "Tool source": N_("Tool source"),
}
"""The labels of core.metadata.record.tool_lines, translated here where they are shown."""

_W = 15  # label column, in terminal cells
_NAI_ONLY = ("quality", "uc_preset", "variety", "smea", "smea_dyn")


def _value(value: Any) -> str:
    """A value as shown: the file's text as it is; a true/false flag in the user's language."""
    if value is True:
        return pgettext("flag", "True")
    if value is False:
        return pgettext("flag", "False")
    return str(value)


def format_record(data: dict[str, Any]) -> str:
    """The record as aligned ``Label: value`` lines (characters, vibes, LoRAs, the tool and notes listed).

    The label column is 15 terminal cells; a translated label that is wider (Korean and Japanese
    characters take two cells) widens the column for the whole record, so values stay aligned.
    """
    from ..core.metadata.record import tool_lines
    from ..textwidth import cell_width

    rows: list[tuple[str, str]] = []  # (label, value); label "" continues the row above

    def add(label: str, value: Any) -> None:
        rows.append((label + ":" if label else "", _value(value)))

    hidden = _NAI_ONLY if data["provider"] == "local" else ()
    for key, label in _ORDER:
        if key in data and data[key] not in (None, "") and key not in hidden:
            add(_(label), data[key])
        if key == "dialect" and data.get("container") not in (None, "png"):
            add(_("Stored in"), data["container"])
        if key == "dialect" and isinstance(data.get("tool"), dict):
            for name, value in tool_lines(data["tool"]):
                add(_(_TOOL_LABELS.get(name, name)), value)
        if key == "model" and data.get("width") is not None and data.get("height") is not None:
            add(_("Size"), f"{data['width']}x{data['height']}")
    if data.get("full_prompt") and data["full_prompt"] != data["prompt"]:
        add(_("Sent prompt"), data["full_prompt"])
    if data.get("full_negative") and data["full_negative"] != data["negative"]:
        add(_("Sent UC"), data["full_negative"])
    for i, ch in enumerate(data["characters"], 1):
        where = ch["position"] or _("AI's choice")
        text = f"{ch['prompt']}  [{where}]"
        add(_("Character {n}").format(n=i), text if ch["enabled"] else _("{character} (disabled)").format(character=text))
        if ch["uc"]:
            add("", _("UC: {uc}").format(uc=ch["uc"]))
    for i, v in enumerate(data["vibes"], 1):
        enc = _("encoding stored") if v["encoding_known"] else _("source image not recoverable")
        add(_("Vibe {n}").format(n=i), _("info {information}, strength {strength} ({encoding})").format(
            information=f"{v['information_extracted']:g}", strength=f"{v['strength']:g}", encoding=enc))
    for i, cr in enumerate(data.get("charrefs") or [], 1):
        add(_("Char ref {n}").format(n=i),
            _("{mode}, strength {strength}, fidelity {fidelity} (image not recoverable)").format(
                mode=cr["mode"] or _("mode unknown"), strength=f"{cr['strength']:g}", fidelity=f"{cr['fidelity']:g}"))
    for lo in data.get("loras", []):
        add(_("LoRA"), f"{lo['path']} @ {lo['weight']:g}")
    for note in data.get("notes", []):
        add(_("Note"), note)
    width = _W
    if current_language() != "en":
        width = max([_W, *(cell_width(label) + 1 for label, _v in rows)])
    return "\n".join(label + " " * max(width - cell_width(label), 0) + value for label, value in rows)
