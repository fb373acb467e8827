"""Korean and Japanese typed in a real terminal (tmux): over SSH an IME's composed text arrives as
UTF-8; it must reach the prompt editor and a slot name intact, on screen and in the saved workspace."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from peropix_tui.core.presets import workspace_path
from tests.tui_app.test_tmux_smoke import ROOT, TMUX, Tmux

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (CI installs it)")

PROMPT = "웃는 얼굴 笑顔"
SLOT_NAME = "미소 えがお"


class Utf8Tmux(Tmux):
    def run(self, *args: str) -> str:  # -u: UTF-8 whatever the test's locale is
        out = subprocess.run([TMUX or "tmux", "-u", "-L", self.socket, *args], capture_output=True, text=True,
                             encoding="utf-8", timeout=20)
        return out.stdout


@pytest.fixture
def tmux() -> Any:
    t = Utf8Tmux()
    yield t
    t.run("kill-server")


def test_korean_and_japanese_typed_in_a_real_terminal_arrive_intact(
    tmux: Utf8Tmux, nai_emulator: Any, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k.startswith(("PEROPIX_", "TEXTUAL_"))}
    env |= {"PEROPIX_IMAGE_PROTOCOL": "halfcell", "TERM": "xterm-256color", "PYTHONPATH": str(ROOT),
            "PEROPIX_LANG": "en", "LANG": "C.UTF-8"}
    command = " ".join(["env", *(shlex.quote(f"{k}={v}") for k, v in env.items()),
                        shlex.quote(sys.executable), "-m", "peropix_tui"])
    rc_file = tmp_path / "exit-code"  # the shell records the exit code (see test_tmux_smoke)
    command = f"sh -c {shlex.quote(command + '; echo $? > ' + shlex.quote(str(rc_file)))}"
    tmux.run("new-session", "-d", "-s", "app", "-x", "120", "-y", "40", command)
    tmux.run("set-option", "-t", "app", "remain-on-exit", "on")
    tmux.wait_for(lambda: "Generate" in tmux.screen(), "the compose screen")
    tmux.run("send-keys", "-t", "app", "-l", PROMPT)  # the prompt editor has the focus
    tmux.wait_for(lambda: PROMPT in tmux.screen(), "the typed prompt on screen")
    tmux.run("send-keys", "-t", "app", "F3")
    tmux.wait_for(lambda: "Repeats" in tmux.screen(), "the slots screen")
    tmux.run("send-keys", "-t", "app", "C-n")  # a new slot; its name field gets the focus
    tmux.wait_for(lambda: "slot1" in tmux.screen(), "the new slot")
    tmux.run("send-keys", "-t", "app", "C-u")  # clear the proposed name
    tmux.run("send-keys", "-t", "app", "-l", SLOT_NAME)
    tmux.wait_for(lambda: SLOT_NAME in tmux.screen(), "the slot name in its field")
    tmux.run("send-keys", "-t", "app", "C-q")
    tmux.wait_for(lambda: rc_file.exists() and rc_file.read_text().strip() != "", "exit")
    assert rc_file.read_text().strip() == "0", f"the app exited with status {rc_file.read_text().strip()}"
    saved = json.loads(workspace_path().read_text(encoding="utf-8"))
    assert saved["base"]["prompt"] == PROMPT
    assert [s["name"] for s in saved["slots"]][-1:] == [SLOT_NAME]
