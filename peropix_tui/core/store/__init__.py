"""The gallery store: output layout, atomic saves, the SQLite index, folder operations.

Use :class:`GalleryStore` (``GalleryStore.from_config()`` for the configured output folder).
Thumbnails are in :mod:`peropix_tui.core.thumbs`.
"""

from __future__ import annotations

from .gallery import FolderInfo, GalleryStore, StoredImage, SyncReport, default_db_path
from .index import fts_query
from .layout import (
    StoreError,
    check_folder_name,
    folder_from_name,
    image_filename,
    sanitize_name,
    seq_of,
    session_folder,
)
from .ops import TrashTicket

__all__ = [
    "FolderInfo",
    "GalleryStore",
    "StoreError",
    "StoredImage",
    "SyncReport",
    "TrashTicket",
    "check_folder_name",
    "default_db_path",
    "folder_from_name",
    "fts_query",
    "image_filename",
    "sanitize_name",
    "seq_of",
    "session_folder",
]
