"""The emulator fixtures (NovelAI, ComfyUI) and the image maker for the command-line tests."""

from tests.comfyui_emulator.fixtures import comfy_emulator, comfy_pool  # noqa: F401  (pytest fixtures)
from tests.nai.conftest import make_png  # noqa: F401  (pytest fixture)
from tests.nai_emulator.fixtures import nai_emulator  # noqa: F401  (pytest fixture)
