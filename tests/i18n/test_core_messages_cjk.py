"""Core messages that reach the user (ComfyUI errors, metadata reading errors, store errors, the
labels of metadata fields) come out in Korean and Japanese, still naming the file / node / server;
English stays as it was. What is written into files (warnings stored in an image) stays English."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from peropix_tui import i18n
from peropix_tui.core.backend import BackendError, CancelToken
from peropix_tui.core.comfyui.backend import ComfyUIBackend
from peropix_tui.core.comfyui.client import Timeouts
from peropix_tui.core.comfyui.config import ComfyServer
from peropix_tui.core.comfyui.errors import ServerUnavailable, rejection_message
from peropix_tui.core.comfyui.workflow import UserWorkflow, WorkflowError
from peropix_tui.core.metadata import NoMetadataError, read_metadata
from peropix_tui.core.metadata import png as pngmod
from peropix_tui.core.metadata.labels import FIELD_LABELS, field_label
from peropix_tui.core.metadata.record import tool_lines
from peropix_tui.core.store import GalleryStore, StoreError
from tests.comfyui.helpers import backend, dead_url, settings
from tests.comfyui_emulator import ComfyEmulator
from tests.comfyui_emulator.fixtures import comfy_emulator  # noqa: F401  (pytest fixture)

NODE_ERRORS = {"ko": "그래프를 거부했습니다", "ja": "グラフを拒否しました", "en": "rejected the graph"}
EXEC_ERRORS = {"ko": "실패:", "ja": "失敗しました:", "en": "failed:"}


@pytest.mark.parametrize("lang", ["ko", "ja", "en"])
async def test_comfyui_node_error_from_the_emulator(comfy_emulator: ComfyEmulator, lang: str) -> None:  # noqa: F811
    i18n.set_language(lang)
    comfy_emulator.inject("node_errors")
    b = backend(comfy_emulator)
    with pytest.raises(BackendError) as e:
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    msg = str(e.value)
    assert NODE_ERRORS[lang] in msg
    assert "KSampler" in msg and "sampler_name" in msg and "Value not in list" in msg  # the server's words stay
    if lang != "en":
        assert "rejected the graph" not in msg and "node " not in msg


@pytest.mark.parametrize("lang", ["ko", "ja"])
async def test_comfyui_execution_error_from_the_emulator(comfy_emulator: ComfyEmulator, lang: str) -> None:  # noqa: F811
    i18n.set_language(lang)
    comfy_emulator.inject("execution_error", at_step=2)
    b = backend(comfy_emulator)
    with pytest.raises(BackendError) as e:
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    msg = str(e.value)
    assert EXEC_ERRORS[lang] in msg and "KSampler" in msg and "torch.OutOfMemoryError" in msg
    assert " failed: " not in msg


async def test_unreachable_server_in_korean_names_server_and_url() -> None:
    i18n.set_language("ko")
    url = dead_url()
    b = ComfyUIBackend(ComfyServer(url, name="off"), timeouts=Timeouts(connect=1, request=1))
    with pytest.raises(ServerUnavailable) as e:
        await b.generate(settings(), lambda p: None, CancelToken())
    await b.aclose()
    assert f"ComfyUI 서버 off ({url})에 연결할 수 없습니다" in str(e.value)


def test_node_error_warnings_stored_in_images_stay_english() -> None:
    i18n.set_language("ja")
    body = {"node_errors": {"4": {"class_type": "KSampler", "errors": [{"message": "bad"}, {"message": "worse"}]},
                            "5": {"class_type": "VAEDecode", "errors": []}}}
    assert rejection_message("gpu", body, english=True) == \
        "ComfyUI gpu rejected the graph: node 4 (KSampler): bad (+1 more) (and 1 other node)"
    assert rejection_message("gpu", body) == \
        "ComfyUI gpu がグラフを拒否しました: ノード 4（KSampler）: bad （ほか 1 件） （ほか 1 個のノードも）"


@pytest.mark.parametrize(("lang", "workflow_says"), [
    ("ko", "JSON 워크플로가 아닙니다"), ("ja", "JSON のワークフローではありません"), ("en", "not a JSON workflow"),
])
def test_bad_workflow_file_is_named(tmp_path: Path, lang: str, workflow_says: str) -> None:
    i18n.set_language(lang)
    path = tmp_path / "my-flow.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(WorkflowError) as e:
        UserWorkflow.load(path)
    assert str(e.value).startswith(f"{path}: {workflow_says}")


def _truncated_png(path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 6, 0, 0, 0)
    data = pngmod.SIGNATURE + pngmod.make_chunk(b"IHDR", ihdr) + pngmod.make_chunk(b"tEXt", b"Comment\x00{}")
    path.write_bytes(data[:-3])  # the text chunk is cut: the metadata itself is damaged


@pytest.mark.parametrize(("lang", "no_metadata", "truncated"), [
    ("ko", "읽을 수 있는 메타데이터가 없습니다: ", "잘린 PNG: "),
    ("ja", "読み取れるメタデータがありません: ", "途切れた PNG: "),
    ("en", "no readable metadata: ", "truncated PNG: "),
])
def test_malformed_png_error_names_the_file(tmp_path: Path, lang: str, no_metadata: str, truncated: str) -> None:
    i18n.set_language(lang)
    path = tmp_path / "broken.png"
    _truncated_png(path)
    with pytest.raises(NoMetadataError) as e:
        read_metadata(path)
    assert str(e.value).startswith(f"{no_metadata}broken.png: {truncated}")
    assert "tEXt" in str(e.value)  # the chunk is named as in the file


def test_damage_in_image_data_is_recognised_in_any_language() -> None:
    """The tolerant reader tells image-data damage by the chunk, not by the (translated) message."""
    i18n.set_language("ja")
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00")
    data = (pngmod.SIGNATURE + pngmod.make_chunk(b"IHDR", ihdr) + pngmod.make_chunk(b"tEXt", b"Title\x00x")
            + pngmod.make_chunk(b"IDAT", idat)[:-2])
    text, damage = pngmod.read_text_tolerant(data)
    assert text == {"Title": "x"} and damage is not None and "IDAT" in damage and "途切れた PNG" in damage


@pytest.mark.parametrize(("lang", "sampler", "steps", "hash_"), [
    ("ko", "샘플러", "스텝", "모델 해시"), ("ja", "サンプラー", "ステップ", "モデルハッシュ"),
    ("en", "Sampler", "Steps", "Model hash"),
])
def test_field_labels_are_translated_when_shown(lang: str, sampler: str, steps: str, hash_: str) -> None:
    i18n.set_language(lang)
    assert (field_label("sampler"), field_label("steps"), field_label("model_hash")) == (sampler, steps, hash_)
    assert field_label("not_a_field") == "not_a_field"  # a key without a label is shown as it is
    assert "sampler" in FIELD_LABELS and "noise_schedule" in FIELD_LABELS  # keys stay the file's keys


def test_tool_lines_labels_follow_the_language() -> None:
    tool = {"name": "bg-removal", "options": {"defry": 0}, "source": {"file": "a.png"}}
    assert [k for k, _ in tool_lines(tool)] == ["Tool", "Tool options", "Tool source"]
    i18n.set_language("ko")
    assert tool_lines(tool) == [("도구", "bg-removal"), ("도구 옵션", "defry=0"), ("도구 원본", "a.png")]


@pytest.mark.parametrize(("lang", "missing"), [
    ("ko", "폴더 'nope': 없습니다"), ("ja", "フォルダー 'nope': ありません"), ("en", "folder 'nope': does not exist"),
])
def test_store_errors_name_the_folder(tmp_path: Path, lang: str, missing: str) -> None:
    i18n.set_language(lang)
    store = GalleryStore(tmp_path / "out")
    try:
        with pytest.raises(StoreError) as e:
            store.rename_folder("nope", "x")
        assert str(e.value) == missing
        with pytest.raises(StoreError) as e:
            store.rename_folder("x", "../escape")
        if lang == "ja":
            assert str(e.value).startswith("新しいフォルダー名 '..': ") and "フォルダー名にできません" in str(e.value)
    finally:
        store.close()
