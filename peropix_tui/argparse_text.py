"""argparse's own words (``usage:``, ``options``, its error messages) in the current language.

argparse translates what it says with its module-level ``_`` and ``ngettext`` (:mod:`gettext`
functions, domain ``messages``); :func:`install` points both at the ``peropix`` catalogs, so the
help and the usage errors of ``peropix`` read in the language of the rest of the command line.
:data:`MESSAGES` lists the msgids Python 3.11's argparse says in the parsers ``peropix`` builds
(so that they are extracted and translated); they keep argparse's %-style placeholders. A message
another Python version words differently shows in English.
"""

from __future__ import annotations

from types import ModuleType

from . import i18n
from .i18n import N_

MESSAGES: tuple[str, ...] = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("subcommands"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("expected one argument"),
    N_("ignored explicit argument %r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
)
VERSION_HELP = N_("show program's version number and exit")
"""The ``--version`` help: argparse's default for it is not passed through gettext."""


def install(argparse: ModuleType) -> None:
    """Make ``argparse`` translate with the current language's catalog (looked up at each call)."""
    argparse._ = i18n.gettext  # type: ignore[attr-defined]
    argparse.ngettext = i18n.ngettext  # type: ignore[attr-defined]
