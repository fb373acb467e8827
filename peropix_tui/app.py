"""The Textual app: wires the services, installs the screens, routes job messages.

Services (the contract the screens use through ``self.app``): ``config``, ``token`` (a Secret or
None), ``workspace`` (the one editable SlotSet, saved in the state folder), ``scheduler`` (the
sole owner of queue state; ``queue`` reads it), ``runner`` (the adapter onto the generation
core), ``store`` (gallery store or None), ``tags`` (TagIndex or None), ``balance`` (latest
BalanceUpdated) and ``image_widget()``.

The queue is opened as its owner (a lock in the state folder); when another ``peropix`` owns it
the app attaches read-only and says which process. Job messages reach the app from the runner's
workers; the app applies them through the runner (main thread only), logs them, and broadcasts a
copy to every screen that exists so the preview, the queue list, the gallery and the cost meter
update wherever they are. Queue saves are written by a background thread.
"""

from __future__ import annotations

import copy
import gc
import json
import logging
import os
import shlex
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget

from . import wide_cells
from .applog import setup_log
from .commands_palette import SEARCH_PLACEHOLDER, PeroPixCommands, translated_system_commands
from .core.backend import Backend
from .core.config import Config, ConfigError, Secret, load_token
from .core.generation.backends import BackendPool
from .core.generation.output import ImageWriter
from .core.generation.scheduler import Scheduler
from .core.generation.service import GenerationService
from .core.generation.session import QueueSession, open_queue, session_name
from .core.generation.statefile import BackgroundWriter
from .core.generation.workers import DEFAULT_ACCOUNT, NaiAccount, load_accounts, workers_from_config
from .core.jobs import JobQueue, JobState, shown
from .core.presets import load_workspace, save_workspace, workspace_path
from .i18n import N_, _, ngettext, set_language
from .messages import (
    BalanceUpdated,
    GenerationRequested,
    ImageSaved,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobProgressed,
    JobsQueued,
    JobStarted,
    QueueChanged,
    ToolsRequested,
    WorkerLost,
)
from .runner import Runner, RunRefused, account_of, fetch_balance
from .tool_actions import QueueNotices, slot_images
from .widgets.cell_wrap import wrap_toasts

log = logging.getLogger("peropix")

SCREENS = ("compose", "queue", "gallery", "settings")
SCREEN_KEYS = Binding.Group(N_("Screens"))


def _compose_screen() -> Screen[Any]:
    from .screens.compose import ComposeScreen

    return ComposeScreen()


def _queue_screen() -> Screen[Any]:
    from .screens.queue import QueueScreen

    return QueueScreen()


def _gallery_screen() -> Screen[Any]:
    from .screens.gallery import GalleryScreen

    return GalleryScreen()


def _settings_screen() -> Screen[Any]:
    from .screens.settings import SettingsScreen

    return SettingsScreen()


