"""Image preparation on real files: exact resize, letterbox canvases, mask binarization, refusals."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from peropix_tui.core.nai import images
from peropix_tui.core.settings import SettingsError

MakeImage = Callable[..., Path]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _open(b64text: str) -> Image.Image:
    im = Image.open(io.BytesIO(base64.b64decode(b64text)))
    im.load()
    return im


@pytest.mark.parametrize(("size", "canvas"), [
    ((300, 600), (1024, 1536)),   # portrait
    ((900, 500), (1536, 1024)),   # landscape
    ((500, 500), (1472, 1472)),   # square
    ((800, 960), (1472, 1472)),   # 0.83: near square
    ((760, 960), (1024, 1536)),   # 0.79: portrait
])
def test_charref_letterbox_canvas_by_aspect(make_image: MakeImage, size: tuple[int, int],
                                            canvas: tuple[int, int]) -> None:
    path = make_image("ref.png", *size)
    jpeg = _open(images.charref_b64(path))
    assert jpeg.format == "JPEG" and jpeg.size == canvas


def test_letterbox_pads_with_black_and_centres(tmp_path: Path) -> None:
    path = tmp_path / "white.png"
    Image.new("RGB", (512, 1536), (255, 255, 255)).save(path)  # ratio 1/3 -> portrait canvas
    boxed = images.letterbox(images.load_image(path))
    arr = np.asarray(boxed)
    assert boxed.size == (1024, 1536)
    # 512x1536 scaled by 1.0 keeps its size: 256 px black bars left and right
    assert arr[:, :250].max() == 0 and arr[:, -250:].max() == 0
    assert arr[:, 260:764].min() == 255


def test_transparent_charref_is_flattened_on_black(tmp_path: Path) -> None:
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (600, 600), (255, 0, 0, 0)).save(path)
    arr = np.asarray(images.letterbox(images.load_image(path)))
    assert arr.max() == 0


def test_source_resized_to_exactly_width_height(make_image: MakeImage) -> None:
    path = make_image("odd.jpg", 333, 517)
    im = _open(images.source_b64(path, 832, 1216))
    assert im.format == "PNG" and im.size == (832, 1216)


def test_source_of_the_right_size_is_not_resampled(make_image: MakeImage) -> None:
    path = make_image("exact.png", 64, 128)
    assert base64.b64decode(images.source_b64(path, 64, 128)) == path.read_bytes()
    grey = make_image("grey.png", 64, 128, mode="L", color=90)  # re-encoded as RGB, same pixels
    sent = _open(images.source_b64(grey, 64, 128))
    assert sent.mode == "RGB" and np.asarray(sent).min() == np.asarray(sent).max() == 90


def test_mask_binarized_at_source_resolution(tmp_path: Path) -> None:
    path = tmp_path / "mask.png"
    m = Image.new("L", (104, 152), 0)
    m.paste(200, (20, 30, 40, 50))   # light grey counts as painted
    m.paste(100, (60, 60, 70, 70))   # dark grey does not
    m.save(path)
    out = _open(images.mask_b64(path, 832, 1216))
    arr = np.asarray(out)
    assert out.mode == "L" and out.size == (832, 1216)
    assert set(np.unique(arr)) == {0, 255}
    assert arr[30 * 8:50 * 8, 20 * 8:40 * 8].min() == 255
    assert arr[60 * 8:70 * 8, 60 * 8:70 * 8].max() == 0
    assert (arr == 255).sum() == 160 * 160


def test_full_resolution_mask_snaps_to_8px_cells(tmp_path: Path) -> None:
    path = tmp_path / "mask.png"
    m = Image.new("L", (64, 64), 0)
    m.putpixel((9, 9), 255)  # one pixel inside the cell x 8..15, y 8..15
    m.save(path)
    arr = np.asarray(images.binarize_mask(Image.open(path), 64, 64))
    assert arr[8:16, 8:16].min() == 255 and (arr == 255).sum() == 64


def test_transparent_painted_mask_uses_alpha(tmp_path: Path) -> None:
    path = tmp_path / "painted.png"
    m = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    m.paste((255, 0, 0, 255), (0, 0, 16, 16))  # red strokes, not white: alpha decides
    m.save(path)
    arr = np.asarray(images.binarize_mask(images.load_image(path), 64, 64))
    assert arr[:16, :16].min() == 255 and arr[16:, :].max() == 0 and arr[:, 16:].max() == 0


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(SettingsError) as e:
        images.load_image(bad, "mask")
    assert e.value.field == "mask" and "garbage.png" in str(e.value)
    with pytest.raises(SettingsError) as e:
        images.load_image(tmp_path / "nope.png")
    assert "nope.png: file not found" in str(e.value)


def test_huge_images_are_refused_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.png"
    Image.new("L", (400, 300), 0).save(path)
    monkeypatch.setattr(images, "MAX_INPUT_PIXELS", 100_000)
    with pytest.raises(SettingsError) as e:
        images.load_image(path)
    assert "big.png" in str(e.value) and "too large" in str(e.value)


def test_decompression_bomb_header_is_refused(tmp_path: Path) -> None:
    # tiny PNG files whose headers claim 900 MP (Pillow's own guard) and 64 MP (ours)
    for side in (30000, 8000):
        path = tmp_path / f"bomb{side}.png"
        path.write_bytes(_png_header_only(side, side))
        with pytest.raises(SettingsError) as e:
            images.load_image(path, "image")
        assert e.value.field == "image" and f"bomb{side}.png" in str(e.value) and "too large" in str(e.value)


def test_raw_png_is_sent_byte_for_byte_and_jpeg_is_converted(make_image: MakeImage) -> None:
    png, jpg = make_image("a.png", 32, 32), make_image("b.jpg", 32, 32)
    assert base64.b64decode(images.raw_png_b64(png)) == png.read_bytes()
    assert _open(images.raw_png_b64(jpg)).format == "PNG"
