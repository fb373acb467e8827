"""The app's log file, ``peropix.log`` in the user state folder.

Lines look like ``[Generate] Job j0001 started - 1 image(s), 832x1216, 28 steps``. The NovelAI
token never reaches the file: nothing logs it, and a filter masks it anyway should any message
(an exception text, a URL) ever contain it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .core import paths
from .core.config import Secret

LOGGER_NAME = "peropix"
LOG_FILE = "peropix.log"
MASK = "********"


class _RedactToken(logging.Filter):
    def __init__(self, token: Secret | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        value = self.token.get() if self.token else ""
        if value:
            msg = record.getMessage()
            if value in msg:
                record.msg, record.args = msg.replace(value, MASK), None
        return True


def log_path() -> Path:
    return paths.state_dir() / LOG_FILE


def setup_log(token: Secret | None) -> logging.Logger:
    """Attach (once) a file handler writing to :func:`log_path`; returns the ``peropix`` logger."""
    log = logging.getLogger(LOGGER_NAME)
    log.setLevel(logging.INFO)
    log.propagate = False
    target = log_path()
    for h in list(log.handlers):
        if isinstance(h, logging.FileHandler) and Path(h.baseFilename) != target:
            log.removeHandler(h)
            h.close()
    if not any(isinstance(h, logging.FileHandler) for h in log.handlers):
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(target, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    for f in list(log.filters):
        log.removeFilter(f)
    log.addFilter(_RedactToken(token))
    return log


def close_log() -> None:
    log = logging.getLogger(LOGGER_NAME)
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
