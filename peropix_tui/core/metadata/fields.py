"""Typed access to values parsed from untrusted metadata; errors name the field."""

from __future__ import annotations

import math
import re
from typing import Any

from ...i18n import _

_INT_TEXT = re.compile(r"^\s*-?[0-9]{1,30}\s*$")


class FieldError(ValueError):
    """A metadata field has the wrong type or an impossible value."""


def as_int(v: Any, name: str) -> int:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and _INT_TEXT.match(v):
        return int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise FieldError(_("{name}: expected an integer, got {value}").format(name=name, value=_show(v)))
    return v


def as_float(v: Any, name: str) -> float:
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            raise FieldError(_("{name}: expected a number, got {value}").format(name=name, value=_show(v))) from None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise FieldError(_("{name}: expected a number, got {value}").format(name=name, value=_show(v)))
    return float(v)


def as_str(v: Any, name: str) -> str:
    if not isinstance(v, str):
        raise FieldError(_("{name}: expected text, got {value}").format(name=name, value=_show(v)))
    return v


def as_bool(v: Any, name: str) -> bool:
    if not isinstance(v, bool):
        raise FieldError(_("{name}: expected true/false, got {value}").format(name=name, value=_show(v)))
    return v


def as_dict(v: Any, name: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise FieldError(_("{name}: expected an object, got {value}").format(name=name, value=_show(v)))
    return v


def as_list(v: Any, name: str) -> list[Any]:
    if not isinstance(v, list):
        raise FieldError(_("{name}: expected a list, got {value}").format(name=name, value=_show(v)))
    return v


class Fields:
    """A JSON object read with typed getters; ``where`` prefixes every error (e.g. ``Comment``)."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def get_int(self, key: str) -> int | None:
        v = self.data.get(key)
        return None if v is None else as_int(v, self._name(key))

    def get_float(self, key: str) -> float | None:
        v = self.data.get(key)
        return None if v is None else as_float(v, self._name(key))

    def get_str(self, key: str) -> str | None:
        v = self.data.get(key)
        return None if v is None else as_str(v, self._name(key))

    def get_bool(self, key: str) -> bool | None:
        v = self.data.get(key)
        return None if v is None else as_bool(v, self._name(key))

    def obj(self, key: str) -> Fields | None:
        v = self.data.get(key)
        return None if v is None else Fields(as_dict(v, self._name(key)), self._name(key))

    def objs(self, key: str) -> list[Fields]:
        v = self.data.get(key)
        items = [] if v is None else as_list(v, self._name(key))
        return [Fields(as_dict(x, f"{self._name(key)}[{i}]"), f"{self._name(key)}[{i}]") for i, x in enumerate(items)]

    def floats(self, key: str) -> list[float]:
        v = self.data.get(key)
        items = [] if v is None else as_list(v, self._name(key))
        return [as_float(x, f"{self._name(key)}[{i}]") for i, x in enumerate(items)]

    def strs(self, key: str) -> list[str]:
        v = self.data.get(key)
        items = [] if v is None else as_list(v, self._name(key))
        return [as_str(x, f"{self._name(key)}[{i}]") for i, x in enumerate(items)]


_MODEL_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".sft", ".bin", ".gguf")


def checkpoint_stem(path: str) -> str:
    """``/models/noob-1.0.safetensors`` -> ``noob-1.0`` (only known model extensions are cut)."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    for ext in _MODEL_EXTENSIONS:
        if name.lower().endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)]
    return name or path


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."
