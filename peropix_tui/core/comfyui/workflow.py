"""A user's own API-format workflow, with some inputs filled from the settings and the rest unchanged.

Roles and the inputs they fill: ``prompt`` / ``negative`` → ``text``; ``seed`` → ``seed`` or
``noise_seed``; ``steps``; ``cfg``; ``sampler`` → ``sampler_name``; ``scheduler``; ``denoise``;
``size`` → ``width``, ``height`` (and ``batch_size`` when the node has it); ``checkpoint`` →
``ckpt_name``. A role is bound to a node by an explicit ``ROLE=NODE`` (node id or ``_meta.title``),
else by a node titled like the role. When neither names them, ``prompt``, ``negative`` and ``seed``
are found from the one KSampler's ``positive`` / ``negative`` links (and ``checkpoint`` from the one
CheckpointLoaderSimple when a checkpoint was asked for); other roles stay as the workflow has them.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...i18n import _
from ..backend import BackendError
from ..settings import GenerationSettings
from .discovery import ServerInfo, match_model
from .names import comfy_sampler, comfy_scheduler

ROLES: dict[str, tuple[str, ...]] = {
    "prompt": ("text",),
    "negative": ("text",),
    "seed": ("seed", "noise_seed"),
    "steps": ("steps",),
    "cfg": ("cfg",),
    "sampler": ("sampler_name",),
    "scheduler": ("scheduler",),
    "denoise": ("denoise",),
    "size": ("width", "height"),
    "checkpoint": ("ckpt_name",),
}
_TITLE_ALIASES = {"positive": "prompt", "positive prompt": "prompt", "negative prompt": "negative"}
_SAMPLERS = ("KSampler", "KSamplerAdvanced")


class WorkflowError(ValueError):
    """The workflow file cannot be used; the message names the file (and node)."""


@dataclass
class UserWorkflow:
    graph: dict[str, Any]
    source: str
    bindings: dict[str, str] = field(default_factory=dict)
    """role -> node id or title, as the user gave them."""

    @classmethod
    def load(cls, path: str | Path, bindings: dict[str, str] | None = None) -> UserWorkflow:
        p = Path(path).expanduser()
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except OSError as e:
            raise WorkflowError(_("{file}: cannot read the workflow ({error})").format(file=p, error=e.strerror or e)) \
                from None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise WorkflowError(_("{file}: not a JSON workflow ({error})").format(file=p, error=e)) from None
        return cls.from_graph(data, str(p), bindings)

    @classmethod
    def from_graph(cls, data: Any, source: str, bindings: dict[str, str] | None = None) -> UserWorkflow:
        if isinstance(data, dict) and "prompt" in data and isinstance(data["prompt"], dict) and \
                all(isinstance(v, dict) and "class_type" in v for v in data["prompt"].values()):
            data = data["prompt"]  # a saved /prompt body
        if isinstance(data, dict) and "nodes" in data and "links" in data:
            raise WorkflowError(_("{file}: this is a UI-format workflow; in ComfyUI use "
                                  "Workflow → Export (API) and pass that file").format(file=source))
        if not isinstance(data, dict) or not data:
            raise WorkflowError(_("{file}: not an API-format workflow (a JSON object of nodes)").format(file=source))
        for node_id, node in data.items():
            if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) or \
                    not isinstance(node.get("inputs", {}), dict):
                raise WorkflowError(_("{file}: node {node} has no class_type/inputs").format(file=source, node=node_id))
        for role in bindings or {}:
            if role not in ROLES:
                raise WorkflowError(_("{file}: unknown role {role} (roles: {roles})").format(
                    file=source, role=repr(role), roles=", ".join(ROLES)))
        return cls(graph={str(k): v for k, v in data.items()}, source=source, bindings=dict(bindings or {}))

    # --------------------------------------------------------------- binding
    def _find(self, ref: str) -> str:
        if ref in self.graph:
            return ref
        hits = [k for k, v in self.graph.items() if str((v.get("_meta") or {}).get("title", "")) == ref]
        if not hits:
            hits = [k for k, v in self.graph.items()
                    if str((v.get("_meta") or {}).get("title", "")).lower() == ref.lower()]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise WorkflowError(_("{file}: several nodes are titled {title} ({nodes})").format(
                file=self.source, title=repr(ref), nodes=", ".join(hits)))
        raise WorkflowError(_("{file}: no node with id or title {title}").format(file=self.source, title=repr(ref)))

    def _by_title(self, role: str) -> str | None:
        hits = []
        for k, v in self.graph.items():
            title = str((v.get("_meta") or {}).get("title", "")).strip().lower()
            if _TITLE_ALIASES.get(title, title) == role:
                hits.append(k)
        return hits[0] if len(hits) == 1 else None

    def _auto(self, role: str) -> str | None:
        if role == "checkpoint":
            loaders = [k for k, v in self.graph.items() if v["class_type"] == "CheckpointLoaderSimple"]
            return loaders[0] if len(loaders) == 1 else None
        samplers = [k for k, v in self.graph.items() if v["class_type"] in _SAMPLERS]
        if len(samplers) != 1:
            return None
        inputs = self.graph[samplers[0]].get("inputs", {})
        if role == "seed":
            return samplers[0]
        link = inputs.get("positive" if role == "prompt" else "negative")
        if isinstance(link, list) and len(link) == 2 and str(link[0]) in self.graph and \
                "text" in self.graph[str(link[0])].get("inputs", {}):
            return str(link[0])
        return None

    def resolve(self, *, want_checkpoint: bool = False) -> dict[str, str]:
        """role -> node id for every role that will be filled."""
        out: dict[str, str] = {}
        for role in ROLES:
            node = self._find(self.bindings[role]) if role in self.bindings else self._by_title(role)
            if node is not None:
                out[role] = node
        for role in ("prompt", "negative", "seed", "checkpoint"):
            if role in out or (role == "checkpoint" and not want_checkpoint):
                continue
            node = self._auto(role)
            # a text node already holding the other prompt is never overwritten by a guess
            if node is not None and not (role in ("prompt", "negative") and node in
                                         (out.get("prompt"), out.get("negative"))):
                out[role] = node
        return out

    # ------------------------------------------------------------------ fill
    def fill(self, settings: GenerationSettings, info: ServerInfo, *, positive: str, negative: str,
             seed: int) -> dict[str, Any]:
        """A copy of the workflow with the bound inputs set from ``settings``."""
        graph = copy.deepcopy(self.graph)
        bound = self.resolve(want_checkpoint=bool(settings.checkpoint))
        if "prompt" not in bound:
            raise WorkflowError(_("{file}: no node to put the prompt in: title a CLIPTextEncode "
                                  "'prompt' or bind one (prompt=NODE)").format(file=self.source))
        for role, node_id in bound.items():
            node = graph[node_id]
            inputs = node.setdefault("inputs", {})
            names = [n for n in ROLES[role] if n in inputs]
            if not names:
                raise WorkflowError(_("{file}: node {node} ({node_class}) bound as {role} has no input {inputs}").format(
                    file=self.source, node=node_id, node_class=node["class_type"], role=role,
                    inputs=_(" or ").join(ROLES[role])))
            for name in names:
                if isinstance(inputs[name], list):
                    raise WorkflowError(_("{file}: node {node} ({node_class}) input {input} is a link, not a value; "
                                          "bind {role} to the node that holds the value").format(
                        file=self.source, node=node_id, node_class=node["class_type"], input=name, role=role))
            value = self._value(role, settings, info, positive=positive, negative=negative, seed=seed)
            if role == "size":
                inputs["width"], inputs["height"] = settings.width, settings.height
                if "batch_size" in inputs and not isinstance(inputs["batch_size"], list):
                    inputs["batch_size"] = settings.n_samples
            else:
                inputs[names[0]] = value
        return graph

    @staticmethod
    def _value(role: str, s: GenerationSettings, info: ServerInfo, *, positive: str, negative: str,
               seed: int) -> Any:
        if role == "prompt":
            return positive
        if role == "negative":
            return negative
        if role == "seed":
            return seed
        if role == "steps":
            return s.steps
        if role == "cfg":
            return float(s.scale)
        if role == "sampler":
            return comfy_sampler(s.sampler, info.samplers)
        if role == "scheduler":
            return comfy_scheduler(s.noise_schedule, info.schedulers)
        if role == "denoise":
            return float(s.strength) if s.action != "generate" else 1.0
        if role == "checkpoint":
            if not s.checkpoint:
                raise BackendError(_("the workflow binds checkpoint but no --checkpoint was given"))
            return match_model("checkpoint", s.checkpoint, info.checkpoints, info.name)
        return None


def parse_bindings(specs: list[str] | None) -> dict[str, str]:
    """``ROLE=NODE`` strings (the ``--bind`` flag) as a dict."""
    out: dict[str, str] = {}
    for spec in specs or []:
        role, sep, node = spec.partition("=")
        if not sep or not role.strip() or not node.strip():
            raise WorkflowError(_("--bind: {spec} is not ROLE=NODE (e.g. prompt=6 or prompt='Positive')").format(
                spec=repr(spec)))
        if role.strip() not in ROLES:
            raise WorkflowError(_("--bind: unknown role {role} (roles: {roles})").format(
                role=repr(role.strip()), roles=", ".join(ROLES)))
        out[role.strip()] = node.strip()
    return out
