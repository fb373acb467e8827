"""The ComfyUI emulator fixtures for these tests."""

from tests.comfyui_emulator.fixtures import comfy_emulator, comfy_pool  # noqa: F401  (pytest fixtures)
