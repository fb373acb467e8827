"""Plan, price and run Director Tool / upscale jobs (headless; the TUI queues the same jobs).

A plan is every (image × mood) request, priced before anything is sent; :func:`refusal` says
why a plan may not start (over the budget or the balance). :func:`run_tool_job` sends one job
through :class:`~peropix_tui.core.nai.tools_client.NaiToolsClient` and saves every image it
returns, so a run that fails half way keeps what was already made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...i18n import _
from ..backend import CancelToken
from .cost import CostEstimate, augment_cost, upscale_cost
from .tools import (
    DEFAULT_UPSCALE_MODEL,
    UPSCALE_FACTOR,
    PreparedImage,
    ToolOptions,
    ToolResult,
    augment_body,
    check_defry,
    check_tool,
    check_upscale_model,
    expand_moods,
    name_results,
    prepare_augment_image,
    prepare_upscale_image,
    round_sigma,
    upscale_body,
)
from .tools_client import NaiToolsClient
from .tools_save import SourceInfo, ToolSaver


@dataclass
class ToolJob:
    """One request: a tool (or ``upscale``) on one prepared image."""

    kind: str
    """A req_type, or ``"upscale"``."""
    image: PreparedImage
    cost: CostEstimate
    options: ToolOptions | None = None
    model: str = DEFAULT_UPSCALE_MODEL
    blur_sigma: float = 0.0

    def body(self) -> dict[str, Any]:
        if self.kind == "upscale":
            return upscale_body(self.image, self.model, self.blur_sigma)
        assert self.options is not None
        return augment_body(self.options, self.image)

    def key(self) -> str:
        """A stable identity of this request (kind, options, model, the exact image sent): a journal
        that has recorded this key as done must not send the job again."""
        import hashlib
        import json

        ident = {"kind": self.kind, "options": self.options.to_json() if self.options else None,
                 "model": self.model if self.kind == "upscale" else None, "sigma": self.blur_sigma,
                 "image": hashlib.sha256(self.image.png_b64.encode("ascii")).hexdigest()}
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": str(self.image.path), "kind": self.kind,
                               "sent_size": list(self.image.size), "cost": self.cost.total}
        if self.options is not None:
            out.update(self.options.to_json())
        if self.kind == "upscale":
            out.update(model=self.model, output_size=[s * UPSCALE_FACTOR for s in self.image.size])
        return out


@dataclass
class ToolPlan:
    jobs: list[ToolJob] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(j.cost.total for j in self.jobs)

    @property
    def free_jobs(self) -> int:
        return sum(1 for j in self.jobs if j.cost.opus_free)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "requests": len(self.jobs), "free_requests": self.free_jobs,
                "jobs": [j.describe() for j in self.jobs]}


def plan_tool(tool: str, paths: Iterable[str | Path], *, moods: list[str] | None = None, defry: int | None = None,
              prompt: str = "", tier: int, active: bool = True) -> ToolPlan:
    """Every request of ``tool`` on ``paths`` (× moods for emotion), priced; raises ToolError early."""
    check_tool(tool)
    mood_list: list[str | None] = list(expand_moods(moods)) if moods else [None]
    options = [ToolOptions(tool, mood, check_defry(defry) if defry is not None else 0, prompt).check()
               for mood in mood_list]
    plan = ToolPlan()
    for path in paths:
        image = prepare_augment_image(path)
        cost = augment_cost(tool, *image.size, tier=tier, active=active)
        plan.jobs += [ToolJob(tool, image, cost, opt) for opt in options]
    return plan


def plan_upscale(paths: Iterable[str | Path], *, model: str = DEFAULT_UPSCALE_MODEL,
                 blur_sigma: float = 0.0) -> ToolPlan:
    check_upscale_model(model)
    sigma = round_sigma(blur_sigma)
    plan = ToolPlan()
    for path in paths:
        image = prepare_upscale_image(path)
        plan.jobs.append(ToolJob("upscale", image, upscale_cost(*image.size), model=model, blur_sigma=sigma))
    return plan


def refusal(total: int, *, balance: int | None, budget: int) -> str | None:
    """None when a run of ``total`` Anlas may start, else a one-line reason (the same rule as generations)."""
    if budget and total > budget:
        return _("this run would cost {total} Anlas, over your budget of {budget} (generation.budget)").format(
            total=total, budget=budget)
    if balance is not None and total > balance:
        return _("this run would cost {total} Anlas, but the balance is {balance} Anlas").format(
            total=total, balance=balance)
    return None


async def send_tool_job(job: ToolJob, client: NaiToolsClient, cancel: CancelToken | None = None) -> list[ToolResult]:
    """Send one job; the named images it returned (nothing saved yet)."""
    if job.kind == "upscale":
        data = await client.upscale(job.body(), cancel, resend=job.cost.total == 0)
        return [ToolResult(data, "upscale", 0)]
    assert job.options is not None
    return name_results(job.kind, await client.augment(job.body(), cancel, resend=job.cost.total == 0))


def save_tool_results(job: ToolJob, results: list[ToolResult], saver: ToolSaver,
                      source: SourceInfo | None = None) -> list[Path]:
    """Save every image of one job's answer (blocking file work: call it off an event loop).
    ``source``: the input image's record, read before sending (the file may change meanwhile)."""
    source = source or SourceInfo.of(job.image.path)
    if job.kind == "upscale":
        options = {"model": job.model, "declared_blur_sigma": job.blur_sigma, "scale": UPSCALE_FACTOR}
        return [saver.save_result(r, source, "upscale", options, label=f"{UPSCALE_FACTOR}x",
                                  extra={"model": job.model}) for r in results]
    assert job.options is not None
    extra = {"sent_size": list(job.image.size)}
    return [saver.save_result(r, source, job.kind, job.options.to_json(), mood=job.options.mood, extra=extra)
            for r in results]


