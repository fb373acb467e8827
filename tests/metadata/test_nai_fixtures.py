"""Real NovelAI PNGs (../shared/fixtures/nai/images): text chunks, stealth copy, embed_peropix."""

from __future__ import annotations

from pathlib import Path

import pytest

from peropix_tui.core.metadata import embed_peropix, png, read_metadata

from .util import fixture, strip_text

SILVERY_UC_HEAVY_V3 = (
    "nsfw, lowres, {bad}, error, fewer, extra, missing, worst quality, jpeg artifacts, bad quality, watermark, "
    "unfinished, displeasing, chromatic aberration, signature, extra digits, artistic error, username, scan, "
    "[abstract], small"
)


@pytest.fixture
def sample_0316(shared_dir: Path) -> bytes:
    return fixture(shared_dir, "sample-0316.png").read_bytes()


@pytest.fixture
def sample_0317(shared_dir: Path) -> bytes:
    return fixture(shared_dir, "sample-0317.png").read_bytes()


def test_v3_text_chunks_read_exactly(shared_dir: Path) -> None:
    r = read_metadata(fixture(shared_dir, "sample-0316.png"))
    s = r.settings
    assert r.dialect == "novelai" and r.peropix is None
    assert (s.provider, s.model) == ("nai", "nai-diffusion-3")
    assert r.full_prompt == " silvery white, best quality, amazing quality, very aesthetic, absurdres"
    assert r.full_negative == SILVERY_UC_HEAVY_V3
    # quality suffix and Heavy UC preset matched by text and taken back out
    assert (s.prompt, s.quality) == (" silvery white", True)
    assert (s.uc_preset, s.uc) == ("heavy", "small")
    assert (s.seed, s.steps, s.scale, s.cfg_rescale) == (1148692016, 28, 10.0, 0.38)
    assert (s.sampler, s.noise_schedule, s.width, s.height, s.n_samples) == ("k_euler", "native", 128, 128, 1)
    assert (s.smea, s.smea_dyn, s.variety, s.action) == (True, True, False, "generate")
    assert r.raw["text"]["Software"] == "NovelAI"
    assert r.raw["text"]["Generation time"] == "6.492950826010201"
    assert r.raw["comment"]["signed_hash"].startswith("GmLfTgQT")


def test_v1_furry_img2img_read_exactly(shared_dir: Path) -> None:
    r = read_metadata(fixture(shared_dir, "sample-0317.png"))
    s = r.settings
    assert s.model == "nai-diffusion-furry"  # Source 'Stable Diffusion F64BA557'
    assert s.prompt == "masterpiece, best quality,  silvery white"  # no preset texts for V1: kept as written
    assert s.uc.startswith("nsfw, worst quality, low quality, what has science done")
    assert (s.seed, s.sampler, s.noise_schedule, s.scale) == (4091185279, "k_euler_ancestral", "native", 10.0)
    assert (s.action, s.strength, s.noise) == ("img2img", 0.7, 0.0)
    assert "base image / mask not recoverable" in r.notes


@pytest.mark.parametrize("name", ["sample-0316.png", "sample-0317.png"])
def test_stealth_copy_gives_the_same_settings(shared_dir: Path, name: str) -> None:
    data = fixture(shared_dir, name).read_bytes()
    from_text = read_metadata(data)
    bare = strip_text(data)
    assert png.read_text(bare) == {}
    from_alpha = read_metadata(bare)
    assert from_alpha.dialect == "novelai-stealth"
    assert from_alpha.raw["stealth"]["mode"] == "pngcomp"
    assert from_alpha.settings == from_text.settings
    assert from_alpha.full_prompt == from_text.full_prompt


def test_embed_peropix_keeps_server_chunks_and_pixels(sample_0316: bytes) -> None:
    out = embed_peropix(sample_0316, {"provider": "nai", "slot_name": "smile", "base_prompt": "silvery white"})
    assert png.chunk_bytes(out, b"IDAT") == png.chunk_bytes(sample_0316, b"IDAT")
    assert png.chunk_bytes(out, b"IHDR") == png.chunk_bytes(sample_0316, b"IHDR")
    before, after = png.read_text(sample_0316), png.read_text(out)
    assert {k: v for k, v in after.items() if k != "Comment"} == {k: v for k, v in before.items() if k != "Comment"}
    assert [c.type for c in png.iter_chunks(out)] == [c.type for c in png.iter_chunks(sample_0316)]
    r = read_metadata(out)
    assert r.dialect == "peropix"
    assert r.peropix is not None and r.peropix["slot_name"] == "smile"
    assert r.raw["comment"]["signed_hash"] == read_metadata(sample_0316).raw["comment"]["signed_hash"]
    assert r.settings == read_metadata(sample_0316).settings
    # the stealth copy in the alpha channel is untouched and still reads
    assert read_metadata(strip_text(out)).settings == r.settings


def test_embed_peropix_twice_keeps_one_comment_and_updates_keys(sample_0317: bytes) -> None:
    once = embed_peropix(sample_0317, {"slot_name": "a"})
    twice = embed_peropix(once, {"slot_name": "b"})
    texts = [c for c in png.iter_chunks(twice) if c.type in png.TEXT_TYPES]
    assert sum(1 for c in texts if c.data.startswith(b"Comment\x00")) == 1
    assert read_metadata(twice).peropix == {"version": 1, "slot_name": "b"}
