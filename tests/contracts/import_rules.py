"""Static import rules of a package, read from its source with :mod:`ast` (nothing is imported).

Each module's imports are collected with their line and whether they run when the module is
imported ("module level": not inside a function, not under ``if TYPE_CHECKING:``). Relative
imports are resolved, ``from pkg import sub`` counts as importing ``pkg.sub`` when that is a module
of the package, importing ``a.b.c`` also runs ``a`` and ``a.b``, and ``importlib.import_module`` /
``__import__`` with a literal name count as imports.

Two rules (the house rules of DESIGN.md):

* :func:`ui_in_layers`: modules under the given layers (``core``, ``engine``) import no UI library,
  directly (at any level, lazily too) or through a package module whose module-level imports
  reach one.
* :func:`heavy_at_module_level`: modules outside ``engine`` import no heavy library (torch …) at
  module level, directly or through package modules imported at module level.

Violations name the file, the line and the chain of imports that leads to the library.
"""

from __future__ import annotations

import ast
import json
import subprocess
import tempfile
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

UI_LIBRARIES = frozenset({"textual", "textual_image", "rich"})
HEAVY_LIBRARIES = frozenset({"torch", "transformers", "safetensors", "diffusers"})


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    line: int
    module_level: bool


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool


def package_modules(root: Path) -> dict[str, Module]:
    """Every module of the package in folder ``root`` (its name is the folder's name)."""
    out: dict[str, Module] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        if any(not p.isidentifier() for p in parts):
            continue
        name = ".".join(parts)
        out[name] = Module(name, path, is_package)
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Collector(ast.NodeVisitor):
    def __init__(self, module: Module, known: Mapping[str, Module]) -> None:
        self.module, self.known = module, known
        self.depth = 0  # functions (and type-checking blocks) around the current node
        self.found: list[Import] = []

    def _add(self, target: str, node: ast.AST) -> None:
        self.found.append(Import(self.module.name, target, getattr(node, "lineno", 0), self.depth == 0))

    def _base(self, level: int, module: str | None) -> str:
        if level == 0:
            return module or ""
        parts = self.module.name.split(".")
        if not self.module.is_package:
            parts.pop()
        parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
        return ".".join(parts + ([module] if module else []))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = self._base(node.level, node.module)
        if base:
            self._add(base, node)
        for alias in node.names:
            sub = f"{base}.{alias.name}" if base else alias.name
            if sub in self.known:
                self._add(sub, node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in ("import_module", "__import__") and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and not arg.value.startswith("."):
                self._add(arg.value, node)
        self.generic_visit(node)

    def _nested(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            self.depth += 1
            for child in node.body:
                self.visit(child)
            self.depth -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)


def imports_of(module: Module, known: Mapping[str, Module]) -> list[Import]:
    tree = ast.parse(module.path.read_text(encoding="utf-8"), filename=str(module.path))
    collector = _Collector(module, known)
    collector.visit(tree)
    return collector.found


def _runs(target: str, known: Mapping[str, Module]) -> list[str]:
    """What importing ``target`` executes: its parent packages and itself (package modules), or
    the top-level name of an outside library."""
    parts = target.split(".")
    if parts[0] not in {m.split(".")[0] for m in known}:
        return [parts[0]]
    return [n for n in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if n in known]


class Graph:
    """Module-level import edges between package modules and to outside libraries."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules = package_modules(root)
        self.imports = {name: imports_of(m, self.modules) for name, m in self.modules.items()}
        self.edges: dict[str, set[str]] = {name: set() for name in self.modules}
        for name, found in self.imports.items():
            for imp in found:
                if imp.module_level:
                    self.edges[name].update(t for t in _runs(imp.target, self.modules) if t != name)

    def chain_to(self, start: str, libraries: frozenset[str]) -> list[str] | None:
        """The shortest module-level import chain from ``start`` to one of ``libraries``, if any."""
        if start in libraries:
            return [start]
        if start not in self.modules:
            return None
        parent: dict[str, str | None] = {start: None}
        todo = deque([start])
        while todo:
            node = todo.popleft()
            for nxt in sorted(self.edges.get(node, ())):
                if nxt in parent:
                    continue
                parent[nxt] = node
                if nxt in libraries:
                    chain = [nxt]
                    while (p := parent[chain[-1]]) is not None:
                        chain.append(p)
                    return chain[::-1]
                if nxt in self.modules:
                    todo.append(nxt)
        return None

    def where(self, imp: Import) -> str:
        return f"{self.modules[imp.importer].path.relative_to(self.root.parent)}:{imp.line}"


def _in_layer(name: str, package: str, layers: Iterable[str]) -> bool:
    return any(name == f"{package}.{layer}" or name.startswith(f"{package}.{layer}.") for layer in layers)


def ui_in_layers(graph: Graph, layers: Iterable[str] = ("core", "engine"),
                 libraries: frozenset[str] = UI_LIBRARIES) -> list[str]:
    """Imports in ``layers`` that load a UI library, at any level (a lazy import is still one)."""
    package, layers = graph.root.name, tuple(layers)
    out: list[str] = []
    for name, found in sorted(graph.imports.items()):
        if not _in_layer(name, package, layers):
            continue
        for imp in found:
            for target in _runs(imp.target, graph.modules):
                chain = graph.chain_to(target, libraries)
                if chain:
                    out.append(f"{graph.where(imp)}: imports {' -> '.join(chain)}")
                    break
    return out


def heavy_at_module_level(graph: Graph, allowed: Iterable[str] = ("engine",),
                          libraries: frozenset[str] = HEAVY_LIBRARIES) -> list[str]:
    """Module-level imports outside ``allowed`` layers that load a heavy library."""
    package, allowed = graph.root.name, tuple(allowed)
    out: list[str] = []
    for name, found in sorted(graph.imports.items()):
        if _in_layer(name, package, allowed):
            continue
        for imp in found:
            if not imp.module_level:
                continue
            for target in _runs(imp.target, graph.modules):
                chain = graph.chain_to(target, libraries)
                if chain:
                    out.append(f"{graph.where(imp)}: imports {' -> '.join(chain)} at module level")
                    break
    return out


# ----------------------------------------------------------------------------- run time
_PROBE = """
import atexit, json, sys
out, mode, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
atexit.register(lambda: open(out, "w", encoding="utf-8").write(json.dumps(sorted(sys.modules))))
if mode == "import":
    import importlib
    for name in rest:
        importlib.import_module(name)
else:  # run a module as `python -m NAME ARGS...` does
    import runpy
    sys.argv = rest
    runpy.run_module(rest[0], run_name="__main__", alter_sys=True)
"""


def modules_after(python: str, mode: str, args: list[str], env: Mapping[str, str], cwd: Path,
                  timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run a fresh interpreter that imports the modules ``args`` (mode ``import``) or runs
    ``python -m args[0] args[1:]`` (mode ``run``); return the process and every module in its
    ``sys.modules`` when it exits (an exit through SystemExit included)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "modules.json"
        proc = subprocess.run([python, "-c", _PROBE, str(out), mode, *args], capture_output=True, text=True,
                              env=dict(env), cwd=cwd, timeout=timeout)
        names = set(json.loads(out.read_text(encoding="utf-8"))) if out.exists() else set()
    return proc, names


def loaded(names: Iterable[str], libraries: frozenset[str]) -> list[str]:
    return sorted({n for n in names if n.split(".")[0] in libraries})
