"""Message catalogs of PeroPix TUI (Babel): extract the marked strings, update and compile catalogs.

    python scripts/i18n.py update     # extract from peropix_tui/, merge into every .po, compile .mo
    python scripts/i18n.py compile    # .po -> .mo only
    python scripts/i18n.py check      # what tests/unit/test_i18n_catalogs.py checks, as a report
    python scripts/i18n.py init fr    # start a catalog for a new language (then add it to i18n.LANGUAGES)

Strings are marked in the code with ``_()``, ``N_()``, ``ngettext()`` and ``pgettext()`` (see
peropix_tui/i18n.py). ``update`` adds new strings with an empty translation and drops strings the
code no longer uses; translate the new entries in each ``.po`` and run ``compile`` (or ``update``)
again. The compiled ``.mo`` files are committed: they ship in the wheel as package data.
"""

from __future__ import annotations

import io
import string
import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "peropix_tui"
LOCALE_DIR = PACKAGE / "locale"
DOMAIN = "peropix"
METHOD_MAP = [("**.py", "python")]
HEADER = (
    "# Translations of PeroPix TUI.\n"
    "# This file is distributed under the same license as the peropix-tui package.\n#"
)

MessageId = str | tuple[str, ...]
Key = tuple[MessageId, str | None]  # (msgid or (singular, plural), context)


def extract(package: Path = PACKAGE) -> Catalog:
    """Every string the code marks for translation, as a template catalog (no translations)."""
    template = Catalog(domain=DOMAIN, project="peropix-tui", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        package, METHOD_MAP, keywords=DEFAULT_KEYWORDS, comment_tags=("TRANSLATORS:",),
        strip_comment_tags=True,
    ):
        where = [(f"{package.name}/{filename}", lineno)]
        template.add(message, None, where, auto_comments=comments, context=context)
    return template


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_languages(locale_dir: Path = LOCALE_DIR) -> list[str]:
    return sorted(p.parent.parent.name for p in locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def read_catalog(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=path.parent.parent.name, domain=DOMAIN)


def write_catalog(catalog: Catalog, path: Path) -> None:
    catalog.project, catalog.version = "peropix-tui", ""
    catalog.msgid_bugs_address = ""
    buf = io.BytesIO()
    # no line numbers: a catalog changes only when a message does (fewer merge conflicts)
    write_po(buf, catalog, width=100, sort_by_file=True, ignore_obsolete=True, include_lineno=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def compile_catalog(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    return buf.getvalue()


def _key(m: Message) -> Key:
    return (tuple(m.id) if isinstance(m.id, tuple | list) else m.id), m.context


def _ids(m: Message) -> tuple[str, ...]:
    return tuple(m.id) if isinstance(m.id, tuple | list) else (m.id,)


def _forms(m: Message) -> tuple[str, ...]:
    """The translation(s) of ``m``, ``""`` where there is none."""
    values = tuple(m.string) if isinstance(m.string, tuple | list) else (m.string,)
    return tuple(v or "" for v in values)


def _keys(catalog: Catalog) -> dict[Key, Message]:
    return {_key(m): m for m in catalog if m.id}


def _shown(key: Key) -> str:
    msgid, context = key
    text = msgid[0] if isinstance(msgid, tuple) else msgid
    return (f"[{context}] " if context else "") + repr(text[:70])


def _fields(text: str) -> set[str]:
    """The ``{name}`` replacement fields of a str.format template (empty for text without braces)."""
    if "{" not in text and "}" not in text:
        return set()
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<malformed braces>"}


def problems(template: Catalog, catalog: Catalog, language: str) -> list[str]:
    """What is wrong with ``catalog`` against the strings the code uses, one line each."""
    out: list[str] = []
    used, have = _keys(template), _keys(catalog)
    for key in used.keys() - have.keys():
        out.append(f"{language}: missing {_shown(key)} (run scripts/i18n.py update, then translate)")
    for key in have.keys() - used.keys():
        out.append(f"{language}: {_shown(key)} is no longer used by the code (run scripts/i18n.py update)")
    nplurals = catalog.num_plurals
    for key in sorted(used.keys() & have.keys(), key=str):
        msg = have[key]
        forms = _forms(msg)
        if msg.fuzzy:
            out.append(f"{language}: {_shown(key)} is marked fuzzy (check the translation, drop the flag)")
        if not all(forms):
            out.append(f"{language}: {_shown(key)} has no translation")
            continue
        if msg.pluralizable and len(forms) != nplurals:
            out.append(f"{language}: {_shown(key)} has {len(forms)} plural forms, {language} has {nplurals}")
        source = set().union(*(_fields(t) for t in _ids(msg)))
        for form in forms:
            if _fields(form) != source:
                fields = sorted(_fields(form))
                out.append(f"{language}: {_shown(key)} uses fields {fields}, the code {sorted(source)}")
    return out


def translations(catalog: Catalog) -> dict[Key, MessageId]:
    """What a compiled catalog holds: translated, non-fuzzy messages (the header left out)."""
    out: dict[Key, MessageId] = {}
    for m in catalog:
        forms = _forms(m)
        if m.id and not m.fuzzy and all(forms):
            out[_key(m)] = forms if m.pluralizable else forms[0]
    return out


def stale_mo(catalog: Catalog, mo: Path, language: str) -> list[str]:
    """A line when the compiled ``.mo`` next to a ``.po`` is absent or holds other translations."""
    if not mo.exists():
        return [f"{language}: {mo.name} is missing (run scripts/i18n.py compile)"]
    with mo.open("rb") as f:
        compiled = read_mo(f)
    if translations(compiled) != translations(catalog):
        return [f"{language}: {mo.name} differs from its .po (run scripts/i18n.py compile)"]
    return []


def update(languages: Iterable[str]) -> None:
    template = extract()
    for language in languages:
        path = po_path(language)
        catalog = read_catalog(path)
        template.creation_date = catalog.creation_date  # the header changes only with a new language
        catalog.update(template, no_fuzzy_matching=True)
        write_catalog(catalog, path)
        print(f"{path.relative_to(ROOT)}: {len(catalog)} messages")


def compile_all(languages: Iterable[str]) -> None:
    for language in languages:
        path = po_path(language)
        path.with_suffix(".mo").write_bytes(compile_catalog(read_catalog(path)))
        print(f"{path.with_suffix('.mo').relative_to(ROOT)}")


def init(language: str) -> None:
    path = po_path(language)
    if path.exists():
        raise SystemExit(f"{path}: exists; use update")
    catalog = Catalog(
        locale=language, domain=DOMAIN, header_comment=HEADER, charset="utf-8", fuzzy=False,
    )
    catalog.update(extract(), no_fuzzy_matching=True)
    write_catalog(catalog, path)
    print(f"{path.relative_to(ROOT)}: {len(catalog)} messages to translate")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("update", "compile", "check", "init"):
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "init":
        if len(rest) != 1:
            print("usage: scripts/i18n.py init LANGUAGE", file=sys.stderr)
            return 2
        init(rest[0])
        return 0
    languages = rest or catalog_languages()
    if command == "update":
        update(languages)
        compile_all(languages)
        return 0
    if command == "compile":
        compile_all(languages)
        return 0
    template = extract()
    found: list[str] = []
    for language in languages:
        catalog = read_catalog(po_path(language))
        found += problems(template, catalog, language)
        found += stale_mo(catalog, po_path(language).with_suffix(".mo"), language)
    print("\n".join(found) or f"{len(template)} messages; catalogs complete: {', '.join(languages)}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
