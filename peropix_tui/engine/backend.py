"""``LocalBackend``: the local SDXL engine behind :class:`peropix_tui.core.backend.Backend`.

Maps :class:`GenerationSettings` (NovelAI vocabulary) onto a pipeline :class:`~.pipeline.Request`,
runs it in a worker thread, and returns NovelAI-format PNGs whose ``peropix`` object names the
provider, checkpoint (+ short hash), LoRAs, sampler and schedule actually used.

Mapping notes: NovelAI sampler/schedule names become ComfyUI ones (``k_euler_ancestral`` →
``euler_ancestral``, ``native`` → ``normal``); the rest as :mod:`..core.local.request` maps it
(characters appended; ``quality``/``uc_preset`` as configured under ``[local]``, else nothing;
the prompt dialect);
``noise``/vibes/character references do not apply locally. ``img2img``
uses ``strength`` as ComfyUI's denoise; ``infill`` regenerates the masked area fully (denoise 1).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image

from ..core.backend import (
    BackendError,
    CancelToken,
    GeneratedImage,
    GenerationCancelled,
    Progress,
    ProgressCallback,
)
from ..core.config import LocalConfig
from ..core.local.request import prompt_dialect, request_fields
from ..core.settings import GenerationSettings
from ..i18n import _
from .cache import ModelCache, ModelKey
from .latents import preview_jpeg
from .pipeline import Request, generate, image_seed

if TYPE_CHECKING:
    from .checkpoint import SDXLModel

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
_SHARED_CACHE = ModelCache()


def pick_device(wanted: str | None) -> str:
    """``cuda`` / ``mps`` / ``cpu``; None picks the best available."""
    if wanted:
        if wanted == "cuda" and not torch.cuda.is_available():
            raise BackendError(_("device: CUDA was asked for but torch sees no CUDA GPU (CPU-only torch build?)"))
        if wanted == "mps" and not torch.backends.mps.is_available():
            raise BackendError(_("device: MPS was asked for but is not available"))
        return wanted
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(wanted: str | None, device: str) -> str:
    """Default: bf16 on CUDA with bf16 support, fp16 on other GPUs, fp32 on the CPU."""
    if wanted:
        if wanted not in _DTYPES:
            raise BackendError(_("dtype: {value} is not one of {choices}").format(value=repr(wanted),
                                                                                 choices=", ".join(_DTYPES)))
        return wanted
    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp16" if device == "mps" else "fp32"


def to_request(s: GenerationSettings, seed: int, presets: LocalConfig | None = None) -> Request:
    """The engine request for ``s`` (files opened here; errors name the field and file)."""
    try:
        fields = request_fields(s, seed, presets)
    except ValueError as e:
        raise BackendError(str(e)) from None
    image = _open_image("image", s.image) if s.action in ("img2img", "infill") else None
    mask = _open_image("mask", s.mask) if s.action == "infill" else None
    return Request(image=image, mask=mask, **fields)


def _open_image(field: str, path: str | None) -> Image.Image:
    if not path:
        raise BackendError(_("{field}: no file given").format(field=field))
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except (OSError, ValueError) as e:
        raise BackendError(_("{field}: cannot read image {file} ({error})").format(field=field, file=path,
                                                                                  error=e)) from None


class LocalBackend:
    """Generates with a local SDXL-family checkpoint (``settings.checkpoint``)."""

    name = "local"

    def __init__(self, cache: ModelCache | None = None, presets: LocalConfig | None = None) -> None:
        self.cache = cache or _SHARED_CACHE
        self.presets = presets  # what "quality tags" / "UC preset" mean locally (config [local])

    async def generate(
        self, settings: GenerationSettings, on_progress: ProgressCallback, cancel: CancelToken
    ) -> list[GeneratedImage]:
        loop = asyncio.get_running_loop()

        def report(p: Progress) -> None:  # progress is delivered on the caller's event loop
            loop.call_soon_threadsafe(on_progress, p)

        return await asyncio.to_thread(self.generate_sync, settings, report, cancel)

    def generate_sync(
        self, settings: GenerationSettings, on_progress: ProgressCallback, cancel: CancelToken
    ) -> list[GeneratedImage]:
        """The blocking body of :meth:`generate` (one generation at a time per cache)."""
        if not settings.checkpoint:
            raise BackendError(_("checkpoint: no local checkpoint chosen (the Parameters tab in the app, "
                                 "--checkpoint PATH on the command line)"))
        seed = settings.seed if settings.seed is not None else secrets.randbelow(2**32)
        request = to_request(settings, seed, self.presets)
        with self.cache.lock:
            model = self._model(settings, on_progress, request.total_steps())
            started = time.monotonic()
            images = self._run(model, request, on_progress, cancel)
            elapsed = time.monotonic() - started
            return [self._encode(model, settings, img, image_seed(seed, i), i, elapsed / len(images))
                    for i, img in enumerate(images)]

    def _model(self, s: GenerationSettings, on_progress: ProgressCallback, total: int) -> SDXLModel:
        from .checkpoint import load_checkpoint

        checkpoint = s.checkpoint or ""
        device = pick_device(s.device)
        dtype = pick_dtype(s.dtype, device)
        key = ModelKey.for_file(checkpoint, s.vae, s.prediction, device, dtype)

        def load() -> SDXLModel:
            on_progress(Progress(0, total, message=_("loading {name} ({device}, {dtype})")
                                 .format(name=Path(checkpoint).name, device=device, dtype=dtype)))
            return load_checkpoint(checkpoint, vae_path=s.vae, prediction=s.prediction, device=device,
                                   dtype=_DTYPES[dtype])

        try:
            model = self.cache.get(key, load)
            self.cache.set_loras([(lora.path, lora.weight) for lora in s.loras])
        except (ValueError, OSError) as e:  # CheckpointError / LoraError are ValueErrors naming the file
            raise BackendError(str(e)) from None
        return model

    def _run(self, model: SDXLModel, request: Request, on_progress: ProgressCallback,
             cancel: CancelToken) -> list[Image.Image]:
        def on_step(step: int, total: int, index: int, x0: torch.Tensor) -> None:
            on_progress(Progress(step=step, total=total, sample=index, preview=preview_jpeg(x0)))

        try:
            return generate(model, request, on_step=on_step, cancel=cancel)
        except GenerationCancelled:
            raise
        except torch.OutOfMemoryError:
            self.cache.unload()
            raise BackendError(_("out of GPU memory: try a smaller size, fewer images, or --dtype bf16"),
                               retryable=True) from None
        except ValueError as e:
            raise BackendError(str(e)) from None
        except torch._dynamo.exc.TorchDynamoException as e:  # --compile: no C compiler, no Triton, …
            cause = getattr(e, "inner_exception", None) or e  # BackendCompilerFailed wraps the real one
            lines = str(cause).strip().splitlines()
            why = f"{type(cause).__name__}: {lines[0][:200]}" if lines else type(cause).__name__
            raise BackendError(_("torch.compile failed ({error}); generate without it "
                                 "(--no-compile, or untick torch.compile in Parameters)").format(error=why)) from None

    def _encode(self, model: SDXLModel, s: GenerationSettings, image: Image.Image, seed: int, index: int,
                seconds: float) -> GeneratedImage:
        info = self._peropix(model, s, seed)
        settings = s.copy(provider="local", seed=seed, n_samples=1)
        data = _png(image, settings, seed, info, seconds)
        return GeneratedImage(data=data, seed=seed, index=index, extension="png", info=info)

    def _peropix(self, model: SDXLModel, s: GenerationSettings, seed: int) -> dict[str, Any]:
        from .samplers import sampler_name, schedule_name

        return {
            "provider": "local",
            "checkpoint": Path(model.path).name,
            "checkpoint_hash": model.sha256_short,
            "prediction": "v-zsnr" if model.info.ztsnr else model.info.prediction,
            "loras": [{"name": Path(lora.path).name, "weight": lora.weight} for lora in s.loras],
            "sampler": sampler_name(s.sampler),
            "schedule": schedule_name(s.noise_schedule),
            "seed": seed,
            "prompt_dialect": prompt_dialect(s, self.presets),
        }


def _png(image: Image.Image, settings: GenerationSettings, seed: int, peropix: dict[str, Any],
         seconds: float) -> bytes:
    try:
        from ..core.metadata import write_novelai_png
    except ImportError:  # metadata module absent: a plain PNG still saves the image
        import io

        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()
    return write_novelai_png(image, settings, seed=seed, peropix=peropix, generation_time=seconds)
