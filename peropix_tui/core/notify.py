"""Tell the user a queue finished (or failed and paused): terminal bell and desktop notification.

Desktop notifications go through the terminal itself, by escape sequence, where it supports one:

* ``OSC 9`` (``ESC ] 9 ; text BEL``): iTerm2, WezTerm, Windows Terminal, kitty, Ghostty;
* ``OSC 777`` (``ESC ] 777 ; notify ; title ; body BEL``): rxvt-unicode, foot, VTE terminals
  (GNOME Terminal, Tilix) with the notify patch, WezTerm, Ghostty;
* inside tmux the sequence is wrapped in tmux's passthrough (``ESC P tmux; … ESC \\``, which
  needs ``set -g allow-passthrough on``), and the bell is sent plain so tmux can flag the window.

Config ``[ui] notify``: ``auto`` (default: bell, plus the OSC the terminal is known to support),
``bell`` (bell only), ``osc9``, ``osc777`` (bell + that sequence), ``off`` (nothing). The app
calls :func:`notify` when a queue ends while its terminal is not focused (:func:`should_notify`).
User text is reduced to printable characters (no escape can be smuggled into the terminal).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TextIO

from ..i18n import _, ngettext

MODES = ("auto", "bell", "osc9", "osc777", "off")
BEL = "\a"
ESC = "\x1b"
MAX_TEXT = 200

_OSC9_TERMINALS = ("iterm.app", "wezterm", "ghostty", "kitty")
_OSC777_TERMS = ("rxvt", "foot")


class NotifyError(ValueError):
    """A bad ``ui.notify`` value; the message names the setting."""


def check_mode(mode: str) -> str:
    m = mode.strip().lower()
    if m in ("false", "no", "0", "none"):
        return "off"
    if m not in MODES:
        raise NotifyError(_("ui.notify: {value} is not one of {choices}").format(value=repr(mode), choices=", ".join(MODES)))
    return m


def clean(text: str, limit: int = MAX_TEXT) -> str:
    """Printable text only (control characters, ESC and BEL become spaces), at most ``limit`` chars."""
    out = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(out.split())[:limit]


def detect(env: Mapping[str, str]) -> str:
    """The desktop-notification sequence this terminal supports: ``osc9``, ``osc777`` or ``""``."""
    program = env.get("TERM_PROGRAM", "").lower()
    term = env.get("TERM", "").lower()
    if env.get("WT_SESSION") or env.get("KITTY_WINDOW_ID") or any(t in program for t in _OSC9_TERMINALS):
        return "osc9"
    if term.startswith("xterm-kitty") or term.startswith("xterm-ghostty") or term == "wezterm":
        return "osc9"
    if any(term.startswith(t) for t in _OSC777_TERMS) or env.get("VTE_VERSION"):
        return "osc777"
    return ""


def sequence(title: str, body: str, mode: str, env: Mapping[str, str]) -> str:
    """The exact characters to write for ``mode`` (``""`` for off)."""
    mode = check_mode(mode)
    if mode == "off":
        return ""
    kind = detect(env) if mode == "auto" else "" if mode == "bell" else mode
    t, b = clean(title), clean(body)
    osc = ""
    if kind == "osc9":
        osc = f"{ESC}]9;{t}: {b}{BEL}" if b else f"{ESC}]9;{t}{BEL}"
    elif kind == "osc777":
        osc = f"{ESC}]777;notify;{t.replace(';', ',')};{b.replace(';', ',')}{BEL}"
    if osc and env.get("TMUX"):
        osc = f"{ESC}Ptmux;{osc.replace(ESC, ESC + ESC)}{ESC}\\"
    return BEL + osc


def should_notify(mode: str, focused: bool | None) -> bool:
    """Notify when not switched off and the terminal is not known to be focused."""
    return check_mode(mode) != "off" and focused is not True


def notify(title: str, body: str = "", *, mode: str = "auto", out: TextIO | None = None,
           env: Mapping[str, str] | None = None) -> str:
    """Write the bell / notification to ``out`` (default: the real terminal, ``sys.__stdout__``);
    returns what was written. Errors writing (a closed terminal) are ignored."""
    text = sequence(title, body, mode, os.environ if env is None else env)
    stream = out if out is not None else sys.__stdout__
    if text and stream is not None:
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):
            return ""
    return text


def queue_message(done: int, failed: int, paused: bool) -> tuple[str, str]:
    """(title, body) for the end of a queue, in the current language."""
    if paused:
        return (_("PeroPix: queue paused"),
                _("{done} done, {failed} failed; the queue is waiting for you").format(done=done, failed=failed))
    if failed:
        return _("PeroPix: queue finished with errors"), _("{done} done, {failed} failed").format(done=done, failed=failed)
    return _("PeroPix: queue finished"), ngettext("{n} image(s) done", "{n} image(s) done", done).format(n=done)
