"""Vibe transfer inputs: the on-disk encoding cache, ``.naiv4vibe`` import, and resolution.

``/ai/encode-vibe`` costs 2 Anlas and is not deterministic (spec §12), so every encoding is kept
in ``cache_dir()/vibes`` under ``sha256(image bytes) + model family + information_extracted``.
Families are the ``.naiv4vibe`` keys: ``v4full``, ``v4curated``, ``v4-5full``, ``v4-5curated``.
V3 models take the raw image instead of an encoding; V5 takes no vibes at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ... import i18n
from .. import paths
from ..backend import CancelToken
from ..fsutil import atomic_write
from ..settings import GenerationSettings, SettingsError, VibeReference
from . import images

FAMILY_ENCODER = {
    "v4full": "nai-diffusion-4-full",
    "v4curated": "nai-diffusion-4-curated-preview",
    "v4-5full": "nai-diffusion-4-5-full",
    "v4-5curated": "nai-diffusion-4-5-curated",
}
NAIV4VIBE_SUFFIX = ".naiv4vibe"
INFO_TOLERANCE = 0.001
MAX_VIBE_FILE = images.MAX_REFERENCE_FILE
"""A vibe image or ``.naiv4vibe`` file larger than this is refused before it is read."""


class VibeEncoder(Protocol):
    async def encode_vibe(self, image_b64: str, information_extracted: float, model: str,
                          cancel: CancelToken | None = None) -> bytes: ...


def model_family(model: str) -> str | None:
    """The vibe family of a model id: a ``.naiv4vibe`` key, ``"v3"`` (raw images), or None (no vibes)."""
    base = model.removesuffix("-inpainting")
    if base in ("nai-diffusion-3", "nai-diffusion-furry-3"):
        return "v3"
    if base.startswith("nai-diffusion-4-5-"):
        return "v4-5curated" if "curated" in base else "v4-5full"
    if base.startswith("nai-diffusion-4-"):
        return "v4curated" if "curated" in base else "v4full"
    return None


def info_key(information_extracted: float) -> str:
    return f"{round(information_extracted * 100):03d}"


class VibeCache:
    """Encodings on disk, one small file each (base64 text), written atomically."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or paths.cache_dir() / "vibes"

    def path(self, image_sha256: str, family: str, information_extracted: float) -> Path:
        return self.root / f"{image_sha256}_{family}_{info_key(information_extracted)}.vibe"

    def get(self, image_sha256: str, family: str, information_extracted: float) -> str | None:
        try:
            text = self.path(image_sha256, family, information_extracted).read_text("ascii").strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        return text or None

    def put(self, image_sha256: str, family: str, information_extracted: float, encoding_b64: str) -> Path:
        return atomic_write(self.path(image_sha256, family, information_extracted), encoding_b64.encode("ascii"))


# ------------------------------------------------------------------ sources
@dataclass
class VibeSource:
    """What one vibe needs: a ready encoding, or image bytes to encode (or to send raw on V3)."""

    encoding: str | None = None
    image: bytes | None = None
    info: float | None = None
    """information_extracted the encoding was made with, when known (``.naiv4vibe``)."""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.image or b"").hexdigest()


def load_naiv4vibe(path: str | Path, family: str, information_extracted: float | None = None) -> VibeSource:
    """Pick the encoding for ``family`` from a ``.naiv4vibe`` file (JSON exported by NovelAI).

    Preference: the encoding made at ``information_extracted``, else the one the file was
    imported with (``importInfo``), else the first for the family; the returned ``info`` says
    which value it was made with. A file without an encoding for the family but with its source
    image yields the image, to be encoded (and cached).
    """
    data = _read_json(Path(path))
    encodings = data.get("encodings") or {}
    if not isinstance(encodings, dict):
        raise images.ImageInputError("vibe", i18n.gettext("{file}: 'encodings' is not an object").format(file=path))
    imported = data.get("importInfo")
    if not isinstance(imported, dict):
        imported = {}
    imported_info = imported.get("information_extracted")
    if isinstance(imported_info, bool) or not isinstance(imported_info, int | float):
        imported_info = None
    found = _entries(encodings.get(family))
    for want in (information_extracted, imported_info):
        for info, enc in found:
            if want is not None and info is not None and abs(info - want) <= INFO_TOLERANCE:
                return VibeSource(encoding=enc, info=info)
    if found:
        return VibeSource(encoding=found[0][1], info=found[0][0])
    image = data.get("image")
    if isinstance(image, str) and image:
        try:
            return VibeSource(image=base64.b64decode(image, validate=True))
        except ValueError:
            raise images.ImageInputError("vibe", i18n.gettext("{file}: 'image' is not valid base64")
                                         .format(file=path)) from None
    have = ", ".join(sorted(str(k) for k in encodings)[:8]) or i18n.gettext("none")
    raise SettingsError("vibe", i18n.gettext("{file}: no encoding for model family {family} and no source image "
                                             "(file has encodings for: {have})")
                        .format(file=path, family=family, have=have))


