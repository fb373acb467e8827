"""Response decoding without a socket: frame parsing across any chunking, ZIP guards, sniffing."""

from __future__ import annotations

import io
import struct
import zipfile

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peropix_tui.core.nai.responses import (
    MAX_ENTRIES,
    FrameReader,
    ResponseError,
    error_message,
    finals_in_order,
    unpack_images,
    unzip_images,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"fake png body" * 10


def frame(**fields: object) -> bytes:
    packed = msgpack.packb(fields, use_bin_type=True)
    return struct.pack(">I", len(packed)) + packed


STREAM = b"".join(
    [frame(event_type="intermediate", samp_ix=0, step_ix=i, sigma=1.0, image=b"\xff\xd8jpeg%d" % i) for i in range(5)]
    + [frame(event_type="final", samp_ix=1, step_ix=4, image=PNG + b"1"),
       frame(event_type="final", samp_ix=0, step_ix=4, image=PNG)]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(STREAM)), max_size=12))
def test_frames_parse_the_same_however_the_bytes_are_split(cuts: list[int]) -> None:
    bounds = [0, *sorted(set(cuts)), len(STREAM)]
    reader = FrameReader()
    frames = [f for a, b in zip(bounds, bounds[1:], strict=False) for f in reader.feed(STREAM[a:b])]
    assert reader.pending == 0
    assert [f.step for f in frames if f.kind == "intermediate"] == [0, 1, 2, 3, 4]
    assert finals_in_order(frames) == [PNG, PNG + b"1"]


def test_truncated_stream_leaves_pending_bytes_and_is_transient() -> None:
    reader = FrameReader()
    list(reader.feed(STREAM[:-10]))
    assert reader.pending > 0
    with pytest.raises(ResponseError) as info:
        unpack_images(STREAM[:-10])
    assert info.value.transient


@pytest.mark.parametrize("length", [0, 50_000_001, 0xFFFFFFFF])
def test_insane_frame_lengths_are_refused(length: int) -> None:
    with pytest.raises(ResponseError, match="not sane"):
        list(FrameReader().feed(struct.pack(">I", length) + b"\x80"))


def test_error_frame_message_is_reported() -> None:
    with pytest.raises(ResponseError, match="stream error: out of memory"):
        unpack_images(frame(event_type="error", message="out of memory"))


def zip_of(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return out.getvalue()


def test_zip_entries_come_back_in_index_order() -> None:
    body = zip_of([("image_10.png", b"ten"), ("image_2.png", b"two"), ("image_0.png", b"zero")])
    assert unpack_images(body) == [b"zero", b"two", b"ten"]


def test_zip_guards() -> None:
    with pytest.raises(ResponseError, match="entries"):
        unzip_images(zip_of([(f"image_{i}.png", b"x") for i in range(MAX_ENTRIES + 1)]))
    with pytest.raises(ResponseError, match="compression ratio"):
        unzip_images(zip_of([("image_0.png", bytes(2_000_000))]))
    with pytest.raises(ResponseError) as info:
        unzip_images(zip_of([("image_0.png", PNG)])[:40])
    assert info.value.transient


def test_zip_whose_header_understates_the_size_is_refused() -> None:
    body = bytearray(zip_of([("image_0.png", b"A" * 1000)], method=zipfile.ZIP_STORED))
    # shrink the declared uncompressed size in the central directory to 10 bytes
    cd = body.rfind(b"PK\x01\x02")
    body[cd + 24 : cd + 28] = struct.pack("<I", 10)
    with pytest.raises(ResponseError):
        unzip_images(bytes(body))


def test_sniffing_png_html_and_json() -> None:
    assert unpack_images(PNG) == [PNG]
    with pytest.raises(ResponseError, match="HTML page"):
        unpack_images(b"<!DOCTYPE html><html>blocked</html>")
    with pytest.raises(ResponseError, match="NovelAI answered: quota"):
        unpack_images(b'{"error": "quota"}')


def test_error_message_prefers_the_json_message() -> None:
    assert error_message(b'{"statusCode": 400, "message": "Validation error: steps"}') == "Validation error: steps"
    assert error_message(b"<html>x</html>").startswith("an HTML page")
    assert error_message(b"") == "(empty body)"
