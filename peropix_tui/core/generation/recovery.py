"""After a crash: find the images an interrupted job already wrote, so it is never sent again.

A job is recorded as running (with its folder and start time) before its request goes out, and
each of its images carries ``{"queue": uid, "job": id}`` in its ``peropix`` object, written in
the same atomic rename as the pixels. So "image on disk" is the durable fact: this scan reads the
PNGs of the job's folder written since it started and returns those that name it.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..jobs import Job
from .peropix import job_tag

CLOCK_SLACK_S = 5.0
"""How far before the recorded start a file's mtime may be (coarse file-system clocks)."""


def find_job_images(job: Job, queue_uid: str) -> list[str]:
    """Paths of images in ``job.folder`` whose ``peropix`` object names this queue and job."""
    if not job.folder:
        return []
    from ..store.layout import is_image_name

    folder = Path(job.folder)
    since_ns = int((job.started - CLOCK_SLACK_S) * 1e9) if job.started else 0
    found: list[tuple[int, str]] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for e in entries:
        if not is_image_name(e.name) or not e.name.lower().endswith(".png"):
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if st.st_mtime_ns < since_ns:
                continue
            data = Path(e.path).read_bytes()
        except OSError:
            continue
        tag = job_tag(data) if data else None
        if tag is not None and tag[1] == job.id and tag[0] == queue_uid:
            found.append((st.st_mtime_ns, e.path))
    return [p for _, p in sorted(found)]
