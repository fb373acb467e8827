"""safetensors headers are validated without torch: hostile ones give "not a valid .safetensors file: <why>"."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from peropix_tui.engine.header import CheckpointError, read_header

BLOCK_TORCH = "import sys; sys.modules['torch'] = None; sys.modules['safetensors'] = None; "


def write(path: Path, header: bytes, data: bytes = b"") -> Path:
    path.write_bytes(len(header).to_bytes(8, "little") + header + data)
    return path


def test_a_good_header_is_read(tmp_path: Path) -> None:
    header = json.dumps({"__metadata__": {"format": "pt"},
                         "w": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]}}).encode()
    entries, meta = read_header(write(tmp_path / "ok.safetensors", header, b"\0" * 12))
    assert entries["w"].shape == (2, 3) and entries["w"].dtype == "F16" and meta == {"format": "pt"}


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (b'"just a string"', "header is a string, not a JSON object"),
        (b"[1, 2]", "header is an array"),
        (b"[" * 50_000 + b"]" * 50_000, "nested too deeply|not JSON"),
        (b'{"w": ' + b'{"a": ' * 20_000 + b"1" + b"}" * 20_001, "nested too deeply|not JSON"),
        (b'{"w": {"dtype": "F32", "shape": [1e999], "data_offsets": [0, 4]}}', "bad shape"),
        (b'{"w": {"dtype": "F32", "shape": [Infinity], "data_offsets": [0, 4]}}', "not JSON"),
        (b'{"w": {"dtype": "F32", "shape": [99999999999999999999999], "data_offsets": [0, 4]}}', "bad shape"),
        (b'{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', "bad shape"),
        (b'{"w": {"dtype": "F32", "shape": "big", "data_offsets": [0, 4]}}', "bad shape"),
        (b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 1e400]}}', "bad data_offsets"),
        (b'{"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}', "bad data_offsets"),
        (b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', "needs 8 bytes"),
        (b'{"w": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}', "unknown dtype"),
        (b'{"w": "tensor"}', "entry 'w' is a string"),
        (b'{"__metadata__": {"a": {"b": 1}}}', "__metadata__"),
        (b'{"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}', "truncated"),
        (b"\xff\xfe not utf-8", "not JSON"),
    ],
)
def test_hostile_headers_are_one_checkpoint_error(tmp_path: Path, header: bytes, why: str) -> None:
    path = write(tmp_path / "bad.safetensors", header, b"\0" * 4)
    with pytest.raises(CheckpointError, match=why) as info:
        read_header(path)
    assert str(info.value).startswith(f"{path}: not a valid .safetensors file: ")


def run_cli(*argv: str) -> subprocess.CompletedProcess[str]:
    code = BLOCK_TORCH + f"from peropix_tui.cli import main; sys.exit(main({list(argv)!r}))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_engine_inspect_of_a_missing_file_says_file_not_found_without_torch(tmp_path: Path) -> None:
    proc = run_cli("engine", "inspect", str(tmp_path / "missing.safetensors"))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"peropix: error: {tmp_path / 'missing.safetensors'}: file not found"


def test_engine_inspect_of_a_hostile_header_is_named_without_torch(tmp_path: Path) -> None:
    path = write(tmp_path / "str.safetensors", b'"a string"')
    proc = run_cli("engine", "inspect", str(path))
    assert proc.returncode == 1
    assert proc.stderr.strip() == (f"peropix: error: {path}: not a valid .safetensors file: header is a string, "
                                   "not a JSON object")
