"""A short seeded run of every fuzz target (bench/fuzz.py): no crash, no hang, at 300 cases each."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

CASES = 300
SEED = 20261201
GUARD_SECONDS = 30.0
"""Per-case guard against a real hang (an infinite loop), far above any normal case."""


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("peropix_bench_fuzz", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


FUZZ = _load()


@pytest.mark.parametrize("name", sorted(FUZZ.TARGETS))
def test_short_seeded_fuzz_run_has_no_crash_or_hang(name: str) -> None:
    result = FUZZ.fuzz(name, CASES, SEED, hang_seconds=GUARD_SECONDS)
    if result.note:
        pytest.skip(f"{name}: {result.note}")
    assert result.cases == CASES
    assert (result.crashes, result.hangs) == (0, 0), result.examples


def test_mutated_pngs_keep_valid_crcs() -> None:
    import random
    import zlib

    seed_png = FUZZ._png(FUZZ._tiny_rgba(8, 8), {"Comment": "{}"})
    rng = random.Random(1)
    for _ in range(50):
        out = FUZZ.mutate_chunks(rng, FUZZ.png_chunks(seed_png), [b"{"])
        chunks = FUZZ.png_chunks(out)
        assert chunks is not None
        at = 8
        for kind, body in chunks:
            crc = int.from_bytes(out[at + 8 + len(body) : at + 12 + len(body)], "big")
            assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
            at += 12 + len(body)


def test_the_same_seed_gives_the_same_cases() -> None:
    import random

    data = b"1girl, {smile}, [blush]"
    one = [FUZZ.mutate_bytes(random.Random(5), data, [b"{"], [data]) for _ in range(3)]
    two = [FUZZ.mutate_bytes(random.Random(5), data, [b"{"], [data]) for _ in range(3)]
    assert one == two
