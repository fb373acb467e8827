"""Image metadata in every dialect: read (NovelAI, stealth alpha, A1111, ComfyUI, EXIF), write, restore.

The API other modules code against::

    read_metadata(path_or_bytes) -> MetadataRecord        # raises NoMetadataError
    write_novelai_png(image, settings, seed=..., peropix=...) -> bytes
    embed_peropix(png_bytes, peropix) -> bytes
    restore_settings(record, groups, into) -> (settings, warnings)
"""

from __future__ import annotations

from .reader import read_metadata
from .record import DIALECTS, MetadataRecord, NoMetadataError
from .restore import GROUPS, restore_settings
from .writer import embed_peropix, write_novelai_png

__all__ = [
    "DIALECTS",
    "GROUPS",
    "MetadataRecord",
    "NoMetadataError",
    "embed_peropix",
    "read_metadata",
    "restore_settings",
    "write_novelai_png",
]