class PeroPixApp(App[None]):
    TITLE = "PeroPix"
    # the first screen's CSS is read with the app's, so showing it does not re-parse every style sheet
    CSS_PATH = ["app.tcss", "screens/compose.tcss"]
    COMMANDS = App.COMMANDS | {PeroPixCommands}
    MODES = {"compose": _compose_screen, "queue": _queue_screen, "gallery": _gallery_screen,
             "settings": _settings_screen}
    BINDINGS = [
        Binding("ctrl+q", "quit", N_("Quit"), id="quit", priority=True),
        Binding("f1", "help", N_("Help"), id="help"),
        # one footer entry "f2 f3 f4 f5 Screens" (F1 names each), so the footer fits 80 columns
        Binding("f2", "show('compose')", N_("Compose"), id="screen_compose", group=SCREEN_KEYS),
        Binding("f3", "show('queue')", N_("Slots/Queue"), id="screen_queue", group=SCREEN_KEYS),
        Binding("f4", "show('gallery')", N_("Gallery"), id="screen_gallery", group=SCREEN_KEYS),
        Binding("f5", "show('settings')", N_("Settings"), id="screen_settings", group=SCREEN_KEYS),
    ]

    def __init__(self, config: Config | None = None, *, token: Secret | None = None,
                 backends: dict[str, Backend] | None = None) -> None:
        self.config = config or Config()
        set_language(self.config.ui.language)  # before any screen is composed
        wide_cells.install()  # double-width text stays whole where a toast or modal crosses an edge
        wrap_toasts()  # Korean / Japanese toasts break lines by cells
        self.token: Secret | None = token if token is not None else load_token()
        # Start in the first screen's mode with that screen as Textual's default screen: installing
        # it as a mode would re-parse every style sheet and restyle the app before the first frame.
        # The mode is added back once the app is mounted (F2..F5 switch to it as to any other).
        first = "settings" if self.first_run else "compose"
        self.DEFAULT_MODE = first  # type: ignore[misc]
        self.MODES = {name: make for name, make in PeroPixApp.MODES.items() if name != first}  # type: ignore[misc]
        super().__init__()
        self.balance: BalanceUpdated | None = None
        self.tags: Any = None
        self.store: Any = None
        self._session_folder = ""
        self.last_image: Path | None = None
        self.quit_after_job = False
        self.queue_notices = QueueNotices(self.config.ui.notify)
        """Queue-end bell / desktop notification while the terminal is not focused ([ui] notify)."""
        """Set by the quit dialog's "finish this image, then quit": exit once no job runs."""
        self.workspace, ws_warning = load_workspace()
        self._startup_warnings = [ws_warning] if ws_warning else []
        self._queue_writer = BackgroundWriter()
        self._workspace_writer = BackgroundWriter()
        self._images = ImageWriter(self.config.output_dir, self.ensure_store)
        self._nai_accounts: list[NaiAccount] = []
        self.queue_session: QueueSession = self._open_queue()
        self.scheduler: Scheduler = self.queue_session.scheduler
        pool = BackendPool(self.config, self.token,
                           {a.name: a.token for a in self._nai_accounts if a.name != DEFAULT_ACCOUNT})
        for provider, backend in (backends or {}).items():
            pool.use(provider, backend)
        self.runner = Runner(self, self.scheduler, GenerationService(pool, self._images),
                             folder=lambda: str((self.config.output_dir / self.session_folder).absolute()),
                             durable=self._queue_writer.flush, accounts=self._nai_accounts)
        try:
            self.theme = self.config.ui.theme
        except Exception:  # unknown theme name: keep the default, say so
            self._startup_warnings.append(_("ui.theme: unknown theme {name}").format(name=repr(self.config.ui.theme)))
        setup_log(self.token)

    # ------------------------------------------------------------ services
    @property
    def session_folder(self) -> str:
        """This run's folder under the output folder, named when the first job is queued; queued
        jobs keep it (a resumed job writes there too)."""
        if not self._session_folder:
            self._session_folder = session_name()
        return self._session_folder

    @property
    def queue(self) -> JobQueue:
        """The job queue, for reading; changes go through ``scheduler``."""
        return self.scheduler.queue

    def _open_queue(self) -> QueueSession:
        try:  # every ComfyUI server and NovelAI account is a worker (core/generation/workers.py)
            self._nai_accounts = load_accounts(self.config, self.token)
        except ConfigError as e:
            self._startup_warnings.append(_("{error}; that account is not used").format(error=e))
            self._nai_accounts = load_accounts(Config(), self.token)
        session = open_queue(writer=self._queue_writer, images=self._images, attach_readonly=True,
                             workers=workers_from_config(self.config, self._nai_accounts))
        self._startup_warnings.extend(session.warnings)
        if session.recovered:
            n = len(session.recovered)
            self._startup_warnings.append(ngettext(
                "{n} job had finished before PeroPix stopped: its image is on disk, so it is done "
                "and was not sent again.",
                "{n} jobs had finished before PeroPix stopped: their images are on disk, so they are done "
                "and were not sent again.", n).format(n=n))
        nai = [j for j in session.interrupted if j.settings.provider == "nai"]
        if nai:
            self._startup_warnings.append(ngettext(
                "{n} NovelAI job was mid-request when PeroPix stopped: NovelAI may have charged it; "
                "it is paused (F3, 'p' sends it again).",
                "{n} NovelAI jobs were mid-request when PeroPix stopped: NovelAI may have charged them; "
                "they are paused (F3, 'p' sends them again).", len(nai)).format(n=len(nai)))
        return session

    def ensure_store(self) -> Any:
        """The gallery store, opened on first need (None when unavailable)."""
        if self.store is None:
            self.store = self._open_store()
        return self.store

    def _open_store(self) -> Any:
        from .core.store import GalleryStore

        try:
            return GalleryStore(self.config.output_dir)
        except Exception as e:  # an unusable output folder must not stop the app
            self._startup_warnings.append(_("gallery: {error}").format(error=e))
            return None

    def image_widget(self, image: Any = None, **kwargs: Any) -> Widget:
        """A textual-image widget for the configured protocol; without an image, a slot that
        becomes one on its first image (so nothing imports textual-image before the first frame)."""
        from .widgets.preview import DeferredImage, make_image_widget

        if image is None:
            return DeferredImage(self.config.ui.image_protocol, **kwargs)
        return make_image_widget(self.config.ui.image_protocol, image, **kwargs)

    def set_token(self, token: Secret | None) -> None:
        """A new token from Settings: forget the client built with the old one."""
        self.token = token
        self.runner.backends.set_token(token)
        named = [a for a in self.runner.accounts if a.name != DEFAULT_ACCOUNT]
        self.runner.accounts = ([NaiAccount(DEFAULT_ACCOUNT, token)] if token else []) + named
        self.scheduler.hold_accounts = self.runner.several_accounts
        self.scheduler.release_holds("nai")  # the default account's worker, held for its old token
        setup_log(token)

    def use_backend(self, provider: str, backend: Backend | None) -> None:
        self.runner.use_backend(provider, backend)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification is plain text: messages carry prompts, file names and server errors."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    # ------------------------------------------------------------ lifecycle
    def get_default_screen(self) -> Screen[Any]:
        make = PeroPixApp.MODES[self.DEFAULT_MODE]
        assert callable(make)
        return make()

    async def on_mount(self) -> None:
        self.add_mode(self.DEFAULT_MODE, PeroPixApp.MODES[self.DEFAULT_MODE])
        # The default screen composes on its own task; wait for it so that its widgets exist once the
        # app is ready (pilots, snapshots). Textual's AwaitMount would also re-layout the screen.
        await self.screen._mounted_event.wait()
        self.animation_level = "none" if os.environ.get("TEXTUAL_ANIMATIONS") == "none" else self.animation_level
        if self.config.ui.keymap:
            self.set_keymap(self.config.ui.keymap)
        for w in self._startup_warnings:
            self.notify(w, severity="warning", timeout=10)
        paused = len(self.queue.in_state(JobState.PAUSED))
        if paused:
            self.notify(ngettext("{n} job from last time is paused: F3, then 'p' to resume.",
                                 "{n} jobs from last time are paused: F3, then 'p' to resume.", paused)
                        .format(n=paused), timeout=8)
        self.call_after_refresh(self._start_services)

    def _start_services(self) -> None:
        """After the first frame: the gallery index, the tag index, the image module, the balance."""
        gc.enable()  # run_tui paused collection for the start-up
        self.ensure_store()
        self._load_tags()
        self._preload_images()
        if self.token or self.runner.several_accounts:
            self.refresh_balance()

    @property
    def first_run(self) -> bool:
        """Nothing configured yet: no token, no checkpoint folder, no config file."""
        return not self.token and not self.config.paths.checkpoints_dir and self.config.source is None

    @work(thread=True, group="tags", exit_on_error=False)
    def _load_tags(self) -> None:
        from .core.tags import load_index, tags_dir

        index, warnings = load_index(tags_dir(self.config.paths.tags_dir))
        self.tags = index
        for warning in warnings:  # once per bad file, naming it; the other files still complete
            self.call_from_thread(self.notify, warning, title=_("tags"), severity="warning")

    @work(thread=True, group="preload", exit_on_error=False)
    def _preload_images(self) -> None:
        from .widgets.preview import preload

        preload(self.config.ui.image_protocol)

    @work(group="balance", exclusive=True, exit_on_error=False)
    async def refresh_balance(self) -> None:
        """The default token's balance; with several accounts, every account's (the scheduler's)."""
        if self.runner.several_accounts:
            await self.runner.refresh_accounts()
        else:
            self.post_message(await fetch_balance(self.config, self.token))

    async def action_quit(self) -> None:
        """Quit; with a job running, ask first (finish the image, quit now, or stay)."""
        from .screens.quit_confirm import QuitConfirm

        running = self.queue.in_state(JobState.RUNNING)
        if not running:
            self.save_state()
            self.exit()
        elif not isinstance(self.screen, QuitConfirm):
            nai = any(j.settings.provider == "nai" for j in running)
            self.push_screen(QuitConfirm([j.label for j in running], nai), self._quit_chosen)

    def _quit_chosen(self, choice: str | None) -> None:
        if choice == "now":
            self.save_state()  # the running job is saved as running: it comes back paused
            self.exit()
        elif choice == "finish":
            self.quit_after_job = True
            held = self.scheduler.pause_pending()
            self.broadcast(QueueChanged())
            if not self.queue.in_state(JobState.RUNNING):  # it ended while the dialog was open
                self.save_state()
                self.exit()
                return
            self.notify(ngettext("Quitting when the running image is done ({n} waiting job paused).",
                                 "Quitting when the running image is done ({n} waiting jobs paused).", len(held))
                        .format(n=len(held)))
        elif self.quit_after_job:  # asked again and cancelled: stay after all
            self.quit_after_job = False
            self.notify(_("Not quitting. Waiting jobs stay paused: F3, then 'p' resumes them."))

    def on_unmount(self) -> None:
        self._queue_writer.flush(timeout=10)
        self._workspace_writer.flush(timeout=10)
        self.queue_session.close()

    def save_state_soon(self) -> None:
        """Save the workspace and the queue from a background thread (nothing waits on an fsync)."""
        data = json.dumps(self.workspace.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")
        self._workspace_writer(workspace_path(), data)
        self.queue.save()

    def save_state(self) -> None:
        self._workspace_writer.flush(timeout=10)  # an older snapshot must not land after this one
        try:
            save_workspace(self.workspace)
            self.queue.save()
        except OSError as e:
            log.error("could not save the workspace: %s", e)

    # ------------------------------------------------------------ navigation
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        return translated_system_commands(super().get_system_commands(screen))

    def action_command_palette(self) -> None:
        from textual.command import CommandPalette

        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(CommandPalette(id="--command-palette", placeholder=_(SEARCH_PLACEHOLDER)))

    def action_show(self, mode: str) -> None:
        if mode in SCREENS and mode != self.current_mode:
            self.switch_mode(mode)

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_open_external(self, path: Path | None = None) -> None:
        """Open a full-resolution image with the desktop viewer, or ``$PEROPIX_VIEWER`` in the
        terminal (e.g. ``kitty +kitten icat``); otherwise copy its path to the clipboard."""
        target = path or self.last_image
        if target is None:
            self.notify(_("No image to open yet."), severity="warning")
            return
        viewer = os.environ.get("PEROPIX_VIEWER")
        if viewer:
            with self.suspend():
                subprocess.call([*shlex.split(viewer), str(target)])
                input(_("press Enter to return to PeroPix"))
            return
        opener = "open" if sys.platform == "darwin" else "xdg-open"
        if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform == "darwin":
            subprocess.Popen([opener, str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.notify(_("Opened {name}").format(name=target.name))
        else:
            self.copy_to_clipboard(str(target))
            self.notify(_("No display here: copied the path {path} (set PEROPIX_VIEWER to view inline).")
                        .format(path=target))

    # ------------------------------------------------------------ messages
    def broadcast(self, message: Message) -> None:
        """A non-bubbling copy of ``message`` to every screen that exists (all modes)."""
        for stack in self._screen_stacks.values():
            for screen in stack:
                if screen.is_attached:
                    m = copy.copy(message)
                    m.bubble = False  # type: ignore[misc]
                    screen.post_message(m)

    @on(GenerationRequested)
    def _generation_requested(self, msg: GenerationRequested) -> None:
        msg.stop()
        try:
            self.runner.request(msg.all_slots)
        except RunRefused as e:
            log.info("[Queue] refused: %s", e)
            self.notify(str(e), title=_("Not started"), severity="error", timeout=10, markup=False)
        self.save_state_soon()

    @on(JobsQueued)
    def _jobs_queued(self, msg: JobsQueued) -> None:
        self.broadcast(msg)
        self.broadcast(QueueChanged())

    @on(JobStarted)
    def _job_started(self, msg: JobStarted) -> None:
        self.broadcast(msg)
        self.broadcast(QueueChanged())

    @on(JobProgressed)
    def _job_progressed(self, msg: JobProgressed) -> None:
        self.runner.apply(msg)
        self.broadcast(msg)

    @on(ImageSaved)
    def _image_saved(self, msg: ImageSaved) -> None:
        self.runner.apply(msg)
        self.last_image = msg.path
        log.info("[Generate] Job %s saved %s (seed %d)", msg.job_id, msg.path.name, msg.seed)
        self.broadcast(msg)

    @on(JobFinished)
    def _job_finished(self, msg: JobFinished) -> None:
        log.info("[Generate] Job %s finished", msg.job_id)
        self._ended(msg)

    @on(JobFailed)
    def _job_failed(self, msg: JobFailed) -> None:
        log.info("[Generate] Job %s failed: %s", msg.job_id, msg.error)
        try:
            label = self.queue.get(msg.job_id).label
        except KeyError:
            label = msg.job_id
        self.notify(f"{label}: {shown(msg.error)}", title=_("Generation failed"),
                    severity="error", timeout=10, markup=False)
        self._ended(msg)

    @on(WorkerLost)
    def _worker_lost(self, msg: WorkerLost) -> None:
        log.info("[Workers] %s lost under job %s: %s", msg.worker, msg.job_id, msg.error)
        notice = shown(msg.notice) if msg.notice else _("worker {worker} lost").format(worker=msg.worker)
        self.notify(notice, title=_("Worker lost"), severity="warning", timeout=8, markup=False)
        self.runner.apply(msg)
        self.broadcast(msg)
        self.broadcast(QueueChanged())

    @on(JobCancelled)
    def _job_cancelled(self, msg: JobCancelled) -> None:
        log.info("[Generate] Job %s cancelled", msg.job_id)
        self._ended(msg)

    def _ended(self, msg: JobFinished | JobFailed | JobCancelled) -> None:
        applied = self.runner.apply(msg)
        if applied.held:  # one of several accounts: only its worker stops, the others go on
            self.notify(_("NovelAI account {account} is not used until you fix it and resume (F3, 'p'); "
                          "the other workers go on.").format(account=applied.held), severity="warning", timeout=10)
            self.runner.post_pooled()  # the balance shown is that of the accounts still in use
        if applied.paused:  # bad token / no Anlas: the rest is held until the user fixes it and resumes
            n = len(applied.paused)
            self.notify(ngettext("{n} queued job paused; fix the problem, then resume (F3, 'p').",
                                 "{n} queued jobs paused; fix the problem, then resume (F3, 'p').", n).format(n=n),
                        severity="warning", timeout=10)
        self.queue_notices.ended("done" if isinstance(msg, JobFinished) else
                                 "failed" if isinstance(msg, JobFailed) else "cancelled")
        if applied.paused or (self.scheduler.idle() and not self.queue.in_state(JobState.RUNNING)):
            self._ring(self.queue_notices.queue_quiet(bool(applied.paused)))
        self.broadcast(msg)
        self.broadcast(QueueChanged())
        if self.quit_after_job and not self.queue.in_state(JobState.RUNNING):
            self.save_state()
            self.exit()

    @on(BalanceUpdated)
    def _balance_updated(self, msg: BalanceUpdated) -> None:
        if not msg.error:
            self.balance = msg
            log.info("[Account] tier %s, %s Anlas%s", msg.tier, msg.anlas,
                     "".join(f", {name} {anlas}" for name, anlas in msg.per_account))
        self.broadcast(msg)

    @on(QueueChanged)
    def _queue_changed(self, msg: QueueChanged) -> None:
        """A screen changed the queue (resume, retry, reorder): start what can start."""
        msg.stop()
        self.runner.kick()
        self.broadcast(QueueChanged())

    # ------------------------------------------------------------ Director Tools
    def open_tools(self, sources: list[Path], tool: str = "emotion") -> None:
        """The Director Tools dialog on ``sources`` (cost first); confirming queues the jobs."""
        from .screens.tool_dialog import ToolDialog

        if not sources:
            self.notify(_("No image chosen for Director Tools."), severity="warning")
            return
        account = account_of(self.balance)

        def chosen(request: Any) -> None:
            if request is not None:
                self.post_message(ToolsRequested(request))

        self.push_screen(ToolDialog(list(sources), tier=account.tier, active=account.active, balance=account.anlas,
                                    budget=self.config.generation.budget, tool=tool), chosen)

    def action_tools_latest(self, tool: str = "emotion") -> None:
        """Director Tools / emotion set on the image shown in the preview (the latest one)."""
        if self.last_image is None or not self.last_image.is_file():
            self.notify(_("No image yet: generate one, or pick one in the gallery (F4)."), severity="warning")
            return
        self.open_tools([self.last_image], tool)

    def action_tools_slot_set(self) -> None:
        """Finish a slot set: each slot's latest image × the moods chosen in the dialog."""
        found, missing = slot_images(self.queue, self.workspace)
        if missing:
            self.notify(ngettext("No image yet for slot {slots}; it is left out.",
                                 "No image yet for slots {slots}; they are left out.", len(missing))
                        .format(slots=", ".join(missing)), severity="warning")
        if found:
            self.open_tools(found, "emotion")

    @on(ToolsRequested)
    def _tools_requested(self, msg: ToolsRequested) -> None:
        msg.stop()
        self._plan_tools(msg.request)

    @work(thread=True, group="tools-plan", exit_on_error=False)
    def _plan_tools(self, request: Any) -> None:
        """Prepare and price every request off the event loop (reads and resizes the images)."""
        account = account_of(self.balance)
        try:
            plan = request.plan(tier=account.tier or 0, active=account.active)
        except (OSError, ValueError) as e:  # ToolError / SettingsError name the option or file
            self.call_from_thread(self.notify, _("Not started: {error}").format(error=e), title=_("Director Tools"),
                                  severity="error")
            return
        self.call_from_thread(self._tools_planned, plan, account.tier, account.active)

    def _tools_planned(self, plan: Any, tier: int | None, active: bool) -> None:
        try:
            jobs = self.runner.request_tools(plan, tier=tier, active=active)
        except RunRefused as e:
            log.info("[Queue] tools refused: %s", e)
            self.notify(str(e), title=_("Not started"), severity="error", timeout=10)
            return
        self.notify(ngettext("Queued {n} {tool} request(s): {anlas} Anlas.", "Queued {n} {tool} request(s): {anlas} Anlas.",
                             len(jobs)).format(n=len(jobs), tool=plan.jobs[0].kind, anlas=plan.total))
        self.save_state_soon()

    # ------------------------------------------------------------ queue-end notices
    def on_app_focus(self, _: events.AppFocus) -> None:
        self.queue_notices.focused = True

    def on_app_blur(self, _: events.AppBlur) -> None:
        self.queue_notices.focused = False

    def _ring(self, notice: tuple[str, str] | None) -> None:
        """Bell + OSC 9 / 777 through the terminal Textual draws on (the text is cleaned of escapes)."""
        if notice is None:
            return
        from .core.notify import sequence

        title, body = notice
        log.info("[Notify] %s - %s", title, body)
        try:
            text = sequence(title, body, self.config.ui.notify, os.environ)
        except ValueError:
            return
        driver = self._driver
        if text and driver is not None:
            driver.write(text)
            driver.flush()
