"""Thumbnails: size, cache keyed by path + mtime + size, placeholders for unreadable images."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PIL import Image
from store_helpers import nai_png, write_file

from peropix_tui.core import paths
from peropix_tui.core.thumbs import prune, thumbnail


def _img(path: Path, size: tuple[int, int], mode: str = "RGB", fmt: str = "PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new(mode, size, (200, 30, 60) if mode == "RGB" else (200, 30, 60, 255))
    im.paste((20, 200, 60) if mode == "RGB" else (20, 200, 60, 255), (0, 0, size[0] // 2, size[1]))
    im.save(path, fmt)
    return path


def test_thumbnail_fits_the_box_and_keeps_the_picture(tmp_path: Path) -> None:
    src = _img(tmp_path / "big.png", (832, 1216))
    t = thumbnail(src, 128)
    assert not t.placeholder and not t.cached
    assert t.path.is_relative_to(paths.cache_dir() / "thumbs")
    with Image.open(t.path) as im:
        assert max(im.size) == 128 and im.size == (88, 128)  # aspect ratio kept
        assert im.mode == "RGB"
        assert im.getpixel((10, 64)) == pytest.approx((20, 200, 60), abs=8)  # left half green
        assert im.getpixel((80, 64)) == pytest.approx((200, 30, 60), abs=8)  # right half red


def test_small_images_are_not_enlarged_and_jpeg_uses_draft(tmp_path: Path) -> None:
    small = thumbnail(_img(tmp_path / "s.png", (40, 30)), 256)
    with Image.open(small.path) as im:
        assert im.size == (40, 30)
    jpg = thumbnail(_img(tmp_path / "p.jpg", (2000, 1000), fmt="JPEG"), 100)
    with Image.open(jpg.path) as im:
        assert im.size == (100, 50)


def test_novelai_alpha_is_not_kept_but_real_transparency_is(tmp_path: Path) -> None:
    opaque = tmp_path / "nai.png"
    Image.new("RGBA", (64, 64), (1, 2, 3, 254)).save(opaque)  # NovelAI: alpha 254/255 carries metadata
    clear = tmp_path / "clear.png"
    Image.new("RGBA", (64, 64), (1, 2, 3, 0)).save(clear)
    with Image.open(thumbnail(opaque, 32).path) as im:
        assert im.mode == "RGB"
    with Image.open(thumbnail(clear, 32).path) as im:
        assert im.mode == "RGBA"


def test_cache_hit_and_invalidation_by_mtime_and_size(tmp_path: Path) -> None:
    src = _img(tmp_path / "a.png", (300, 300))
    first = thumbnail(src, 64)
    second = thumbnail(src, 64)
    assert second.cached and second.path == first.path
    assert thumbnail(src, 32).path != first.path  # another size, another entry
    # the source replaced by another image: a new thumbnail, not the stale one
    _img(src, (300, 150))
    os.utime(src, ns=(src.stat().st_mtime_ns + 10**9,) * 2)
    third = thumbnail(src, 64)
    assert not third.cached and third.path != first.path
    with Image.open(third.path) as im:
        assert im.size == (64, 32)


@pytest.mark.parametrize(
    "content",
    [b"", b"\x89PNG\r\n\x1a\n", b"definitely not an image", nai_png(size=(64, 64))[:-30], nai_png()[:60]],
    ids=["empty", "signature-only", "text", "truncated-end", "truncated-header"],
)
def test_corrupt_images_get_a_placeholder_not_an_exception(tmp_path: Path, content: bytes) -> None:
    src = write_file(tmp_path / "bad.png", content)
    t = thumbnail(src, 64)
    assert t.placeholder and t.reason and "bad.png" in t.reason
    with Image.open(t.path) as im:
        assert im.size == (64, 64)


def test_missing_file_and_decompression_bomb_get_placeholders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = thumbnail(tmp_path / "nope.png", 64)
    assert gone.placeholder and "nope.png" in (gone.reason or "")
    src = _img(tmp_path / "huge.png", (400, 400))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 160,000 px > 2 x limit: a "bomb"
    bomb = thumbnail(src, 64)
    assert bomb.placeholder and "DecompressionBomb" in (bomb.reason or "")


def test_bad_size_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="thumbnail size"):
        thumbnail(_img(tmp_path / "a.png", (10, 10)), 0)


def test_prune_removes_oldest_first(tmp_path: Path) -> None:
    made = []
    for i in range(4):
        t = thumbnail(_img(tmp_path / f"{i}.png", (100 + i, 100)), 64)
        os.utime(t.path, (1000 + i, 1000 + i))
        made.append(t.path)
    size = made[0].stat().st_size
    assert prune(size * 2 + size // 2) == 2
    assert [p.exists() for p in made] == [False, False, True, True]
