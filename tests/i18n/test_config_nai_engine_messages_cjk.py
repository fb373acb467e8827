"""Errors of the core (config, NovelAI client, local engine) in Korean and Japanese: translated
when they are raised, still naming the file, the setting or the HTTP status, and unchanged in English."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peropix_tui import i18n
from peropix_tui.cli import main
from peropix_tui.core.backend import BackendError
from peropix_tui.core.config import ConfigError, Secret, load_config
from peropix_tui.core.nai.client import NaiClient, RetryPolicy
from tests.nai_emulator import NaiEmulator
from tests.nai_emulator.bodies import v45_body

FAST = RetryPolicy(busy_base=0.01, busy_cap=0.02, busy_tries=3, error_base=0.01, error_tries=2, cancel_poll=0.01)


def _config_error(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return str(info.value)


# ------------------------------------------------------------------------------------------- config
CONFIG_CASES = [
    # (config text, English, Korean part, Japanese part)
    ("[nai]\ntimeout = 0\n", "config: nai.timeout: expected a number from 1 to 3600, got 0 ({file})",
     "1~3600 사이의 숫자여야 하는데 0입니다", "1〜3600 の数値が必要ですが 0 です"),
    ("[ui]\nthemes = 'x'\n", "config: {file}: unknown key ui.themes", "알 수 없는 키 ui.themes", "不明なキー ui.themes"),
    ("[nai\n", "config: {file}: not valid TOML:", "올바른 TOML이 아닙니다", "正しい TOML ではありません"),
]


@pytest.mark.parametrize(("text", "english", "korean", "japanese"), CONFIG_CASES)
def test_config_errors_speak_the_language_and_name_the_file_and_key(
    tmp_path: Path, text: str, english: str, korean: str, japanese: str
) -> None:
    path = tmp_path / "config.toml"
    assert english.format(file=path) in _config_error(path, text)
    key = next((k for k in ("nai.timeout", "ui.themes") if k in english), "")
    for language, words in (("ko", korean), ("ja", japanese)):
        i18n.set_language(language)
        message = _config_error(path, text)
        assert words in message and str(path) in message and key in message
        assert "expected" not in message and "unknown key" not in message and "not valid" not in message
    i18n.set_language("en")
    assert english.format(file=path) in _config_error(path, text)


def test_environment_variable_is_named_in_the_translated_error(tmp_path: Path) -> None:
    i18n.set_language("ja")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "none.toml", env={"PEROPIX_IMAGE_PROTOCOL": "kitty"})
    assert str(info.value) == ("設定: ui.image_protocol: 'kitty' は auto, tgp, sixel, halfcell, unicode のどれでも"
                               "ありません（$PEROPIX_IMAGE_PROTOCOL）")


# ---------------------------------------------------------------------------------------- NovelAI
NAI_CASES = [
    # (injected fault, status, English, Korean, Japanese)
    ("402", 402, "not enough Anlas, or no active subscription (402)",
     "Anlas가 부족하거나 활성 구독이 없습니다 (402)", "アンラスが足りないか、有効なサブスクリプションがありません（402）"),
    ("401", 401, "NovelAI token rejected (401): set a valid persistent token",
     "NovelAI가 토큰을 거부했습니다 (401)", "NovelAI がトークンを拒否しました（401）"),
]


async def _generate_error(emu: NaiEmulator, kind: str) -> BackendError:
    emu.inject(kind, times=5)
    with pytest.raises(BackendError) as info:
        await NaiClient(emu.url, Secret(emu.token), retry=FAST).generate(v45_body())
    return info.value


@pytest.mark.parametrize(("kind", "status", "english", "korean", "japanese"), NAI_CASES)
async def test_novelai_refusals_from_the_emulator_in_each_language(
    nai_emulator: NaiEmulator, kind: str, status: int, english: str, korean: str, japanese: str
) -> None:
    for language, words in (("ko", korean), ("ja", japanese), ("en", english)):
        i18n.set_language(language)
        error = await _generate_error(nai_emulator, kind)
        assert error.status == status and words in str(error)
        assert nai_emulator.token not in str(error)
        if language != "en":
            assert "not enough" not in str(error) and "rejected" not in str(error)


async def test_a_cut_off_paid_answer_says_it_may_have_been_charged(nai_emulator: NaiEmulator) -> None:
    i18n.set_language("ko")
    nai_emulator.inject("truncated_zip", times=5)
    with pytest.raises(BackendError) as info:
        await NaiClient(nai_emulator.url, Secret(nai_emulator.token), retry=FAST, stream=False).generate(v45_body())
    assert "이미지 비용이 청구되었을 수 있음" in str(info.value) and info.value.retryable


# ------------------------------------------------------------------------------------ local engine
def _sparse_safetensors(path: Path, shapes: dict[str, list[int]]) -> Path:
    """A header-valid safetensors file of F16 tensors (the data region is a hole)."""
    header, offset = {}, 0
    for key, shape in shapes.items():
        n = 2
        for s in shape:
            n *= s
        header[key] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(len(blob).to_bytes(8, "little") + blob)
        f.truncate(8 + len(blob) + offset)
    return path


def test_a_lora_given_as_checkpoint_is_refused_in_each_language(tmp_path: Path) -> None:
    from peropix_tui.engine.checkpoint import CheckpointError, inspect_checkpoint

    path = _sparse_safetensors(tmp_path / "not-a-model.safetensors", {"lora_unet_x.lora_down.weight": [4, 8]})
    expected = {"en": "this is a LoRA, not a checkpoint", "ko": "체크포인트가 아니라 LoRA입니다",
                "ja": "チェックポイントではなく LoRA です"}
    for language in ("ko", "ja", "en"):
        i18n.set_language(language)
        with pytest.raises(CheckpointError) as info:
            inspect_checkpoint(path)
        assert str(info.value) == f"{path}: {expected[language]}"


@pytest.mark.parametrize(("language", "words"), [("ko", "올바른 .safetensors 파일이 아닙니다: 헤더 길이가 잘못되었습니다"),
                                                 ("ja", "正しい .safetensors ファイルではありません: ヘッダー長が不正です")])
def test_a_damaged_checkpoint_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch, language: str, words: str) -> None:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"garbage" * 10)
    monkeypatch.setenv("PEROPIX_LANG", language)
    assert main(["engine", "inspect", str(path)]) == 1
    err = capsys.readouterr().err
    assert words in err and str(path) in err and err.count("\n") == 1
    assert "not a valid" not in err


def test_a_damaged_checkpoint_in_english_is_unchanged(tmp_path: Path) -> None:
    from peropix_tui.engine.header import CheckpointError, read_header

    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"garbage" * 10)
    with pytest.raises(CheckpointError) as info:
        read_header(path)
    assert str(info.value) == f"{path}: not a valid .safetensors file: bad header length (truncated, or another format)"


def test_local_prompt_errors_keep_the_field_and_translate_the_reason() -> None:
    from peropix_tui.engine.pipeline import Request, check_request

    i18n.set_language("ja")
    with pytest.raises(ValueError) as info:
        check_request(Request(prompt="(cat:1.2.3)", prompt_dialect="a1111"))
    assert str(info.value) == "prompt: 5 文字目の重み '1.2.3' は数値ではありません（A1111 方式）"


@pytest.mark.parametrize(("language", "label"), [("ko", "아키텍처"), ("ja", "アーキテクチャ")])
def test_engine_inspect_table_is_translated_and_aligned_in_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, language: str, label: str
) -> None:
    from peropix_tui.textwidth import cell_width
    from tests.engine.tiny import full_sdxl_shapes, make_sparse_checkpoint

    path = make_sparse_checkpoint(tmp_path / "base.safetensors", full_sdxl_shapes())
    monkeypatch.setenv("PEROPIX_LANG", language)
    assert main(["engine", "inspect", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    text = "\n".join(lines)
    assert f"{label} " in text and "SDXL" in text
    values = (str(path), "sdxl", "unet, vae, clip_l, clip_g", "model_channels ", "1280 wide")
    starts = {cell_width(line[: line.index(v)]) for line in lines[:9] for v in values if v in line}
    assert len(starts) == 1 and starts.pop() > cell_width(label)  # every value starts in the same column
    labels = ("checkpoint", "architecture", "prediction", "components", "parameters", "  total")
    assert not any(line.startswith(labels) for line in lines)
