"""The queue list: one row per job with its state, a progress bar and a thumbnail of its image."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from rich.cells import cell_len, set_cell_size
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widget import Widget
from textual.widgets import Label, ListItem, ListView, ProgressBar, Static

from ..core.jobs import TOOL, Job, JobState
from ..i18n import N_, _
from ..services import services

STATE_MARK = {
    JobState.PENDING: N_("· pending"), JobState.RUNNING: N_("▶ running"), JobState.DONE: N_("✓ done"),
    JobState.FAILED: N_("✗ failed"), JobState.CANCELLED: N_("– cancelled"), JobState.PAUSED: N_("‖ paused"),
}
"""Shown translated; padded to a column by terminal cells, so double-width text keeps it aligned."""


def cell_pad(text: str, width: int, *, cut: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal cells (cut to it when ``cut``)."""
    if cut:
        return set_cell_size(text, width)
    return text + " " * max(0, width - cell_len(text))


def job_text(job: Job) -> str:
    s = job.settings
    state = cell_pad(_(STATE_MARK[job.state]), 11)
    line = f"{cell_pad(job.label, 16, cut=True)} {state} " + _("seed {seed}").format(seed=s.seed)
    if job.kind == TOOL and job.tool:  # "emotion happy   ✓ done      000_base_0000001.png"
        what = " ".join(str(job.tool[k]) for k in ("tool", "mood") if job.tool.get(k))
        line = f"{cell_pad(what, 16, cut=True)} {state} {Path(str(job.tool.get('source', ''))).name}"
    if job.worker and job.state is not JobState.PENDING:
        line += "  " + _("on {worker}").format(worker=job.worker)
    detail = job.error or job.note
    return f"{line}\n  {detail}" if detail else line


class JobRow(ListItem):
    """One job. ``refresh_job`` updates it in place; its thumbnail arrives from a worker thread."""

    def __init__(self, job: Job) -> None:
        super().__init__(classes=f"job -{job.state.value}")
        self.job = job
        self.thumb_path: str | None = None  # the image the thumbnail shows

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static("", classes="thumb-empty")
            with Vertical():
                yield Label(job_text(self.job), classes="job-text", markup=False)
                yield ProgressBar(total=max(1, self.job.total), show_eta=False, classes="job-bar")

    def on_mount(self) -> None:
        self.refresh_job()

    async def set_thumb(self, thumb: Widget, path: str) -> None:
        self.thumb_path = path
        box = self.query_one(Horizontal)
        await box.children[0].remove()
        await box.mount(thumb, before=0)

    def refresh_job(self) -> None:
        job = self.job
        self.set_classes(f"job -{job.state.value}")
        try:
            text = self.query_one(".job-text", Label)
            bar = self.query_one(".job-bar", ProgressBar)
        except NoMatches:  # not composed yet: compose() draws the current state
            return
        text.update(job_text(job))
        done = job.state is JobState.DONE
        bar.update(total=max(1, job.total or 1), progress=(job.total or 1) if done else job.step)


class JobList(ListView):
    """All jobs of ``app.queue``; rebuilt when jobs are added/reordered, updated in place otherwise."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._order: list[str] = []
        self._next: list[Job] | None = None  # the newest job list asked for, not shown yet
        self._syncing = False

    def show_jobs(self, jobs: list[Job]) -> None:
        """Show ``jobs``; called as often as the queue changes. One sync runs at a time and then
        shows the newest list: a rebuild is never cancelled half-way (its rows and thumbnails
        would be lost, and a cancelled ``clear``/``extend`` could leave the list stuck)."""
        self._next = list(jobs)
        if not self._syncing:
            self._syncing = True
            self.run_worker(self._sync_latest(), group="joblist", exit_on_error=False)

    async def _sync_latest(self) -> None:
        try:
            while self._next is not None:
                jobs, self._next = self._next, None
                await self.sync_jobs(jobs)
        finally:
            self._syncing = False

    @property
    def selected_job(self) -> Job | None:
        item = self.highlighted_child
        return item.job if isinstance(item, JobRow) else None

    async def sync_jobs(self, jobs: list[Job]) -> None:
        """Rebuild only when jobs were added, removed or reordered; otherwise update rows in place."""
        order = [j.id for j in jobs]
        if order != self._order:
            keep = self.index
            self._order = order
            await self.clear()
            await self.extend([JobRow(j) for j in jobs])
            if jobs:
                self.index = min(keep or 0, len(jobs) - 1)
        for row in self.query(JobRow):
            row.refresh_job()
        wanted = [(r, r.job.images[-1]) for r in self.query(JobRow)
                  if r.job.images and r.job.images[-1] != r.thumb_path]
        if wanted:
            self.run_worker(partial(self._make_thumbs, wanted), thread=True, group="job-thumbs",
                            exit_on_error=False)

    def _make_thumbs(self, wanted: list[tuple[JobRow, str]]) -> None:
        """Decode thumbnails off the event loop, then hand each to its row."""
        from .preview import load_display_image

        for row, path in wanted:
            try:
                img = load_display_image(Path(path), 64)
            except OSError:
                continue
            self.app.call_from_thread(self._place_thumb, row, path, img)  # type: ignore[arg-type]

    async def _place_thumb(self, row: JobRow, path: str, img: Any) -> None:
        if row.is_attached and row.thumb_path != path:
            await row.set_thumb(services(self).image_widget(img, classes="thumb"), path)

    def update_job(self, job_id: str) -> None:
        for row in self.query(JobRow):
            if row.job.id == job_id:
                row.refresh_job()
