"""Entry point: ``peropix`` opens the TUI; ``peropix <command>`` runs a headless command.

Subcommands live in :mod:`peropix_tui.commands`, one module each, registered here. Nothing
heavy (Textual, torch) is imported before it is needed, so ``peropix --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .i18n import _, set_language_from_config
from .textwidth import CellWidthHelpFormatter

# module name in peropix_tui.commands -> registered in this order
COMMAND_MODULES: tuple[str, ...] = ("generate", "run", "queue", "cost", "meta", "gallery", "engine", "tags",
                                    "tool", "upscale", "export", "comfyui")


class CliError(Exception):
    """A bad input on the command line: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="peropix",
        formatter_class=CellWidthHelpFormatter,
        description=_(
            "PeroPix TUI: character image sets with NovelAI or a local SDXL engine. "
            "Without a command, opens the terminal app."
        ),
    )
    parser.add_argument("--version", action="version", version=f"peropix {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"peropix_tui.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"peropix_tui.commands.{name}":
                continue  # command not built yet
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if not (sys.argv[1:] if argv is None else argv):
        # plain `peropix`: open the TUI without building every subcommand's parser first
        from .tui import run_tui

        return run_tui()
    set_language_from_config()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        from .tui import run_tui

        return run_tui()
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        print(f"peropix: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `peropix meta x.png | head`
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("peropix: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # clear one-line error, no traceback, for any user-facing failure
        from .core.backend import BackendError
        from .core.config import ConfigError
        from .core.settings import SettingsError

        if isinstance(e, BackendError | ConfigError | SettingsError | ValueError | OSError):
            print(f"peropix: error: {e}", file=sys.stderr)
            return 1
        raise
