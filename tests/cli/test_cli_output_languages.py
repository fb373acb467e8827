"""The human output of ``peropix meta``, ``tool``, ``cost tool``, ``comfyui`` and ``export --help`` in
Korean and Japanese (``PEROPIX_LANG``), as real subprocesses: translated labels and messages, labels
aligned by terminal cells, ``--json`` the same as in English, English as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from peropix_tui.textwidth import cell_width
from tests.comfyui.helpers import dead_url
from tests.comfyui_emulator import ComfyEmulator
from tests.metadata.util import fixture

MakePng = Callable[..., Path]
ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("ko", "ja")

# label of each field in each language, and the value sample-0316.png has for it
META_LABELS = {
    "ko": {"Seed": "시드", "Sampler": "샘플러", "Model": "모델", "UC preset": "UC 프리셋", "Negative": "네거티브",
           "Quality tags": "퀄리티 태그", "Sent UC": "보낸 UC"},
    "ja": {"Seed": "シード", "Sampler": "サンプラー", "Model": "モデル", "UC preset": "UCプリセット",
           "Negative": "ネガティブ", "Quality tags": "品質タグ", "Sent UC": "送信 UC"},
}
FLAG_ON = {"ko": "켬", "ja": "オン", "en": "True"}


def peropix(*args: str, language: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "peropix_tui", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env={**os.environ, "PEROPIX_LANG": language, **(env or {})})


def _fields(out: str) -> dict[str, str]:
    """``label: value`` lines as {label: value as printed, after the padding}."""
    fields = {}
    for line in out.splitlines():
        label, sep, value = line.partition(":")
        if sep and label.strip():
            fields[label] = value
    return fields


@pytest.mark.parametrize("language", LANGUAGES)
def test_meta_labels_are_translated_and_aligned_by_cells(shared_dir: Path, language: str) -> None:
    done = peropix("meta", str(fixture(shared_dir, "sample-0316.png")), language=language)
    assert done.returncode == 0, done.stderr
    fields = _fields(done.stdout)
    labels = META_LABELS[language]
    assert set(labels.values()) <= set(fields), done.stdout
    english = {"Seed", "Sampler", "Model", "UC preset", "Negative", "Prompt", "Steps", "Dialect", "Sent prompt"}
    assert not english & set(fields), done.stdout
    assert fields[labels["Seed"]].strip() == "1148692016" and fields[labels["Sampler"]].strip() == "k_euler"
    assert fields[labels["Quality tags"]].strip() == FLAG_ON[language]
    # every value starts in the same terminal column, whatever the width of the label before it
    columns = set()
    for line in done.stdout.splitlines():
        label, _, value = line.partition(":")
        if label in (labels["Seed"], labels["Sampler"], labels["Model"], labels["UC preset"], labels["Sent UC"]):
            columns.add(cell_width(line) - cell_width(value.lstrip(" ")))
    assert len(columns) == 1, done.stdout


def test_meta_in_english_is_unchanged(shared_dir: Path) -> None:
    done = peropix("meta", str(fixture(shared_dir, "sample-0316.png")), language="en")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for line in ("Dialect:       novelai", "Seed:          1148692016", "Quality tags:  True", "UC preset:     heavy",
                 "Prompt:         silvery white", "SMEA DYN:      True"):
        assert line in lines, done.stdout


@pytest.mark.parametrize(("language", "words"), [
    ("ko", ("읽을 수 있는 메타데이터가 없습니다", "PNG, WebP, JPEG 이미지가 아닙니다")),
    ("ja", ("読み取れるメタデータがありません", "PNG・WebP・JPEG 画像ではありません")),
], ids=LANGUAGES)
def test_meta_error_names_the_file_in_the_language(tmp_path: Path, language: str, words: tuple[str, ...]) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("not an image\n", encoding="utf-8")
    done = peropix("meta", str(bad), language=language)
    assert done.returncode == 1 and done.stdout == ""
    err = done.stderr.strip()
    assert err.count("\n") == 0 and err.startswith("notes.txt: ") and all(w in err for w in words), err
    assert "no readable metadata" not in err and "unrecognised" not in err, err


def test_meta_json_is_the_same_in_every_language(shared_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    one = [str(fixture(shared_dir, "sample-0316.png"))]
    many = [*one, str(fixture(shared_dir, "sample-0317.png")), str(bad)]
    for files in (one, many):
        english = peropix("meta", *files, "--json", language="en")
        assert english.stdout.strip().startswith(("{", "[")), english.stderr
        for language in LANGUAGES:
            done = peropix("meta", *files, "--json", language=language)
            assert (done.returncode, done.stdout) == (english.returncode, english.stdout)
    assert '"error": "no readable metadata: bad.png: ' in english.stdout


@pytest.mark.parametrize(("language", "cost", "dry_run", "free", "tier_unknown"), [
    ("ko", "비용: 65 Anlas (요청 1건)", "시험 실행: 요청 1건, 65 Anlas, 아무것도 보내지 않음", ": 0 (Opus 무료)",
     "등급을 몰라 Opus 무료는 가정하지 않음"),
    ("ja", "コスト: 65 アンラス（リクエスト 1 件）", "ドライラン: リクエスト 1 件、65 アンラス（何も送信していません）",
     ": 0（Opus 無料）", "プラン不明のため Opus 無料は仮定していません"),
], ids=LANGUAGES)
def test_tool_cost_and_dry_run_in_the_language(make_png: MakePng, language: str, cost: str, dry_run: str,
                                               free: str, tier_unknown: str) -> None:
    big = str(make_png("big.png", 1024, 1024))
    small = str(make_png("small.png", 64, 64))
    done = peropix("cost", "tool", "bg-removal", big, "--tier", "0", language=language)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [cost, "  big.png bg-removal 1024x1024: 65"]
    done = peropix("cost", "tool", "lineart", small, "--tier", "3", language=language)
    assert done.returncode == 0 and done.stdout.splitlines()[1].endswith(free), done.stdout
    done = peropix("tool", "bg-removal", big, "--dry-run", "--tier", "0", language=language)
    assert done.returncode == 0 and done.stderr.strip() == dry_run, done.stderr
    done = peropix("tool", "lineart", small, "--dry-run", language=language)
    assert done.returncode == 0 and tier_unknown in done.stderr and "--tier" in done.stderr, done.stderr
    assert "request" not in done.stderr and "nothing sent" not in done.stderr


def test_tool_cost_in_english_is_unchanged(make_png: MakePng) -> None:
    small = str(make_png("small.png", 64, 64))
    done = peropix("cost", "tool", "lineart", small, "--tier", "3", language="en")
    assert done.stdout.splitlines() == ["Cost: 0 Anlas for 1 request(s)", "  small.png lineart at 1024x1024: 0 (free, Opus)"]


@pytest.mark.parametrize(("language", "up", "down", "lists"), [
    ("ko", "정상, 실행 중 0, 대기 0, ComfyUI 0.3.66", "응답 없음: ", ("  체크포인트 (", "LoRA (2): ", "샘플러 (")),
    ("ja", "稼働中、実行中 0・待機 0、ComfyUI 0.3.66", "応答なし: ", ("  チェックポイント (", "LoRA (2): ", "サンプラー (")),
], ids=LANGUAGES)
def test_comfyui_list_and_models_in_the_language(comfy_emulator: ComfyEmulator, language: str, up: str, down: str,
                                                 lists: tuple[str, ...]) -> None:
    env = {"PEROPIX_COMFYUI_URLS": f"{comfy_emulator.url},{dead_url()}"}
    listed = peropix("comfyui", "list", "--timeout", "2", language=language, env=env)
    assert listed.returncode == 0, listed.stderr
    assert up in listed.stdout and down in listed.stdout and lists[0] in listed.stdout, listed.stdout
    assert "running" not in listed.stdout and "DOWN" not in listed.stdout
    models = peropix("comfyui", "models", language=language)
    assert models.returncode == 0, models.stderr
    assert all(any(line.startswith(p.strip()) for line in models.stdout.splitlines()) for p in lists[1:]), models.stdout
    assert "loras (" not in models.stdout and "samplers (" not in models.stdout


@pytest.mark.parametrize(("language", "message"), [
    ("ko", "설정된 ComfyUI 서버가 없습니다"), ("ja", "ComfyUI サーバーが設定されていません"),
], ids=LANGUAGES)
def test_comfyui_without_servers_is_explained_in_the_language(language: str, message: str) -> None:
    done = peropix("comfyui", "list", language=language)
    assert done.returncode == 2 and message in done.stderr and "PEROPIX_COMFYUI_URLS" in done.stderr, done.stderr


@pytest.mark.parametrize(("language", "words"), [
    ("ko", ("이미 있는 파일 덮어쓰기", "일련번호 빼기: 001_happy.png", "메타데이터 제거")),
    ("ja", ("既存のファイルを上書き", "連番を付けない: 001_happy.png", "メタデータを消す")),
], ids=LANGUAGES)
def test_export_help_in_the_language_fits_80_columns(language: str, words: tuple[str, ...]) -> None:
    done = peropix("export", "--help", language=language, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert all(w in text for w in words), done.stdout
    assert "replace existing targets" not in text
    assert max(cell_width(line) for line in done.stdout.splitlines()) <= 80, done.stdout


def test_gallery_output_in_the_language_cuts_wide_prompts_by_cells() -> None:
    from tests.store.store_helpers import nai_png, write_file

    out_dir = Path(os.environ["PEROPIX_OUTPUT_DIR"])
    prompt = "青い髪の少女、" * 20  # 140 cells: the list shows the first 80
    write_file(out_dir / "000_top_0000001.png", nai_png(prompt, seed=7))
    write_file(out_dir / "set" / "001_happy_0000002.png", nai_png("1girl, smile", seed=8))
    done = peropix("gallery", "reindex", language="ko")
    assert done.returncode == 0 and "폴더 2개, 이미지 2장을" in done.stdout and "인덱스: " in done.stdout, done.stdout
    done = peropix("gallery", "list", language="ja")
    assert done.returncode == 0, done.stderr
    *rows, total = done.stdout.splitlines()
    assert total == "全 2 枚中 2 枚" and "シード 7" in done.stdout, done.stdout
    shown = next(row for row in rows if "000_top_0000001.png" in row).split("\t")[-1]
    assert cell_width(shown) == 80 and prompt.startswith(shown), shown
    done = peropix("gallery", "folders", language="ja")
    assert [line.split() for line in done.stdout.splitlines()] == [["1", "(出力フォルダ)"], ["1", "set"]], done.stdout


def test_meta_error_text_keeps_unknown_reasons_and_never_shows_the_catalog_header() -> None:
    from peropix_tui import i18n
    from peropix_tui.commands.meta import error_text
    from peropix_tui.core.metadata import NoMetadataError

    i18n.set_language("ko")
    try:
        assert error_text("dir/a.png", NoMetadataError("a.png: truncated PNG; empty file")) == \
            "a.png: 읽을 수 있는 메타데이터가 없습니다: truncated PNG; 빈 파일"
        assert error_text("a.png", NoMetadataError("")) == "읽을 수 있는 메타데이터가 없습니다: "
    finally:
        i18n.set_language("en")
    assert error_text("dir/a.png", NoMetadataError("a.png: empty file")) == "no readable metadata: a.png: empty file"
