"""``peropix engine inspect PATH [--json]`` (a CLI contract), run through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peropix_tui.cli import main

from .tiny import full_sdxl_shapes, make_sparse_checkpoint, make_tiny_checkpoint


def test_text_output_names_arch_prediction_components_and_counts(tiny_ckpt: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["engine", "inspect", str(tiny_ckpt)]) == 0
    out = capsys.readouterr().out
    assert "architecture sdxl (SDXL-shaped, non-standard dims)" in out
    assert "prediction   eps (epsilon)" in out
    assert "components   unet, vae, clip_l, clip_g" in out
    assert "context 192, adm 1664" in out
    for line in ("unet            8.7 M", "clip_g          6.6 M", "total          19.9 M"):
        assert line in out


def test_json_output(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = make_tiny_checkpoint(tmp_path / "v.safetensors", v_pred=True, ztsnr=True, vae=False)
    assert main(["engine", "inspect", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["arch"] == "sdxl" and data["prediction"] == "v" and data["ztsnr"] is True
    assert data["components"] == ["unet", "clip_l", "clip_g"] and data["vae"] is None
    assert data["unet"]["channel_mult"] == [1, 2, 4] and data["adm_in"] == 1664
    assert data["total_params"] == sum(data["param_counts"].values())
    assert set(data["param_counts"]) == {"unet", "clip_l", "clip_g"}


def test_full_size_sdxl_header(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = make_sparse_checkpoint(tmp_path / "sdxl.safetensors", full_sdxl_shapes())
    assert main(["engine", "inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "architecture sdxl (standard SDXL base dims)" in out
    assert "transformer depth 0/2/10 (middle 10), context 2048, adm 2816" in out
    assert "clip_g       1280 wide, 32 layers, 20 heads, projection 1280" in out
    assert "unet        2,567.5 M" in out


@pytest.mark.parametrize("content", [b"", b"garbage" * 10])
def test_bad_file_is_a_one_line_error(tmp_path: Path, capsys, content: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    assert main(["engine", "inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("peropix: error: ") and str(path) in err and err.count("\n") == 1
