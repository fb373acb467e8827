"""Several jobs at once: on one server (its own queue orders them) and across servers; health probes."""

from __future__ import annotations

import asyncio
from typing import Any

from peropix_tui.core.backend import CancelToken
from peropix_tui.core.comfyui.config import ComfyServer
from peropix_tui.core.comfyui.health import probe
from tests.comfyui.helpers import backend, by_class, dead_url, sent_graph, settings


async def test_concurrent_jobs_on_one_server_each_get_their_own_images(comfy_pool: Any) -> None:
    (emu,) = comfy_pool(1, step_delay=0.005)
    b = backend(emu)
    results = await asyncio.gather(*(b.generate(settings(seed=100 + i, steps=3), lambda p: None, CancelToken())
                                     for i in range(4)))
    await b.aclose()
    for i, images in enumerate(results):
        (img,) = images
        assert img.seed == 100 + i
        assert by_class(sent_graph(img.data), "KSampler")[0]["inputs"]["seed"] == 100 + i
    assert len(emu.executed_prompts) == 4 and len(set(emu.executed_prompts)) == 4


async def test_jobs_spread_over_three_servers_run_once_each(comfy_pool: Any) -> None:
    emus = comfy_pool(3, step_delay=0.005)
    backends = [backend(e) for e in emus]
    todo = list(range(9))
    done: dict[int, str] = {}

    async def worker(i: int) -> None:
        while todo:
            seed = todo.pop()
            (img,) = await backends[i].generate(settings(seed=seed, steps=2), lambda p: None, CancelToken())
            done[img.seed] = img.info["server_url"]

    await asyncio.gather(*(worker(i) for i in range(3)))
    for b in backends:
        await b.aclose()
    assert sorted(done) == list(range(9))
    assert sum(len(e.executed_prompts) for e in emus) == 9
    assert all(e.executed_prompts for e in emus)


async def test_probe_reports_queue_depth_and_down_servers(comfy_pool: Any) -> None:
    (emu,) = comfy_pool(1, step_delay=0.05)
    graph = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "noobai-vpred-1.0.safetensors"}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "x", "clip": ["1", 1]}},
        "3": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "4": {"class_type": "KSampler", "inputs": {"model": ["1", 0], "seed": 1, "steps": 100, "cfg": 7.0,
                                                   "sampler_name": "euler", "scheduler": "normal",
                                                   "positive": ["2", 0], "negative": ["2", 0],
                                                   "latent_image": ["3", 0], "denoise": 1.0}},
        "5": {"class_type": "VAEDecode", "inputs": {"samples": ["4", 0], "vae": ["1", 2]}},
        "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}},
    }
    emu.queue_external(graph)
    emu.queue_external({**graph, "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "y", "clip": ["1", 1]}}})
    health = await probe(ComfyServer(emu.url, name="a"))
    assert health.ok and health.depth == 2 and health.pending <= 1
    down = await probe(ComfyServer(dead_url(), name="off"), timeout=1)
    assert not down.ok and "unreachable" in down.error and down.depth == 0
