"""The NovelAI emulator fixture for these tests; any test folder uses it the same way."""

from tests.nai_emulator.fixtures import nai_emulator  # noqa: F401  (pytest fixture)