async def run_tool_job(job: ToolJob, client: NaiToolsClient, saver: ToolSaver,
                       cancel: CancelToken | None = None) -> list[Path]:
    """Send one job and save every image it returned; the saved paths."""
    source = SourceInfo.of(job.image.path)
    return save_tool_results(job, await send_tool_job(job, client, cancel), saver, source)


@dataclass(frozen=True)
class ToolRequest:
    """What the user asked for in the Director Tools dialog (or on the command line), before pricing.

    The app turns it into jobs with :meth:`plan` (tier / active from the subscription) and queues
    them; :func:`quick_cost` prices it from the image sizes alone, for a live cost line."""

    tool: str
    sources: tuple[Path, ...]
    moods: tuple[str, ...] = ()
    defry: int = 0
    prompt: str = ""

    def plan(self, tier: int, active: bool = True) -> ToolPlan:
        if self.tool == "upscale":
            return plan_upscale(self.sources)
        return plan_tool(self.tool, self.sources, moods=list(self.moods) or None,
                         defry=self.defry if self.tool in ("colorize", "emotion") else None,
                         prompt=self.prompt, tier=tier, active=active)

    @property
    def requests(self) -> int:
        return len(self.sources) * (max(1, len(self.moods)) if self.tool == "emotion" else 1)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (for a persisted queue); :meth:`from_dict` reads it back."""
        return {"tool": self.tool, "sources": [str(p) for p in self.sources], "moods": list(self.moods),
                "defry": self.defry, "prompt": self.prompt}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolRequest:
        return cls(str(data["tool"]), tuple(Path(p) for p in data.get("sources", [])),
                   tuple(str(m) for m in data.get("moods", [])), int(data.get("defry", 0)),
                   str(data.get("prompt", "")))


def source_sizes(paths: Iterable[Path]) -> list[tuple[int, int]]:
    """The size each image will be sent at, from its header alone (no decoding)."""
    from PIL import Image

    from .tools import web_size

    sizes = []
    for path in paths:
        with Image.open(path) as im:
            sizes.append(web_size(*im.size))
    return sizes


def image_sizes(paths: Iterable[Path]) -> list[tuple[int, int]]:
    """Each image's own size, from its header alone (what the upscaler is sent)."""
    from PIL import Image

    sizes = []
    for path in paths:
        with Image.open(path) as im:
            sizes.append(im.size)
    return sizes


def quick_cost(request: ToolRequest, *, tier: int, active: bool = True,
               sizes: list[tuple[int, int]] | None = None) -> int:
    """The Anlas ``request`` will cost (nothing sent); ``sizes`` from :func:`source_sizes` when known
    (for ``upscale``: the images' own sizes, :func:`image_sizes`)."""
    if request.tool == "upscale":
        own = sizes if sizes is not None else image_sizes(request.sources)
        return sum(upscale_cost(w, h).total for w, h in own)
    per_source = max(1, len(request.moods)) if request.tool == "emotion" else 1
    sent = sizes if sizes is not None else source_sizes(request.sources)
    return sum(augment_cost(request.tool, w, h, tier=tier, active=active).total * per_source for w, h in sent)
