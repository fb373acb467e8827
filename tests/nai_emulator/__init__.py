"""A loopback NovelAI image API emulator for tests (see :mod:`.server` and :mod:`.fixtures`).

Use it from any test folder by importing the fixture in that folder's ``conftest.py``::

    from tests.nai_emulator.fixtures import nai_emulator  # noqa: F401

(``pytest_plugins`` only works in the root conftest, which the lead owns). The ``nai_emulator``
fixture starts a fresh emulator on 127.0.0.1 (random free port), sets ``PEROPIX_NAI_URL`` and
``PEROPIX_NAI_TOKEN`` for the test, and yields the :class:`NaiEmulator` (requests recorded in
``.requests``, faults via ``.inject(...)``, account via ``.account``).
"""

from .server import ENCODE, GENERATE, STREAM, SUBSCRIPTION, NaiEmulator, Recorded
from .tools import AUGMENT, SUGGEST, UPSCALE

__all__ = ["AUGMENT", "ENCODE", "GENERATE", "STREAM", "SUBSCRIPTION", "SUGGEST", "UPSCALE", "NaiEmulator", "Recorded"]
