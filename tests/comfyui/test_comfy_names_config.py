"""Sampler/scheduler names, the [comfyui] config section and the worker back-off."""

from __future__ import annotations

from pathlib import Path

import pytest

from peropix_tui.core.comfyui.config import ComfyUIConfig
from peropix_tui.core.comfyui.names import comfy_sampler, comfy_scheduler
from peropix_tui.core.config import Config, ConfigError, load_config, save_config
from peropix_tui.core.generation.health import Backoff
from peropix_tui.core.settings import SettingsError


def test_novelai_and_comfyui_sampler_names_are_both_accepted() -> None:
    assert comfy_sampler("k_euler_ancestral") == "euler_ancestral"
    assert comfy_sampler("k_dpmpp_2m_sde") == "dpmpp_2m_sde"
    assert comfy_sampler("ddim_v3") == "ddim"
    assert comfy_sampler("uni_pc") == "uni_pc"
    assert comfy_scheduler("native") == "normal"
    assert comfy_scheduler("karras") == "karras"
    assert comfy_scheduler("sgm_uniform") == "sgm_uniform"


def test_unknown_or_unavailable_names_name_the_setting() -> None:
    with pytest.raises(SettingsError, match="^sampler: 'k_magic'"):
        comfy_sampler("k_magic")
    with pytest.raises(SettingsError, match="does not list"):
        comfy_sampler("k_euler", ["dpmpp_2m"])
    with pytest.raises(SettingsError, match="^noise_schedule: 'polyexponential'"):
        comfy_scheduler("polyexponential")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_servers_as_strings_and_tables(tmp_path: Path) -> None:
    p = _write(tmp_path, """
[comfyui]
servers = ["http://gpu1:8188/", { url = "https://proxy.example/comfy", name = "big", max_jobs = 2, headers = { Authorization = "Bearer s3cret" } }]
stall_timeout = 60
""")
    cfg = load_config(p, env={})
    a, b = cfg.comfyui.servers
    assert (a.url, a.name, a.max_jobs, a.headers) == ("http://gpu1:8188", "gpu1:8188", 1, {})
    assert (b.url, b.name, b.max_jobs) == ("https://proxy.example/comfy", "big", 2)
    assert b.headers == {"Authorization": "Bearer s3cret"}
    assert "s3cret" not in repr(b)
    assert cfg.comfyui.stall_timeout == 60.0
    assert cfg.comfyui.server("big") is b
    assert cfg.comfyui.server(None) is a
    assert cfg.comfyui.server("http://other:1").url == "http://other:1"


def test_env_replaces_the_server_list(tmp_path: Path) -> None:
    p = _write(tmp_path, '[comfyui]\nservers = ["http://gpu1:8188"]\n')
    cfg = load_config(p, env={"PEROPIX_COMFYUI_URLS": "http://a:1, http://b:2"})
    assert [s.url for s in cfg.comfyui.servers] == ["http://a:1", "http://b:2"]


@pytest.mark.parametrize(("text", "fragment"), [
    ('[comfyui]\nservers = "http://x:1"', "comfyui.servers: expected a list"),
    ('[comfyui]\nservers = ["gpu1:8188"]', "comfyui.servers[0]: 'gpu1:8188' is not an http(s) URL"),
    ('[comfyui]\nservers = [{ url = "http://x:1", max_jobs = 0 }]', "comfyui.servers[0].max_jobs"),
    ('[comfyui]\nservers = [{ url = "http://x:1", port = 2 }]', "unknown key 'port'"),
    ('[comfyui]\nservers = ["http://x:1", "http://x:1"]', "two servers are named 'x:1'"),
    ('[comfyui]\nspeed = 1', "unknown key comfyui.speed"),
    ('[comfyui]\nstall_timeout = -1', "comfyui.stall_timeout: must be more than 0"),
])
def test_bad_values_name_the_file_and_key(tmp_path: Path, text: str, fragment: str) -> None:
    p = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(p, env={})
    assert fragment in str(e.value)
    assert str(p) in str(e.value)


def test_unknown_server_name_lists_the_configured_ones() -> None:
    cfg = ComfyUIConfig()
    with pytest.raises(ValueError, match="no ComfyUI server configured"):
        cfg.server(None)


