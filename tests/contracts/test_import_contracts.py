"""Import contracts: core/ and engine/ never import a UI library; nothing outside engine/ loads
torch / transformers / safetensors / diffusers when it is imported; the app and ``peropix --help``
start without them. The checkers are first shown to catch violations planted in a small package."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from .import_rules import (
    HEAVY_LIBRARIES,
    UI_LIBRARIES,
    Graph,
    heavy_at_module_level,
    loaded,
    modules_after,
    ui_in_layers,
)

PACKAGE = Path(__file__).resolve().parents[2] / "peropix_tui"
ROOT = PACKAGE.parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


# ----------------------------------------------------------------------------- the project
def test_core_and_engine_import_no_ui_library() -> None:
    assert ui_in_layers(Graph(PACKAGE)) == []


def test_nothing_outside_engine_loads_torch_at_module_level() -> None:
    assert heavy_at_module_level(Graph(PACKAGE)) == []


def test_importing_the_app_leaves_torch_out() -> None:
    proc, imported = modules_after(sys.executable, "import", ["peropix_tui.app"], _env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "peropix_tui.app" in imported
    assert loaded(imported, HEAVY_LIBRARIES) == []


START_UP_EXCLUDED = frozenset({"PIL", "numpy", "sqlite3", "httpx", "msgpack", "websockets"})
"""Libraries the first frame does without: the gallery index, images, the network come after it."""


def test_importing_the_app_leaves_images_network_and_the_index_for_later() -> None:
    proc, imported = modules_after(sys.executable, "import", ["peropix_tui.app"], _env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "peropix_tui.app" in imported
    assert loaded(imported, START_UP_EXCLUDED) == []


def test_every_module_outside_engine_imports_without_torch() -> None:
    graph = Graph(PACKAGE)
    names = sorted(n for n in graph.modules
                   if not n.startswith("peropix_tui.engine") and n != "peropix_tui.__main__")
    assert "peropix_tui.app" in names and "peropix_tui.screens.compose" in names
    proc, imported = modules_after(sys.executable, "import", names, _env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "peropix_tui.app" in imported and "textual" in imported  # the probe sees what was imported
    assert loaded(imported, HEAVY_LIBRARIES) == []


def test_peropix_help_runs_without_torch() -> None:
    proc, imported = modules_after(sys.executable, "run", ["peropix_tui", "--help"], _env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: peropix")
    assert "peropix_tui.cli" in imported
    assert loaded(imported, HEAVY_LIBRARIES) == []


# ----------------------------------------------------------------------------- the checkers
def _package(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "plantpkg"
    for rel, text in files.items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    for folder in [pkg, *(p for p in pkg.rglob("*") if p.is_dir())]:
        (folder / "__init__.py").touch()
    return pkg


CLEAN = {
    "core/model.py": """
        from __future__ import annotations
        from typing import TYPE_CHECKING
        from . import util
        if TYPE_CHECKING:
            import torch
        def lazy():
            import torch
            from ..engine import net
            return torch, net
    """,
    "core/util.py": "import json\n",
    "engine/net.py": "import torch\nfrom safetensors.torch import load_file\n",
    "ui/screen.py": "from textual.app import App\nfrom ..core import model\n",
    "cli.py": "def main():\n    from .engine.net import load_file\n    return load_file\n",
}


def test_checkers_pass_a_clean_package(tmp_path: Path) -> None:
    graph = Graph(_package(tmp_path, CLEAN))
    assert ui_in_layers(graph) == []
    assert heavy_at_module_level(graph) == []


@pytest.mark.parametrize(
    "rel,text,expected",
    [
        ("core/bad.py", "import textual\n", "plantpkg/core/bad.py:1: imports textual"),
        ("core/bad.py", "def f():\n    from textual.widgets import Static\n",
         "plantpkg/core/bad.py:2: imports textual"),
        ("engine/bad.py", "from rich.console import Console\n", "plantpkg/engine/bad.py:1: imports rich"),
        ("core/bad.py", "import json\nfrom ..ui import screen\n",
         "plantpkg/core/bad.py:2: imports plantpkg.ui.screen -> textual"),
        ("core/bad.py", "import importlib\nimportlib.import_module('textual_image')\n",
         "plantpkg/core/bad.py:2: imports textual_image"),
    ],
)
def test_ui_rule_catches_a_planted_import(tmp_path: Path, rel: str, text: str, expected: str) -> None:
    graph = Graph(_package(tmp_path, {**CLEAN, rel: text}))
    assert ui_in_layers(graph) == [expected]
    assert UI_LIBRARIES >= {"textual", "textual_image", "rich"}


@pytest.mark.parametrize(
    "rel,text,expected",
    [
        ("cli.py", "import torch\n", "plantpkg/cli.py:1: imports torch at module level"),
        ("core/bad.py", "try:\n    import transformers\nexcept ImportError:\n    pass\n",
         "plantpkg/core/bad.py:2: imports transformers at module level"),
        ("core/bad.py", "from safetensors.torch import load_file\n",
         "plantpkg/core/bad.py:1: imports safetensors at module level"),
        ("commands/run.py", "from ..engine import net\n",
         "plantpkg/commands/run.py:1: imports plantpkg.engine.net -> safetensors at module level"),
        ("commands/run.py", "from ..core import heavy\n",
         "plantpkg/commands/run.py:1: imports plantpkg.core.heavy -> diffusers at module level"),
        ("widgets/w.py", "class W:\n    import torch\n",
         "plantpkg/widgets/w.py:2: imports torch at module level"),
        ("app.py", "__import__('diffusers')\n", "plantpkg/app.py:1: imports diffusers at module level"),
    ],
)
def test_heavy_rule_catches_a_planted_import(tmp_path: Path, rel: str, text: str, expected: str) -> None:
    files = {**CLEAN, rel: text}
    also: list[str] = []
    if "heavy" in text:  # a core module that loads a heavy library, imported from commands/
        files["core/heavy.py"] = "def f():\n    pass\nimport diffusers\n"
        also = ["plantpkg/core/heavy.py:3: imports diffusers at module level"]
    graph = Graph(_package(tmp_path, files))
    assert sorted(heavy_at_module_level(graph)) == sorted([expected, *also])


def test_run_time_probe_sees_a_module_loaded_on_import(tmp_path: Path) -> None:
    _package(tmp_path, {"cli.py": "import plant_heavy\n"})
    (tmp_path / "plant_heavy.py").write_text("VALUE = 1\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    (tmp_path / "plantpkg" / "__main__.py").write_text(
        "import sys\nif sys.argv[1:] == ['--heavy']:\n    import plant_heavy\nraise SystemExit(3)\n",
        encoding="utf-8")
    heavy = frozenset({"plant_heavy"})
    proc, imported = modules_after(sys.executable, "import", ["plantpkg.cli"], env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert loaded(imported, heavy) == ["plant_heavy"]
    proc, imported = modules_after(sys.executable, "import", ["plantpkg"], env, cwd=tmp_path)
    assert "plantpkg" in imported and loaded(imported, heavy) == []
    proc, imported = modules_after(sys.executable, "run", ["plantpkg", "--heavy"], env, cwd=tmp_path)
    assert proc.returncode == 3 and loaded(imported, heavy) == ["plant_heavy"]
    proc, imported = modules_after(sys.executable, "run", ["plantpkg", "--light"], env, cwd=tmp_path)
    assert proc.returncode == 3 and "plantpkg" in imported and loaded(imported, heavy) == []
