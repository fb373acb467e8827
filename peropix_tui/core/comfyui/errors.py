"""ComfyUI error answers (``node_errors``, ``execution_error``) as one-line user messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ... import i18n
from ..backend import BackendError


class ServerUnavailable(BackendError):
    """The server, not the job, failed: unreachable, connection lost, restarted mid-job, stuck, too slow.

    Always retryable; a worker pool marks the server unhealthy and gives the job to another one.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message, status=status, retryable=True)


def _line(text: Any) -> str:
    s = str(text or "").strip()
    return s.splitlines()[0].strip() if s else ""


def _source_text(message: str) -> str:
    return message


def _source_plural(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def _texts(english: bool) -> tuple[Callable[[str], str], Callable[[str, str, int], str]]:
    """The translation functions: the current language, or English for text written into files."""
    return (_source_text, _source_plural) if english else (i18n.gettext, i18n.ngettext)


def _one_node_error(node_id: str, entry: Any, english: bool = False) -> str:
    _, ngettext = _texts(english)
    if not isinstance(entry, dict):
        return _("node {node}: {message}").format(node=node_id, message=_line(entry))
    cls = entry.get("class_type") or "?"
    errors = entry.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    extra = first.get("extra_info") if isinstance(first.get("extra_info"), dict) else {}
    name = extra.get("input_name") if extra else None
    where = (_("node {node} ({node_class}) input {input}").format(node=node_id, node_class=cls, input=name) if name
             else _("node {node} ({node_class})").format(node=node_id, node_class=cls))
    msg = _line(first.get("message")) or _line(first.get("type")) or _("invalid")
    details = _line(first.get("details"))
    more = (" " + ngettext("(+{n} more)", "(+{n} more)", len(errors) - 1).format(n=len(errors) - 1)
            if len(errors) > 1 else "")
    return f"{where}: {msg}" + (f": {details}" if details and details not in msg else "") + more


def rejection_message(server: str, body: Any, *, english: bool = False) -> str:
    """A 400 ``/prompt`` answer (or a 200 with ``node_errors``) as one line.

    In the current language, or in English (``english``) for a warning stored in the image's metadata.
    """
    _, ngettext = _texts(english)

    def _rejected(details: str) -> str:
        return _("ComfyUI {server} rejected the graph: {details}").format(server=server, details=details)

    if not isinstance(body, dict):
        return _rejected(_line(body) or _("no details"))
    node_errors = body.get("node_errors") or {}
    if isinstance(node_errors, dict) and node_errors:
        first_id = sorted(node_errors, key=lambda k: (len(str(k)), str(k)))[0]
        text = _one_node_error(str(first_id), node_errors[first_id], english)
        others = len(node_errors) - 1
        if others:
            text += " " + ngettext("(and {n} other node)", "(and {n} other nodes)", others).format(n=others)
        return _rejected(text)
    err = body.get("error")
    if isinstance(err, dict):
        msg, details = _line(err.get("message")), _line(err.get("details"))
        text = msg + (f": {details}" if details else "")
        return _rejected(text or _line(err.get("type")))
    return _rejected(_line(err) or _("no details"))


def execution_message(server: str, data: Any) -> str:
    """An ``execution_error`` event as one line naming the node."""
    _ = i18n.gettext
    if not isinstance(data, dict):
        return _("ComfyUI {server}: execution failed").format(server=server)
    node = data.get("node_id") or "?"
    cls = data.get("node_type") or "?"
    etype = _line(data.get("exception_type"))
    msg = _line(data.get("exception_message")) or _("no message")
    return _("ComfyUI {server}: node {node} ({node_class}) failed: {error}").format(
        server=server, node=node, node_class=cls, error=f"{etype}: {msg}" if etype else msg)