def _read_json(path: Path) -> dict[str, Any]:
    raw = read_bounded(path, "vibe")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise images.ImageInputError("vibe", _not_vibe_json(path, e.__class__.__name__)) from None
    except RecursionError:
        raise images.ImageInputError("vibe", _not_vibe_json(path, i18n.gettext("nested too deeply"))) from None
    if not isinstance(data, dict):
        raise images.ImageInputError("vibe", i18n.gettext("{file}: not a .naiv4vibe object").format(file=path))
    return data


def _not_vibe_json(path: Path, why: str) -> str:
    return i18n.gettext("{file}: not a valid .naiv4vibe JSON file ({error})").format(file=path, error=why)


def _entries(entries: Any) -> list[tuple[float | None, str]]:
    """(information_extracted, encoding) of each usable entry of one family."""
    if not isinstance(entries, dict):
        return []
    found: list[tuple[float | None, str]] = []
    for entry in entries.values():
        if isinstance(entry, dict) and isinstance(entry.get("encoding"), str) and entry["encoding"]:
            params = entry.get("params") or {}
            info = params.get("information_extracted") if isinstance(params, dict) else None
            value = float(info) if isinstance(info, int | float) and not isinstance(info, bool) else None
            found.append((value if value is not None and 0.0 <= value <= 1.0 else None, entry["encoding"]))
    return found


def vibe_source(vibe: VibeReference, family: str, *, index: int = 0, cache: VibeCache | None = None) -> VibeSource:
    """Where the vibe's encoding comes from: known encoding, ``.naiv4vibe`` file, an image file, or
    (a vibe restored from metadata, known only by its image's sha256) the encoding cache."""
    if vibe.encoding:
        return VibeSource(encoding=vibe.encoding)
    if not vibe.path and vibe.image_sha256:
        return cached_source(vibe, family, cache or VibeCache(), index)
    if not vibe.path:
        raise SettingsError(f"vibes[{index}]", i18n.gettext("has neither an image path nor an encoding"))
    path = Path(vibe.path).expanduser()
    if path.suffix.lower() == NAIV4VIBE_SUFFIX:
        return load_naiv4vibe(path, family, vibe.information_extracted)
    return VibeSource(image=read_bounded(path, f"vibes[{index}]"))


