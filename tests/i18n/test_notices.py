"""Notices of the app and refusals of the core in Korean and Japanese (English otherwise): the
queue-lock refusal of a real `peropix run`, an admission refusal for too few Anlas, the recovery
notices of the app after a crash, and stored English notices translated only when shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from peropix_tui import i18n
from peropix_tui.app import PeroPixApp
from peropix_tui.cli import main
from peropix_tui.core import paths
from peropix_tui.core.config import load_config
from peropix_tui.core.generation.lock import QueueLock
from peropix_tui.core.jobs import INTERRUPTED_NAI, JobQueue, shown
from peropix_tui.core.notify import queue_message
from peropix_tui.core.settings import GenerationSettings
from tests.nai_emulator import NaiEmulator
from tests.nai_emulator.fixtures import nai_emulator  # noqa: F401  (pytest fixture)
from tests.tui_app.conftest import tui_env  # noqa: F401  (pytest fixture: half-cell images, no animations)

ROOT = Path(__file__).resolve().parents[2]

LOCKED = {
    "en": "is in use by another peropix (PID {pid}); wait for it to finish or close it first",
    "ko": "의 큐를 다른 peropix(PID {pid})가 쓰고 있습니다. 끝날 때까지 기다리거나 먼저 그쪽을 닫으세요",
    "ja": " のキューは別の peropix（PID {pid}）が使用中です。終わるまで待つか、先にそちらを閉じてください",
}


@pytest.mark.parametrize("language", ["en", "ko", "ja"])
def test_a_real_peropix_run_refuses_a_locked_queue_in_the_chosen_language(language: str) -> None:
    with QueueLock(paths.state_dir()):
        proc = subprocess.run(
            [sys.executable, "-m", "peropix_tui", "run", "--provider", "local", "--prompt", "1girl",
             "--width", "64", "--height", "64", "--steps", "4"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "PEROPIX_LANG": language},
            capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("peropix: ")
    assert LOCKED[language].format(pid=os.getpid()) in line
    assert str(paths.state_dir()) in line  # the folder is named in every language
    if language != "en":
        assert "in use by another" not in line and "wait for it" not in line


ERROR_PREFIX = {"en": "peropix: error: ", "ko": "peropix: 오류: ", "ja": "peropix: エラー: "}
NOT_ENOUGH = {
    "en": "1 run(s) would cost {cost} Anlas, but the balance is 3 Anlas.",
    "ko": "1회 생성에 {cost} Anlas가 들지만, 잔액은 3 Anlas입니다.",
    "ja": "1 回の生成に {cost} アンラスかかりますが、残高は 3 アンラスです。",
}


@pytest.mark.parametrize("language", ["en", "ko", "ja"])
def test_peropix_run_refuses_too_few_anlas_in_the_chosen_language(
    nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
    language: str,
) -> None:
    nai_emulator.account.fixed, nai_emulator.account.purchased = 0, 3
    monkeypatch.setenv("PEROPIX_LANG", language)
    code = main(["run", "--prompt", "x", "--width", "1024", "--height", "1536", "--steps", "40"])
    out, err = capsys.readouterr()
    assert code == 1 and nai_emulator.generations() == []
    line = err.strip().splitlines()[-1]
    assert line.startswith(ERROR_PREFIX[language])
    cost = line.split("Anlas" if language != "ja" else "アンラス")[0].split()[-1]  # the price as the core computed it
    assert cost.isdigit() and int(cost) > 3
    assert line.endswith(NOT_ENOUGH[language].format(cost=cost)), line
    if language != "en":
        assert "would cost" not in line and "balance" not in line


def test_a_json_run_is_english_whatever_the_language(
    nai_emulator: NaiEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    nai_emulator.account.fixed, nai_emulator.account.purchased = 0, 3
    monkeypatch.setenv("PEROPIX_LANG", "ko")
    code = main(["run", "--prompt", "x", "--width", "1024", "--height", "1536", "--steps", "40", "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and nai_emulator.generations() == []
    assert "would cost" in out + err and "but the balance is 3 Anlas" in out + err
    assert "잔액" not in out + err and "오류" not in out + err


def _crashed_queue() -> Path:
    """A queue.json as a crash leaves it: one NovelAI job recorded as running, nothing on disk."""
    path = paths.state_dir() / "queue.json"
    queue = JobQueue(path)
    (job,) = queue.add([(GenerationSettings(prompt="1girl", provider="nai"), None, "", 0)], folder=str(path.parent))
    queue.start(job.id, "nai")
    return path


RECOVERY = {
    "en": ("1 NovelAI job was mid-request when PeroPix stopped: NovelAI may have charged it",
           "1 job from last time is paused: F3, then 'p' to resume."),
    "ko": ("PeroPix가 멈출 때 NovelAI 작업 1개가 요청 중이었습니다. NovelAI에서 이미 Anlas가 차감됐을 수 있어",
           "지난번 작업 1개가 일시 정지되어 있습니다. F3에서 'p'를 누르면 재개합니다."),
    "ja": ("PeroPix が止まったとき NovelAI のジョブ 1 件がリクエスト中でした。NovelAI でアンラスが消費済みかもしれない",
           "前回のジョブ 1 件が一時停止中です。F3 で 'p' を押すと再開します。"),
}


@pytest.mark.parametrize("language", ["en", "ko", "ja"])
async def test_the_app_tells_of_a_crashed_nai_job_in_the_chosen_language(
    tui_env: None, monkeypatch: pytest.MonkeyPatch, language: str  # noqa: F811
) -> None:
    path = _crashed_queue()
    monkeypatch.setenv("PEROPIX_LANG", language)
    app = PeroPixApp(config=load_config())
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        await pilot.press("ctrl+q")
    charged, paused = RECOVERY[language]
    assert any(charged in n for n in notes), notes
    assert paused in notes
    if language != "en":
        assert not any("mid-request" in n or "from last time" in n for n in notes), notes
    # the notice kept in queue.json stays English: it is translated when it is shown
    (stored,) = json.loads(path.read_text(encoding="utf-8"))["jobs"]
    assert stored["state"] == "paused" and stored["notice"] == INTERRUPTED_NAI
    i18n.set_language(language)
    assert (shown(stored["notice"]) == INTERRUPTED_NAI) is (language == "en")


@pytest.mark.parametrize("language,words", [
    ("ko", ("요청 도중 워커 nai:b 연결 끊김 (connection reset): NovelAI에서 이미 차감됐을 수 있습니다",
            "생성할 수 없습니다: 요청 도중 중단됨")),
    ("ja", ("リクエスト中にワーカー nai:b が切断（connection reset）: NovelAI で消費済みかもしれません",
            "生成できません: リクエスト中に中断")),
])
def test_stored_core_notices_are_translated_when_shown(language: str, words: tuple[str, str]) -> None:
    from peropix_tui.core.jobs import CANNOT_GENERATE, LOST_CHARGED

    lost = LOST_CHARGED.format(worker="nai:b", error="connection reset")
    nested = CANNOT_GENERATE.format(error=INTERRUPTED_NAI)
    assert shown(lost) == lost and shown(nested) == nested  # English: as stored
    i18n.set_language(language)
    assert shown(lost).startswith(words[0])
    assert shown(nested).startswith(words[1])
    assert shown("HTTP 500: the server said no") == "HTTP 500: the server said no"  # not one of ours: as it is
    assert shown("") == ""


@pytest.mark.parametrize("language,expected", [
    ("en", ("PeroPix: queue paused", "2 done, 1 failed; the queue is waiting for you")),
    ("ko", ("PeroPix: 큐 일시 정지", "완료 2, 실패 1 — 큐가 기다리고 있습니다")),
    ("ja", ("PeroPix: キュー一時停止", "完了 2、失敗 1 — キューが待機中です")),
])
def test_the_queue_end_notification_speaks_the_language(language: str, expected: Any) -> None:
    i18n.set_language(language)
    assert queue_message(2, 1, True) == expected
