"""Start the Textual app: load config, choose the image protocol before the app starts, run.

textual-image must probe the terminal before Textual's input thread starts (it would swallow the
replies), so :func:`peropix_tui.widgets.preview.prepare` runs here. On Python 3.11 pip resolves
textual-image 0.12, which has no tmux passthrough: inside tmux, ``auto`` falls back to half-cell
blocks (set ``ui.image_protocol`` explicitly to skip the probe).
"""

from __future__ import annotations

import gc
import sys


def choose_protocol(configured: str) -> str:
    """The protocol to use: the config's, except that ``auto`` without a TTY means ``halfcell``."""
    if configured != "auto":
        return configured
    out = sys.__stdout__
    if out is None or not out.isatty():
        return "halfcell"
    return "auto"


def run_tui() -> int:
    # Start-up builds many long-lived objects (modules, widgets, styles) and collecting them while
    # it runs only costs time; the app collects again once its first frame is shown.
    gc.disable()
    from .core.config import ConfigError, load_config
    from .i18n import _, set_language, set_language_from_config

    try:
        config = load_config()
    except ConfigError as e:
        set_language_from_config()  # the locale's language (or PEROPIX_LANG), as the command line does
        print(_("peropix: error: {message}").format(message=e), file=sys.stderr)
        return 2
    set_language(config.ui.language)
    config.ui.image_protocol = choose_protocol(config.ui.image_protocol)
    from .widgets.preview import prepare

    try:
        prepare(config.ui.image_protocol)
    except Exception as e:  # a terminal that answers nonsense must not stop the app
        print(_("peropix: image protocol detection failed ({error}); using half-cell blocks").format(error=e),
              file=sys.stderr)
        config.ui.image_protocol = "halfcell"
        prepare("halfcell")
    from .app import PeroPixApp

    app = PeroPixApp(config=config)
    app.run()
    return 0 if app.return_code in (None, 0) else int(app.return_code)