def read_bounded(path: Path, field: str, limit: int = MAX_VIBE_FILE) -> bytes:
    """The file's bytes, refusing a missing, unreadable or oversized file before reading it whole."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise images.ImageInputError(field, i18n.gettext("{file}: {size} bytes is too large for a vibe (over "
                                                             "{limit} MB); downscale it")
                                         .format(file=path, size=size, limit=limit // 2**20))
        with open(path, "rb") as f:
            return f.read(limit + 1)[:limit]
    except FileNotFoundError:
        raise images.ImageInputError(field, i18n.gettext("{file}: file not found").format(file=path)) from None
    except OSError as e:
        raise images.ImageInputError(field, i18n.gettext("{file}: cannot read ({error})")
                                     .format(file=path, error=e.strerror or e.__class__.__name__)) from None


def cached_source(vibe: VibeReference, family: str, cache: VibeCache, index: int = 0) -> VibeSource:
    """The cached encoding of a vibe known only by ``image_sha256`` (+ family + information_extracted)."""
    sha = vibe.image_sha256 or ""
    encoding = cache.get(sha, family, vibe.information_extracted) if family in FAMILY_ENCODER else None
    if encoding is None:
        raise SettingsError(f"vibes[{index}]", i18n.gettext("vibe {sha}: the source image is not stored in the "
                                                            "metadata and not in the vibe cache; pass --vibe PATH")
                            .format(sha=sha[:8]))
    return VibeSource(encoding=encoding, info=vibe.information_extracted)


def png_b64(image: bytes, where: str) -> str:
    """The image as base64 PNG (NovelAI's encode payload), downscaled like the website's uploads."""
    return images.vibe_png_b64(image, where)


# --------------------------------------------------------------- resolution
def _family_or_none(settings: GenerationSettings) -> str | None:
    if settings.action == "infill" or settings.charref is not None or not settings.enabled_vibes():
        return None
    return model_family(settings.model)


async def resolve_vibes(settings: GenerationSettings, client: VibeEncoder, *, cache: VibeCache | None = None,
                        cancel: CancelToken | None = None) -> list[str]:
    """The ``reference_image_multiple`` values for the enabled vibes, encoding only what is missing.

    V4/V4.5: base64 encodings (cache first, then ``/ai/encode-vibe``, then cached). V3: the raw
    images as base64 PNG. Infill, character reference and models without vibes (V5): an empty
    list. A ``.naiv4vibe`` encoding made at another information_extracted updates that vibe's
    value, so the request says what the encoding really is.
    """
    family = _family_or_none(settings)
    if family is None:
        return []
    cache = cache or VibeCache()
    out = []
    for i, vibe in enumerate(settings.enabled_vibes()):
        src = vibe_source(vibe, family, index=i, cache=cache)
        if src.encoding:
            if src.info is not None:  # send the value the encoding was made with
                vibe.information_extracted = src.info
            out.append(src.encoding)
            continue
        assert src.image is not None
        vibe.image_sha256 = src.sha256  # the cache key, kept in the image's metadata
        image_b64 = png_b64(src.image, vibe.path or f"vibes[{i}]")
        if family == "v3":
            out.append(image_b64)
            continue
        cached = cache.get(src.sha256, family, vibe.information_extracted)
        if cached is None:
            raw = await client.encode_vibe(image_b64, vibe.information_extracted, FAMILY_ENCODER[family], cancel)
            cached = base64.b64encode(raw).decode("ascii")
            cache.put(src.sha256, family, vibe.information_extracted, cached)
        out.append(cached)
    return out


def resolve_vibes_offline(settings: GenerationSettings, *, cache: VibeCache | None = None) -> tuple[list[str], int]:
    """Like :func:`resolve_vibes` but never encodes: uncached vibes become a placeholder string.

    Returns the values and how many are placeholders (for ``--dry-run``).
    """
    family = _family_or_none(settings)
    if family is None:
        return [], 0
    cache = cache or VibeCache()
    out, missing = [], 0
    for i, vibe in enumerate(settings.enabled_vibes()):
        src = vibe_source(vibe, family, index=i, cache=cache)
        if src.encoding:
            if src.info is not None:
                vibe.information_extracted = src.info
            out.append(src.encoding)
        elif family == "v3":
            assert src.image is not None
            out.append(png_b64(src.image, vibe.path or f"vibes[{i}]"))
        else:
            cached = cache.get(src.sha256, family, vibe.information_extracted)
            missing += cached is None
            out.append(cached or f"<not encoded yet: {vibe.path}>")
    return out, missing


def count_uncached(settings: GenerationSettings, *, cache: VibeCache | None = None) -> int:
    """How many enabled vibes would need ``/ai/encode-vibe`` (2 Anlas each) right now."""
    family = _family_or_none(settings)
    if family in (None, "v3"):
        return 0
    assert family is not None
    cache = cache or VibeCache()
    count = 0
    for i, vibe in enumerate(settings.enabled_vibes()):
        try:
            src = vibe_source(vibe, family, index=i, cache=cache)
        except SettingsError:
            continue  # the generation itself reports the bad file
        if not src.encoding and cache.get(src.sha256, family, vibe.information_extracted) is None:
            count += 1
    return count
