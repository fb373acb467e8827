"""Pilot tests of the Compose screen: typing, completion, highlighting, characters, params, cost, messages."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

from PIL import Image
from textual.widgets import Checkbox, Input, Select, TabbedContent

from peropix_tui.core.settings import GenerationSettings
from peropix_tui.core.slots import Slot, SlotSet
from peropix_tui.messages import (
    BalanceUpdated,
    GenerationRequested,
    ImageSaved,
    JobProgressed,
    ReferencePicked,
    SettingsRestored,
)
from peropix_tui.screens.compose import ComposeScreen, edit_externally
from peropix_tui.widgets.character_list import CharacterList
from peropix_tui.widgets.cost_meter import CostMeter
from peropix_tui.widgets.grid_picker import GridPickerScreen
from peropix_tui.widgets.param_form import ParamForm
from peropix_tui.widgets.preview import cell_pixels
from peropix_tui.widgets.prompt_area import PromptArea

SIZE = (120, 40)


async def type_text(pilot: Any, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else "comma" if ch == "," else ch)


async def test_typing_with_tag_completion_accepted_by_tab(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        assert app.focused is area
        await type_text(pilot, "1girl, blu")
        assert area.suggestion == "sh"  # blush (1.2M) outranks blue eyes (900k)
        await pilot.press("tab")
        assert area.text == "1girl, blush"
        await type_text(pilot, ", blue_e")
        assert area.suggestion == "yes"
        await pilot.press("right")  # → accepts too
        assert area.text == "1girl, blush, blue_eyes"
        assert app.workspace.base.prompt == "1girl, blush, blue_eyes"
        await type_text(pilot, ", zz")
        assert area.suggestion == ""
        await pilot.press("tab")  # nothing to accept: focus moves on
        assert app.focused is not area
        assert area.text.endswith(", zz")


async def test_alias_match_gives_no_ghost_text_but_a_candidate(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_text(pilot, "nekom")
        area = app.screen.query_one("#prompt", PromptArea)
        assert area.suggestion == ""  # cat ears is found through an alias; typed text is not rewritten
        assert area.border_subtitle == "1:cat ears 400k"
        await pilot.press("alt+1")  # candidates can be picked, aliases included
        assert area.text == "cat ears"
        await type_text(pilot, ", bl")
        assert [m.tag for m in area.candidates] == ["blush", "blue eyes", "blue hair"]
        await pilot.press("alt+3")
        assert area.text == "cat ears, blue hair"
        assert area.border_subtitle == ""


async def test_highlighting_spans_and_unbalanced_mark(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        area = app.screen.query_one("#prompt", PromptArea)
        area.load_text("{cat}, [dog], 1.5::red::, {oops")
        await pilot.pause()
        line = area.get_line(0)
        up = area.get_component_rich_style("prompt--up1", partial=True)
        down = area.get_component_rich_style("prompt--down1", partial=True)
        error = area.get_component_rich_style("prompt--error", partial=True)
        styled = {line.plain[s.start : s.end]: s.style for s in line.spans}
        assert styled["cat"] == up and styled["dog"] == down
        assert styled["1.5::"] == area.get_component_rich_style("prompt--weight", partial=True)
        assert error.bgcolor is not None
        assert [line.plain[s.start : s.end] for s in line.spans if s.style == error] == ["{"]
        assert [s.start for s in line.spans if s.style == error] == [26]  # the unclosed one, not the first
        painted = {seg.text: seg.style for seg in area.render_line(0) if seg.style is not None}
        assert painted["cat"].color == up.color  # the colours survive rendering (cursor line included)
        assert any(seg.style and seg.style.bgcolor == error.bgcolor for seg in area.render_line(0))
        area.load_text("猫耳, {猫😺}, [犬]")  # wide characters: spans are characters, not UTF-8 bytes
        await pilot.pause()
        painted = {seg.text: seg.style for seg in area.render_line(0) if seg.style is not None}
        assert painted["猫😺"].color == up.color and painted["犬"].color == down.color


async def open_params(app: Any, pilot: Any) -> None:
    """Show Compose's Parameters tab and let it build (its form is made when the tab first opens:
    wait until every Select of it is mounted, as a busy machine may take more than one frame)."""
    app.screen.query_one(TabbedContent).active = "tab-params"
    for _ in range(100):
        await pilot.pause()
        selects = list(app.screen.query("#tab-params Select"))
        if selects and all(len(s.query("#label")) for s in selects):
            return


async def test_provider_switch_changes_dialect_and_workspace(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await open_params(app, pilot)
        select = screen.query_one("#p-provider", Select)
        select.focus()
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        assert app.workspace.base.provider == "local"
        assert screen.query_one("#prompt", PromptArea).dialect == "auto"
        assert screen.query_one("#p-checkpoint", Input).display
        assert "local — no Anlas" in str(screen.query_one(CostMeter).render())
        compile_box = screen.query_one("#p-compile", Checkbox)
        assert compile_box.display and not app.workspace.base.compile
        compile_box.focus()
        await pilot.press("space")
        await pilot.pause()
        assert app.workspace.base.compile


async def test_switching_to_local_takes_the_first_checkpoint_of_the_folder(make_app: Any, tmp_path: Any) -> None:
    from peropix_tui.core.config import Config

    (tmp_path / "b.safetensors").write_bytes(b"")
    (tmp_path / "a.safetensors").write_bytes(b"")
    config = Config()
    config.paths.checkpoints_dir = str(tmp_path)
    app = make_app(config=config)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await open_params(app, pilot)
        screen.query_one("#p-provider", Select).value = "local"
        await pilot.pause()
        first = str(tmp_path / "a.safetensors")
        assert screen.query_one("#p-checkpoint", Input).value == first
        assert app.workspace.base.checkpoint == first  # a real value: generate will use it


async def test_quality_and_uc_preset_show_for_local_only_when_configured(make_app: Any) -> None:
    from peropix_tui.core.config import Config, LocalConfig
    from peropix_tui.core.slots import SlotSet

    for local, shown in ((LocalConfig(), False), (LocalConfig(quality_tags="masterpiece"), True)):
        config = Config()
        config.local = local
        workspace = SlotSet()
        workspace.base.provider = "local"
        app = make_app(config=config, workspace=workspace)
        async with app.run_test(size=SIZE) as pilot:
            await open_params(app, pilot)
            assert app.screen.query_one("#p-quality", Checkbox).display is shown
            assert app.screen.query_one("#p-uc_preset", Select).display is shown


async def test_param_inputs_write_the_workspace(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await open_params(app, pilot)
        steps = screen.query_one("#p-steps", Input)
        steps.focus()
        await pilot.press("backspace", "backspace", "2", "3")
        await pilot.pause()
        assert app.workspace.base.steps == 23
        assert screen.query_one(CostMeter).cost.next_run == 17  # spec §10.4: 832×1216, 23 steps
        await pilot.press("backspace", "backspace")
        await pilot.pause()
        assert app.workspace.base.steps == 2 and steps.has_class("-invalid")  # empty: last valid kept, marked
        size = screen.query_one("#p-size", Select)
        size.focus()
        await pilot.press("enter", "down", "enter")  # next preset: Normal landscape 1216×832
        await pilot.pause()
        assert (app.workspace.base.width, app.workspace.base.height) == (1216, 832)
        assert screen.query_one("#p-width", Input).value == "1216"
        lock = screen.query_one("#p-seed-lock")
        lock.focus()
        await pilot.press("space")
        await pilot.pause()
        seed = app.workspace.base.seed
        assert seed is not None and screen.query_one("#p-seed", Input).value == str(seed)
        await pilot.press("space")
        await pilot.pause()
        assert app.workspace.base.seed is None


async def test_model_change_offers_only_what_the_model_allows(make_app: Any) -> None:
    app = make_app(workspace=SlotSet(base=GenerationSettings(uc_preset="human", sampler="k_dpmpp_2m")))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await open_params(app, pilot)
        screen.query_one("#p-model", Select).focus()
        await pilot.press("enter", "down", "down", "enter")  # V4.5 Full -> V4.5 Curated -> V4 Full
        await pilot.pause()
        base = app.workspace.base
        assert base.model == "nai-diffusion-4-full"
        assert base.uc_preset == "heavy"  # V4 has no "human" preset
        assert base.sampler == "k_dpmpp_2m"  # still allowed: kept
        uc = screen.query_one("#p-uc_preset", Select)
        assert [v for _, v in uc._options if v is not Select.BLANK] == ["heavy", "light", "none"]


async def test_character_add_and_grid_cell_by_keyboard(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        screen.query_one("#characters", CharacterList).query_one("#character-add").focus()
        await pilot.press("ctrl+n")
        await pilot.pause()
        await type_text(pilot, "girl")
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, GridPickerScreen)
        await pilot.press("right", "right", "down", "enter")  # from C3
        await pilot.pause()
        chars = app.workspace.base.characters
        assert len(chars) == 1 and chars[0].prompt == "girl" and chars[0].position == "E4"
        assert str(screen.query_one(".pos").label) == "E4"
        await pilot.press("ctrl+l", "a")
        await pilot.pause()
        assert chars[0].position is None
        await pilot.press("ctrl+t")
        assert chars[0].enabled is False
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.workspace.base.characters == []


async def test_cost_meter_counts_slots_repeats_and_balance(make_app: Any) -> None:
    base = GenerationSettings(prompt="1girl", steps=28)
    slots = [Slot("smile", "smile"), Slot("angry", "angry", locked=True), Slot("sad", "sad")]
    app = make_app(workspace=SlotSet(base=base, slots=slots, repeats=2), balance=BalanceUpdated(60, 1, True))
    async with app.run_test(size=SIZE) as pilot:
        meter = app.screen.query_one(CostMeter)
        assert (meter.cost.next_run, meter.cost.whole_queue, meter.cost.runs) == (20, 80, 4)
        text = str(meter.render())
        lines = text.splitlines()
        assert lines[:2] == ["this image: 20 Anlas", "slot plan (4 runs): 80 Anlas"], lines
        assert "balance 60 Anlas (Tablet)" in lines
        assert meter.has_class("-over") and meter.cost.check(all_slots=True)
        app.balance = BalanceUpdated(5000, 3, True)
        app.screen.post_message(app.balance)
        await pilot.pause()
        assert meter.cost.free and meter.cost.whole_queue == 0 and not meter.has_class("-over")
        assert str(meter.render()).startswith("this image: free\nslot plan (4 runs): 0 Anlas")
        app.workspace.base.n_samples = 2
        meter.recompute()
        assert str(meter.render()).startswith("this run (2 images): ")


async def test_generate_posts_request_and_learns_tags(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE, message_hook=app.record) as pilot:
        await type_text(pilot, "1girl, my_oc")
        await pilot.press("ctrl+g")
        await pilot.pause()
        requests = app.of_type(GenerationRequested)
        assert len(requests) == 1 and requests[0].all_slots is False
        assert app.tags.get("my oc").uses == 1
        await app.workers.wait_for_complete()  # the history file is written on a thread
        assert app.tags.history_path.is_file()


async def test_job_messages_update_status_and_preview(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    buf = io.BytesIO()
    Image.new("RGB", (64, 96), (200, 30, 30)).save(buf, format="PNG")
    saved = tmp_path / "001_smile_0000001.png"
    Image.new("RGB", (64, 96), (30, 200, 30)).save(saved)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        preview = screen.query_one("#preview")
        screen.post_message(JobProgressed("j1", 5, 28, buf.getvalue(), "account busy, retrying"))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "step 5/28 · account busy" in str(screen.query_one("#job-status").render())
        centre = (preview.image.width // 2, preview.image.height // 2)
        assert preview.image.getpixel(centre) == (200, 30, 30)
        screen.post_message(ImageSaved("j1", saved, 42))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        centre = (preview.image.width // 2, preview.image.height // 2)
        assert preview.image.getpixel(centre) == (30, 200, 30)
        # letterboxed to the preview box's aspect, so the picture is not stretched
        cw, ch = cell_pixels()
        box_aspect = preview.size.width * cw / (preview.size.height * ch)
        assert abs(preview.image.width / preview.image.height - box_aspect) < 0.02
        assert "seed 42" in str(screen.query_one("#job-status").render())


async def test_settings_restored_and_reference_picked(make_app: Any, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        restored = GenerationSettings(prompt="cat ears, smile", uc="lowres", steps=40, provider="nai")
        screen.post_message(SettingsRestored(restored, frozenset({"prompt", "parameters"})))
        await pilot.pause()
        await pilot.pause()
        assert app.workspace.base is restored
        assert screen.query_one("#prompt", PromptArea).text == "cat ears, smile"
        assert screen.query_one("#negative", PromptArea).text == "lowres"
        assert screen.query_one(ParamForm).query_one("#p-steps", Input).value == "40"
        img = tmp_path / "base.png"
        Image.new("RGB", (64, 64)).save(img)
        screen.post_message(ReferencePicked(img, "img2img"))
        await pilot.pause()
        await pilot.pause()
        assert (restored.image, restored.action) == (str(img), "img2img")
        assert screen.query_one("#base-image", Input).value == str(img)
        screen.post_message(ReferencePicked(img, "charref"))
        await pilot.pause()
        assert restored.charref is not None and restored.charref.path == str(img)


def test_edit_externally_runs_a_real_editor(tmp_path: Path) -> None:
    editor = tmp_path / "fake-editor.sh"
    editor.write_text('#!/bin/sh\nsed -i "s/cat/dog/" "$1"\n', encoding="utf-8")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    assert edit_externally("1girl, cat ears", str(editor)) == "1girl, dog ears"
    failing = tmp_path / "fail.sh"
    failing.write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")
    failing.chmod(failing.stat().st_mode | stat.S_IEXEC)
    try:
        edit_externally("x", str(failing))
    except OSError as e:
        assert "status 3" in str(e)
    else:
        raise AssertionError("a failing editor must not replace the prompt")


def test_compose_screen_declares_generate_binding() -> None:
    ids = {b.id for b in ComposeScreen.BINDINGS if hasattr(b, "id")}
    assert {"generate", "edit_external", "edit_mask"} <= ids
