"""Keep one loaded checkpoint (and its merged LoRAs) between generations; free it for real on unload.

A model is identified by its file (path, size, mtime), VAE file, prediction override, device and
dtype; asking for anything else unloads the current model first, so at most one SDXL model holds
memory. LoRAs stay merged while consecutive runs ask for the same list; a different list is
unmerged (newest first, bit-exact) and the new one merged.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .checkpoint import SDXLModel


@dataclass(frozen=True)
class ModelKey:
    checkpoint: str
    vae: str | None
    prediction: str | None
    device: str
    dtype: str
    stamp: tuple[int, int] = (0, 0)  # (size, mtime_ns) of the checkpoint, so a replaced file reloads

    @classmethod
    def for_file(cls, checkpoint: str, vae: str | None, prediction: str | None, device: str, dtype: str) -> ModelKey:
        path = os.path.abspath(checkpoint)
        try:
            st = os.stat(path)
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = (0, 0)
        vae_path = os.path.abspath(vae) if vae else None
        return cls(path, vae_path, prediction, device, dtype, stamp)


LoraList = tuple[tuple[str, float], ...]


class ModelCache:
    """One model at a time; thread-safe. Use :meth:`get` then :meth:`set_loras` inside :meth:`lock`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._key: ModelKey | None = None
        self._model: SDXLModel | None = None
        self._handles: list[Any] = []
        self._loras: LoraList = ()

    @property
    def model(self) -> SDXLModel | None:
        return self._model

    def get(self, key: ModelKey, loader: Callable[[], SDXLModel]) -> SDXLModel:
        """The cached model for ``key``, loading it with ``loader`` (after unloading another one)."""
        with self.lock:
            if self._model is not None and self._key == key:
                return self._model
            self.unload()
            self._model = loader()
            self._key = key
            return self._model

    def set_loras(self, loras: list[tuple[str, float]]) -> None:
        """Make exactly ``loras`` (path, weight) merged into the cached model."""
        from .lora import apply_lora

        wanted: LoraList = tuple((os.path.abspath(p), float(w)) for p, w in loras)
        with self.lock:
            if self._model is None or wanted == self._loras:
                return
            self._remove_loras()
            for path, weight in wanted:
                self._handles.append(apply_lora(self._model, path, weight))
                self._loras = (*self._loras, (path, weight))

    def _remove_loras(self) -> None:
        while self._handles:
            self._handles.pop().remove()
        self._loras = ()

    def unload(self) -> None:
        """Drop the model and really return its memory (gc + CUDA cache)."""
        with self.lock:
            if self._model is not None:
                try:
                    self._remove_loras()
                finally:
                    self._handles.clear()
                    self._loras = ()
                    self._model = None
                    self._key = None
            free_memory()


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.ipc_collect()  # type: ignore[no-untyped-call]  # torch leaves ipc_collect unannotated
