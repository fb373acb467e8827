"""Seeded mutation fuzzing of every parser that reads outside input.

    python bench/fuzz.py TARGET [N] [SEED]      # one target (N cases, default 10000; seed default 1)
    python bench/fuzz.py all [N] [SEED]         # every target, each in its own process, then a table
    python bench/fuzz.py list                   # the registered targets

Each case starts from a seed input of the target and applies 1-4 random mutations (bit flips,
cuts, inserts, duplicated blocks, "interesting" numbers, tokens of the format, splices with
another seed); PNG inputs are mutated chunk by chunk and their CRCs recomputed, so the mutations
get past the CRC check into the chunk parsers. A case is a **crash** when the target raises
anything but its documented error types, and a **hang** when it runs over the per-case alarm
(2 s of CPU time, ``signal.setitimer(ITIMER_PROF)``). Peak RSS is the process's ``ru_maxrss``. The run is reproducible:
the same TARGET, N and SEED give the same cases.

Targets are a registry (:data:`TARGETS`, :func:`target`): a new parser (e.g. ComfyUI websocket
messages) is one decorated function returning a :class:`Target`.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import json
import os
import random
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HANG_SECONDS = 2.0
"""A case using more CPU time than this is a hang (CPU time: a machine busy with other work does not
make a case look hung)."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 2**63 - 1]
TEXT_INTERESTING = ["1e999", "-1e999", "nan", "inf", "-0", "99999999999999999999", "-1", "0x10", "", "null",
                    "\u202e", "\x00", "\\", '"', "'", "\n", "\r\n", "\ufeff", "\U0001f600", "::", "{{{{", "]]]]"]


# ---------------------------------------------------------------------------------- registry
@dataclass
class Target:
    """One fuzzed parser: ``run(data)`` may raise only ``expected`` errors for any ``data``."""

    name: str
    seeds: list[bytes]
    run: Callable[[bytes], object]
    expected: tuple[type[BaseException], ...]
    tokens: list[bytes] = field(default_factory=list)
    """Format tokens the mutator inserts (brackets, keys, magic numbers)."""
    png: bool = False
    """Inputs are PNGs: mutate chunk contents and fix the CRCs."""
    close: Callable[[], None] = lambda: None


TargetFactory = Callable[[], Target]
TARGETS: dict[str, TargetFactory] = {}


def target(name: str) -> Callable[[TargetFactory], TargetFactory]:
    """Register a target factory under ``name`` (built only when that target runs)."""

    def register(factory: TargetFactory) -> TargetFactory:
        TARGETS[name] = factory
        return factory

    return register


class SkipTarget(Exception):
    """Raised by a target factory that cannot run here; the message says why (it is shown in the table)."""


class _Hang(BaseException):
    """Raised by the alarm: the case ran over :data:`HANG_SECONDS`."""


