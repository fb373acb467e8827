"""The one builder of the ``peropix`` metadata object, and embedding it into a saved image.

The object names the job (``job`` + ``queue``: the recovery scan finds a job's image by them),
the slot and repeat it came from, the base prompt, and (when wildcards were drawn) the prompts as
written. Everything a face needs to show or restore comes from here, whichever face ran the job.
"""

from __future__ import annotations

import logging
from typing import Any

from ..backend import GeneratedImage
from ..jobs import Job
from ..settings import GenerationSettings, SettingsError

log = logging.getLogger("peropix")


def prompt_texts(s: GenerationSettings) -> dict[str, Any]:
    return {"prompt": s.prompt, "uc": s.uc, "characters": [{"prompt": c.prompt, "uc": c.uc} for c in s.characters]}


def build_peropix(job: Job, base_prompt: str | None = None, sent: GenerationSettings | None = None,
                  info: dict[str, Any] | None = None, *, queue_uid: str = "") -> dict[str, Any]:
    """Our metadata for one image of ``job``; with wildcards drawn (``sent`` differs from the job's
    settings) it adds ``template``: the prompts as written, before the draw. ``info`` is the
    backend's note on the image: the vibes' cache keys are kept (restoring them later)."""
    extra: dict[str, Any] = {
        "provider": job.settings.provider,
        "base_prompt": job.base_prompt if base_prompt is None else base_prompt,
        "slot_name": job.slot_name, "slot_index": job.slot_index, "repeat": job.repeat, "job": job.id,
    }
    if queue_uid:
        extra["queue"] = queue_uid
    if job.kind != "generate":
        extra["kind"] = job.kind
    done = sent if sent is not None else job.settings
    extra.update(action=done.action, model=done.model)  # NovelAI's request_type says Img2Img for infill
    if done.provider == "nai":
        from ..nai.models import request_model_id

        try:
            extra["sent_model"] = request_model_id(done.model, done.action)  # e.g. the inpainting model
        except SettingsError:
            pass  # not a NovelAI model id: the request could not have been sent with it
    if sent is not None and sent is not job.settings:
        extra["template"] = prompt_texts(job.settings)
    if info and info.get("vibes"):
        extra["vibes"] = info["vibes"]
    if info and info.get("provider") == "comfyui":  # the server that ran it and what it resolved
        extra["server"] = info.get("server")
        extra["comfyui"] = {k: info[k] for k in COMFY_INFO if k in info}
    return extra


# what a ComfyUI backend notes on an image that is worth keeping (the server's own names)
COMFY_INFO = ("server_url", "comfyui_version", "prompt_id", "checkpoint", "loras", "sampler", "scheduler",
              "workflow_file")


def with_metadata(img: GeneratedImage, extra: dict[str, Any], settings: GenerationSettings | None = None) -> bytes:
    """The image's bytes with the ``peropix`` object added to its PNG Comment (other formats as they are).

    A PNG without a Comment (a ComfyUI server's, which keeps its ``prompt`` / ``workflow`` chunks)
    gets our whole NovelAI-format Comment for ``settings`` beside its own chunks.
    """
    if img.extension != "png":
        return img.data
    from ..metadata import embed_peropix, png
    from ..metadata.writer import add_comment

    try:
        if settings is not None and "Comment" not in png.read_text(img.data):
            return add_comment(img.data, settings, seed=img.seed, peropix=extra)
        return bytes(embed_peropix(img.data, extra))
    except Exception as e:  # metadata is a bonus; the image itself must never be lost
        log.warning("[Save] could not add PeroPix metadata: %s", e)
        return img.data


def job_tag(data: bytes) -> tuple[str, str] | None:
    """(queue uid, job id) from a PNG's ``peropix`` object, or None (not ours / unreadable)."""
    import json

    from ..metadata import png

    try:
        comment = png.read_text(data).get("Comment")
        obj = json.loads(comment)["peropix"] if comment else None
    except Exception:
        return None
    if not isinstance(obj, dict) or "job" not in obj:
        return None
    return str(obj.get("queue", "")), str(obj["job"])
