"""Emulator fixtures for the worker-pool tests."""

from tests.nai_emulator.fixtures import nai_emulator  # noqa: F401  (pytest fixture)
