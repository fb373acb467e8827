"""Entry point: ``peropix`` opens the TUI; ``peropix <command>`` runs a headless command.

Subcommands live in :mod:`peropix_tui.commands`, one module each (named as its command),
registered here. A command line that names its command imports that command's module only (so
``peropix tags search x`` does not import what ``generate`` needs); ``peropix``, ``--help`` and an
unknown command build the full parser. Nothing heavy (Textual, torch) is imported before it is needed.
"""

from __future__ import annotations

import importlib
import sys

from . import __version__, i18n
from .i18n import _, set_language, set_language_from_config

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing is a large part of a one-off command
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

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


def _one_line_parser() -> type[argparse.ArgumentParser]:
    """argparse, except that a usage error prints one line and a ``--help`` hint, not the whole usage,
    and that help is laid out by terminal cells in every parser, subcommands' too (made on first use:
    argparse is imported only when a parser is built). argparse's own words come from our catalogs."""
    import argparse

    from .argparse_text import install
    from .textwidth import CellWidthHelpFormatter, cell_width

    install(argparse)

    class Formatter(CellWidthHelpFormatter):
        def _format_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None) -> str:
            # argparse indents the usage's next lines by len(prefix): make that the prefix's cell width
            prefix = i18n.gettext("usage: ") if prefix is None else prefix
            pad = "\0" * (cell_width(prefix) - len(prefix))
            return str(super()._format_usage(usage, actions, groups, prefix + pad)).replace("\0", "")

    class Parser(argparse.ArgumentParser):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("formatter_class", Formatter)
            super().__init__(*args, **kwargs)

        def error(self, message: str) -> NoReturn:
            sys.stderr.write(_("{prog}: error: {message} (see '{prog} --help')").format(prog=self.prog,
                                                                                     message=message) + "\n")
            sys.exit(EXIT_USAGE)

    return Parser


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


def command_named(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs when it starts with a known one; None otherwise (``-h``, ``--version``
    and a typo need the full parser: they list every command)."""
    return argv[0] if argv and argv[0] in COMMAND_MODULES else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``peropix`` parser; with ``only``, just that command's subparser (the others unbuilt)."""
    from .argparse_text import VERSION_HELP

    parser = _one_line_parser()(
        prog="peropix",
        description=_(
            "PeroPix TUI: character image sets with NovelAI or a local SDXL engine. "
            "Without a command, opens the terminal app."
        ),
    )
    parser.add_argument("--version", action="version", version=f"peropix {__version__}",
                        help=_(VERSION_HELP))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES if only is None else (only,):
        try:
            mod = importlib.import_module(f"peropix_tui.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"peropix_tui.commands.{name}":
                continue  # command not built yet
            raise
        mod.register(sub)
    return parser


def _quick_command(name: str, rest: Sequence[str]) -> Callable[[], int] | None:
    """The command's ``quick(rest)`` when it has one and takes this line without argparse (the
    same run as the parsed line would give; None: parse it)."""
    mod = importlib.import_module(f"peropix_tui.commands.{name}")
    quick: Callable[[Sequence[str]], Callable[[], int] | None] | None = getattr(mod, "quick", None)
    return quick(rest) if quick is not None else None


def main(argv: list[str] | None = None) -> int:
    if not (sys.argv[1:] if argv is None else argv):
        # plain `peropix`: open the TUI without building every subcommand's parser first
        from .tui import run_tui

        return run_tui()
    line = sys.argv[1:] if argv is None else argv
    if "--json" in line:  # for scripts: the records and every text in them (errors too) are English
        set_language("en")
    else:
        set_language_from_config()
    named = command_named(line)
    quick = _quick_command(named, line[1:]) if named else None
    if quick is None:
        parser = build_parser(named)
        args = parser.parse_args(argv)
        if args.command is None:
            from .tui import run_tui

            return run_tui()
    try:
        return int((quick() if quick is not None else args.func(args)) or 0)
    except BrokenPipeError:  # e.g. `peropix meta x.png | head`
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(_("peropix: interrupted"), file=sys.stderr)
        return 130
    except Exception as e:  # clear one-line error, no traceback, for any user-facing failure
        code = exit_code(e)
        if code is None:
            raise
        print(_("peropix: error: {message}").format(message=_one_line(e)), file=sys.stderr)
        return code


def _one_line(error: BaseException) -> str:
    text = str(error) or error.__class__.__name__
    return " ".join(text.split()) if "\n" in text else text