# ---------------------------------------------------------------------------------- mutation
def png_chunks(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """(type, data) of each chunk of a well-formed PNG, else None."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    out, at = [], 8
    while at + 12 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        body = data[at + 8 : at + 8 + length]
        if len(body) != length:
            return None
        out.append((kind, body))
        at += 12 + length
    return out


def make_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def mutate_bytes(rng: random.Random, data: bytes, tokens: list[bytes], others: list[bytes]) -> bytes:
    buf = bytearray(data or b"\x00")
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        at = rng.randrange(len(buf)) if buf else 0
        if op == 0:
            buf[at] ^= 1 << rng.randrange(8)
        elif op == 1:
            del buf[at : at + rng.randint(1, 32)]
        elif op == 2:
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif op == 3:
            n = rng.randint(1, 64)
            buf[at:at] = buf[at : at + n] * rng.randint(1, 8)
        elif op == 4:
            width = rng.choice((1, 2, 4, 8))
            value = rng.choice(INTERESTING) & ((1 << (8 * width)) - 1)
            buf[at : at + width] = value.to_bytes(width, rng.choice(("big", "little")))
        elif op == 5 and tokens:
            buf[at:at] = rng.choice(tokens) * rng.choice((1, 1, 1, 2, 50, 3000))
        elif op == 6:
            buf[at:at] = rng.choice(TEXT_INTERESTING).encode("utf-8")
        elif others:
            other = rng.choice(others)
            cut = rng.randrange(len(other) + 1)
            buf = buf[:at] + bytearray(other[cut:])
        if not buf:
            buf = bytearray(b"\x00")
    return bytes(buf)


def mutate_png(rng: random.Random, data: bytes, tokens: list[bytes], others: list[bytes]) -> bytes:
    """Mutate chunk contents (and sometimes chunk order, types or counts), then recompute CRCs."""
    chunks = png_chunks(data)
    if chunks is None or rng.random() < 0.15:
        return mutate_bytes(rng, data, tokens, others)
    return mutate_chunks(rng, chunks, tokens)


def mutate_chunks(rng: random.Random, chunks: list[tuple[bytes, bytes]], tokens: list[bytes]) -> bytes:
    """A PNG made of ``chunks`` after 1-3 chunk mutations, every CRC recomputed."""
    chunks = list(chunks)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(chunks))
        kind, body = chunks[i]
        op = rng.randrange(6)
        if op <= 2 and kind != b"IEND":
            chunks[i] = (kind, mutate_bytes(rng, body, tokens, []))
        elif op == 3:
            chunks.insert(rng.randrange(len(chunks) + 1), chunks[i])
        elif op == 4 and len(chunks) > 2:
            del chunks[i]
        else:
            other = rng.choice((b"tEXt", b"iTXt", b"zTXt", b"IDAT", b"IHDR", b"eXIf", b"IEND"))
            chunks[i] = (other, body)
    return PNG_SIGNATURE + b"".join(make_chunk(k, b) for k, b in chunks)


# ---------------------------------------------------------------------------------- runner
@dataclass
class Result:
    target: str
    cases: int = 0
    crashes: int = 0
    hangs: int = 0
    slowest_ms: float = 0.0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    examples: list[str] = field(default_factory=list)
    """The first distinct crash / hang descriptions (type, message, where)."""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _alarm(_signum: int, _frame: object) -> None:
    raise _Hang()


def _where(e: BaseException) -> str:
    frames = traceback.extract_tb(e.__traceback__)
    project = [f for f in frames if "peropix_tui" in f.filename] or frames
    f = project[-1] if project else None
    return f"{Path(f.filename).name}:{f.lineno}" if f else "?"


def fuzz(name: str, cases: int, seed: int, *, hang_seconds: float = HANG_SECONDS,
         save_dir: Path | None = None) -> Result:
    """Run ``cases`` mutated inputs through target ``name``; count crashes and hangs."""
    result = Result(name)
    try:
        tgt = TARGETS[name]()
    except (SkipTarget, ImportError) as e:
        result.note = str(e)
        return result
    rng = random.Random(f"{name}:{seed}")
    mutate = mutate_png if tgt.png else mutate_bytes
    seen: set[str] = set()
    previous = signal.signal(signal.SIGPROF, _alarm)
    start = time.perf_counter()
    try:
        for i in range(cases):
            base = tgt.seeds[rng.randrange(len(tgt.seeds))]
            data = base if i < len(tgt.seeds) else mutate(rng, base, tgt.tokens, tgt.seeds)
            t0 = time.perf_counter()
            problem = ""
            signal.setitimer(signal.ITIMER_PROF, hang_seconds)
            try:
                tgt.run(data)
            except _Hang:
                result.hangs += 1
                problem = f"hang over {hang_seconds:g} s"
            except tgt.expected:
                pass
            except RecursionError as e:
                result.crashes += 1
                problem = f"RecursionError at {_where(e)}"
            except Exception as e:  # noqa: BLE001 - counting these is the point
                result.crashes += 1
                problem = f"{type(e).__name__}: {str(e)[:120]} at {_where(e)}"
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
            result.slowest_ms = max(result.slowest_ms, (time.perf_counter() - t0) * 1000)
            if problem:
                key = problem.split(":")[0] + problem.rsplit(" at ", 1)[-1]
                if key not in seen and len(result.examples) < 8:
                    seen.add(key)
                    result.examples.append(f"case {i}: {problem}")
                    if save_dir is not None:
                        save_dir.mkdir(parents=True, exist_ok=True)
                        (save_dir / f"{name}-{seed}-{i}.bin").write_bytes(data)
            result.cases += 1
    finally:
        signal.signal(signal.SIGPROF, previous)
        tgt.close()
    result.seconds = time.perf_counter() - start
    result.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


# ---------------------------------------------------------------------------------- targets
def _tiny_rgba(w: int = 24, h: int = 24, seed: int = 0) -> Any:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (h, w, 4), dtype=np.uint8), "RGBA")


def _png(image: Any, text: dict[str, str] | None = None) -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _fixture_texts() -> list[dict[str, str]]:
    """Text chunks of the real NovelAI PNGs in shared/fixtures (moved onto tiny images: fast to fuzz)."""
    folder = Path(os.environ.get("PEROPIX_SHARED", "/work/shared")) / "fixtures" / "nai" / "images"
    if not folder.is_dir():
        return []
    from PIL import Image

    texts = []
    for path in sorted(folder.glob("*.png"))[:6]:
        with Image.open(path) as im:
            texts.append({k: v for k, v in getattr(im, "text", {}).items() if isinstance(v, str)})
    return texts


def _settings(**kw: Any) -> Any:
    from peropix_tui.core.settings import CharacterPrompt, GenerationSettings

    base: dict[str, Any] = {"prompt": "1girl, {smile}, [[blush]], 1.2::red hair::", "uc": "lowres", "width": 64,
                            "height": 64, "steps": 4, "seed": 7,
                            "characters": [CharacterPrompt(prompt="girl, red hair", uc="", position="B3")]}
    base.update(kw)
    return GenerationSettings(**base)


@target("metadata")
def _metadata() -> Target:
    from peropix_tui.core.metadata import NoMetadataError, read_metadata, write_novelai_png

    seeds = [
        write_novelai_png(_tiny_rgba(16, 16, 1), _settings(), seed=1, stealth_copy=False),
        write_novelai_png(_tiny_rgba(96, 96, 2), _settings(provider="local", model="illustrious"), seed=2,
                          stealth_copy=True),
        _png(_tiny_rgba(8, 8, 3).convert("RGB"),
             {"parameters": "a (b:1.2)\nNegative prompt: c\nSteps: 3, Sampler: Euler a, CFG scale: 5, Seed: 4, "
                            "Size: 8x8, Model: m, Lora hashes: \"x: 1\""}),
        _png(_tiny_rgba(8, 8, 4).convert("RGB"),
             {"prompt": json.dumps({"3": {"class_type": "KSampler", "inputs": {
                 "seed": 5, "steps": 20, "cfg": 7, "sampler_name": "euler", "scheduler": "karras", "denoise": 1,
                 "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
                 "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "a.safetensors"}},
                 "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 8, "height": 8, "batch_size": 1}},
                 "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "cat", "clip": ["4", 1]}},
                 "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "dog", "clip": ["4", 1]}}})}),
    ]
    seeds += [_png(_tiny_rgba(8, 8, 5 + i).convert("RGB"), text) for i, text in enumerate(_fixture_texts())]
    webp = io.BytesIO()
    _tiny_rgba(8, 8, 9).save(webp, "WEBP")
    seeds.append(webp.getvalue())
    return Target("metadata", seeds, read_metadata, (NoMetadataError,), png=True,
                  tokens=[b'"', b"{", b"}", b"[", b"]", b":", b",", b"\\u0000", b"Steps: ", b"Negative prompt: ",
                          b"1e999", b'{"a":', b"\x00"])


@target("stealth")
def _stealth() -> Target:
    import numpy as np
    from PIL import Image

    from peropix_tui.core.metadata.stealth import StealthError, encode_payload, read_stealth

    payload = json.dumps({"prompt": "1girl", "steps": 28, "seed": 1, "uc": "lowres"}).encode()
    seeds = [np.packbits(encode_payload(payload, compressed=c)).tobytes() for c in (True, False)]
    seeds.append(np.packbits(encode_payload(gzip.compress(b"x" * 2000), compressed=True)).tobytes())

    def run(data: bytes) -> None:
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
        h = 32
        w = max(1, -(-bits.size // h))
        column_major = np.full(w * h, 0xFF, dtype=np.uint8)
        column_major[: bits.size] = 0xFE | bits
        rgba = np.zeros((h, w, 4), dtype=np.uint8)
        rgba[:, :, 3] = column_major.reshape(w, h).T
        mode, body = read_stealth(Image.fromarray(rgba, "RGBA"))
        assert mode in ("pngcomp", "pnginfo") and isinstance(body, bytes)

    return Target("stealth", seeds, run, (StealthError,), tokens=[b"stealth_pngcomp", b"stealth_pnginfo",
                                                                   b"\x1f\x8b\x08", b"\xff\xff\xff\xff"])


class _TempFile:
    """One scratch file rewritten for every case (file-based parsers read paths)."""

    def __init__(self, name: str) -> None:
        shm = Path("/dev/shm")  # memory-backed where there is one: a disk write per case dominates otherwise
        where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        self.dir = tempfile.TemporaryDirectory(prefix="peropix-fuzz-", dir=where)
        self.path = Path(self.dir.name) / name

    def write(self, data: bytes) -> Path:
        self.path.write_bytes(data)
        return self.path


@target("naiv4vibe")
def _naiv4vibe() -> Target:
    from peropix_tui.core.nai.vibe import load_naiv4vibe
    from peropix_tui.core.settings import SettingsError

    enc = base64.b64encode(b"EMUVIBE1" + os.urandom(64)).decode()
    good = {"identifier": "novelai-vibe-transfer", "version": 1, "type": "encoding", "id": "abc", "name": "v",
            "createdAt": 0, "importInfo": {"model": "nai-diffusion-4-5-full", "information_extracted": 0.7},
            "encodings": {"v4-5full": {"x": {"encoding": enc, "params": {"information_extracted": 0.7}}},
                          "v4full": {"y": {"encoding": enc, "params": {"information_extracted": 1}}}}}
    with_image = {**good, "type": "image", "encodings": {},
                  "image": base64.b64encode(_png(_tiny_rgba(8, 8))).decode()}
    seeds = [json.dumps(good).encode(), json.dumps(with_image).encode()]
    scratch = _TempFile("fuzz.naiv4vibe")

    def run(data: bytes) -> None:
        for family in ("v4-5full", "v4curated"):
            src = load_naiv4vibe(scratch.write(data), family, 0.7)
            assert src.encoding or src.image

    return Target("naiv4vibe", seeds, run, (SettingsError,), close=scratch.dir.cleanup,
                  tokens=[b"[", b"{", b'{"a":', b'"importInfo":', b'"encodings":', b"null", b"1e999", b'"'])


@target("tag-csv")
def _tag_csv() -> Target:
    from peropix_tui.core.tags import TagFileError, TagIndex

    seeds = [('name,type,count,aliases\n1girl,0,5000000,"1girls,sole_female"\nsmile,0,2000000,\n'
              'hatsune_miku,4,90000,"miku,初音ミク"\nred_hair,0,800000,redhead\n').encode(),
             "\ufefftag,category,post_count\nblue_eyes,0,1e6\n".encode()]
    scratch = _TempFile("fuzz.csv")

    def run(data: bytes) -> None:
        index = TagIndex()
        index.load_csv(scratch.write(data))
        index.search("1g")

    return Target("tag-csv", seeds, run, (TagFileError,), close=scratch.dir.cleanup,
                  tokens=[b",", b'"', b"\n", b"1e999", b"-1", b"nan", b"\r", b"\x00"])


@target("config")
def _config() -> Target:
    from peropix_tui.core.config import ConfigError, load_config

    seeds = [b'[nai]\nbase_url = "https://image.novelai.net"\ntimeout = 180.0\nstream = true\ndelay = 0.0\n'
             b'[paths]\noutput_dir = "~/out"\n[ui]\nimage_protocol = "auto"\n[ui.keymap]\ngenerate = "ctrl+g"\n'
             b'[generation]\nbudget = 100\n[local]\nquality_tags = "masterpiece, {prompt}"\n'
             b'[local.uc_presets]\nheavy = "lowres"\n']
    scratch = _TempFile("config.toml")

    def run(data: bytes) -> None:
        load_config(scratch.write(data), env={})

    return Target("config", seeds, run, (ConfigError,), close=scratch.dir.cleanup,
                  tokens=[b"[", b"]", b"{", b"inf", b"nan", b"-1", b"1e400", b"[a.b.c.d]", b"= [[[[", b'"\\u0000"'])


@target("safetensors-header")
def _safetensors() -> Target:
    from peropix_tui.engine.header import CheckpointError, read_header

    header = json.dumps({"__metadata__": {"format": "pt", "modelspec.title": "x"},
                         "model.diffusion_model.w": {"dtype": "F16", "shape": [2, 3], "data_offsets": [0, 12]},
                         "first_stage_model.b": {"dtype": "F32", "shape": [4], "data_offsets": [12, 28]}}).encode()
    seeds = [len(header).to_bytes(8, "little") + header + b"\0" * 28]
    scratch = _TempFile("fuzz.safetensors")

    def run(data: bytes) -> None:
        read_header(scratch.write(data))

    return Target("safetensors-header", seeds, run, (CheckpointError,), close=scratch.dir.cleanup,
                  tokens=[b"[", b"{", b"1e999", b"Infinity", b"-1", b"99999999999999999999", b'"shape":',
                          b'"data_offsets":', b'"dtype": "Q8"'])


@target("prompt-core")
def _prompt_core() -> Target:
    from peropix_tui.core import prompt

    seeds = [b"1girl, {smile}, [[blush]], 1.2::red hair::, -0.5::bad::, (a:1.1)",
             b"\\{escaped\\}, {{{deep}}}, ::, __wild__, |a|b|", b"(a (b:1.2) [c]:0.8), BREAK, <lora:x:0.5>"]

    def run(data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        for dialect in ("nai", "a1111"):
            prompt.tokenize(text, dialect)
            prompt.unbalanced(text, dialect)
        prompt.fragment_at(text, len(text) // 2)
        prompt.has_wildcards(text)

    return Target("prompt-core", seeds, run, (), tokens=[b"{", b"}", b"[", b"]", b"(", b")", b"::", b":", b"\\",
                                                        b"1.5::", b"-1::", b"__", b"|"])


@target("prompt-engine")
def _prompt_engine() -> Target:
    """The local engine's prompt readers (core/local: every dialect, A1111 prompt editing, the
    editor's highlighter built on them); torch-free."""
    from peropix_tui.core.local.highlight import spans
    from peropix_tui.core.local.schedule import schedule
    from peropix_tui.core.local.weights import DIALECTS, PromptSyntaxError, parse

    seeds = [b"masterpiece, (red hair:1.2), [blue eyes], ((smile)), BREAK, \\(escaped\\)",
             b"1.3::nai weights::, {up}, [down], -1::neg::", b"(a (b (c:1.5)):0.7) BREAK BREAK",
             b"[cat:dog:0.5], [a|b|c], [from::3], [to:10] AND x :1.2"]

    def run(data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        for dialect in DIALECTS:
            spans(text, dialect)
            try:
                parse(text, dialect)
            except PromptSyntaxError:
                pass
        try:
            schedule(text, 20)
        except PromptSyntaxError:
            pass

    return Target("prompt-engine", seeds, run, (PromptSyntaxError,),
                  tokens=[b"(", b")", b"[", b"]", b"{", b"}", b":", b"::", b"|", b"\\", b"BREAK", b"AND",
                          b"1e999", b"nan", b":0.5]"])


@target("nai-zip")
def _nai_zip() -> Target:
    import zipfile

    from peropix_tui.core.nai.responses import ResponseError, error_message, unpack_images

    png = _png(_tiny_rgba(8, 8).convert("RGB"), {"Software": "NovelAI"})
    seeds = []
    for n in (1, 2):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for i in range(n):
                zf.writestr(f"image_{i}.png", png)
        seeds.append(out.getvalue())
    seeds += [png, b'{"statusCode": 400, "message": "Validation error"}', b"<!DOCTYPE html><html></html>"]

    def run(data: bytes) -> None:
        error_message(data)
        unpack_images(data)

    return Target("nai-zip", seeds, run, (ResponseError,), tokens=[b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06",
                                                                   b"\xff\xff\xff\xff", b"[", b"{"])


@target("nai-frames")
def _nai_frames() -> Target:
    import msgpack

    from peropix_tui.core.nai.responses import FrameReader, ResponseError, finals_in_order, unpack_images

    def frame(payload: dict[str, Any]) -> bytes:
        packed: bytes = msgpack.packb(payload, use_bin_type=True)
        return struct.pack(">I", len(packed)) + packed

    jpeg = io.BytesIO()
    _tiny_rgba(8, 8).convert("RGB").save(jpeg, "JPEG")
    png = _png(_tiny_rgba(8, 8).convert("RGB"))
    stream = b"".join(frame({"event_type": "intermediate", "samp_ix": 0, "step_ix": s, "gen_id": "g",
                             "sigma": 1.0 - s / 4, "image": jpeg.getvalue()}) for s in range(3))
    stream += frame({"event_type": "final", "samp_ix": 0, "step_ix": 2, "gen_id": "g", "sigma": 0.0, "image": png})
    seeds = [stream, frame({"event_type": "error", "message": "bad"})]

    def run(data: bytes) -> None:
        reader = FrameReader()
        frames = []
        at = 0
        while at < len(data):  # in uneven pieces, as the network delivers them
            step = 1 + (data[at] * 7) % 97
            frames += list(reader.feed(data[at : at + step]))
            at += step
        finals_in_order(frames)
        try:
            unpack_images(data)
        except ResponseError:
            pass

    return Target("nai-frames", seeds, run, (ResponseError,), tokens=[b"\x00\x00\x00\x05", b"\xff\xff\xff\xff",
                                                                      b"\x81", b"\xc4", b"\xdc", b"\xdf",
                                                                      b"event_type", b"final", b"image"])


@target("nai-subscription")
def _nai_subscription() -> Target:
    from peropix_tui.core.backend import BackendError
    from peropix_tui.core.nai.client import parse_subscription

    seeds = [json.dumps({"tier": 3, "active": True, "expiresAt": 1900000000,
                         "trainingStepsLeft": {"fixedTrainingStepsLeft": 10000, "purchasedTrainingSteps": 500},
                         "usage": {"percent": 100, "isNegative": False}}).encode(),
             b'{"tier": 0, "active": false, "trainingStepsLeft": 12}']
    return Target("nai-subscription", seeds, parse_subscription, (BackendError,),
                  tokens=[b"Infinity", b"1e999", b"null", b'"x"', b"[", b"{", b"-1", b"true"])


@target("comfyui-messages")
def _comfyui_messages() -> Target:
    """ComfyUI WebSocket frames (JSON text and binary previews), history entries and /prompt
    rejections as :class:`PromptRun` and the error formatters read them."""
    from peropix_tui.core.backend import BackendError, GenerationCancelled
    from peropix_tui.core.comfyui import run as comfy_run
    from peropix_tui.core.comfyui.client import ComfyClient
    from peropix_tui.core.comfyui.config import ComfyServer
    from peropix_tui.core.comfyui.errors import rejection_message

    graph = {"3": {"class_type": "KSampler", "inputs": {"steps": 20}},
             "9": {"class_type": "SaveImageWebsocket", "inputs": {}}}
    client = ComfyClient(ComfyServer(url="http://127.0.0.1:9", name="fuzz"))
    pid = "00000000-0000-4000-8000-000000000000"

    def text(kind: str, data: Any) -> bytes:
        return json.dumps({"type": kind, "data": data}).encode()

    meta = json.dumps({"node_id": "3", "prompt_id": pid, "image_type": "image/png"}).encode()
    seeds = [
        text("status", {"status": {"exec_info": {"queue_remaining": 3}}}),
        text("execution_start", {"prompt_id": pid}),
        text("executing", {"node": "3", "prompt_id": pid}),
        text("progress", {"value": 5, "max": 20, "node": "3", "prompt_id": pid}),
        text("executed", {"node": "9", "output": {"images": [{"filename": "a.png"}]}, "prompt_id": pid}),
        text("execution_error", {"prompt_id": pid, "node_id": "3", "node_type": "KSampler",
                                 "exception_type": "RuntimeError", "exception_message": "boom"}),
        text("execution_interrupted", {"prompt_id": pid}),
        json.dumps({"status": {"status_str": "error", "messages": [["execution_error", {"node_id": "3"}]]},
                    "outputs": {}}).encode(),
        json.dumps({"error": {"type": "prompt_outputs_failed_validation", "message": "bad"},
                    "node_errors": {"3": {"errors": [{"message": "Value not in list",
                                                      "extra_info": {"input_name": "sampler_name"}}],
                                          "class_type": "KSampler"}}}).encode(),
        struct.pack(">II", 1, 2) + PNG_SIGNATURE,
        struct.pack(">II", 4, len(meta)) + meta + PNG_SIGNATURE,
    ]

    def run(data: bytes) -> None:
        prompt_run = comfy_run.PromptRun(client, graph, lambda _p: None, _NeverCancelled())
        prompt_run.prompt_id = pid
        try:
            if data[:3] == b"\x00\x00\x00":
                prompt_run.running = True
                prompt_run._on_binary(data)
                return
            try:
                body = json.loads(data)
            except (ValueError, RecursionError):
                body = None
            rejection_message("fuzz", body)
            prompt_run._check_history_status(body if isinstance(body, dict) else None)
            prompt_run._on_text(data.decode("utf-8", "replace"))
        except comfy_run._Done:
            pass

    return Target("comfyui-messages", seeds, run, (BackendError, GenerationCancelled),
                  tokens=[b"null", b"1e999", b"-1", b'"x"', b"[", b"{", b"[]", b"true", b'"prompt_id":',
                          b'"value":', b'"max":', b'"status":', b'"messages":'])


class _NeverCancelled:
    cancelled = False

    def raise_if_cancelled(self) -> None:
        return None


# ---------------------------------------------------------------------------------- table
def _table(results: list[Result]) -> str:
    head = ("target", "cases", "crashes", "hangs", "slowest ms", "peak RSS MB", "seconds")
    rows = [head] + [(r.target, str(r.cases), str(r.crashes), str(r.hangs), f"{r.slowest_ms:.0f}",
                      f"{r.peak_rss_mb:.0f}", f"{r.seconds:.1f}") for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in results:
        if r.note:
            lines.append(f"{r.target}: skipped: {r.note}")
        lines += [f"{r.target}: {e}" for e in r.examples]
    return "\n".join(lines)


def _run_one_process(name: str, cases: int, seed: int, save: str | None) -> Result:
    cmd = [sys.executable, str(Path(__file__).resolve()), name, str(cases), str(seed), "--json"]
    if save:
        cmd += ["--save", save]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return Result(name, note=f"runner failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}")
    return Result(**data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="a target name, 'all' or 'list'")
    parser.add_argument("cases", nargs="?", type=int, default=10_000)
    parser.add_argument("seed", nargs="?", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.add_argument("--save", metavar="DIR", help="write each crashing / hanging input to DIR")
    args = parser.parse_args(argv)
    if args.target == "list":
        print("\n".join(TARGETS))
        return 0
    if args.target == "all":
        results = [_run_one_process(name, args.cases, args.seed, args.save) for name in TARGETS]
    elif args.target in TARGETS:
        results = [fuzz(args.target, args.cases, args.seed, save_dir=Path(args.save) if args.save else None)]
    else:
        parser.error(f"unknown target {args.target!r} (see 'list')")
    if args.json:
        print(json.dumps(results[0].to_json() if len(results) == 1 else [r.to_json() for r in results]))
    else:
        print(f"fuzz: {args.cases} cases per target, seed {args.seed}, hang = over {HANG_SECONDS:g} s of CPU")
        print(_table(results))
    return 1 if any(r.crashes or r.hangs for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
