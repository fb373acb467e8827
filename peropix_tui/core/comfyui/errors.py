"""ComfyUI error answers (``node_errors``, ``execution_error``) as one-line user messages."""

from __future__ import annotations

from typing import Any

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


def _one_node_error(node_id: str, entry: Any) -> str:
    if not isinstance(entry, dict):
        return f"node {node_id}: {_line(entry)}"
    cls = entry.get("class_type") or "?"
    errors = entry.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    extra = first.get("extra_info") if isinstance(first.get("extra_info"), dict) else {}
    name = extra.get("input_name") if extra else None
    where = f"node {node_id} ({cls})" + (f" input {name}" if name else "")
    msg = _line(first.get("message")) or _line(first.get("type")) or "invalid"
    details = _line(first.get("details"))
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {msg}" + (f": {details}" if details and details not in msg else "") + more


def rejection_message(server: str, body: Any) -> str:
    """A 400 ``/prompt`` answer (or a 200 with ``node_errors``) as one line."""
    if not isinstance(body, dict):
        return f"ComfyUI {server} rejected the graph: {_line(body) or 'no details'}"
    node_errors = body.get("node_errors") or {}
    if isinstance(node_errors, dict) and node_errors:
        first_id = sorted(node_errors, key=lambda k: (len(str(k)), str(k)))[0]
        text = _one_node_error(str(first_id), node_errors[first_id])
        others = len(node_errors) - 1
        return f"ComfyUI {server} rejected the graph: {text}" + (f" (and {others} other node(s))" if others else "")
    err = body.get("error")
    if isinstance(err, dict):
        msg, details = _line(err.get("message")), _line(err.get("details"))
        text = msg + (f": {details}" if details else "")
        return f"ComfyUI {server} rejected the graph: {text or _line(err.get('type'))}"
    return f"ComfyUI {server} rejected the graph: {_line(err) or 'no details'}"


def execution_message(server: str, data: Any) -> str:
    """An ``execution_error`` event as one line naming the node."""
    if not isinstance(data, dict):
        return f"ComfyUI {server}: execution failed"
    node = data.get("node_id") or "?"
    cls = data.get("node_type") or "?"
    etype = _line(data.get("exception_type"))
    msg = _line(data.get("exception_message")) or "no message"
    return f"ComfyUI {server}: node {node} ({cls}) failed: " + (f"{etype}: {msg}" if etype else msg)
