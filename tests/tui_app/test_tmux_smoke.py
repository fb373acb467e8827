"""Real-terminal smoke test: `python -m peropix_tui` in tmux against the loopback emulator —
type a prompt, generate, see the image in the gallery, ctrl+q quits cleanly."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from peropix_tui.core.config import load_config

TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (CI installs it)")
ROOT = Path(__file__).resolve().parents[2]


class Tmux:
    def __init__(self) -> None:
        self.socket = f"peropix-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        out = subprocess.run([TMUX or "tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        return out.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "app")

    def wait_for(self, ok: Callable[[], Any], what: str, timeout: float = 90.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if ok():
                return
            time.sleep(0.25)
        panes = self.run("list-panes", "-a", "-F", "#{pane_pid} dead=#{pane_dead} status=#{pane_dead_status} signal=#{pane_dead_signal}")
        raise AssertionError(f"timed out waiting for {what}; panes: {panes!r}; screen:\n{self.screen()}")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux()
    yield t
    t.run("kill-server")


def test_generate_in_a_real_terminal(tmux: Tmux, nai_emulator: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.startswith(("PEROPIX_", "TEXTUAL_"))}
    env |= {"PEROPIX_IMAGE_PROTOCOL": "halfcell", "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    command = " ".join(["env", *(shlex.quote(f"{k}={v}") for k, v in env.items()),
                        shlex.quote(sys.executable), "-m", "peropix_tui"])
    # the shell records the exit code itself: tmux 3.3a sometimes leaves an exited pane unreaped
    # (a zombie with no #{pane_dead_status}), so its own status is not reliable
    rc_file = tmp_path / "exit-code"
    command = f"sh -c {shlex.quote(command + '; echo $? > ' + shlex.quote(str(rc_file)))}"
    tmux.run("new-session", "-d", "-s", "app", "-x", "120", "-y", "40", command)
    tmux.run("set-option", "-t", "app", "remain-on-exit", "on")
    tmux.wait_for(lambda: "Generate" in tmux.screen(), "the compose screen")
    tmux.run("send-keys", "-t", "app", "-l", "1girl, smile")
    tmux.wait_for(lambda: "1girl, smile" in tmux.screen(), "the typed prompt")
    tmux.run("send-keys", "-t", "app", "C-g")
    out = load_config().output_dir
    tmux.wait_for(lambda: any(out.rglob("*.png")), "the image file")
    (image,) = list(out.rglob("*.png"))
    assert nai_emulator.generations()[-1].body["input"].startswith("1girl, smile")
    tmux.run("send-keys", "-t", "app", "F4")
    tmux.wait_for(lambda: image.stem[:10] in tmux.screen(), f"{image.name} in the gallery")
    tmux.run("send-keys", "-t", "app", "C-q")
    tmux.wait_for(lambda: rc_file.exists() and rc_file.read_text().strip() != "", "exit")
    assert rc_file.read_text().strip() == "0", f"the app exited with status {rc_file.read_text().strip()}"
