"""Start the Textual app: load config, choose the image protocol before the app starts, run."""

from __future__ import annotations

import sys


def run_tui() -> int:
    from .core.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as e:
        print(f"peropix: error: {e}", file=sys.stderr)
        return 2
    from .app import PeroPixApp

    PeroPixApp(config=config).run()
    return 0
