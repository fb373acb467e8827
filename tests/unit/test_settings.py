from __future__ import annotations

import pytest

from peropix_tui.core.settings import (
    CharacterPrompt,
    CharacterReference,
    GenerationSettings,
    SettingsError,
    VibeReference,
    cell_to_xy,
    parse_cell,
    xy_to_cell,
)


def test_defaults_follow_novelai_website() -> None:
    s = GenerationSettings()
    assert (s.model, s.width, s.height, s.steps, s.scale) == ("nai-diffusion-4-5-full", 832, 1216, 28, 5.0)
    assert (s.sampler, s.noise_schedule, s.uc_preset, s.quality) == ("k_euler_ancestral", "karras", "heavy", True)


@pytest.mark.parametrize(
    "cell,xy",
    [("A1", (0.1, 0.1)), ("C3", (0.5, 0.5)), ("E5", (0.9, 0.9)), ("B4", (0.3, 0.7)), ("d2", (0.7, 0.3)), (None, (0, 0))],
)
def test_grid_cells(cell: str | None, xy: tuple[float, float]) -> None:
    assert cell_to_xy(cell) == xy
    assert xy_to_cell(*xy) == (cell.upper() if cell else None)


@pytest.mark.parametrize("bad", ["F1", "A6", "A0", "AA", "3C"])
def test_bad_cells_are_refused(bad: str) -> None:
    with pytest.raises(SettingsError, match="grid cell"):
        parse_cell(bad)


def test_round_trip_through_dict() -> None:
    s = GenerationSettings(
        prompt="1girl",
        characters=[CharacterPrompt("girl", "bad", "B2"), CharacterPrompt("boy", enabled=False)],
        vibes=[VibeReference(path="v.png", strength=0.4)],
        charref=CharacterReference(path="c.png", fidelity=0.5),
        seed=42,
    )
    back = GenerationSettings.from_dict(s.to_dict())
    assert back == s
    assert back.characters[0] is not s.characters[0]
    assert [c.prompt for c in back.enabled_characters()] == ["girl"]


def test_from_dict_ignores_unknown_keys() -> None:
    s = GenerationSettings.from_dict({"prompt": "x", "future_field": 1, "characters": [{"prompt": "a", "zzz": 2}]})
    assert s.prompt == "x" and s.characters[0].prompt == "a"


@pytest.mark.parametrize(
    "change,field",
    [
        ({"provider": "x"}, "provider"),
        ({"action": "img2img"}, "image"),
        ({"action": "infill", "image": "a.png"}, "mask"),
        ({"seed": -1}, "seed"),
        ({"strength": 1.5}, "strength"),
        ({"uc_preset": "extreme"}, "uc_preset"),
    ],
)
def test_check_basic_names_the_field(change: dict, field: str) -> None:
    with pytest.raises(SettingsError) as e:
        GenerationSettings(**change).check_basic()
    assert e.value.field == field
