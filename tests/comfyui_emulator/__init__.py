"""A loopback ComfyUI server emulator for tests (see :mod:`.server`, :mod:`.validate`, :mod:`.nodes`).

Use it from any test folder by importing the fixtures in that folder's ``conftest.py``::

    from tests.comfyui_emulator.fixtures import comfy_emulator, comfy_pool  # noqa: F401

``comfy_emulator`` starts one emulator on 127.0.0.1 (a free port) and points
``PEROPIX_COMFYUI_URLS`` at it; ``comfy_pool(n)`` starts ``n`` of them.
"""

from .server import ComfyEmulator, Recorded

__all__ = ["ComfyEmulator", "Recorded"]
