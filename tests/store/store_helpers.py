"""Helpers for the gallery store tests: NovelAI-format PNGs written with Pillow, row snapshots."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from PIL import Image, PngImagePlugin

from peropix_tui.core.store import GalleryStore


def nai_png(prompt: str = "1girl, smile", seed: int = 1, size: tuple[int, int] = (64, 48),
            color: tuple[int, int, int] = (10, 20, 30), provider: str | None = None) -> bytes:
    """A PNG with the tEXt chunks NovelAI writes (Comment JSON with prompt/seed, Source)."""
    comment: dict[str, object] = {"prompt": prompt, "uc": "lowres", "seed": seed, "steps": 28,
                                  "width": size[0], "height": size[1], "scale": 5.0,
                                  "sampler": "k_euler_ancestral", "noise_schedule": "karras"}
    if provider:
        comment["peropix"] = {"version": 3, "provider": provider}
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "NovelAI generated image")
    info.add_text("Description", prompt)
    info.add_text("Software", "NovelAI")
    info.add_text("Source", "NovelAI Diffusion V4.5 4BDE2A90")
    info.add_text("Comment", json.dumps(comment))
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG", pnginfo=info)
    return buf.getvalue()


def write_file(path: Path, data: bytes, mtime_ns: int | None = None) -> Path:
    """Put a file in place the way another program would (not through the store)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def all_rows(s: GalleryStore) -> list[tuple[object, ...]]:
    """Every row as a comparable tuple, by path."""
    return sorted(
        (i.path, i.folder, i.size, i.mtime_ns, i.width, i.height, i.provider, i.model, i.seed, i.prompt,
         i.favourite, i.created)
        for i in s.page(limit=1_000_000, order="name")
    )


def disk_images(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.png")
            if not any(part.startswith(".") for part in p.relative_to(root).parts)}
