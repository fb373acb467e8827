"""NovelAI Director Tool / upscale requests as queue jobs (``Job.kind == "tool"``).

One queue job is one request: one source image × one mood (emotion) or one tool. Its
``Job.tool`` record (:func:`tool_records`) says what to send and the size it is sent at, so the
queue prices it like a generation (:func:`tool_job_cost`, counted by the admission check) and a
resumed queue rebuilds the same request (:func:`rebuild`). :func:`run_tool` is the service's tool
branch: it sends the request on the NovelAI worker (the per-account gate holds one request in
flight) and saves every returned image through the one save path (:class:`ImageWriter`) into
the job's folder (the source's), with ``{"job", "queue"}`` in the ``peropix`` object next to the
tool record, so the recovery scan recognises a tool job's image by its job id as it does a
generation's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backend import BackendError, CancelToken, GenerationCancelled
from ..jobs import CANNOT_RUN_TOOL, TOOL, WAITING_FOR_NOVELAI, Job
from ..settings import GenerationSettings, SettingsError
from .events import EventSink, ImageSaved, JobCancelled, JobFailed, JobFinished, JobProgressed, JobStarted
from .output import ImageWriter

if TYPE_CHECKING:
    from ..nai.tools_client import NaiToolsClient
    from ..nai.tools_jobs import ToolJob, ToolPlan
    from ..nai.tools_save import SourceInfo, ToolSaver

log = logging.getLogger("peropix")

Run = tuple[GenerationSettings, int | None, str, int]


def tool_records(plan: ToolPlan, *, tier: int | None, active: bool = True) -> list[dict[str, Any]]:
    """One JSON-safe ``Job.tool`` record per request of ``plan`` (``tier``: what it was priced with)."""
    out: list[dict[str, Any]] = []
    for job in plan.jobs:
        rec: dict[str, Any] = {"tool": job.kind, "source": str(Path(job.image.path).absolute()),
                               "size": list(job.image.size), "tier": tier, "active": active}
        if job.options is not None:
            rec.update(mood=job.options.mood, defry=job.options.defry, prompt=job.options.prompt)
        if job.kind == "upscale":
            rec.update(model=job.model, blur_sigma=job.blur_sigma)
        out.append(rec)
    return out


def job_label(record: dict[str, Any]) -> str:
    """What the queue list shows for a tool job: ``emotion happy ← 000_base_0000001.png``."""
    what = f"{record.get('tool')} {record['mood']}" if record.get("mood") else str(record.get("tool"))
    return f"{what} ← {Path(str(record.get('source', ''))).name}"


def tool_runs(records: list[dict[str, Any]]) -> list[Run]:
    """The scheduler runs for tool records: NovelAI settings of the size sent (the queue shows it)."""
    runs: list[Run] = []
    for rec in records:
        w, h = (int(v) for v in rec["size"])
        runs.append((GenerationSettings(provider="nai", width=w, height=h), None, job_label(rec), 0))
    return runs


def by_folder(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by the folder their results go to: the source image's folder."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        groups.setdefault(str(Path(rec["source"]).parent), []).append(rec)
    return groups


def tool_job_cost(record: dict[str, Any], *, tier: int | None, active: bool = True) -> int:
    """Anlas one tool job will cost (``tier`` None: unknown, nothing assumed free); 0 when unpriceable."""
    from ..nai.cost import augment_cost, upscale_cost

    try:
        w, h = (int(v) for v in record["size"])
        if record.get("tool") == "upscale":
            return int(upscale_cost(w, h).total)
        return int(augment_cost(str(record["tool"]), w, h, tier=tier or 0, active=active).total)
    except (KeyError, TypeError, ValueError):
        return 0


def rebuild(record: dict[str, Any]) -> ToolJob:
    """The request a record stands for, with the source image prepared again (reads the file)."""
    from ..nai.tools_jobs import plan_tool, plan_upscale

    source = Path(str(record.get("source", "")))
    if not source.is_file():
        raise SettingsError("source", f"{source}: the source image is gone")
    tool = str(record.get("tool", ""))
    if tool == "upscale":
        return plan_upscale([source], model=str(record.get("model")),
                            blur_sigma=float(record.get("blur_sigma") or 0.0)).jobs[0]
    mood = record.get("mood")
    defry = int(record.get("defry") or 0) if tool in ("colorize", "emotion") else None
    tier = record.get("tier")
    return plan_tool(tool, [source], moods=[str(mood)] if mood else None, defry=defry,
                     prompt=str(record.get("prompt") or ""), tier=int(tier) if tier is not None else 0,
                     active=bool(record.get("active", True))).jobs[0]


def _saver(writer: ImageWriter, job: Job, queue_uid: str) -> ToolSaver:
    from ..metadata import embed_peropix
    from ..nai.backend import image_extension
    from ..nai.tools_save import ToolSaver
    from ..store.layout import StoreError

    class JobToolSaver(ToolSaver):
        """Saves into the job's folder through the one save path, naming the job in ``peropix``."""

        def save(self, data: bytes, source: SourceInfo, slot_index: int | None, slot_name: str) -> Path:
            ext = image_extension(data)
            if ext == "bin":
                raise StoreError(f"{source.path.name}: NovelAI returned something that is not an image")
            tag: dict[str, Any] = {"job": job.id, "kind": TOOL, "provider": "nai"}
            if queue_uid:
                tag["queue"] = queue_uid
            if ext == "png":
                try:
                    data = embed_peropix(data, tag)
                except Exception as e:  # metadata is a bonus; the paid image is kept
                    log.warning("[Tool] could not add the job to the metadata: %s", e)
            return writer.save(data, job.folder, slot_index, slot_name, ext)

    return JobToolSaver(None, Path(job.folder))


async def run_tool(job: Job, client_for: Callable[[], NaiToolsClient], writer: ImageWriter, cancel: CancelToken, emit: EventSink,
                   *, queue_uid: str = "") -> None:
    """Run one tool job to one final event; ``client_for()`` (called in a thread) gives the client."""
    from ..nai.tools_jobs import save_tool_results, send_tool_job
    from ..nai.tools_save import SourceInfo

    emit(JobStarted(job.id))
    rec = job.tool
    log.info("[Tool] Job %s started - %s", job.id, job_label(rec) if rec else "?")
    try:
        if not rec:
            raise SettingsError("tool", "this tool job has no request record")
        planned = await asyncio.to_thread(rebuild, rec)
        source: SourceInfo = await asyncio.to_thread(SourceInfo.of, planned.image.path)
        client = await asyncio.to_thread(client_for)
        emit(JobProgressed(job.id, 0, 1, None, WAITING_FOR_NOVELAI.format(tool=rec.get("tool"))))
        results = await send_tool_job(planned, client, cancel)
        saver = _saver(writer, job, queue_uid)
        for result in results:  # each one as it is written: a failure later keeps the ones before
            for path in await asyncio.to_thread(save_tool_results, planned, [result], saver, source):
                emit(ImageSaved(job.id, path, 0))
        emit(JobFinished(job.id))
    except (GenerationCancelled, asyncio.CancelledError):
        emit(JobCancelled(job.id))
    except SettingsError as e:
        emit(JobFailed(job.id, CANNOT_RUN_TOOL.format(error=e), False))
    except BackendError as e:
        emit(JobFailed(job.id, str(e), e.retryable, e.status))
    except Exception as e:  # one broken job must not take the face down
        log.exception("[Tool] Job %s crashed", job.id)
        emit(JobFailed(job.id, f"{type(e).__name__}: {e}", False))
