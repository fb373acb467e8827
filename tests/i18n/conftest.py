"""Language tests change the process-wide catalog: each one ends back in English."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peropix_tui import i18n
from tests.nai_emulator.fixtures import nai_emulator  # noqa: F401  (pytest fixture)


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.set_language("en")
