"""``peropix engine inspect PATH [--json]``: what a checkpoint is, read from its header alone."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("engine", help="local SDXL engine tools")
    esub = p.add_subparsers(dest="engine_command", metavar="ACTION", required=True)
    insp = esub.add_parser(
        "inspect",
        help="show a checkpoint's architecture, prediction type, components and parameter counts",
        description="Reads only the .safetensors header (no weights are loaded).",
    )
    insp.add_argument("path", type=Path, metavar="PATH", help="single-file SDXL .safetensors checkpoint")
    insp.add_argument("--json", action="store_true", help="print machine-readable JSON")
    insp.set_defaults(func=_inspect)


def _inspect(args: argparse.Namespace) -> int:
    path: Path = args.path
    if not path.is_file():  # before importing the engine: a typo is not a missing extra
        raise FileNotFoundError(f"{path}: {'is a folder, not a file' if path.is_dir() else 'file not found'}")
    from ..engine.header import read_header

    read_header(path)  # a damaged or hostile header is named before torch is needed
    try:
        from ..engine.checkpoint import inspect_checkpoint
        from ..engine.inspect import format_info, info_json
    except ModuleNotFoundError as e:
        raise ValueError(
            f"the local engine needs {e.name}; install it with: pip install 'peropix-tui[local]'"
        ) from None
    info = inspect_checkpoint(args.path)
    print(info_json(info) if args.json else format_info(info))
    return 0
