"""The command line in Korean and Japanese (``PEROPIX_LANG``), as real subprocesses: help and
argparse's own words, usage errors, summaries, the queue table aligned by terminal cells; ``--json``
output the same in every language, English unchanged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peropix_tui.textwidth import cell_width
from tests.nai_emulator import NaiEmulator

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("ko", "ja")


def peropix(*argv: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PEROPIX_LANG": lang, "COLUMNS": "80"}
    return subprocess.run([sys.executable, "-m", "peropix_tui", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=env)


HELP = {  # `peropix queue --help`: argparse's words and ours
    "en": ("usage: peropix queue", "positional arguments:", "options:", "show this help message and exit",
           "every job with its state"),
    "ko": ("사용법: peropix queue", "위치 인수:", "옵션:", "이 도움말을 보여 주고 끝냅니다", "모든 작업과 상태"),
    "ja": ("使い方: peropix queue", "位置引数:", "オプション:", "このヘルプを表示して終了します", "すべてのジョブと状態"),
}


@pytest.mark.parametrize("lang", LANGS)
def test_help_is_in_the_language_argparse_words_included(lang: str) -> None:
    proc = peropix("queue", "--help", lang=lang)
    assert proc.returncode == 0, proc.stderr
    for text in HELP[lang]:
        assert text in proc.stdout
    for english in HELP["en"]:
        assert english not in proc.stdout


def test_english_help_is_unchanged() -> None:
    proc = peropix("queue", "--help")
    assert proc.returncode == 0 and all(text in proc.stdout for text in HELP["en"])


@pytest.mark.parametrize("lang", LANGS)
def test_long_help_wraps_by_cells_and_usage_lines_line_up(lang: str) -> None:
    out = peropix("run", "--help", lang=lang).stdout
    lines = out.splitlines()
    assert max(cell_width(line) for line in lines) <= 80
    usage = [line for line in lines[:lines.index("")]]
    first = usage[0].index("[")  # the options start after "usage: peropix run " (a wide prefix in ko / ja)
    start = cell_width(usage[0][:first])
    assert len(usage) > 3 and all(line[:start].isspace() and line[start] == "[" for line in usage[1:])
    assert {"ko": "슬롯:", "ja": "スロット:"}[lang] in lines  # a group title


ERRORS = {  # a missing argument, a bad value, an unknown flag
    "ko": ("peropix queue cancel: 오류: 다음 인수가 필요합니다: JOB_ID ('peropix queue cancel --help' 참고)",
           "peropix generate: 오류: 인수 --steps: 잘못된 int 값: 'x' ('peropix generate --help' 참고)",
           "peropix: 오류: 알 수 없는 인수: --bogus ('peropix --help' 참고)"),
    "ja": ("peropix queue cancel: エラー: 次の引数が必要です: JOB_ID（'peropix queue cancel --help' を参照）",
           "peropix generate: エラー: 引数 --steps: int として無効な値: 'x'（'peropix generate --help' を参照）",
           "peropix: エラー: 認識できない引数: --bogus（'peropix --help' を参照）"),
    "en": ("peropix queue cancel: error: the following arguments are required: JOB_ID "
           "(see 'peropix queue cancel --help')",
           "peropix generate: error: argument --steps: invalid int value: 'x' (see 'peropix generate --help')",
           "peropix: error: unrecognized arguments: --bogus (see 'peropix --help')"),
}


@pytest.mark.parametrize("lang", [*LANGS, "en"])
def test_usage_errors_are_in_the_language(lang: str) -> None:
    lines = [("queue", "cancel"), ("generate", "--steps", "x", "--prompt", "a"), ("--bogus",)]
    for argv, expected in zip(lines, ERRORS[lang], strict=True):
        proc = peropix(*argv, lang=lang)
        assert proc.returncode == 2 and proc.stderr.strip() == expected


@pytest.mark.parametrize("lang", LANGS)
def test_an_error_raised_by_a_command_is_in_the_language(lang: str, tmp_path: Path) -> None:
    proc = peropix("run", "--prompt", "x", "--slots", str(tmp_path / "missing.json"), lang=lang)
    expected = {"ko": "peropix: 오류: {file}: 슬롯 파일이 없습니다", "ja": "peropix: エラー: {file}: スロットファイルがありません"}
    assert proc.returncode == 1 and proc.stderr.strip() == expected[lang].format(file=tmp_path / "missing.json")


COST = {"en": "Cost: 0 Anlas (local engine)", "ko": "비용: 0 Anlas (로컬 엔진)", "ja": "コスト: 0 アンラス（ローカルエンジン）"}


def test_summary_is_translated_and_json_is_the_same_in_every_language() -> None:
    line = ("cost", "--provider", "local", "--prompt", "1girl")
    for lang, summary in COST.items():
        assert peropix(*line, lang=lang).stdout.strip() == summary
    outputs = {lang: peropix(*line, "--json", lang=lang).stdout for lang in COST}
    assert json.loads(outputs["en"])["total"] == 0
    assert outputs["ko"] == outputs["ja"] == outputs["en"]


def _queue_jobs(tmp_path: Path) -> None:
    from peropix_tui.core.generation.session import open_queue
    from peropix_tui.core.settings import GenerationSettings

    session = open_queue()
    runs = [(GenerationSettings(prompt="1girl", seed=seed), i, name, 0)
            for i, (name, seed) in enumerate([("웃음", 1), ("smile", 22), ("泣き顔ちゃん", 333)])]
    runs.append((GenerationSettings(prompt="1girl", seed=4), None, "", 1))  # the base prompt alone
    session.scheduler.submit(runs, folder=str(tmp_path / "out"))
    session.close()


@pytest.mark.parametrize("lang", LANGS)
def test_queue_list_aligns_wide_slot_names_and_json_is_the_same(lang: str, tmp_path: Path) -> None:
    _queue_jobs(tmp_path)
    lines = peropix("queue", "list", lang=lang).stdout.splitlines()
    jobs, workers = lines[:4], lines[4:]
    seed, image = {"ko": ("시드", "이미지 0장"), "ja": ("シード", "画像 0 枚")}[lang]
    columns = {cell_width(line[:line.index(seed)]) for line in jobs}
    assert len(columns) == 1  # the seed column starts at one cell in every line, Korean / Japanese names or not
    assert all(line.endswith(image) for line in jobs)
    assert {"ko": "대기", "ja": "待機"}[lang] in jobs[0] and "pending" not in "\n".join(jobs)
    assert {"ko": "기본 #2", "ja": "ベース #2"}[lang] in jobs[3]
    assert len(workers) == 1 and workers[0].startswith({"ko": "워커: nai 대기", "ja": "ワーカー: nai 待機中"}[lang])
    assert "idle" not in workers[0]
    english = peropix("queue", "list").stdout.splitlines()
    assert "pending" in english[0] and "seed 1" in english[0] and english[0].endswith("0 images")
    listed = {code: peropix("queue", "list", "--json", lang=code).stdout for code in (lang, "en")}
    assert listed[lang] == listed["en"] and json.loads(listed["en"])[0]["slot_name"] == "웃음"
    cleared = peropix("queue", "clear", "--all", lang=lang).stdout.strip()
    assert cleared == {"ko": "작업 4개를 지웠습니다", "ja": "ジョブ 4 件を削除しました"}[lang]


@pytest.mark.parametrize("lang", LANGS)
def test_run_reports_in_the_language_and_json_notes_stay_english(lang: str, nai_emulator: NaiEmulator) -> None:
    small = ["--prompt", "1girl", "--width", "64", "--height", "64", "--steps", "4"]
    proc = peropix("run", *small, "--slot", "웃음=smile", lang=lang)
    assert proc.returncode == 0, proc.stderr
    queued, saved = {"ko": ("작업 1개를 큐에 넣었습니다", "웃음 #1: 저장함 "),
                     "ja": ("ジョブ 1 件をキューに入れました", "웃음 #1: 保存しました ")}[lang]
    assert queued in proc.stderr and saved in proc.stdout and "saved" not in proc.stdout
    proc = peropix("run", *small, "--slot", "웃음=smile", "--json", lang=lang)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    notes = [e["message"] for e in events if e["event"] == "note"]
    assert proc.returncode == 0 and notes and notes[0].startswith("queued 1 job into ")
    assert events[-1]["event"] == "batch_ended" and events[-1]["reason"] == ""
