"""The local provider's request mapping (core/local): the prompt dialect from settings, config or
default, the CLI flag, and the dialect stored in the image's ``peropix`` object."""

from __future__ import annotations

import argparse
import io

import pytest
from PIL import Image

from peropix_tui.commands.genopts import add_generation_options, settings_from_args
from peropix_tui.core.config import LocalConfig
from peropix_tui.core.local.request import prompt_dialect, request_fields
from peropix_tui.core.metadata import read_metadata, write_novelai_png
from peropix_tui.core.settings import GenerationSettings


def local(**kw: object) -> GenerationSettings:
    return GenerationSettings(provider="local", checkpoint="x.safetensors", **kw)  # type: ignore[arg-type]


def test_dialect_comes_from_the_settings_then_the_config_then_auto() -> None:
    assert prompt_dialect(local()) == "auto"
    assert prompt_dialect(local(), LocalConfig(prompt_dialect="comfyui")) == "comfyui"
    assert prompt_dialect(local(prompt_dialect="a1111"), LocalConfig(prompt_dialect="comfyui")) == "a1111"
    with pytest.raises(ValueError, match=r"\[local\] prompt_dialect: 'sd' is not one of"):
        prompt_dialect(local(), LocalConfig(prompt_dialect="sd"))
    with pytest.raises(ValueError, match="prompt_dialect: 'x' is not one of"):
        prompt_dialect(local(prompt_dialect="x"))


def test_request_fields_map_the_settings() -> None:
    s = local(prompt="cat", uc="lowres", steps=9, scale=6.5, action="img2img", image="a.png", strength=0.3,
              prompt_dialect="novelai", n_samples=2)
    f = request_fields(s, 7)
    assert (f["prompt"], f["negative"], f["steps"], f["cfg"], f["seed"], f["batch"]) == ("cat", "lowres", 9, 6.5, 7, 2)
    assert f["denoise"] == 0.3 and f["prompt_dialect"] == "novelai"
    assert request_fields(local(action="infill", strength=0.3), 1)["denoise"] == 1.0


def test_cli_flag_sets_the_dialect() -> None:
    p = argparse.ArgumentParser()
    add_generation_options(p)
    assert settings_from_args(p.parse_args(["--prompt-dialect", "a1111", "--provider", "local"])).prompt_dialect == "a1111"
    assert settings_from_args(p.parse_args([])).prompt_dialect is None
    with pytest.raises(SystemExit):
        p.parse_args(["--prompt-dialect", "sd"])


@pytest.mark.parametrize("dialect", ["a1111", "comfyui", "novelai", None])
def test_dialect_round_trips_through_the_image(dialect: str | None) -> None:
    s = local(prompt="[a:b:0.5]", prompt_dialect=dialect)
    png = write_novelai_png(Image.new("RGB", (8, 8)), s, seed=1,
                            peropix={"provider": "local", "prompt_dialect": prompt_dialect(s)})
    back = read_metadata(io.BytesIO(png).getvalue()).settings
    assert back.prompt_dialect == (dialect or "auto")
