"""Hostile or malformed WebSocket events and history entries never crash a ComfyUI job's reader."""

from __future__ import annotations

import json
from typing import Any

import pytest

from peropix_tui.core.backend import BackendError, CancelToken, Progress
from peropix_tui.core.comfyui.client import ComfyClient
from peropix_tui.core.comfyui.config import ComfyServer
from peropix_tui.core.comfyui.run import PromptRun

PID = "00000000-0000-4000-8000-000000000000"


def _run(reports: list[Progress]) -> PromptRun:
    graph = {"3": {"class_type": "KSampler", "inputs": {"steps": 20}}}
    run = PromptRun(ComfyClient(ComfyServer(url="http://127.0.0.1:9", name="gpu1")), graph, reports.append,
                    CancelToken())
    run.prompt_id = PID
    return run


@pytest.mark.parametrize("value", [1e999, float("nan"), "7", None, [], {"a": 1}, True, 2**80])
def test_progress_with_a_non_number_counts_as_zero(value: Any) -> None:
    reports: list[Progress] = []
    run = _run(reports)
    run._on_text(json.dumps({"type": "progress", "data": {"value": value, "max": 20, "node": "3",
                                                           "prompt_id": PID}}))
    assert reports and reports[-1].step == 0 and reports[-1].total == 20


@pytest.mark.parametrize("status", [[1, 2], "x", {"exec_info": [3]}, {"exec_info": {"queue_remaining": "9"}}])
def test_status_of_the_wrong_shape_is_ignored(status: Any) -> None:
    reports: list[Progress] = []
    _run(reports)._on_text(json.dumps({"type": "status", "data": {"status": status}}))
    assert reports == []


def test_deeply_nested_text_frame_is_ignored() -> None:
    reports: list[Progress] = []
    _run(reports)._on_text("[" * 100_000 + "]" * 100_000)
    assert reports == []


@pytest.mark.parametrize("messages", [[["execution_error"]], ["x", 1], [[1, 2, 3]], {"a": 1}, None])
def test_error_history_with_malformed_messages_is_one_error_line(messages: Any) -> None:
    entry = {"status": {"status_str": "error", "messages": messages}}
    with pytest.raises(BackendError, match="ended in an error"):
        _run([])._check_history_status(entry)
