"""The catalogs match the code: every string marked with _() / N_() / ngettext() / pgettext() is
in every catalog, translated, with the same {fields}; none is left over; the compiled .mo files
hold what the .po files say. The checker is first shown to catch each fault on a planted package."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog

from peropix_tui import i18n

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("peropix_i18n_tool", ROOT / "scripts" / "i18n.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tool = _tool()


def test_every_language_but_english_has_a_catalog() -> None:
    assert tool.catalog_languages(i18n.LOCALE_DIR) == sorted(set(i18n.LANGUAGES) - {i18n.SOURCE_LANGUAGE})


@pytest.mark.parametrize("language", sorted(set(i18n.LANGUAGES) - {i18n.SOURCE_LANGUAGE}))
def test_catalog_matches_the_strings_the_code_uses(language: str) -> None:
    template = tool.extract()
    assert len(template) >= 2  # the extraction sees the marked strings (cli description, welcome)
    catalog = tool.read_catalog(tool.po_path(language))
    assert tool.problems(template, catalog, language) == []
    assert tool.stale_mo(catalog, tool.po_path(language).with_suffix(".mo"), language) == []


# ----------------------------------------------------------------------------- the checker
def _planted(tmp_path: Path, code: str) -> Catalog:
    pkg = tmp_path / "plantpkg"
    pkg.mkdir()
    (pkg / "mod.py").write_text(textwrap.dedent(code), encoding="utf-8")
    template: Catalog = tool.extract(pkg)
    return template


Entry = tuple[str | tuple[str, str], str | tuple[str, ...]]


def _catalog(entries: list[Entry], language: str = "ko") -> Catalog:
    catalog = Catalog(locale=language, domain=i18n.DOMAIN, fuzzy=False)
    for msgid, msgstr in entries:
        catalog.add(msgid, msgstr)
    return catalog


CODE = """
    from peropix_tui.i18n import N_, _, ngettext, pgettext
    TITLE = N_("Gallery")
    def show(n):
        saved = _("Saved {name}").format(name="x")
        return saved, ngettext("{n} slot", "{n} slots", n), pgettext("verb", "Open")
"""
GOOD: list[Entry] = [
    ("Gallery", "갤러리"),
    ("Saved {name}", "{name} 저장됨"),
    (("{n} slot", "{n} slots"), ("슬롯 {n}개",)),
]


def test_checker_passes_a_complete_catalog(tmp_path: Path) -> None:
    template = _planted(tmp_path, CODE)
    catalog = _catalog(GOOD)
    catalog.add("Open", "열기", context="verb")
    assert tool.problems(template, catalog, "ko") == []


def test_checker_names_a_string_the_catalog_lacks_and_one_the_code_dropped(tmp_path: Path) -> None:
    template = _planted(tmp_path, CODE)
    catalog = _catalog([*GOOD, ("Old label", "옛 이름")])  # no ("verb", "Open")
    assert sorted(tool.problems(template, catalog, "ko")) == [
        "ko: 'Old label' is no longer used by the code (run scripts/i18n.py update)",
        "ko: missing [verb] 'Open' (run scripts/i18n.py update, then translate)",
    ]


def test_checker_names_untranslated_fuzzy_wrong_fields_and_plural_count(tmp_path: Path) -> None:
    template = _planted(tmp_path, CODE)
    catalog = _catalog([
        ("Gallery", ""),
        ("Saved {name}", "{이름} 저장됨"),
        (("{n} slot", "{n} slots"), ("슬롯 {n}개", "슬롯 {n}개들")),
    ])
    catalog.add("Open", "열기", context="verb", flags=["fuzzy"])
    assert sorted(tool.problems(template, catalog, "ko")) == sorted([
        "ko: 'Gallery' has no translation",
        "ko: 'Saved {name}' uses fields ['이름'], the code ['name']",
        "ko: '{n} slot' has 2 plural forms, ko has 1",
        "ko: [verb] 'Open' is marked fuzzy (check the translation, drop the flag)",
    ])


def test_checker_names_a_compiled_catalog_that_is_missing_or_stale(tmp_path: Path) -> None:
    catalog = _catalog(GOOD)
    mo = tmp_path / "peropix.mo"
    assert tool.stale_mo(catalog, mo, "ko") == ["ko: peropix.mo is missing (run scripts/i18n.py compile)"]
    mo.write_bytes(tool.compile_catalog(catalog))
    assert tool.stale_mo(catalog, mo, "ko") == []
    catalog["Gallery"].string = "사진첩"
    assert tool.stale_mo(catalog, mo, "ko") == [
        "ko: peropix.mo differs from its .po (run scripts/i18n.py compile)"]
