"""Language selection and the runtime catalog: auto from the locale, PEROPIX_LANG, [ui] language,
switching at run time, plural forms, and English wherever a translation is missing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from peropix_tui import i18n
from peropix_tui.core.config import ConfigError, load_config

HELP = (
    "PeroPix TUI: character image sets with NovelAI or a local SDXL engine. "
    "Without a command, opens the terminal app."
)


@pytest.mark.parametrize(
    "env,expected",
    [
        ({}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "ja_JP.eucJP"}, "ja"),
        ({"LANG": "ja"}, "ja"),
        ({"LANG": "de_DE.UTF-8"}, "en"),  # a language without a catalog
        ({"LANG": "ko_KR.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8"}, "ja"),
        ({"LANG": "ja_JP.UTF-8", "LC_MESSAGES": "ja_JP.UTF-8", "LC_ALL": "ko_KR.UTF-8"}, "ko"),
        ({"LC_ALL": "", "LANG": "ko_KR.UTF-8"}, "ko"),  # an empty variable is not set
        ({"LC_ALL": "C", "LANG": "ko_KR.UTF-8"}, "en"),
    ],
)
def test_auto_follows_lc_all_then_lc_messages_then_lang(env: dict[str, str], expected: str) -> None:
    assert i18n.resolve("auto", env) == expected


def test_an_explicit_language_ignores_the_locale_and_a_bad_one_is_named() -> None:
    assert i18n.resolve("ja", {"LANG": "ko_KR.UTF-8"}) == "ja"
    with pytest.raises(ValueError, match=r"ui\.language: 'fr' is not one of auto, en, ko, ja"):
        i18n.resolve("fr", {})


def test_config_language_from_file_and_peropix_lang(tmp_path: Path) -> None:
    f = tmp_path / "config.toml"
    assert load_config(f, env={}).ui.language == "auto"
    f.write_text('[ui]\nlanguage = "ko"\n', encoding="utf-8")
    assert load_config(f, env={}).ui.language == "ko"
    assert load_config(f, env={"PEROPIX_LANG": "ja"}).ui.language == "ja"
    f.write_text('[ui]\nlanguage = "Korean"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"ui\.language: 'Korean' is not one of auto, en, ko, ja"):
        load_config(f, env={})


def test_a_broken_config_still_takes_the_language_of_peropix_lang(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("[ui\nlanguage = ", encoding="utf-8")  # not TOML
    env = {"PEROPIX_CONFIG_DIR": str(tmp_path), "LANG": "ko_KR.UTF-8"}
    try:
        assert i18n.set_language_from_config({**env, "PEROPIX_LANG": "ja"}) == "ja"
        assert i18n.set_language_from_config({**env, "PEROPIX_LANG": "fr"}) == "ko"  # not a language: the locale
        assert i18n.set_language_from_config(env) == "ko"
    finally:
        i18n.set_language("en")


def test_set_language_switches_the_text_at_run_time_and_tells_subscribers() -> None:
    heard: list[str] = []
    unsubscribe = i18n.subscribe(heard.append)
    try:
        assert i18n.set_language("ko") == "ko"
        assert i18n.current_language() == "ko"
        assert i18n._(HELP).startswith("PeroPix TUI: NovelAI 또는 로컬 SDXL 엔진으로")
        assert i18n.set_language("ja") == "ja"
        assert "ローカルのSDXLエンジン" in i18n._(HELP)
        i18n.set_language("ja")  # no change: no second notice
        assert i18n.set_language("auto", {"LANG": "C.UTF-8"}) == "en"
        assert i18n._(HELP) == HELP
    finally:
        unsubscribe()
    i18n.set_language("ko")
    assert heard == ["ko", "ja", "en"]


def test_a_message_without_translation_is_english_in_every_language() -> None:
    for language in ("ko", "ja"):
        i18n.set_language(language)
        assert i18n._("A message no catalog has") == "A message no catalog has"
        assert i18n.ngettext("{n} untranslated thing", "{n} untranslated things", 1) == "{n} untranslated thing"
        assert i18n.ngettext("{n} untranslated thing", "{n} untranslated things", 3) == "{n} untranslated things"
        assert i18n.pgettext("menu", "Open") == "Open"
    assert i18n.N_("marked only") == "marked only"


Entry = tuple[tuple[str, str], tuple[str, ...]]


def _compile(localedir: Path, language: str, messages: list[Entry]) -> None:
    catalog = Catalog(locale=language, domain=i18n.DOMAIN, fuzzy=False)
    for msgid, msgstr in messages:
        catalog.add(msgid, msgstr)
    path = localedir / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"
    path.parent.mkdir(parents=True)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    path.write_bytes(buf.getvalue())


def test_plural_forms_follow_the_language_rule(tmp_path: Path) -> None:
    _compile(tmp_path, "ko", [(("{n} image saved", "{n} images saved"), ("이미지 {n}장 저장됨",))])
    _compile(tmp_path, "ja", [])  # a catalog without this message
    i18n.set_language("ko", localedir=tmp_path)
    for n in (1, 2, 11):  # Korean has one form
        assert i18n.ngettext("{n} image saved", "{n} images saved", n).format(n=n) == f"이미지 {n}장 저장됨"
    i18n.set_language("ja", localedir=tmp_path)
    assert i18n.ngettext("{n} image saved", "{n} images saved", 1) == "{n} image saved"
    assert i18n.ngettext("{n} image saved", "{n} images saved", 2) == "{n} images saved"


def test_a_language_without_compiled_catalog_falls_back_to_english(tmp_path: Path) -> None:
    assert i18n.set_language("ko", localedir=tmp_path) == "ko"  # tmp_path holds no catalog
    assert i18n._(HELP) == HELP
