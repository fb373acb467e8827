"""Image protocol selection before the app starts (textual-image probes the terminal on import)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from peropix_tui.tui import choose_protocol
from peropix_tui.widgets.preview import image_class

ROOT = Path(__file__).resolve().parents[2]


def test_explicit_protocols_map_to_their_widget_classes() -> None:
    assert image_class("halfcell").__name__ == "HalfcellImage"


def test_auto_without_a_tty_means_halfcell() -> None:
    # pytest's stdout is not a terminal here, as in CI
    if not (sys.__stdout__ and sys.__stdout__.isatty()):
        assert choose_protocol("auto") == "halfcell"
    assert choose_protocol("sixel") == "sixel"


def test_auto_on_a_zero_column_tty_does_not_crash() -> None:
    """textual-image divides by the column count when it probes; a 0x0 pty used to raise."""
    master, slave = pty.openpty()  # a fresh pty reports 0 rows x 0 columns
    code = "from peropix_tui.widgets.preview import prepare; print('prepared', prepare('auto'))"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave,
                          env=env, cwd=ROOT, timeout=60)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.returncode == 0, out.decode(errors="replace")[-800:]
    assert b"prepared auto" in out
    assert b"ZeroDivisionError" not in out
