"""The job runner: turns GenerationRequested into queued jobs and runs them in workers.

- Expands ``app.workspace`` (all slots × repeats, or just the base), checks the cost against the
  balance and the configured budget, refuses with a clear message, queues the jobs.
- Runs one job at a time per provider: NovelAI in an async worker (the client keeps one request in
  flight per token and backs off on 429; its notes arrive as progress "account busy …"), the local
  engine in a thread worker (its torch work never touches the event loop).
- Progress is throttled to at most 10 messages a second; cancel works mid-job (CancelToken +
  worker cancel). Each image is saved (with metadata) as it arrives; ImageSaved / JobFinished /
  JobFailed / JobCancelled are posted to the app, which applies them to the queue (main thread
  only) and broadcasts them to the screens.
- Wildcards (``__name__``) are drawn per job, just before the backend sees the settings: every
  run gets its own options, the image's metadata has the prompt as sent and the ``peropix``
  object keeps the template. A missing wildcard file fails that job with a message naming it.
- A bad token or an empty balance fails that job and pauses the rest: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core.backend import Backend, BackendError, CancelToken, GeneratedImage, GenerationCancelled, Progress
from .core.jobs import Job, JobState
from .core.prompt import WildcardError, expand_settings, wildcards_dir
from .core.settings import GenerationSettings, SettingsError
from .messages import (
    BalanceUpdated,
    ImageSaved,
    JobCancelled,
    JobFailed,
    JobFinished,
    JobProgressed,
    JobsQueued,
    JobStarted,
)

if TYPE_CHECKING:
    from .app import PeroPixApp

log = logging.getLogger("peropix")

PROGRESS_INTERVAL = 0.1  # seconds: ≤ 10 progress messages a second
PAUSING_STATUSES = (401, 402, 403)


class RunRefused(Exception):
    """A run that must not start (no token, over balance/budget, invalid settings); message for the user."""


# --------------------------------------------------------------------- costing
def pending_cost(jobs: list[Job], tier: int | None, active: bool) -> int:
    """Anlas still to be spent by queued NovelAI jobs."""
    from .core.nai.cost import estimate_cost

    return sum(int(estimate_cost(j.settings, tier=tier or 0, active=active, uncached_vibes=0).total)
               for j in jobs if j.settings.provider == "nai")


def refusal(app: PeroPixApp, all_slots: bool) -> str | None:
    """Why this run must not start (over balance or budget), using the cost meter's numbers."""
    from .core.costing import run_cost

    bal = app.balance
    tier = bal.tier if bal else None
    active = bal.active if bal else True
    ws = app.workspace if all_slots else type(app.workspace)(base=app.workspace.base)
    queued = pending_cost(app.queue.in_state(JobState.PENDING, JobState.RUNNING), tier, active)
    cost = run_cost(ws, tier=tier, active=active, balance=bal.anlas if bal else None,
                    budget=app.config.generation.budget, pending=queued)
    reason = cost.check(all_slots)
    return None if reason is None else reason[0].upper() + reason[1:] + "."


def check_settings(settings: GenerationSettings) -> None:
    """Raise SettingsError (naming the field) for settings the provider will refuse."""
    settings.check_basic()
    if settings.provider == "nai":
        from .core.nai.models import validate

        validate(settings)


# ------------------------------------------------------------- progress relay
class ProgressRelay:
    """Backend progress callback → throttled JobProgressed messages (thread-safe posting)."""

    def __init__(self, job_id: str, post: Callable[[Any], Any], clock: Callable[[], float] = time.monotonic) -> None:
        self.job_id, self.post, self.clock = job_id, post, clock
        self._last = -1e9
        self._note = ""

    def __call__(self, p: Progress) -> None:
        now = self.clock()
        final = p.total > 0 and p.step >= p.total
        if not (final or p.message != self._note) and now - self._last < PROGRESS_INTERVAL:
            return
        self._last, self._note = now, p.message
        self.post(JobProgressed(self.job_id, p.step, p.total, p.preview, p.message))


# ---------------------------------------------------------------------- saving
def peropix_extra(job: Job, base_prompt: str, sent: GenerationSettings | None = None,
                  info: dict[str, Any] | None = None) -> dict[str, Any]:
    """Our metadata for one image of ``job``; with wildcards drawn (``sent`` differs from the
    job's settings) it adds ``template``: the prompts as written, before the draw. ``info`` is
    the backend's note on the image: the vibes' cache keys are kept (restoring them later)."""
    extra: dict[str, Any] = {
        "provider": job.settings.provider, "base_prompt": base_prompt, "slot_name": job.slot_name,
        "slot_index": job.slot_index, "repeat": job.repeat, "job": job.id,
    }
    done = sent if sent is not None else job.settings
    extra.update(action=done.action, model=done.model)  # NovelAI's request_type says Img2Img for infill
    if done.provider == "nai":
        from .core.nai.models import request_model_id

        try:
            extra["sent_model"] = request_model_id(done.model, done.action)  # e.g. the inpainting model
        except SettingsError:
            pass  # not a NovelAI model id: the request could not have been sent with it
    if sent is not None and sent is not job.settings:
        extra["template"] = prompt_texts(job.settings)
    if info and info.get("vibes"):
        extra["vibes"] = info["vibes"]
    return extra


