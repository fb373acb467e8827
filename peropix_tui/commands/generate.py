"""``peropix generate``: make images headlessly with NovelAI (default) or the local engine.

Images are written atomically to ``--out`` (default: the configured output folder) as the bytes
the backend returned (NovelAI's PNGs keep their metadata chunks), one path printed per line
(``--json``: a JSON list of paths). ``--dry-run`` sends nothing and prints the exact request
body (``--json``: the body alone, base64 fields shortened).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from .genopts import add_generation_options, settings_from_args


def register(sub: Any) -> None:
    p = sub.add_parser("generate", help="generate images without the TUI (NovelAI or local)",
                       description="Generate images headlessly and save them as PNG files.")
    add_generation_options(p)
    o = p.add_argument_group("output")
    o.add_argument("--out", metavar="DIR", help="folder for the images (default: the configured output folder)")
    o.add_argument("--dry-run", action="store_true", help="send nothing; print the exact request body")
    o.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.config import load_config

    settings = settings_from_args(args)
    config = load_config()
    if args.dry_run and settings.provider == "comfyui":
        from .comfyui import dry_run

        return dry_run(args, settings, config)
    if args.dry_run:
        return _dry_run(settings, config, as_json=args.json)
    backend = _backend(settings.provider, config, args)
    images = asyncio.run(_generate(backend, settings))
    out_dir = Path(args.out).expanduser() if args.out else config.output_dir
    paths = [_save(out_dir, img) for img in images]
    if args.json:
        print(json.dumps([str(p) for p in paths]))
    else:
        for path in paths:
            print(path)
    return 0


def _backend(provider: str, config: Any, args: Any = None) -> Any:
    from ..core.backend import BackendError

    if provider == "comfyui":
        from .comfyui import backend_from_args

        return backend_from_args(args, config)
    if provider == "local":
        try:
            from ..engine.backend import LocalBackend
        except ImportError as e:
            raise BackendError(f"the local engine is not available ({e}); install the [local] extra") from None
        return LocalBackend(presets=config.local)
    from ..core.nai.backend import NaiBackend

    return NaiBackend()


async def _generate(backend: Any, settings: Any) -> list[Any]:
    from ..core.backend import CancelToken, Progress

    tty = sys.stderr.isatty()

    def on_progress(p: Progress) -> None:
        if p.message:
            print(f"peropix: {p.message}", file=sys.stderr)
        elif tty and p.total:
            print(f"\rstep {p.step}/{p.total}", end="", file=sys.stderr, flush=True)

    try:
        return list(await backend.generate(settings, on_progress, CancelToken()))
    finally:
        if tty:
            print("\r", end="", file=sys.stderr)
        close = getattr(backend, "aclose", None)
        if close is not None:
            await close()


def _save(out_dir: Path, image: Any) -> Path:
    """Write one image atomically as ``<timestamp>_<seed>_<index>.<ext>``, never overwriting."""
    from ..core.fsutil import atomic_write

    stem = f"{time.strftime('%Y%m%d-%H%M%S')}_{image.seed}_{image.index}"
    for n in range(1000):
        path = out_dir / f"{stem}{'' if n == 0 else f'-{n}'}.{image.extension}"
        try:
            return atomic_write(path, image.data, exclusive=True)
        except FileExistsError:
            continue
    raise OSError(f"{out_dir}: could not find a free file name for {stem}")


def _dry_run(settings: Any, config: Any, *, as_json: bool) -> int:
    if settings.provider == "local":
        print(json.dumps(settings.to_dict(), indent=None if as_json else 2))
        return 0
    from ..core.nai.request import build_request, redact_body
    from ..core.nai.vibe import resolve_vibes_offline

    encodings, missing = resolve_vibes_offline(settings)
    stream = "msgpack" if config.nai.stream else None
    body = build_request(settings, vibe_encodings=encodings or None, stream=stream)
    endpoint = "/ai/generate-image-stream" if stream else "/ai/generate-image"
    print(f"dry run: would POST {config.nai.base_url}{endpoint}; nothing sent", file=sys.stderr)
    if missing:
        print(f"dry run: {missing} vibe(s) not encoded yet (placeholders shown)", file=sys.stderr)
    if as_json:
        print(json.dumps(redact_body(body), ensure_ascii=False))
    else:
        print(json.dumps(body, ensure_ascii=False, indent=2))
    return 0
