"""The safetensors header, parsed and validated without torch (no tensor data is read).

Layout: 8 bytes little-endian header length N, N bytes of JSON, then the tensor data. The JSON is
one flat object: ``__metadata__`` (text -> text) and, per tensor, ``{"dtype", "shape", "data_offsets"}``.
Everything is checked before use (types, finite whole numbers, sizes matching offsets, offsets
within the file), so a hostile or damaged file gives one :class:`CheckpointError` naming it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..i18n import N_, _

MAX_HEADER = 100 * 1024 * 1024
MAX_DIMS = 8
MAX_DIM = 1 << 40
ITEMSIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2, "F16": 2,
    "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
}


class CheckpointError(ValueError):
    """A checkpoint (or VAE) file that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class TensorEntry:
    dtype: str
    shape: tuple[int, ...]


def invalid(path: Path | str, why: str) -> CheckpointError:
    return CheckpointError(_("{file}: not a valid .safetensors file: {why}").format(file=path, why=why))


def read_header(path: str | os.PathLike[str]) -> tuple[dict[str, TensorEntry], dict[str, str]]:
    """Parse and validate a safetensors header without reading tensor data."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            raw_len = f.read(8)
            n = int.from_bytes(raw_len, "little")
            if len(raw_len) < 8 or n <= 1 or n > min(MAX_HEADER, size - 8):
                raise invalid(p, _("bad header length (truncated, or another format)"))
            raw = f.read(n)
    except OSError as e:
        raise CheckpointError(_("{file}: cannot read ({error})").format(file=p, error=e.strerror or e)) from None
    return parse_header(raw, size - 8 - n, p)


def parse_header(raw: bytes, data_size: int, where: Path | str = "<header>") -> tuple[dict[str, TensorEntry],
                                                                                   dict[str, str]]:
    """The entries and metadata of a header's JSON ``raw``, checked against ``data_size`` bytes of data."""
    try:
        header: Any = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise invalid(where, _("header is not JSON ({error})").format(error=e.__class__.__name__)) from None
    except RecursionError:
        raise invalid(where, _("header JSON is nested too deeply")) from None
    if not isinstance(header, dict):
        raise invalid(where, _("header is {kind}, not a JSON object").format(kind=_kind(header)))
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise invalid(where, _("__metadata__ is not an object of text values"))
    entries: dict[str, TensorEntry] = {}
    end = 0
    for key, entry in header.items():
        entries[key], stop = _entry(key, entry, where)
        end = max(end, stop)
    if end > data_size:
        raise invalid(where, _("truncated ({size} bytes of tensor data, header needs {end})")
                      .format(size=data_size, end=end))
    return entries, {str(k): v for k, v in meta.items()}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_KINDS: dict[type, str] = {str: N_("a string"), list: N_("an array"), int: N_("a number"), float: N_("a number"),
                           bool: N_("a boolean")}


def _kind(value: Any) -> str:
    return _(_KINDS[type(value)]) if type(value) in _KINDS else "null"


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _entry(key: str, entry: Any, where: Path | str) -> tuple[TensorEntry, int]:
    shown = key if len(key) <= 80 else key[:77] + "..."
    if not isinstance(entry, dict):
        raise invalid(where, _("entry {key} is {kind}, not an object").format(key=repr(shown), kind=_kind(entry)))
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in ITEMSIZE:
        raise invalid(where, _("entry {key} has an unknown dtype").format(key=repr(shown)))
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(_whole(d, 0, MAX_DIM) for d in shape):
        raise invalid(where, _("entry {key} has a bad shape (at most {dims} whole sizes up to {limit})")
                      .format(key=repr(shown), dims=MAX_DIMS, limit=MAX_DIM))
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_whole(o, 0, 1 << 62) for o in offsets)
            or offsets[0] > offsets[1]):
        raise invalid(where, _("entry {key} has bad data_offsets").format(key=repr(shown)))
    nbytes = math.prod(shape) * ITEMSIZE[dtype]
    if nbytes != offsets[1] - offsets[0]:
        raise invalid(where, _("entry {key}: shape {shape} of {dtype} needs {nbytes} bytes, "
                               "data_offsets give {given}")
                      .format(key=repr(shown), shape=shape, dtype=dtype, nbytes=nbytes, given=offsets[1] - offsets[0]))
    return TensorEntry(dtype, tuple(shape)), offsets[1]
