"""Gallery: folders, a virtualized thumbnail grid, a large preview and the metadata panel.

Actions on the highlighted image: restore its settings into Compose (choose groups), use it as
img2img / inpaint base / vibe / character reference, favourite, move, delete (with undo), copy the
prompt (OSC 52), open it externally; `/` searches prompts. Director Tools: `e` makes an emotion set
(moods: all 24, a saved set or typed), `t` opens every tool; with images marked (`space`, `x`
clears the marks) both apply to the marked images instead of the highlighted one. `E` exports the
marked images (or the folder) to a folder or a ZIP, named by slot / mood.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input, OptionList, Static
from textual.widgets.option_list import Option

from .. import i18n
from ..i18n import N_, _, ngettext, pgettext
from ..messages import ImageSaved, ReferencePicked, SettingsRestored
from ..services import services
from ..widgets.footer import KeyFooter
from ..widgets.plain import plain
from ..widgets.thumb_grid import GridItem, ThumbGrid
from .modals import ChecksPrompt, ChoicePrompt, TextPrompt

ALL = "\x00all"
MAX_MARKS = 1000
BY_NAME = N_("by slot / mood, no sequence numbers (001_happy.png)")
AS_STORED = N_("as stored (001_happy_0000002.png)")
KEEP_META = N_("keep the metadata")
STRIP_META = N_("strip the metadata (also NovelAI's hidden copy in the alpha channel)")
KEEP_FORMAT = N_("keep each image's format")
FORMAT_CHOICES = {"PNG": "png", "WebP": "webp", "JPEG": "jpeg"}


def read_record(path: Path) -> Any:
    """The image's metadata record, or None (no module or no metadata)."""
    from ..core.metadata import read_metadata

    try:
        return read_metadata(path)
    except Exception:
        return None


META_LABELS = {
    "prompt": N_("prompt"), "negative": N_("negative"), "seed": N_("seed"), "steps": N_("steps"),
    "scale": N_("scale"), "sampler": N_("sampler"), "noise_schedule": N_("noise_schedule"),
    "width": N_("width"), "height": N_("height"), "action": N_("action"), "model": N_("model"),
    "provider": N_("provider"), "dialect": N_("dialect"), "checkpoint": N_("checkpoint"),
}
"""Labels of the metadata panel shown translated (the values are the file's, shown as they are);
keys not listed here (model_hash, vae, clip_skip, hires_*) are shown as the record names them."""


def meta_text(path: Path, record: Any) -> str:
    from ..core.metadata.record import tool_lines

    lines = [path.name]
    if record is None:
        return path.name + "\n\n" + _("(no generation metadata)")
    try:
        data = record.to_json()
    except Exception:
        data = {}
    sent_model = (data.get("peropix") or {}).get("sent_model")
    if isinstance(data.get("tool"), dict):
        lines += [f"{name.lower()}: {value}" for name, value in tool_lines(data["tool"])]
    for key in ("prompt", "negative", "seed", "steps", "scale", "sampler", "noise_schedule", "width",
                "height", "action", "model", "provider", "dialect", "checkpoint", "model_hash", "vae",
                "clip_skip", "denoise", "hires_scale", "hires_denoise", "hires_steps", "hires_upscaler"):
        if data.get(key) not in (None, "") and not (key == "action" and data[key] == "generate"):
            lines.append(f"{_(META_LABELS.get(key, key))}: {data[key]}")
        if key == "model" and isinstance(sent_model, str) and sent_model != data.get("model") and data.get("model"):
            lines[-1] = _("model: {sent} (base {base})").format(sent=sent_model, base=data.get("model"))  # what the request sent
    for lo in data.get("loras") or []:
        lines.append(f"lora: {lo.get('path')} @ {lo.get('weight')}")
    chars = data.get("characters") or []
    for i, c in enumerate(chars):
        lines.append(_("character {n}").format(n=i + 1) + f": {json.dumps(c, ensure_ascii=False)}")
    for i, cr in enumerate(data.get("charrefs") or []):
        lines.append(_("char ref {n}: {mode}, strength {strength}, fidelity {fidelity}").format(
            n=i + 1, mode=cr["mode"] or _("mode unknown"), strength=f"{cr['strength']:g}", fidelity=f"{cr['fidelity']:g}"))
    for note in data.get("notes") or []:
        lines.append(_("note: {note}").format(note=note))
    return "\n".join(lines)


