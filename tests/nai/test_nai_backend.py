"""NaiBackend and the vibe cache end to end: the project's request builder against the emulator."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from peropix_tui.core.backend import Backend, CancelToken, GenerationCancelled, Progress
from peropix_tui.core.config import Secret
from peropix_tui.core.nai.backend import NaiBackend
from peropix_tui.core.nai.client import NaiClient, RetryPolicy
from peropix_tui.core.nai.vibe import VibeCache, count_uncached, load_naiv4vibe, model_family, resolve_vibes
from peropix_tui.core.settings import (
    CharacterPrompt,
    CharacterReference,
    GenerationSettings,
    SettingsError,
    VibeReference,
)
from tests.nai_emulator import ENCODE, GENERATE, STREAM, NaiEmulator

FAST = RetryPolicy(busy_base=0.02, busy_cap=0.05, error_base=0.01, cancel_poll=0.01)


@pytest.fixture
def client(nai_emulator: NaiEmulator) -> NaiClient:
    return NaiClient(nai_emulator.url, Secret(nai_emulator.token), retry=FAST)


def small(**kw: object) -> GenerationSettings:
    base: dict[str, object] = {"prompt": "1girl, smile", "width": 64, "height": 64, "steps": 4, "seed": 99}
    base.update(kw)
    return GenerationSettings(**base)  # type: ignore[arg-type]


def write_png(path: Path, size: tuple[int, int], color: tuple[int, ...] = (10, 200, 90), mode: str = "RGB") -> str:
    Image.new(mode, size, color).save(path, "PNG")
    return str(path)


def comment(data: bytes) -> dict:
    return json.loads(Image.open(io.BytesIO(data)).text["Comment"])


def last_params(emu: NaiEmulator) -> dict:
    return emu.generations()[-1].body["parameters"]


async def test_backend_returns_server_pngs_with_seed_plus_index(nai_emulator: NaiEmulator, client: NaiClient) -> None:
    backend = NaiBackend(client)
    assert isinstance(backend, Backend) and backend.name == "nai"
    seen: list[Progress] = []
    images = await backend.generate(small(n_samples=2), seen.append, CancelToken())
    assert [(i.seed, i.index, i.extension) for i in images] == [(99, 0, "png"), (100, 1, "png")]
    assert [comment(i.data)["seed"] for i in images] == [99, 100]
    assert Image.open(io.BytesIO(images[0].data)).text["Software"] == "NovelAI"
    assert seen and seen[-1].total == 4


async def test_random_seed_is_read_back_from_the_body(nai_emulator: NaiEmulator, client: NaiClient) -> None:
    (image,) = await NaiBackend(client).generate(small(seed=None), lambda p: None, CancelToken())
    assert image.seed == last_params(nai_emulator)["seed"] == comment(image.data)["seed"]


@pytest.mark.parametrize(
    "settings",
    [
        small(characters=[CharacterPrompt("girl, red hair", "bad hands", "B2"), CharacterPrompt("boy", "", "D4")]),
        small(characters=[CharacterPrompt("girl"), CharacterPrompt("boy", "lowres")]),
        small(model="nai-diffusion-4-5-curated", uc_preset="light", variety=True),
        small(model="nai-diffusion-4-full", noise_schedule="exponential", sampler="k_dpmpp_2m"),
        small(model="nai-diffusion-4-curated-preview", quality=False),
        small(model="nai-diffusion-5-full", scale=7.0),
        small(model="nai-diffusion-5-curated", characters=[CharacterPrompt("a cat", "", "C3")]),
        small(model="nai-diffusion-3", smea=True, noise_schedule="native"),
    ],
    ids=["v45-positions", "v45-auto", "v45c-variety", "v4-full", "v4-curated", "v5-full", "v5-curated", "v3-smea"],
)
async def test_built_requests_pass_the_strict_emulator(
    nai_emulator: NaiEmulator, client: NaiClient, settings: GenerationSettings
) -> None:
    images = await NaiBackend(client).generate(settings, lambda p: None, CancelToken())
    assert len(images) == 1
    assert [c.status for c in nai_emulator.calls()] == [200]


async def test_img2img_and_infill_requests_pass_the_strict_emulator(
    nai_emulator: NaiEmulator, client: NaiClient, tmp_path: Path
) -> None:
    src = write_png(tmp_path / "src.png", (100, 70))
    mask = tmp_path / "mask.png"
    m = Image.new("L", (100, 70), 0)
    m.paste(255, (20, 20, 60, 50))
    m.save(mask)
    backend = NaiBackend(client)
    await backend.generate(small(action="img2img", image=src, strength=0.5), lambda p: None, CancelToken())
    await backend.generate(small(action="infill", image=src, mask=str(mask)), lambda p: None, CancelToken())
    await backend.generate(small(model="nai-diffusion-5-curated", action="infill", image=src, mask=str(mask)),
                           lambda p: None, CancelToken())
    calls = nai_emulator.calls()
    assert [c.status for c in calls] == [200, 200, 200]
    assert [c.body["model"] for c in calls] == [
        "nai-diffusion-4-5-full", "nai-diffusion-4-5-full-inpainting", "nai-diffusion-4-5-curated-inpainting"]


async def test_character_reference_request_passes_the_strict_emulator(
    nai_emulator: NaiEmulator, client: NaiClient, tmp_path: Path
) -> None:
    ref = write_png(tmp_path / "ref.png", (300, 500))
    settings = small(charref=CharacterReference(ref, fidelity=0.75, style_aware=True))
    await NaiBackend(client).generate(settings, lambda p: None, CancelToken())
    params = last_params(nai_emulator)
    assert params["director_reference_secondary_strength_values"] == [0.25]


async def test_vibe_is_encoded_once_then_served_from_the_cache(
    nai_emulator: NaiEmulator, client: NaiClient, tmp_path: Path
) -> None:
    vibe_png = write_png(tmp_path / "vibe.png", (80, 80))
    settings = small(vibes=[VibeReference(path=vibe_png, information_extracted=0.8, strength=0.5)])
    backend = NaiBackend(client)
    assert count_uncached(settings) == 1
    await backend.generate(settings, lambda p: None, CancelToken())
    assert count_uncached(settings) == 0
    await backend.generate(settings, lambda p: None, CancelToken())
    assert len(nai_emulator.calls(ENCODE)) == 1
    first, second = (c.body["parameters"] for c in nai_emulator.generations())
    assert first["reference_image_multiple"] == second["reference_image_multiple"]
    assert base64.b64decode(first["reference_image_multiple"][0]) == nai_emulator.vibes_issued[0]
    assert first["reference_information_extracted_multiple"] == [0.8]
    # another information_extracted or another model family is another encoding
    other = settings.copy(vibes=[VibeReference(path=vibe_png, information_extracted=0.5)])
    curated = settings.copy(model="nai-diffusion-4-5-curated")
    assert count_uncached(other) == 1 and count_uncached(curated) == 1
    await backend.generate(curated, lambda p: None, CancelToken())
    encode_models = [c.body["model"] for c in nai_emulator.calls(ENCODE)]
    assert encode_models == ["nai-diffusion-4-5-full", "nai-diffusion-4-5-curated"]


async def test_vibe_cache_is_keyed_by_image_bytes_not_path(client: NaiClient, tmp_path: Path,
                                                           nai_emulator: NaiEmulator) -> None:
    a = write_png(tmp_path / "a.png", (32, 32))
    b = tmp_path / "copy.png"
    b.write_bytes(Path(a).read_bytes())
    cache = VibeCache(tmp_path / "cache")
    enc_a = await resolve_vibes(small(vibes=[VibeReference(path=a)]), client, cache=cache)
    enc_b = await resolve_vibes(small(vibes=[VibeReference(path=str(b))]), client, cache=cache)
    assert enc_a == enc_b and len(nai_emulator.calls(ENCODE)) == 1
    assert len(list((tmp_path / "cache").iterdir())) == 1


async def test_no_encoding_for_infill_charref_or_v3(client: NaiClient, tmp_path: Path,
                                                    nai_emulator: NaiEmulator) -> None:
    vibe = VibeReference(path=write_png(tmp_path / "v.png", (32, 32)))
    v3 = await resolve_vibes(small(model="nai-diffusion-3", vibes=[vibe]), client)
    assert Image.open(io.BytesIO(base64.b64decode(v3[0]))).size == (32, 32)  # V3 takes the raw image
    infill = small(action="infill", image="x.png", mask="m.png", vibes=[vibe])
    assert await resolve_vibes(infill, client) == [] and count_uncached(infill) == 0
    assert nai_emulator.calls(ENCODE) == []


def naiv4vibe(path: Path, encodings: dict, image: bytes | None = None, import_info: float | None = None) -> str:
    data: dict = {"identifier": "novelai-vibe-transfer", "version": 1, "type": "encoding" if image is None else "image",
                  "id": "abc", "encodings": encodings, "name": "test vibe", "createdAt": 0}
    if image is not None:
        data["image"] = base64.b64encode(image).decode()
    if import_info is not None:
        data["importInfo"] = {"model": "nai-diffusion-4-5-full", "information_extracted": import_info, "strength": 0.6}
    path.write_text(json.dumps(data))
    return str(path)


async def test_naiv4vibe_encoding_is_used_without_encoding(
    nai_emulator: NaiEmulator, client: NaiClient, tmp_path: Path
) -> None:
    enc = base64.b64encode(await client.encode_vibe(_png_b64(), 0.7, "nai-diffusion-4-5-full")).decode()
    nai_emulator.requests.clear()
    path = naiv4vibe(tmp_path / "style.naiv4vibe", {
        "v4full": {"k1": {"encoding": "djRmdWxs", "params": {"information_extracted": 1}}},
        "v4-5full": {"k2": {"encoding": enc, "params": {"information_extracted": 0.7}}},
    }, import_info=0.7)
    settings = small(vibes=[VibeReference(path=path)])  # information 1.0 by default, file has 0.7
    assert count_uncached(settings) == 0
    await NaiBackend(client).generate(settings, lambda p: None, CancelToken())
    assert nai_emulator.calls(ENCODE) == []
    params = last_params(nai_emulator)
    assert params["reference_image_multiple"] == [enc]
    assert params["reference_information_extracted_multiple"] == [0.7]
    assert settings.vibes[0].information_extracted == 1.0  # the caller's settings are not changed


def _png_b64() -> str:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_naiv4vibe_picks_family_and_information(tmp_path: Path) -> None:
    path = naiv4vibe(tmp_path / "v.naiv4vibe", {
        "v4-5full": {"a": {"encoding": "QQ==", "params": {"information_extracted": 1.0}},
                     "b": {"encoding": "Qg==", "params": {"information_extracted": 0.35}}},
        "v4-5curated": {"c": {"encoding": "Qw==", "params": {"information_extracted": 1.0}}},
    })
    assert load_naiv4vibe(path, "v4-5full", 0.35).encoding == "Qg=="
    assert load_naiv4vibe(path, "v4-5full", 1.0).encoding == "QQ=="
    assert load_naiv4vibe(path, "v4-5curated", 0.35).encoding == "Qw=="
    with pytest.raises(SettingsError, match=r"v\.naiv4vibe: no encoding for model family v4full"):
        load_naiv4vibe(path, "v4full", 1.0)


async def test_naiv4vibe_with_only_the_image_is_encoded_and_cached(
    nai_emulator: NaiEmulator, client: NaiClient, tmp_path: Path
) -> None:
    png = base64.b64decode(_png_b64())
    path = naiv4vibe(tmp_path / "img.naiv4vibe", {}, image=png)
    settings = small(vibes=[VibeReference(path=path)])
    assert count_uncached(settings) == 1
    await NaiBackend(client).generate(settings, lambda p: None, CancelToken())
    assert len(nai_emulator.calls(ENCODE)) == 1 and count_uncached(settings) == 0


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"encodings": 5}'])
def test_bad_naiv4vibe_files_name_the_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.naiv4vibe"
    path.write_text(content)
    with pytest.raises(SettingsError, match="bad.naiv4vibe"):
        load_naiv4vibe(path, "v4-5full")


def test_model_families() -> None:
    assert model_family("nai-diffusion-4-5-full") == "v4-5full"
    assert model_family("nai-diffusion-4-5-curated-inpainting") == "v4-5curated"
    assert model_family("nai-diffusion-4-curated-preview") == "v4curated"
    assert model_family("nai-diffusion-4-full") == "v4full"
    assert model_family("nai-diffusion-3") == "v3"
    assert model_family("nai-diffusion-5-full") is None


async def test_invalid_settings_never_reach_the_server(nai_emulator: NaiEmulator, client: NaiClient) -> None:
    with pytest.raises(SettingsError, match="steps"):
        await NaiBackend(client).generate(small(steps=80), lambda p: None, CancelToken())
    assert nai_emulator.calls() == []


async def test_cancelled_before_start_sends_nothing(nai_emulator: NaiEmulator, client: NaiClient) -> None:
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(GenerationCancelled):
        await NaiBackend(client).generate(small(), lambda p: None, cancel)
    assert nai_emulator.calls() == []


async def test_backend_without_client_uses_env_url_and_token(nai_emulator: NaiEmulator) -> None:
    (image,) = await NaiBackend().generate(small(), lambda p: None, CancelToken())
    assert image.seed == 99
    assert [c.path for c in nai_emulator.calls()] == [STREAM]
    assert GENERATE not in [c.path for c in nai_emulator.calls()]


async def test_vibe_restored_from_metadata_by_sha_is_found_in_the_cache(
    nai_emulator: NaiEmulator, client: NaiClient, tmp_path: Path
) -> None:
    """Generate with a vibe image → the saved image keeps the vibe's cache key → restore it (no path,
    no encoding) → the next generation takes the encoding from the cache, with no new encode."""
    import hashlib

    from peropix_tui.core.jobs import Job
    from peropix_tui.core.metadata import read_metadata, restore_settings
    from peropix_tui.runner import peropix_extra, with_metadata

    path = write_png(tmp_path / "ref.png", (32, 32), (200, 10, 10))
    settings = small(vibes=[VibeReference(path=path, information_extracted=0.7, strength=0.5)])
    backend = NaiBackend(client)
    (img,) = await backend.generate(settings, lambda p: None, CancelToken())
    sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert img.info["vibes"] == [{"image_sha256": sha, "information_extracted": 0.7, "strength": 0.5}]
    job = Job(id="j1", settings=settings)
    record = read_metadata(with_metadata(img, peropix_extra(job, "1girl", settings, img.info)))
    restored, _ = restore_settings(record, {"vibes"}, small())
    (vibe,) = restored.vibes
    assert (vibe.path, vibe.encoding, vibe.image_sha256) == (None, None, sha)
    assert (vibe.information_extracted, vibe.strength) == (0.7, 0.5)
    assert count_uncached(restored) == 0
    await backend.generate(restored, lambda p: None, CancelToken())
    assert len(nai_emulator.calls(ENCODE)) == 1  # only the first generation encoded
    sent = last_params(nai_emulator)
    assert sent["reference_image_multiple"] == [VibeCache().get(sha, "v4-5full", 0.7)]
    assert sent["reference_strength_multiple"] == [0.5]


async def test_vibe_known_only_by_sha_and_not_cached_is_a_clear_error(
    nai_emulator: NaiEmulator, client: NaiClient
) -> None:
    sha = "ab12cd34" + "0" * 56
    settings = small(vibes=[VibeReference(image_sha256=sha, information_extracted=1.0)])
    message = ("vibe ab12cd34: the source image is not stored in the metadata and not in the vibe cache; "
               "pass --vibe PATH")
    with pytest.raises(SettingsError, match=message):
        await NaiBackend(client).generate(settings, lambda p: None, CancelToken())
    assert nai_emulator.calls() == []  # nothing sent, nothing spent
    VibeCache().put(sha, "v4-5full", 0.5, "QUJD")  # cached at another information_extracted: still missing
    with pytest.raises(SettingsError, match="not in the vibe cache"):
        await NaiBackend(client).generate(settings, lambda p: None, CancelToken())
