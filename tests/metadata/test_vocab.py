"""core/vocab.py: one sampler/schedule vocabulary for readers, the NovelAI request builder and the engine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from peropix_tui.core import vocab
from peropix_tui.core.nai import models


@pytest.mark.parametrize(
    ("text", "sampler", "scheduler"),
    [
        ("Euler a", "euler_ancestral", None),
        ("DPM++ 2M Karras", "dpmpp_2m", "karras"),
        ("DPM++ 2M SDE Exponential", "dpmpp_2m_sde", "exponential"),
        ("Euler Ancestral Karras", "euler_ancestral", "karras"),
        ("euler_ancestral_karras", "euler_ancestral", "karras"),
        ("dpmpp_2m_sgm_uniform", "dpmpp_2m", "sgm_uniform"),
        ("dpmpp_2m_karras", "dpmpp_2m", "karras"),
        ("Heun Beta", "heun", "beta"),
        ("Euler Simple", "euler", "simple"),
        ("euler", "euler", None),
        ("dpmpp_2m_sde_gpu", "dpmpp_2m_sde", None),
        ("k_dpmpp_2s_ancestral", "dpmpp_2s_ancestral", None),
        ("dpmpp_2m_k", "dpmpp_2m", "karras"),
        ("euler_a", "euler_ancestral", None),
        ("k_lms", "lms", None),
        ("UniPC", "uni_pc", None),
        ("  dpm++ 2m   karras ", "dpmpp_2m", "karras"),
        ("EulerAncestralDiscreteScheduler", "euler_ancestral", None),
        ("DPMSolverMultistepScheduler", "dpmpp_2m", None),
    ],
)
def test_parse_sampler_names_of_every_tool(text: str, sampler: str, scheduler: str | None) -> None:
    got = vocab.parse_sampler(text)
    assert (got.sampler, got.scheduler, got.known) == (sampler, scheduler, True)


def test_unknown_sampler_is_kept_and_marked() -> None:
    got = vocab.parse_sampler("My Fancy Sampler")
    assert (got.sampler, got.scheduler, got.known) == ("my_fancy_sampler", None, False)


def test_schedule_labels_and_settings_names() -> None:
    assert vocab.parse_schedule("SGM Uniform") == "sgm_uniform"
    assert vocab.parse_schedule("Align Your Steps") == "align_your_steps"
    assert vocab.settings_schedule("normal") == "native" and vocab.settings_schedule("karras") == "karras"
    assert vocab.settings_sampler("euler_ancestral") == "k_euler_ancestral"
    assert vocab.settings_sampler("ddim") == "ddim" and vocab.settings_sampler("uni_pc") == "uni_pc"
    assert vocab.a1111_label("euler_ancestral") == "Euler a"


def test_request_builder_and_metadata_share_the_tables() -> None:
    assert models.SAMPLER_ALIASES is vocab.NAI_SAMPLER_ALIASES
    assert models.SCHEDULE_ALIASES is vocab.NAI_SCHEDULE_ALIASES
    assert models.nai_sampler("euler_a") == "k_euler_ancestral"
    assert models.nai_sampler("dpmpp_2m_sde_gpu") == "k_dpmpp_2m_sde"


def test_vocab_imports_neither_torch_nor_textual() -> None:
    code = (
        "import sys; import peropix_tui.core.vocab, peropix_tui.core.metadata; "
        "bad = [m for m in ('torch', 'textual') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_engine_sampler_table_comes_from_the_vocabulary() -> None:
    pytest.importorskip("torch", reason="the local engine needs torch (the [local] extra)")
    from peropix_tui.engine import samplers

    for nai, comfy in samplers.NAI_SAMPLERS.items():
        assert comfy in samplers.SAMPLERS
        if nai not in ("ddim", "ddim_v3"):
            assert vocab.NAI_SAMPLERS[nai] == comfy
    assert samplers.NAI_SCHEDULES == vocab.NAI_SCHEDULES
