"""The generation core imports neither Textual nor torch; the CLI's batch commands start without torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ["peropix_tui.core.generation." + m for m in (
    "events", "service", "scheduler", "admission", "backends", "output", "peropix", "recovery", "lock",
    "statefile", "session", "driver", "account")]


def _loaded(*modules: str) -> set[str]:
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + "print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return set(out.split())


def test_core_generation_imports_no_textual_and_no_torch() -> None:
    loaded = _loaded(*CORE)
    assert not {m for m in loaded if m.split(".")[0] in ("textual", "torch", "transformers", "safetensors")}


def test_batch_commands_import_no_torch() -> None:
    loaded = _loaded("peropix_tui.commands.run", "peropix_tui.commands.queue", "peropix_tui.commands.generate")
    assert "torch" not in loaded and "textual" not in loaded
