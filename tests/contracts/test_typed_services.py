"""Screens and widgets reach the app through the typed services (peropix_tui/services.py), not untyped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "peropix_tui"
TYPED = ("screens/settings.py", "screens/compose.py", "widgets/param_form.py", "widgets/prompt_area.py",
         "widgets/cost_meter.py")
UNTYPED = (
    re.compile(r"getattr\(\s*(?:getattr\()?\s*self\.app\b"),  # getattr(self.app, "x") / nested
    re.compile(r"self\.app\.\w+.*#\s*type:\s*ignore"),  # self.app.x  # type: ignore
    re.compile(r":\s*Any\s*=\s*self\.app\b"),  # app: Any = self.app
)


@pytest.mark.parametrize("module", TYPED)
def test_module_reaches_the_app_through_typed_services(module: str) -> None:
    source = (PACKAGE / module).read_text(encoding="utf-8")
    found = [f"{module}:{n}: {line.strip()}" for n, line in enumerate(source.splitlines(), 1)
             if any(p.search(line) for p in UNTYPED)]
    assert found == []
