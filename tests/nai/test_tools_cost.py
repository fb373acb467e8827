"""Cost rules of Director Tools and the upscaler (specs/nai-tools.md §1 "Cost", §2 "Cost")."""

from __future__ import annotations

import math

import pytest

from peropix_tui.core.nai.cost import augment_cost, upscale_cost
from peropix_tui.core.settings import SettingsError

OTHER_TOOLS = ("lineart", "sketch", "colorize", "emotion", "declutter", "declutter-keep-bubbles")


def v4_base(pixels: int) -> int:
    return math.ceil(2.951823174884865e-6 * pixels + 5.753298233447344e-7 * pixels * 28)


def test_bg_removal_live_price_at_832x1216_is_65_even_on_opus() -> None:
    est = augment_cost("bg-removal", 832, 1216, tier=3)
    assert est.total == 65 and not est.opus_free  # the live data point
    assert augment_cost("bg-removal", 832, 1216, tier=0).total == 65


@pytest.mark.parametrize("tool", OTHER_TOOLS)
def test_other_tools_are_opus_free_up_to_one_megapixel(tool: str) -> None:
    assert augment_cost(tool, 832, 1216, tier=3).total == 0  # live: 0 on Opus
    assert augment_cost(tool, 1024, 1024, tier=3).opus_free
    assert augment_cost(tool, 832, 1216, tier=2).total == 20
    assert augment_cost(tool, 832, 1216, tier=3, active=False).total == 20


@pytest.mark.parametrize("tool", OTHER_TOOLS)
def test_other_tools_over_one_megapixel_cost_base_on_opus(tool: str) -> None:
    est = augment_cost(tool, 1024, 1536, tier=3)
    assert not est.opus_free and est.total == v4_base(1024 * 1536) == 30


def test_area_is_normalised_into_one_to_three_megapixels() -> None:
    assert augment_cost("lineart", 100, 100, tier=0).total == v4_base(1_048_576) == 20
    assert augment_cost("bg-removal", 100, 100, tier=3).total == 3 * 20 + 5
    assert augment_cost("lineart", 2048, 2048, tier=0).total == v4_base(3_145_728)
    assert augment_cost("bg-removal", 2048, 2048, tier=3).total == 3 * v4_base(3_145_728) + 5


def test_augment_has_no_v5_multiplier_and_no_140_cap() -> None:
    assert augment_cost("bg-removal", 1772, 1773, tier=3).total == 3 * v4_base(1772 * 1773) + 5 > 140


@pytest.mark.parametrize(("size", "price"), [
    ((832, 1216), 1), ((1024, 1024), 1), ((1024, 1025), 2), ((1024, 1706), 2), ((1280, 1365), 2),
    ((1280, 1366), 3), ((1536, 1592), 3), ((1536, 1593), 4), ((1536, 2048), 4),
])
def test_upscale_price_steps(size: tuple[int, int], price: int) -> None:
    est = upscale_cost(*size)
    assert est.total == price and not est.opus_free


def test_upscale_over_the_limit_is_refused() -> None:
    with pytest.raises(SettingsError, match="image: 2048x1976 = 4046848 px is too large to upscale"):
        upscale_cost(2048, 1976)
