"""Every Precise Reference (mode, strength, fidelity) is written into the Comment, read back and restored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from peropix_tui.cli import main
from peropix_tui.commands.meta import format_record
from peropix_tui.core.metadata import png, read_metadata, restore_settings, write_novelai_png
from peropix_tui.core.settings import CharacterReference, GenerationSettings

from .util import nai_settings, noise_image, png_bytes

REFS = [
    CharacterReference(path="/refs/a.png", mode="character", strength=0.8, fidelity=0.75),
    CharacterReference(path="/refs/b.png", mode="style", strength=0.5, fidelity=1.0),
    CharacterReference(path="/refs/c.png", style_aware=True, strength=1.0, fidelity=0.4),  # mode from style_aware
]


def _written(refs: list[CharacterReference]) -> bytes:
    s = nai_settings(charref=refs[0], extra_charrefs=refs[1:])
    return write_novelai_png(noise_image(), s, seed=3)


def test_every_reference_is_in_the_comment() -> None:
    c = json.loads(png.read_text(_written(REFS))["Comment"])
    assert c["director_reference_strengths"] == [0.8, 0.5, 1.0]
    assert c["director_reference_secondary_strengths"] == [0.25, 0.0, 0.6]
    assert c["peropix"]["charrefs"] == [
        {"mode": "character", "strength": 0.8, "fidelity": 0.75},
        {"mode": "style", "strength": 0.5, "fidelity": 1.0},
        {"mode": "character&style", "strength": 1.0, "fidelity": 0.4},
    ]
    assert not any("/refs/" in v for v in png.read_text(_written(REFS)).values())  # no local paths in the image


def test_references_read_back_in_order() -> None:
    r = read_metadata(_written(REFS))
    assert [(cr.caption(), cr.strength, cr.fidelity, cr.path) for cr in r.charrefs] == [
        ("character", 0.8, 0.75, ""), ("style", 0.5, 1.0, ""), ("character&style", 1.0, 0.4, "")]
    assert r.to_json()["charrefs"][1] == {"mode": "style", "strength": 0.5, "fidelity": 1.0, "image_known": False}
    assert "character reference image is not recoverable" in r.notes
    text = format_record(r.to_json())
    assert "Char ref 2:    style, strength 0.5, fidelity 1 (image not recoverable)" in text.splitlines()


def test_novelai_comment_lists_without_our_object_are_read() -> None:
    """A NovelAI Comment (no peropix object): strengths and secondary strengths, and descriptions if any."""
    comment = {"prompt": "cat", "uc": "", "seed": 1, "director_reference_strengths": [0.6, 1.0],
               "director_reference_secondary_strengths": [0.1, 0.0],
               "director_reference_descriptions": [{"caption": {"base_caption": "style", "char_captions": []},
                                                    "legacy_uc": False}]}
    r = read_metadata(png_bytes(noise_image(), {"Software": "NovelAI", "Source": "NovelAI Diffusion V4.5 4BDE2A90",
                                               "Comment": json.dumps(comment)}))
    assert [(cr.mode, cr.strength, cr.fidelity) for cr in r.charrefs] == [("style", 0.6, 0.9), ("", 1.0, 1.0)]
    assert r.to_json()["charrefs"][1]["mode"] is None  # the file does not say
    into = GenerationSettings(charref=CharacterReference(path="/a.png", mode="style"),
                              extra_charrefs=[CharacterReference(path="/b.png", mode="character", style_aware=False)])
    got, warnings = restore_settings(r, {"charrefs"}, into)
    assert [(cr.mode, cr.style_aware, cr.strength, cr.fidelity) for cr in got.charrefs()] == [
        ("style", True, 0.6, 0.9), ("character", False, 1.0, 1.0)]
    assert warnings == ["character reference image is not recoverable"]


def test_restore_puts_the_recorded_values_on_the_images_already_chosen() -> None:
    record = read_metadata(_written(REFS))
    into = GenerationSettings(model="nai-diffusion-4-5-full",
                              charref=CharacterReference(path="/mine/x.png", mode="style", strength=0.1, fidelity=0.1),
                              extra_charrefs=[CharacterReference(path="/mine/y.png")])
    got, warnings = restore_settings(record, {"charrefs"}, into)
    assert [(cr.path, cr.caption(), cr.strength, cr.fidelity) for cr in got.charrefs()] == [
        ("/mine/x.png", "character", 0.8, 0.75), ("/mine/y.png", "style", 0.5, 1.0)]
    assert warnings[0] == ("1 character reference not restored, no image set for it "
                           "(character&style, strength 1, fidelity 0.4): pick the image, then restore again")
    assert [(cr.path, cr.strength) for cr in into.charrefs()] == [("/mine/x.png", 0.1), ("/mine/y.png", 1.0)]
    untouched, _ = restore_settings(record, {"prompts"}, into)
    assert untouched.charrefs() == into.charrefs()


def test_from_image_gives_the_recorded_values_to_the_references_passed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = tmp_path / "made.png"
    img.write_bytes(_written(REFS[:2]))
    ref = tmp_path / "ref.png"
    noise_image(64, 96, mode="RGB").save(ref)
    assert main(["generate", "--from-image", str(img), "--charref", str(ref), "--charref", f"{ref}:0.3",
                 "--dry-run", "--json"]) == 0
    p = json.loads(capsys.readouterr().out)["parameters"]
    assert p["director_reference_strength_values"] == [0.8, 0.3]  # the second was given on the command line
    assert p["director_reference_secondary_strength_values"] == [0.25, 0]
    assert [d["caption"]["base_caption"] for d in p["director_reference_descriptions"]] == ["character", "style"]
    assert main(["generate", "--from-image", str(img), "--dry-run", "--json"]) == 0
    captured = capsys.readouterr()
    assert "director_reference_images" not in json.loads(captured.out)["parameters"]
    assert ("was made with 2 character references (character, strength 0.8, fidelity 0.75; style, strength 0.5, "
            "fidelity 1); their images are not in the metadata: pass --charref PATH for each") in captured.err
