"""Chunk-level PNG handling and every kind of bad input: a clear reason, never a crash or a hang."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from peropix_tui.core.metadata import NoMetadataError, png, read_metadata, write_novelai_png

from .util import nai_settings, noise_image, png_bytes


@pytest.fixture
def ours() -> bytes:
    return write_novelai_png(noise_image(), nai_settings(), seed=1)


def _chunk_offset(data: bytes, ctype: bytes) -> int:
    return next(c.offset for c in png.iter_chunks(data) if c.type == ctype)


def test_text_chunk_kinds_are_all_read() -> None:
    ztxt = png.make_chunk(b"zTXt", b"Zkey\x00\x00" + zlib.compress("zipped é".encode("latin-1")))
    itxt_z = png.make_chunk(b"iTXt", b"Ikey\x00\x01\x00en\x00\x00" + zlib.compress("ユニコード".encode()))
    itxt = png.make_chunk(b"iTXt", b"Plain\x00\x00\x00\x00\x00" + "プレーン".encode())
    base = png_bytes(noise_image(8, 8), {"T": "latin é"})
    at = _chunk_offset(base, b"IDAT")
    data = base[:at] + ztxt + itxt_z + itxt + base[at:]
    assert png.read_text(data) == {"T": "latin é", "Zkey": "zipped é", "Ikey": "ユニコード", "Plain": "プレーン"}


def test_set_text_replaces_in_place_and_keeps_other_chunks(ours: bytes) -> None:
    out = png.set_text(ours, {"Software": "X", "New": "y"})
    types_before = [c.type for c in png.iter_chunks(ours)]
    types_after = [c.type for c in png.iter_chunks(out)]
    assert types_after.count(b"tEXt") == types_before.count(b"tEXt") + 1
    assert png.read_text(out)["Software"] == "X" and png.read_text(out)["New"] == "y"
    assert png.chunk_bytes(out, b"IDAT") == png.chunk_bytes(ours, b"IDAT")
    assert Image.open(io.BytesIO(out)).tobytes() == Image.open(io.BytesIO(ours)).tobytes()


def test_truncated_png(ours: bytes) -> None:
    for cut in (30, 9, _chunk_offset(ours, b"tEXt") + 10):  # before the text chunks are whole
        with pytest.raises(NoMetadataError, match="truncated PNG"):
            read_metadata(ours[:cut])


@pytest.mark.parametrize("where", ["idat-cut", "iend-cut", "idat-crc"])
def test_damaged_image_data_keeps_the_text_chunks_before_it(ours: bytes, where: str) -> None:
    at = _chunk_offset(ours, b"IDAT")
    if where == "idat-cut":
        data = ours[: at + 20]
    elif where == "iend-cut":
        data = ours[: len(ours) - 5]
    else:
        data = ours[: at + 20] + bytes([ours[at + 20] ^ 0xFF]) + ours[at + 21 :]
    r = read_metadata(data)
    assert r.dialect == "peropix" and r.settings == read_metadata(ours).settings
    assert any(n.startswith("image data is damaged (") for n in r.notes), r.notes


def test_crc_error_names_the_chunk(ours: bytes) -> None:
    at = _chunk_offset(ours, b"tEXt") + 12  # inside the first text chunk
    bad = ours[:at] + bytes([ours[at] ^ 0x01]) + ours[at + 1 :]
    with pytest.raises(NoMetadataError, match=r"CRC mismatch in chunk tEXt at byte \d+"):
        read_metadata(bad)


def test_huge_text_chunk_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(png, "MAX_TEXT_BYTES", 1000)
    data = png_bytes(noise_image(8, 8), {"Comment": "x" * 2000})
    with pytest.raises(NoMetadataError, match="limit 1000"):
        read_metadata(data)


def test_absurd_chunk_length_is_refused() -> None:
    data = png_bytes(noise_image(8, 8))
    at = _chunk_offset(data, b"IDAT")
    bad = data[:at] + struct.pack(">I", 0x7FFFFFFF) + data[at + 4 :]
    with pytest.raises(NoMetadataError, match="claims 2147483647 bytes"):
        read_metadata(bad)


def test_ztxt_decompression_bomb() -> None:
    bomb = zlib.compress(b"a" * (17 * 1024 * 1024), 9)
    base = png_bytes(noise_image(8, 8))
    at = _chunk_offset(base, b"IDAT")
    data = base[:at] + png.make_chunk(b"zTXt", b"Comment\x00\x00" + bomb) + base[at:]
    with pytest.raises(NoMetadataError, match="decompression bomb"):
        read_metadata(data)


def test_pixel_decompression_bomb_is_not_decoded() -> None:
    # IHDR claims 20000 x 20000 RGBA; the IDAT is a tiny zlib stream of zeros
    ihdr = png.make_chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 6, 0, 0, 0))
    idat = png.make_chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
    data = png.SIGNATURE + ihdr + idat + png.make_chunk(b"IEND", b"")
    with pytest.raises(NoMetadataError, match="too large to decode"):
        read_metadata(data)
    # below PIL's own bomb limit, our pixel limit still refuses to decode
    ihdr = png.make_chunk(b"IHDR", struct.pack(">IIBBBBB", 9000, 9000, 8, 6, 0, 0, 0))
    with pytest.raises(NoMetadataError, match="too large to scan"):
        read_metadata(png.SIGNATURE + ihdr + idat + png.make_chunk(b"IEND", b""))


def test_non_utf8_itxt() -> None:
    base = png_bytes(noise_image(8, 8))
    at = _chunk_offset(base, b"IDAT")
    data = base[:at] + png.make_chunk(b"iTXt", b"Comment\x00\x00\x00\x00\x00\xff\xfe\xfa") + base[at:]
    with pytest.raises(NoMetadataError, match="not UTF-8"):
        read_metadata(data)


@pytest.mark.parametrize(
    ("comment", "why"),
    [
        ('{"prompt": "a", "steps": ', "Comment is not valid JSON"),
        ("[1, 2]", "Comment JSON is a list"),
        ("[" * 100000 + "]" * 100000, "Comment"),
        ('{"prompt": "a", "steps": "many"}', "Comment.steps: expected an integer"),
        ('{"prompt": 5}', "Comment.prompt: expected text"),
        ('{"prompt": "a", "v4_prompt": {"caption": {"char_captions": [{"centers": "x"}]}}}', "centers: expected a list"),
        ('{"uc": "no prompt"}', "Comment has no prompt"),
        ('{"prompt": "a", "seed": 1e400}', "Comment.seed"),
    ],
)
def test_broken_comment_json(comment: str, why: str) -> None:
    with pytest.raises(NoMetadataError, match=why):
        read_metadata(png_bytes(noise_image(8, 8, mode="RGB"), {"Comment": comment}))


def test_broken_comment_falls_through_to_the_stealth_copy(ours: bytes) -> None:
    from peropix_tui.core.metadata.stealth import write_stealth

    payload = json.dumps({"Comment": json.dumps({"prompt": "from alpha", "seed": 3})}).encode()
    data = png_bytes(write_stealth(noise_image(64, 64), payload), {"Comment": "{broken"})
    r = read_metadata(data)
    assert r.dialect == "novelai-stealth" and r.settings.prompt == "from alpha"


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty file"),
        (b"\x00" * 100, "unrecognised format"),
        (png.SIGNATURE, "truncated PNG"),
        (png.SIGNATURE + b"\x00\x00\x00\x0dIH\x00R" + b"\x00" * 17, "bad chunk type"),
    ],
)
def test_garbage(data: bytes, why: str) -> None:
    with pytest.raises(NoMetadataError, match=why) as e:
        read_metadata(data)
    assert str(e.value).startswith("no readable metadata: ")


def test_plain_png_jpeg_webp_without_metadata(tmp_path: Path) -> None:
    for fmt, mode, why in (("PNG", "RGB", "no alpha channel"), ("JPEG", "RGB", "no EXIF block"), ("WEBP", "RGBA", "WEBP has no EXIF block")):
        path = tmp_path / f"plain.{fmt.lower()}"
        noise_image(16, 16, mode=mode).save(path, format=fmt)
        with pytest.raises(NoMetadataError, match=why) as e:
            read_metadata(path)
        assert str(e.value).startswith(f"no readable metadata: plain.{fmt.lower()}: ")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(NoMetadataError, match="cannot read"):
        read_metadata(tmp_path / "nope.png")
    with pytest.raises(NoMetadataError, match="cannot read"):
        read_metadata(tmp_path)
