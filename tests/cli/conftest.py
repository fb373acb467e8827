"""The NovelAI emulator fixture for these tests."""

from tests.nai_emulator.fixtures import nai_emulator  # noqa: F401  (pytest fixture)