def prompt_texts(s: GenerationSettings) -> dict[str, Any]:
    return {"prompt": s.prompt, "uc": s.uc, "characters": [{"prompt": c.prompt, "uc": c.uc} for c in s.characters]}


def draw_wildcards(settings: GenerationSettings, rng: random.Random) -> GenerationSettings:
    """The settings to send: wildcards drawn (the same object when there are none).

    Raises :class:`BackendError` naming the wildcard when one cannot be drawn (a missing file).
    """
    try:
        return expand_settings(settings, wildcards_dir(), rng)
    except WildcardError as e:  # fixable by the user (add the file), so the job can be retried
        raise BackendError(f"{e}; add the file to {wildcards_dir()} and retry", retryable=True) from None


def with_metadata(img: GeneratedImage, extra: dict[str, Any]) -> bytes:
    """Add the PeroPix object to a PNG's Comment when the metadata module is there."""
    if img.extension != "png":
        return img.data
    from .core.metadata import embed_peropix

    try:
        return bytes(embed_peropix(img.data, extra))
    except Exception as e:  # metadata is a bonus; the image itself must never be lost
        log.warning("[Save] could not add PeroPix metadata: %s", e)
        return img.data


# ------------------------------------------------------------------ the runner
class Runner:
    def __init__(self, app: PeroPixApp) -> None:
        self.app = app
        self.busy: dict[str, str] = {}  # provider -> running job id
        self._cancel: dict[str, CancelToken] = {}
        self._workers: dict[str, Any] = {}
        self._backends: dict[str, Backend] = {}
        self.rng = random.Random()
        """Draws wildcard options; tests may seed it."""

    # ---------------------------------------------------------------- request
    def request(self, all_slots: bool) -> list[Job]:
        """Expand the workspace into jobs, check the cost, queue them and start; raises RunRefused."""
        ws = self.app.workspace
        if all_slots:
            runs = ws.expand()
        else:
            only_base = type(ws)(base=ws.base, slots=[], repeats=1)
            runs = only_base.expand()
        if not runs:
            raise RunRefused("Nothing to generate: every slot is locked.")
        for run in runs:
            try:
                check_settings(run.settings)
            except SettingsError as e:
                raise RunRefused(f"Cannot generate: {e}") from None
        if any(r.settings.provider == "nai" for r in runs) and not self.app.token:
            raise RunRefused("No NovelAI token yet: open Settings (F5) and enter it, or set PEROPIX_NAI_TOKEN.")
        reason = refusal(self.app, all_slots)
        if reason:
            raise RunRefused(reason)
        jobs = self.app.queue.add((r.settings, r.slot_index, r.slot_name, r.repeat) for r in runs)
        s = runs[0].settings
        log.info("[Queue] %d job(s) queued - %s, %dx%d, %d steps", len(jobs), s.provider,
                 s.width, s.height, s.steps)
        self.app.post_message(JobsQueued([j.id for j in jobs]))
        self.kick()
        return jobs

    # ------------------------------------------------------------- scheduling
    def kick(self) -> None:
        """Start the next pending job of every idle provider."""
        for provider in ("nai", "local"):
            if provider in self.busy:
                continue
            job = self.app.queue.next_pending(provider)
            if job is not None:
                self._start(job)

    def _start(self, job: Job) -> None:
        self.app.queue.start(job.id)
        self.busy[job.settings.provider] = job.id
        token = self._cancel[job.id] = CancelToken()
        s = job.settings
        log.info("[Generate] Job %s started - %d image(s), %dx%d, %d steps", job.id, s.n_samples,
                 s.width, s.height, s.steps)
        self.app.post_message(JobStarted(job.id))
        if s.provider == "local":
            self._workers[job.id] = self.app.run_worker(
                lambda: self._run_in_thread(job, token), thread=True, group="gen-local",
                exit_on_error=False, name=f"job {job.id}",
            )
        else:
            self._workers[job.id] = self.app.run_worker(
                self._run_async(job, token), group="gen-nai", exit_on_error=False, name=f"job {job.id}",
            )

    def job_ended(self, job_id: str) -> None:
        """Called by the app (main thread) after a job reached a final state."""
        for provider, running in list(self.busy.items()):
            if running == job_id:
                del self.busy[provider]
        self._cancel.pop(job_id, None)
        self._workers.pop(job_id, None)
        self.kick()

    # ------------------------------------------------------------- cancelling
    def cancel_current(self) -> list[str]:
        ids = list(self.busy.values())
        for job_id in ids:
            self._cancel_running(job_id)
        return ids

    def _cancel_running(self, job_id: str) -> None:
        if token := self._cancel.get(job_id):
            token.cancel()
        worker = self._workers.get(job_id)
        job = self.app.queue.get(job_id)
        if worker is not None and job.settings.provider == "nai":
            worker.cancel()  # aborts the HTTP request; the thread worker stops at its next step

    def cancel_all(self) -> None:
        running = list(self.busy.values())
        for job in self.app.queue.in_state(JobState.PENDING, JobState.PAUSED):
            self.app.queue.cancel(job.id)
        for job_id in running:
            self._cancel_running(job_id)

    # ---------------------------------------------------------------- backends
    def use_backend(self, provider: str, backend: Backend | None) -> None:
        """Install a backend for ``provider`` (None: forget it, e.g. after a token change)."""
        if backend is None:
            self._backends.pop(provider, None)
        else:
            self._backends[provider] = backend

    def backend(self, provider: str) -> Backend:
        if provider not in self._backends:
            self._backends[provider] = self.app.make_backend(provider)
        return self._backends[provider]

    # ----------------------------------------------------------------- workers
    async def _run_async(self, job: Job, cancel: CancelToken) -> None:
        post = self.app.post_message
        try:
            backend = self.backend(job.settings.provider)
            sent = draw_wildcards(job.settings, self.rng)
            await asyncio.sleep(0)  # let the UI show the job as running first
            images = await backend.generate(sent, ProgressRelay(job.id, post), cancel)
            for img in images:
                path = await asyncio.to_thread(self._save, job, img, sent)
                post(ImageSaved(job.id, path, img.seed))
            post(JobFinished(job.id))
        except (GenerationCancelled, asyncio.CancelledError):
            post(JobCancelled(job.id))
        except BackendError as e:
            if e.status in PAUSING_STATUSES:  # before the failure frees the provider for the next job
                self.app.pause_after_error(e.status)
            post(JobFailed(job.id, str(e), e.retryable))
        except Exception as e:  # one broken job must not take the app down
            log.exception("[Generate] Job %s crashed", job.id)
            post(JobFailed(job.id, f"{type(e).__name__}: {e}", False))
        else:
            if job.settings.provider == "nai":
                await self.refresh_balance()

    def _run_in_thread(self, job: Job, cancel: CancelToken) -> None:
        post = self.app.post_message
        try:
            backend = self.backend(job.settings.provider)
            sent = draw_wildcards(job.settings, self.rng)
            images = asyncio.run(backend.generate(sent, ProgressRelay(job.id, post), cancel))
            for img in images:
                post(ImageSaved(job.id, self._save(job, img, sent), img.seed))
            post(JobFinished(job.id))
        except GenerationCancelled:
            post(JobCancelled(job.id))
        except BackendError as e:
            post(JobFailed(job.id, str(e), e.retryable))
        except Exception as e:
            log.exception("[Generate] Job %s crashed", job.id)
            post(JobFailed(job.id, f"{type(e).__name__}: {e}", False))

    def _save(self, job: Job, img: GeneratedImage, sent: GenerationSettings) -> Path:
        data = with_metadata(img, peropix_extra(job, self.app.workspace.base.prompt, sent, img.info))
        return self.app.save_image(data, job, img.extension)

    # ----------------------------------------------------------------- balance
    async def refresh_balance(self) -> BalanceUpdated:
        """Ask NovelAI for the balance, on the NovelAI backend's connection when it has one."""
        client = getattr(self._backends.get("nai"), "client", None)
        msg = await fetch_balance(self.app.config, self.app.token, client=client)
        self.app.post_message(msg)
        return msg


async def fetch_balance(config: Any, token: Any, *, client: Any = None) -> BalanceUpdated:
    """Ask NovelAI for the tier and Anlas; errors become a BalanceUpdated with ``error`` set.

    ``client``: a NaiClient to use (and leave open); without one a short-lived client is made.
    """
    if not token:
        return BalanceUpdated(None, None, False, "no token")
    try:
        if client is not None:
            sub = await client.subscription()
        else:
            from .core.nai.client import NaiClient

            async with NaiClient(config.nai.base_url, token, timeout=30.0) as once:
                sub = await once.subscription()
        return BalanceUpdated(int(sub.anlas), int(sub.tier), bool(sub.active))
    except BackendError as e:
        return BalanceUpdated(None, None, False, str(e))
    except Exception as e:
        return BalanceUpdated(None, None, False, f"{type(e).__name__}: {e}")

