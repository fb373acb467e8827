"""Damaged NovelAI answers found by bench/fuzz.py: each is one ResponseError, never another exception."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import pytest

from peropix_tui.core.nai.responses import ResponseError, error_message, unpack_images
from peropix_tui.core.tags import TagIndex


def make_zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo(name) if name == "" else name, data)
    return out.getvalue()


def bad_deflate() -> bytes:
    good = bytearray(make_zip("image_0.png", os.urandom(50) + b"a" * 200))
    at = good.index(b"image_0.png") + len("image_0.png")
    good[at + 5] ^= 0xFF
    good[at + 6] ^= 0xFF
    return bytes(good)


def central_directory_before_start() -> bytes:
    good = bytearray(make_zip("image_0.png", b"a" * 200))
    struct.pack_into("<I", good, good.rindex(b"PK\x05\x06") + 16, 0xFFFFFF00)
    return bytes(good)


@pytest.mark.parametrize("body", [make_zip("", b"x" * 100), bad_deflate(), central_directory_before_start()],
                         ids=["empty-entry-name", "bad-deflate-data", "offset-before-start"])
def test_damaged_zip_is_one_response_error(body: bytes) -> None:
    with pytest.raises(ResponseError, match="damaged ZIP"):
        unpack_images(body)


def test_deeply_nested_json_error_body_gives_its_text() -> None:
    body = b"[" * 4000 + b"]" * 4000
    assert error_message(body).startswith("[[[")


def test_tag_count_1e999_skips_the_row(tmp_path: Path) -> None:
    f = tmp_path / "tags.csv"
    f.write_text("1girl,0,1e999,\nsmile,0,100,\n")
    index = TagIndex()
    index.load_csv(f)
    assert [m.tag for m in index.search("smi")][:1] == ["smile"]


@pytest.mark.parametrize("body", [b'{"tier": Infinity}', b'{"trainingStepsLeft": {"fixedTrainingStepsLeft": 1e999}}',
                                  b"[" * 5000, b'{"usage": 1, "tier": "three"}', b'"text"'])
def test_unusable_subscription_answers_are_one_backend_error(body: bytes) -> None:
    from peropix_tui.core.backend import BackendError
    from peropix_tui.core.nai.client import parse_subscription

    with pytest.raises(BackendError, match="subscription answer"):
        parse_subscription(body)
