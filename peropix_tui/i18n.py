"""Translations of user-facing text: standard :mod:`gettext` catalogs, domain ``peropix``.

English is the source language (the text in the code); ``peropix_tui/locale/<lang>/LC_MESSAGES/``
holds ``peropix.po`` (edited) and ``peropix.mo`` (compiled, shipped). A message without a
translation, or a language without a catalog, shows the English text.

How code marks text (``python scripts/i18n.py update`` extracts every marked string with Babel)::

    from peropix_tui.i18n import N_, _, ngettext

    label = _("Gallery")                                   # translated now
    note = ngettext("{n} image saved", "{n} images saved", n).format(n=n)
    WELCOME = N_("Welcome to PeroPix. …")                  # module level: marked only, ...
    Static(_(WELCOME))                                     # ... translated where it is shown

A module that already uses ``_`` as a throwaway name calls ``i18n.gettext("…")`` instead (also
extracted). Translate at the moment text is shown, not at import time, so that
:func:`set_language` takes effect on the next render. Only literal strings are extracted:
``_(f"…")`` is never translated, and ``_(variable)`` only when the variable holds an ``N_``
constant. Placeholders are ``{name}`` fields filled with ``.format`` after translation; the
catalog check makes every translation keep the same fields.

Nothing here imports Textual: core code may use it. The app subscribes with :func:`subscribe` and
re-renders when the language changes.
"""

from __future__ import annotations

import _thread
import os
from pathlib import Path

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: the one-off command line imports neither typing nor threading
if TYPE_CHECKING:
    import gettext as _gettext
    from collections.abc import Callable, Mapping

DOMAIN = "peropix"
LOCALE_DIR = Path(__file__).with_name("locale")
SOURCE_LANGUAGE = "en"
LANGUAGES: tuple[str, ...] = ("en", "ko", "ja")
"""Languages the app speaks; every one but English has a catalog under :data:`LOCALE_DIR`."""
LANGUAGE_SETTINGS: tuple[str, ...] = ("auto", *LANGUAGES)
"""Values of ``[ui] language``; ``auto`` follows the locale environment."""
LOCALE_VARIABLES: tuple[str, ...] = ("LC_ALL", "LC_MESSAGES", "LANG")
"""Read in this order by ``auto``: the first one that is set decides (POSIX precedence)."""



class _SourceText:
    """English, the text in the code: what ``gettext.NullTranslations`` gives, without importing
    gettext (and re, locale) for a command line in English."""

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    def pgettext(self, context: str, message: str) -> str:
        return message


_SOURCE_TEXT = _SourceText()
_lock = _thread.allocate_lock()
_translations: _SourceText | _gettext.NullTranslations = _SOURCE_TEXT
_language = SOURCE_LANGUAGE
_listeners: list[Callable[[str], None]] = []


def _(message: str) -> str:
    """``message`` in the current language (English when it has no translation)."""
    return _translations.gettext(message)


gettext = _
"""The same as ``_``, for modules that use ``_`` as a throwaway name: ``i18n.gettext("…")``."""


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted message for ``n`` in the current language's plural rule."""
    return _translations.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` translated within ``context`` (for short words that mean two things)."""
    return _translations.pgettext(context, message)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (module-level constants)."""
    return message


def language_of_locale(value: str) -> str:
    """``"ko_KR.UTF-8"`` → ``"ko"``; a locale of a language without a catalog (or C / POSIX) → ``"en"``."""
    code = value.split(".", 1)[0].split("@", 1)[0].replace("-", "_").split("_", 1)[0].lower()
    return code if code in LANGUAGES else SOURCE_LANGUAGE


def language_from_environment(env: Mapping[str, str] | None = None) -> str:
    """The language ``auto`` means: from the first of LC_ALL, LC_MESSAGES, LANG that is set."""
    env = os.environ if env is None else env
    for var in LOCALE_VARIABLES:
        value = env.get(var, "")
        if value:
            return language_of_locale(value)
    return SOURCE_LANGUAGE


def resolve(setting: str, env: Mapping[str, str] | None = None) -> str:
    """The language a ``[ui] language`` value stands for; ValueError for an unknown value."""
    if setting == "auto":
        return language_from_environment(env)
    if setting in LANGUAGES:
        return setting
    raise ValueError(_("ui.language: {value} is not one of {choices}").format(
        value=repr(setting), choices=", ".join(LANGUAGE_SETTINGS)))


def load_translations(language: str, localedir: Path | None = None) -> _gettext.NullTranslations:
    """The catalog of ``language``; English, or a missing catalog, gives the untranslated text."""
    import gettext as _gettext

    if language == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir or LOCALE_DIR, languages=[language], fallback=True)


def set_language(setting: str, env: Mapping[str, str] | None = None, *, localedir: Path | None = None) -> str:
    """Install the catalog for ``setting`` (``auto`` or a language) and return the language used.

    Text translated after this call is in the new language; subscribers are told when the
    language changed, so that the UI can render again.
    """
    global _translations, _language
    language = resolve(setting, env)
    translations = _SOURCE_TEXT if language == SOURCE_LANGUAGE else load_translations(language, localedir)
    with _lock:
        changed = language != _language
        _translations, _language = translations, language
        listeners = list(_listeners)
    if changed:
        for listener in listeners:
            listener(language)
    return language


def current_language() -> str:
    return _language


def subscribe(listener: Callable[[str], None]) -> Callable[[], None]:
    """Call ``listener(language)`` after each change of language; returns the unsubscribe function.

    The listener runs in the thread that called :func:`set_language` (the app's event loop when
    Settings changes it).
    """
    with _lock:
        _listeners.append(listener)

    def unsubscribe() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return unsubscribe


def set_language_from_config(env: Mapping[str, str] | None = None) -> str:
    """Install the language of the config file and ``PEROPIX_LANG`` (for the command line).

    A config that cannot be read, or a bad language value, does not stop the command here: the
    language comes from ``PEROPIX_LANG`` when it names one, else from the locale, and the command
    reports the config error (in that language) when it loads it. A
    config that loaded cleanly before and is unchanged is not loaded again (:mod:`.core.config_stamp`).
    """
    from .core.config_stamp import load_quick, recall

    env = os.environ if env is None else env
    found = recall(env)  # the config loaded cleanly before and is unchanged: no TOML, no validation
    if found is not None:
        return set_language(found.language, env)
    from .core.config import ConfigError

    try:
        setting = load_quick(env).language
    except (ConfigError, OSError):
        wanted = env.get("PEROPIX_LANG", "")
        setting = wanted if wanted in LANGUAGE_SETTINGS else "auto"
    return set_language(setting, env)