def restore_group_label(group: str) -> str:
    """A restore group (a key of ``core.metadata.GROUPS``) as the restore picker shows it."""
    labels = {
        "prompts": pgettext("restore group", "prompts"), "parameters": pgettext("restore group", "parameters"),
        "size": pgettext("restore group", "size"), "seed": pgettext("restore group", "seed"),
        "characters": pgettext("restore group", "characters"), "vibes": pgettext("restore group", "vibes"),
        "charrefs": pgettext("restore group", "charrefs"),
    }
    return labels.get(group, group)


def reference_label(kind: str) -> str:
    """What a picked image becomes in Compose (``ReferencePicked.kind``), as the notice names it."""
    labels = {
        "img2img": pgettext("reference kind", "img2img"), "inpaint": pgettext("reference kind", "inpaint"),
        "vibe": pgettext("reference kind", "vibe"), "charref": pgettext("reference kind", "charref"),
    }
    return labels.get(kind, kind)


class GalleryScreen(Screen[None]):
    HELP_TITLE = N_("Gallery")
    HELP = N_(
        "Arrows move in the grid, `/` searches prompts (Esc clears the search), the folder list on "
        "the left filters. "
        "`r` restores settings into Compose (you choose which groups); `i` / `n` / `v` / `c` use the "
        "image as img2img base, inpaint base, vibe or character reference. "
        "`e` emotion set, `t` Director Tools (background removal, line art, sketch, colorize, "
        "declutter) on the image, or on every marked image: `space` marks, `x` clears the marks. "
        "The cost is shown before anything is queued. `E` exports the marked images (or the folder) "
        "to a folder or a ZIP."
    )
    FOOTER_WIDE_ONLY = frozenset({"copy_prompt"})  # footer keys left out below 100 columns
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("slash", "search", N_("Search"), id="gallery_search"),
        Binding("escape", "clear_search", N_("Clear search"), id="gallery_clear_search", show=False),
        Binding("r", "restore", N_("Restore"), id="gallery_restore"),
        Binding("i", "use('img2img')", "img2img", id="gallery_img2img"),
        Binding("n", "use('inpaint')", N_("Inpaint"), id="gallery_inpaint", show=False),
        Binding("v", "use('vibe')", N_("Vibe"), id="gallery_vibe", show=False),
        Binding("c", "use('charref')", N_("Char ref"), id="gallery_charref", show=False),
        Binding("f", "favourite", "★", id="gallery_favourite", show=False),
        Binding("F", "favourites_only", N_("★ only"), id="gallery_favourites_only", show=False),
        Binding("m", "move", N_("Move"), id="gallery_move", show=False),
        Binding("d,delete", "delete", N_("Delete"), id="gallery_delete"),
        Binding("u", "undo", N_("Undo"), id="gallery_undo"),
        Binding("y", "copy_prompt", N_("Copy prompt"), id="gallery_copy_prompt"),
        Binding("o", "open", N_("Open"), id="gallery_open", show=False),
        Binding("ctrl+r", "rescan", N_("Rescan"), id="gallery_rescan", show=False),
        Binding("e", "tools('emotion')", N_("Emotion set"), id="gallery_emotion", show=False),
        Binding("t", "tools('bg-removal')", N_("Tools"), id="gallery_tools", show=False),
        Binding("space", "mark", N_("Mark"), id="gallery_mark", show=False),
        Binding("x", "clear_marks", N_("Clear marks"), id="gallery_clear_marks", show=False),
        Binding("E", "export", N_("Export"), id="gallery_export", show=False),
        Binding("A", "mark_all", N_("Mark all"), id="gallery_mark_all", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.folder: str | None = None
        self.search_text = ""
        self.favourites_only = False
        self.current: GridItem | None = None
        self._undo: list[Any] = []
        self._marks: list[Path] = []
        self._unsubscribe: Callable[[], None] = lambda: None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="gallery-main"):
            yield OptionList(id="folders")
            with Vertical(id="grid-pane"):
                yield Input(placeholder=_("/ search prompts"), id="search")
                yield ThumbGrid(id="thumbs")
            with Vertical(id="detail"):
                yield Vertical(id="detail-preview-box")
                yield Static("", id="meta", markup=False)
        yield KeyFooter()

    @property
    def store(self) -> Any:
        return services(self).store

    def on_mount(self) -> None:
        self._unsubscribe = i18n.subscribe(lambda _language: self._retitle())
        self.query_one(ThumbGrid).focus()
        services(self).ensure_store()
        if self.store is None:
            self.query_one("#meta", Static).update(_("The gallery store is not available."))
            return
        self.reload()  # paint from the index at once; files changed outside the app follow
        self.call_after_refresh(self.rescan)  # after the first frame: the scan thread holds the GIL a lot

    def on_unmount(self) -> None:
        self._unsubscribe()

    def _retitle(self) -> None:
        """The search placeholder, folder list and metadata labels in the current language."""
        self.query_one("#search", Input).placeholder = _("/ search prompts")
        if self.store is None:
            self.query_one("#meta", Static).update(_("The gallery store is not available."))
            return
        self.reload(self.query_one(ThumbGrid).cursor)
        if self.current is not None:
            self._load_detail(self.current)

    # ------------------------------------------------------------ loading
    @work(thread=True, group="gallery-scan", exclusive=True, exit_on_error=False)
    def rescan(self) -> None:
        """Bring the index up to date with the files (cheap when nothing changed); reload if needed."""
        report = self.store.sync()
        if report.added or report.updated or report.moved or report.removed:
            self.app.call_from_thread(self.reload, self.query_one(ThumbGrid).cursor)

    def action_rescan(self) -> None:
        self.rescan()

    def reload(self, keep: int = 0) -> None:
        if self.store is None:
            return
        folders = self.query_one("#folders", OptionList)
        highlighted = folders.highlighted
        options = [Option(_("All ({n})").format(n=self.store.count()), id=ALL)]
        top = _("(top)")  # the output folder itself
        options += [Option(plain(f"{f.name or top} ({f.count})"), id=f.name) for f in self.store.folders()]
        folders.set_options(options)  # at once: one option at a time restyles the footer per option
        folders.highlighted = highlighted if highlighted is not None else 0
        kw = {"folder": self.folder, "search": self.search_text or None, "favourites_only": self.favourites_only}
        count = self.store.count(**kw)

        def fetch(offset: int, limit: int) -> list[GridItem]:
            rows = self.store.page(offset=offset, limit=limit, **kw)
            return [GridItem(r.file, ("★" if r.favourite else "") + Path(r.path).stem, r) for r in rows]

        self.query_one(ThumbGrid).reset(count, fetch, keep)
        if not count:
            self._show(None)

    @on(OptionList.OptionSelected, "#folders")
    def _folder(self, event: OptionList.OptionSelected) -> None:
        self.folder = None if event.option.id == ALL else event.option.id
        self.reload()
        self.query_one(ThumbGrid).focus()

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        self.search_text = event.value.strip()
        self.reload()
        self.query_one(ThumbGrid).focus()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_clear_search(self) -> None:
        """Esc: empty the search field and show every image again (back in the grid)."""
        field = self.query_one("#search", Input)
        had = bool(self.search_text or field.value)
        field.value = ""
        self.query_one(ThumbGrid).focus()
        if self.search_text:
            self.search_text = ""
            self.reload()
        if not had:
            raise SkipAction()  # nothing to clear: let Esc mean what it means elsewhere

    def on_image_saved(self, _: ImageSaved) -> None:
        if self.store is not None:
            self.reload(self.query_one(ThumbGrid).cursor)

    # ------------------------------------------------------------ detail
    @on(ThumbGrid.Highlighted)
    def _highlighted(self, event: ThumbGrid.Highlighted) -> None:
        self._show(event.item)

    @on(ThumbGrid.Chosen)
    def _chosen(self, event: ThumbGrid.Chosen) -> None:
        services(self).action_open_external(event.item.file)

    def _show(self, item: GridItem | None) -> None:
        self.current = item
        if item is None:
            self.query_one("#meta", Static).update(_("No images here yet."))
            self.query_one("#detail-preview-box").remove_children()
            return
        self._load_detail(item)

    @work(thread=True, group="detail", exclusive=True, exit_on_error=False)
    def _load_detail(self, item: GridItem) -> None:
        from ..widgets.preview import load_display_image

        try:
            image = load_display_image(item.file, 512)
        except OSError:
            image = None
        text = meta_text(item.file, read_record(item.file))
        self.app.call_from_thread(self._detail_ready, item, image, text)  # type: ignore[arg-type]

    async def _detail_ready(self, item: GridItem, image: Any, text: str) -> None:
        if self.current is not item:
            return
        self.query_one("#meta", Static).update(text)
        box = self.query_one("#detail-preview-box")
        await box.remove_children()
        if image is not None:
            widget = services(self).image_widget(image, id="detail-preview")
            await box.mount(widget)
            self.call_after_refresh(self._fit_detail, widget, image)

    def _fit_detail(self, widget: Any, image: Any) -> None:
        """Once laid out, keep the picture's aspect in the preview box (widgets stretch to fit)."""
        from ..widgets.preview import letterbox

        if widget.is_mounted and widget.size.area:
            widget.image = letterbox(image, widget.size.width, widget.size.height)

    # ------------------------------------------------------------ actions
    def _need(self) -> GridItem | None:
        if self.current is None:
            self.notify(_("No image selected."), severity="warning")
        return self.current

    @work(group="gallery-restore")
    async def action_restore(self) -> None:
        item = self._need()
        if item is None:
            return
        record = read_record(item.file)
        if record is None:
            self.notify(_("{name}: no generation metadata to restore.").format(name=item.file.name), severity="error")
            return
        from ..core.metadata import GROUPS

        groups = await self.app.push_screen_wait(ChecksPrompt(
            _("Restore which settings?"), list(GROUPS), {g: restore_group_label(g) for g in GROUPS}))
        if not groups:
            return
        self.restore_into_compose(record, groups)

    def restore_into_compose(self, record: Any, groups: frozenset[str]) -> None:
        from ..core.metadata import restore_settings

        app = services(self)
        settings, warnings = restore_settings(record, set(groups), app.workspace.base.copy())
        app.workspace.base = settings
        app.broadcast(SettingsRestored(settings, frozenset(groups), tuple(warnings)))
        for w in warnings:
            self.notify(w, severity="warning")
        self.notify(_("Restored {groups} into Compose.").format(
            groups=", ".join(restore_group_label(g) for g in sorted(groups))))

    def action_use(self, kind: str) -> None:
        item = self._need()
        if item is None:
            return
        services(self).broadcast(ReferencePicked(item.file, kind))
        self.notify(_("{name} → {kind}. Compose (F2) has it.").format(name=item.file.name, kind=reference_label(kind)))

    def action_favourite(self) -> None:
        item = self._need()
        if item is None:
            return
        on_now = self.store.toggle_favourite(item.data.path)
        self.notify(_("★ favourite") if on_now else _("not a favourite any more"))
        self.reload(self.query_one(ThumbGrid).cursor)

    def action_favourites_only(self) -> None:
        self.favourites_only = not self.favourites_only
        self.reload()

    @work(group="gallery-move")
    async def action_move(self) -> None:
        item = self._need()
        if item is None:
            return
        folder = await self.app.push_screen_wait(TextPrompt(_("Move to folder:"), item.data.folder))
        if not folder:
            return
        try:
            self.store.move_images([item.data.path], folder)
        except (ValueError, OSError) as e:
            self.notify(str(e), severity="error")
            return
        self.reload(self.query_one(ThumbGrid).cursor)

    def action_delete(self) -> None:
        item = self._need()
        if item is None:
            return
        self._undo.append(self.store.delete([item.data.path]))
        self.notify(_("Deleted {name} (u to undo).").format(name=item.file.name))
        self.reload(self.query_one(ThumbGrid).cursor)

    def action_undo(self) -> None:
        if not self._undo:
            self.notify(_("Nothing to undo."))
            return
        restored = self.store.restore(self._undo.pop())
        self.notify(ngettext("Restored {n} image.", "Restored {n} images.", len(restored)).format(n=len(restored)))
        self.reload(self.query_one(ThumbGrid).cursor)

    def action_copy_prompt(self) -> None:
        item = self._need()
        if item is None:
            return
        record = read_record(item.file)
        prompt = record.settings.prompt if record is not None else (item.data.prompt or "")
        if not prompt:
            self.notify(_("This image has no prompt."), severity="warning")
            return
        self.app.copy_to_clipboard(prompt)
        self.notify(_("Prompt copied to the clipboard (OSC 52)."))

    def action_open(self) -> None:
        item = self._need()
        if item is not None:
            services(self).action_open_external(item.file)

    # ------------------------------------------------------------ Director Tools
    def tool_sources(self) -> list[Path]:
        """The marked images (in the order marked), else the highlighted one."""
        grid = self.query_one(ThumbGrid)
        marked = [p for p in self._marks if p in grid.marked and p.is_file()]
        if marked:
            return marked
        return [self.current.file] if self.current is not None else []

    def action_tools(self, tool: str) -> None:
        """Emotion set / Director Tools on the marked images or the highlighted one (cost first)."""
        sources = self.tool_sources()
        if not sources:
            self.notify(_("No image selected."), severity="warning")
            return
        services(self).open_tools(sources, tool)

    def action_mark(self) -> None:
        item = self._need()
        if item is None:
            return
        grid = self.query_one(ThumbGrid)
        if item.file in grid.marked:
            grid.marked.discard(item.file)
            self._marks.remove(item.file)
        else:
            grid.marked.add(item.file)
            self._marks.append(item.file)
        grid.refresh()
        self.notify(ngettext("{n} image marked (e / t apply to it; x clears).", "{n} images marked (e / t apply to them; x clears).",
                              len(grid.marked)).format(n=len(grid.marked)))

    def action_mark_all(self) -> None:
        """Mark every image shown (the folder / search / favourites filter applies), up to MAX_MARKS."""
        grid = self.query_one(ThumbGrid)
        for index in range(min(grid.count, MAX_MARKS)):
            item = grid.item(index)
            if item is not None and item.file not in grid.marked:
                grid.marked.add(item.file)
                self._marks.append(item.file)
        grid.refresh()
        more = _(" (the first {n})").format(n=MAX_MARKS) if grid.count > MAX_MARKS else ""
        self.notify(ngettext("{n} image marked{more}; space unmarks one, x clears.",
                             "{n} images marked{more}; space unmarks one, x clears.",
                             len(grid.marked)).format(n=len(grid.marked), more=more))

    def action_clear_marks(self) -> None:
        grid = self.query_one(ThumbGrid)
        grid.marked.clear()
        self._marks.clear()
        grid.refresh()

    # ------------------------------------------------------------ export
    def export_sources(self) -> tuple[list[Path], str]:
        """(the marked images, else every image of the folder shown (or of the highlighted image's
        folder), a name for the set)."""
        from ..core.export import ExportError, collect

        grid = self.query_one(ThumbGrid)
        marked = [p for p in self._marks if p in grid.marked and p.is_file()]
        if marked:
            return marked, "selection"
        if self.folder is not None:
            folder = self.store.root / self.folder
        elif self.current is not None:
            folder = self.current.file.parent
        else:
            return [], ""
        try:
            return collect([folder]), folder.name or "gallery"
        except ExportError:
            return [], ""

    @work(group="gallery-export", exclusive=True)
    async def action_export(self) -> None:
        """Copy the marked images (or the folder's) to a folder or a ZIP, named by slot / mood."""
        import asyncio

        from ..core.export import ExportError, ExportOptions, plan_export, run_export

        sources, name = self.export_sources()
        if not sources:
            self.notify(_("Nothing to export here."), severity="warning")
            return
        default = services(self).config.output_dir.expanduser().parent / "exports" / f"{name}.zip"
        where = await self.app.push_screen_wait(TextPrompt(
            ngettext("Export {n} image to (a folder, or a path ending in .zip):",
                     "Export {n} images to (a folder, or a path ending in .zip):", len(sources)).format(n=len(sources)),
            str(default)))
        if not where:
            return
        names = await self.app.push_screen_wait(ChoicePrompt(_("File names:"), [_(BY_NAME), _(AS_STORED)]))
        meta = await self.app.push_screen_wait(ChoicePrompt(_("Metadata:"), [_(KEEP_META), _(STRIP_META)])) if names else None
        if not names or not meta:
            return
        fmt_choice = await self.app.push_screen_wait(ChoicePrompt(_("Format:"), [_(KEEP_FORMAT), *FORMAT_CHOICES]))
        if not fmt_choice:
            return
        fmt = FORMAT_CHOICES.get(fmt_choice)
        quality = 95
        if fmt in ("webp", "jpeg"):
            typed = await self.app.push_screen_wait(TextPrompt(_("Quality (1-100; WebP 100 = lossless):"), "95"))
            if not typed:
                return
            try:
                quality = int(typed)
            except ValueError:
                self.notify(_("Not exported: quality {value!r} is not a whole number").format(value=typed),
                            severity="error")
                return
        dest = Path(where).expanduser()
        options = ExportOptions(fmt=fmt, quality=quality, strip=meta == _(STRIP_META), keep_seq=names == _(AS_STORED))
        as_zip = dest.suffix.lower() == ".zip"
        try:
            try:
                plan = plan_export(sources, dest, options, as_zip=as_zip)
            except ExportError as e:
                if "already exists" not in str(e):
                    raise
                answer = await self.app.push_screen_wait(ChoicePrompt(
                    _("{error}. Replace?").format(error=e), ["replace", "cancel"],
                    {"replace": _("replace"), "cancel": _("cancel")}))
                if answer != "replace":
                    return
                options.overwrite = True
                plan = plan_export(sources, dest, options, as_zip=as_zip)
            options.check()
            written = await asyncio.to_thread(run_export, plan, options)
        except (ExportError, OSError) as e:
            self.notify(_("Not exported: {error}").format(error=e), severity="error")
            return
        self.notify(ngettext("Exported {n} image to {dest}.", "Exported {n} images to {dest}.", len(plan.items)).format(
            n=len(plan.items), dest=written[0] if as_zip else dest))

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            (_("Gallery: emotion set"), _("Emotion images of this image (or the marked ones): pick moods, see the cost"),
             lambda: self.action_tools("emotion")),
            (_("Gallery: Director Tools"), _("Background removal, line art, sketch, colorize, declutter, emotion"),
             lambda: self.action_tools("bg-removal")),
            (_("Gallery: mark / unmark image"), _("Mark images to apply a tool to all of them"), self.action_mark),
            (_("Gallery: apply Director Tools to the marked images"), _("Every marked image, one dialog"),
             lambda: self.action_tools("bg-removal")),
            (_("Gallery: mark all shown"), _("Mark every image of this view (A)"), self.action_mark_all),
            (_("Gallery: clear marks"), _("Unmark every image"), self.action_clear_marks),
            (_("Gallery: export set"), _("Marked images or this folder to a folder or ZIP, named by slot / mood"),
             self.action_export),
            (_("Gallery: restore settings"), _("Load this image's settings into Compose"), self.action_restore),
            (_("Gallery: copy prompt"), _("Copy the prompt (OSC 52)"), self.action_copy_prompt),
            (_("Gallery: toggle favourite"), _("Star or unstar"), self.action_favourite),
            (_("Gallery: favourites only"), _("Show only starred images"), self.action_favourites_only),
            (_("Gallery: delete"), _("Move to trash (u undoes)"), self.action_delete),
            (_("Gallery: rescan"), _("Index files added outside PeroPix"), self.action_rescan),
        ]
