"""A hostile safetensors header stops ``peropix generate --provider local`` with one line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from peropix_tui.cli import main


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (b'"a string"', "header is a string, not a JSON object"),
        (b"[" * 20_000 + b"]" * 20_000, "header JSON is nested too deeply"),
        (b'{"w": {"dtype": "F32", "shape": [1e999], "data_offsets": [0, 4]}}', "entry 'w' has a bad shape"),
    ],
)
def test_generate_local_with_a_hostile_header_says_not_a_valid_safetensors_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: bytes, why: str
) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 4)
    code = main(["generate", "--provider", "local", "--checkpoint", str(path), "--prompt", "x", "--device", "cpu",
                 "--width", "512", "--height", "512", "--steps", "2", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    (error,) = [line for line in err.splitlines() if "error" in line]
    assert error.startswith(f"peropix: error: {path}: not a valid .safetensors file: {why}")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