def test_config_with_servers_round_trips(tmp_path: Path) -> None:
    p = _write(tmp_path, '[comfyui]\nservers = [{ url = "http://gpu1:8188", name = "one", max_jobs = 3, '
                         'headers = { "X-Key" = "v" } }]\n')
    cfg = load_config(p, env={})
    out = save_config(cfg, tmp_path / "again.toml")
    again = load_config(out, env={})
    assert again.comfyui == cfg.comfyui
    assert load_config(save_config(Config(), tmp_path / "plain.toml"), env={}).comfyui == ComfyUIConfig()


def test_worker_backoff_doubles_to_its_cap_and_resets() -> None:
    now = [100.0]
    t = Backoff(base=1.0, cap=8.0, clock=lambda: now[0])
    assert t.due() and t.healthy
    delays = []
    for _ in range(5):
        t.failed("refused")
        delays.append(t.next_probe - now[0])
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert not t.healthy and not t.due() and t.last_error == "refused"
    now[0] += 8.0
    assert t.due()
    t.recovered()
    assert t.healthy and t.failures == 0 and t.due()


def test_a_comfyui_workspace_costs_no_anlas_and_is_never_refused_for_balance() -> None:
    from peropix_tui.core.costing import run_cost
    from peropix_tui.core.settings import GenerationSettings
    from peropix_tui.core.slots import SlotSet

    ws = SlotSet(base=GenerationSettings(provider="comfyui", n_samples=4))
    cost = run_cost(ws, tier=0, balance=0, budget=1)
    assert (cost.next_run, cost.whole_queue) == (0, 0)
    assert not cost.exceeds_balance and not cost.exceeds_budget and not cost.error


@pytest.mark.parametrize(("name", "comfy"), [
    ("k_euler", "euler"), ("euler_a", "euler_ancestral"), ("dpm++_2m", "dpmpp_2m"),
    ("dpm++_2s_a", "dpmpp_2s_ancestral"), ("DPM++ 2M SDE", "dpmpp_2m_sde"), ("Euler a", "euler_ancestral"),
    ("dpmpp_sde_gpu", "dpmpp_sde_gpu"), ("k_dpmpp_3m_sde", "dpmpp_3m_sde"),
])
def test_sampler_spellings_map_through_the_shared_vocabulary(name: str, comfy: str) -> None:
    assert comfy_sampler(name) == comfy


@pytest.mark.parametrize(("name", "comfy"), [
    ("native", "normal"), ("default", "normal"), ("Karras", "karras"), ("SGM Uniform", "sgm_uniform"),
    ("exponential", "exponential"),
])
def test_schedule_spellings_map_through_the_shared_vocabulary(name: str, comfy: str) -> None:
    assert comfy_scheduler(name) == comfy


def test_server_choices_for_the_parameters_form() -> None:
    from peropix_tui.core.comfyui.config import ComfyServer
    from peropix_tui.widgets.comfy_params import (
        ANY_SERVER,
        read_bindings,
        read_clip_skip,
        same_server,
        server_options,
        server_value,
    )

    config = Config()
    config.comfyui = ComfyUIConfig(servers=[ComfyServer("http://gpu1:8188", name="gpu1"), ComfyServer("http://b:1")])
    assert server_options(config, None) == [("any server", ANY_SERVER), ("gpu1", "gpu1"), ("b:1", "b:1")]
    assert server_options(config, "http://x:2")[-1] == ("http://x:2", "http://x:2")  # a pin kept from an image
    assert server_value(config, "http://gpu1:8188") == "gpu1" and server_value(config, None) == ANY_SERVER
    assert same_server(config, "gpu1", "http://gpu1:8188") and same_server(config, None, "")
    assert not same_server(config, "gpu1", "b:1") and not same_server(config, "gpu1", None)
    assert read_bindings("prompt=6, seed=My Seed") == {"prompt": "6", "seed": "My Seed"}
    with pytest.raises(ValueError, match="^workflow bindings: unknown role 'colour'"):
        read_bindings("colour=3")
    assert read_clip_skip("") is None and read_clip_skip("2") == 2
    with pytest.raises(ValueError, match="clip skip must be between 1 and 12"):
        read_clip_skip("0")
