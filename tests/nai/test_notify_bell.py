"""Queue-finished notifications: bell, OSC 9 / OSC 777 by terminal, tmux passthrough, off switch."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from peropix_tui.core.config import load_config
from peropix_tui.core.notify import NotifyError, notify, queue_message, sequence, should_notify

ITERM = {"TERM_PROGRAM": "iTerm.app"}
FOOT = {"TERM": "foot"}


def test_auto_picks_the_terminals_sequence() -> None:
    assert sequence("Done", "3 images", "auto", ITERM) == "\a\x1b]9;Done: 3 images\a"
    assert sequence("Done", "3 images", "auto", FOOT) == "\a\x1b]777;notify;Done;3 images\a"
    assert sequence("Done", "", "auto", {"TERM": "xterm-256color"}) == "\a"


def test_forced_modes_and_off() -> None:
    assert sequence("T", "b", "osc777", ITERM) == "\a\x1b]777;notify;T;b\a"
    assert sequence("T", "b", "bell", ITERM) == "\a"
    assert sequence("T", "b", "off", ITERM) == ""
    with pytest.raises(NotifyError, match="ui.notify: 'loud'"):
        sequence("T", "b", "loud", ITERM)


def test_tmux_wraps_in_passthrough() -> None:
    got = sequence("T", "b", "osc9", {"TMUX": "/tmp/tmux-0/default,1,0"})
    assert got == "\a\x1bPtmux;\x1b\x1b]9;T: b\a\x1b\\"


def test_user_text_cannot_smuggle_escapes() -> None:
    got = sequence("set\x1b]0;pwned\a", "a;b\nc", "osc777", {})
    assert got == "\a\x1b]777;notify;set ]0,pwned;a,b c\a"
    assert got.count("\x1b") == 1


def test_notify_writes_and_should_notify_respects_focus() -> None:
    out = io.StringIO()
    assert notify(*queue_message(24, 0, False), out=out, env=ITERM) == out.getvalue()
    assert out.getvalue() == "\a\x1b]9;PeroPix: queue finished: 24 image(s) done\a"
    assert should_notify("auto", focused=False) and should_notify("bell", focused=None)
    assert not should_notify("auto", focused=True) and not should_notify("off", focused=False)
    assert queue_message(3, 1, True)[0] == "PeroPix: queue paused"


def test_config_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[ui]\nnotify = "off"\n')
    assert load_config(cfg, env={}).ui.notify == "off"
    assert load_config(tmp_path / "none.toml", env={}).ui.notify == "auto"
