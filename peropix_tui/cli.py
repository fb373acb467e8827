"""Entry point: ``peropix`` opens the TUI; ``peropix <command>`` runs a headless command.

Subcommands live in :mod:`peropix_tui.commands`, one module each, registered here. Nothing
heavy (Textual, torch) is imported before it is needed, so ``peropix --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import NoReturn

from . import __version__
from .i18n import _, set_language_from_config
from .textwidth import CellWidthHelpFormatter

# module name in peropix_tui.commands -> registered in this order
COMMAND_MODULES: tuple[str, ...] = ("generate", "run", "queue", "cost", "meta", "gallery", "engine", "tags",
                                    "tool", "upscale", "export", "comfyui")


EXIT_OK = 0
EXIT_FAILED = 1
"""A valid command that failed: a missing or damaged file, NovelAI or the network, the engine."""
EXIT_USAGE = 2
"""The command cannot run as given: an unknown or missing flag, a value out of range or in conflict
with another, an unusable config value."""


class CliError(Exception):
    """A bad input on the command line: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, except that a usage error prints one line and a ``--help`` hint, not the whole usage."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        sys.exit(EXIT_USAGE)


def exit_code(error: BaseException) -> int | None:
    """The exit code for an error raised by a command (None: not a user-facing error; let it raise)."""
    from .core.backend import BackendError
    from .core.config import ConfigError
    from .core.nai.images import ImageInputError
    from .core.settings import SettingsError

    if isinstance(error, ImageInputError):
        return EXIT_FAILED
    if isinstance(error, CliError | ConfigError | SettingsError):
        return EXIT_USAGE
    if isinstance(error, BackendError | ValueError | OSError):
        return EXIT_FAILED
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
    except BrokenPipeError:  # e.g. `peropix meta x.png | head`
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("peropix: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # clear one-line error, no traceback, for any user-facing failure
        code = exit_code(e)
        if code is None:
            raise
        print(f"peropix: error: {_one_line(e)}", file=sys.stderr)
        return code


def _one_line(error: BaseException) -> str:
    text = str(error) or error.__class__.__name__
    return " ".join(text.split()) if "\n" in text else text
