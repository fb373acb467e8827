"""``peropix engine inspect PATH [--json]``: what a checkpoint is, read from its header alone."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..i18n import _


def register(sub: Any) -> None:
    p = sub.add_parser("engine", help=_("local SDXL engine tools"))
    esub = p.add_subparsers(dest="engine_command", metavar="ACTION", required=True)
    insp = esub.add_parser(
        "inspect",
        help=_("show a checkpoint's architecture, prediction type, components and parameter counts"),
        description=_("Reads only the .safetensors header (no weights are loaded)."),
    )
    insp.add_argument("path", type=Path, metavar="PATH", help=_("single-file SDXL .safetensors checkpoint"))
    insp.add_argument("--json", action="store_true", help=_("print machine-readable JSON"))
    insp.set_defaults(func=_inspect)


def _inspect(args: argparse.Namespace) -> int:
    path: Path = args.path
    if not path.is_file():  # before importing the engine: a typo is not a missing extra
        what = _("is a folder, not a file") if path.is_dir() else _("file not found")
        raise FileNotFoundError(f"{path}: {what}")
    from ..engine.header import read_header

    read_header(path)  # a damaged or hostile header is named before torch is needed
    try:
        from ..engine.checkpoint import inspect_checkpoint
        from ..engine.inspect import format_info, info_json
    except ModuleNotFoundError as e:
        raise ValueError(
            _("the local engine needs {module}; install it with: {command}").format(
                module=e.name, command="pip install 'peropix-tui[local]'")
        ) from None
    info = inspect_checkpoint(args.path)
    print(info_json(info) if args.json else format_info(info))
    return 0
