"""ComfyUI ``prompt`` (API format) and ``workflow`` (UI format) graphs -> settings.

The API graph is ``{node_id: {"class_type": T, "inputs": {name: value | [source_id, slot]}}}``.
We find the sampler node (KSampler, KSamplerAdvanced, SamplerCustom, SamplerCustomAdvanced),
then follow its links: positive/negative through conditioning nodes to the text encoders,
``model`` through LoRA loaders to the checkpoint loader, ``latent_image`` to the empty latent
(size, batch). A UI workflow is first converted to the API shape (:func:`workflow_to_api`).
Every walk is bounded and cycle-safe.
"""

from __future__ import annotations

from typing import Any

from ..settings import GenerationSettings, LoraSpec
from .fields import FieldError, as_float, as_int, as_str, checkpoint_stem

Graph = dict[str, dict[str, Any]]

SAMPLER_NODES = ("KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced")
SAMPLERS: dict[str, str] = {
    "euler": "k_euler",
    "euler_ancestral": "k_euler_ancestral",
    "dpmpp_2m": "k_dpmpp_2m",
    "dpmpp_2m_sde": "k_dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu": "k_dpmpp_2m_sde",
    "dpmpp_sde": "k_dpmpp_sde",
    "dpmpp_sde_gpu": "k_dpmpp_sde",
    "dpmpp_2s_ancestral": "k_dpmpp_2s_ancestral",
    "dpmpp_3m_sde": "k_dpmpp_3m_sde",
    "dpm_2": "k_dpm_2",
    "dpm_2_ancestral": "k_dpm_2_ancestral",
    "lms": "k_lms",
    "dpm_fast": "k_dpm_fast",
    "dpm_adaptive": "k_dpm_adaptive",
    "ddim": "ddim",
}
SCHEDULES: dict[str, str] = {"normal": "native", "karras": "karras", "exponential": "exponential"}
MAX_DEPTH = 64

# UI widget order for the nodes we read ("control_after_generate" follows every seed widget)
WIDGETS: dict[str, tuple[str, ...]] = {
    "KSampler": ("seed", "control_after_generate", "steps", "cfg", "sampler_name", "scheduler", "denoise"),
    "KSamplerAdvanced": (
        "add_noise", "noise_seed", "control_after_generate", "steps", "cfg", "sampler_name", "scheduler",
        "start_at_step", "end_at_step", "return_with_leftover_noise",
    ),
    "SamplerCustom": ("add_noise", "noise_seed", "control_after_generate", "cfg"),
    "RandomNoise": ("noise_seed", "control_after_generate"),
    "CFGGuider": ("cfg",),
    "KSamplerSelect": ("sampler_name",),
    "BasicScheduler": ("scheduler", "steps", "denoise"),
    "KarrasScheduler": ("steps", "sigma_max", "sigma_min", "rho"),
    "ExponentialScheduler": ("steps", "sigma_max", "sigma_min"),
    "CLIPTextEncode": ("text",),
    "CLIPTextEncodeSDXL": ("width", "height", "crop_w", "crop_h", "target_width", "target_height", "text_g", "text_l"),
    "CLIPTextEncodeSDXLRefiner": ("ascore", "width", "height", "text"),
    "EmptyLatentImage": ("width", "height", "batch_size"),
    "EmptySD3LatentImage": ("width", "height", "batch_size"),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "LoraLoader": ("lora_name", "strength_model", "strength_clip"),
    "LoraLoaderModelOnly": ("lora_name", "strength_model"),
    "ModelSamplingDiscrete": ("sampling", "zsnr"),
    "PrimitiveNode": ("value", "control_after_generate"),
}
_CONTROL_VALUES = {"fixed", "increment", "decrement", "randomize"}


def _is_link(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and isinstance(v[0], str | int) and isinstance(v[1], int)


class GraphReader:
    def __init__(self, graph: Graph, where: str) -> None:
        self.g = graph
        self.where = where

    def node(self, ref: Any) -> dict[str, Any] | None:
        node = self.g.get(str(ref[0])) if _is_link(ref) else None
        return node if isinstance(node, dict) else None

    def inputs(self, node: dict[str, Any]) -> dict[str, Any]:
        inputs = node.get("inputs")
        return inputs if isinstance(inputs, dict) else {}

    def value(self, node: dict[str, Any], name: str, depth: int = 0) -> Any:
        """An input value, following links to primitive/constant nodes."""
        v = self.inputs(node).get(name)
        while _is_link(v) and depth < MAX_DEPTH:
            src = self.node(v)
            if src is None:
                return None
            ins = self.inputs(src)
            v = next((ins[k] for k in ("value", "text", "string", "seed", "noise_seed", "int", "float") if k in ins), None)
            depth += 1
        return None if _is_link(v) else v

    def upstream(self, node: dict[str, Any], name: str, want: tuple[str, ...], via: tuple[str, ...]) -> list[dict[str, Any]]:
        """Nodes of a type in ``want`` reached from input ``name``, passing through any input in ``via``."""
        found: list[dict[str, Any]] = []
        seen: set[int] = set()
        stack = [(self.inputs(node).get(name), 0)]
        while stack:
            ref, depth = stack.pop()
            src = self.node(ref)
            if src is None or id(src) in seen or depth > MAX_DEPTH:
                continue
            seen.add(id(src))
            if src.get("class_type") in want:
                found.append(src)
                continue
            stack.extend((self.inputs(src).get(k), depth + 1) for k in reversed(via))
        return found

    # ------------------------------------------------------------------ pieces
    def sampler(self) -> dict[str, Any]:
        nodes = [(k, n) for k, n in self.g.items() if isinstance(n, dict) and n.get("class_type") in SAMPLER_NODES]
        if not nodes:
            raise FieldError(f"{self.where}: no sampler node (KSampler, SamplerCustom, …) in the graph")
        first_pass = [n for _, n in nodes if self.upstream(n, "latent_image", ("EmptyLatentImage", "EmptySD3LatentImage"), ())]
        return first_pass[0] if first_pass else sorted(nodes, key=lambda kn: _order(kn[0]))[0][1]

    def text(self, node: dict[str, Any], name: str) -> str:
        """Prompt text behind a conditioning input; several encoders are joined with ``BREAK``."""
        encoders = self.upstream(
            node, name, ("CLIPTextEncode", "CLIPTextEncodeSDXL", "CLIPTextEncodeSDXLRefiner"),
            ("conditioning", "conditioning_1", "conditioning_2", "conditioning_to", "conditioning_from", "positive", "negative"),
        )
        texts = []
        for enc in encoders:
            t = self.value(enc, "text") if "text" in self.inputs(enc) else self.value(enc, "text_g")
            if isinstance(t, str):
                texts.append(t)
        return " BREAK ".join(texts)

    def guider(self, node: dict[str, Any]) -> dict[str, Any]:
        found = self.upstream(node, "guider", ("CFGGuider", "DualCFGGuider", "BasicGuider"), ())
        return found[0] if found else node


def _order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 30, key)


def settings_from_graph(graph: Graph, where: str = "prompt") -> GenerationSettings:
    r = GraphReader(graph, where)
    ks = r.sampler()
    cond = r.guider(ks) if ks.get("class_type") == "SamplerCustomAdvanced" else ks
    s = GenerationSettings(provider="local", quality=False, uc_preset="none", noise_schedule="native")
    s.prompt = r.text(cond, "positive") or r.text(cond, "conditioning")
    s.uc = r.text(cond, "negative")
    _sampling(r, ks, cond, s, where)
    _size(r, ks, s, where)
    _model(r, ks, s, where)
    return s


def _sampling(r: GraphReader, ks: dict[str, Any], cond: dict[str, Any], s: GenerationSettings, where: str) -> None:
    noise = ks
    if ks.get("class_type") == "SamplerCustomAdvanced":
        found = r.upstream(ks, "noise", ("RandomNoise",), ())
        noise = found[0] if found else ks
    seed = r.value(noise, "seed") if "seed" in r.inputs(noise) else r.value(noise, "noise_seed")
    if seed is not None:
        s.seed = as_int(seed, f"{where}.seed")
    cfg = r.value(cond, "cfg")
    if cfg is not None:
        s.scale = as_float(cfg, f"{where}.cfg")
    sampler_node, sched_node = ks, ks
    if "sampler" in r.inputs(ks):
        found = r.upstream(ks, "sampler", ("KSamplerSelect",), ())
        sampler_node = found[0] if found else ks
        found = r.upstream(ks, "sigmas", ("BasicScheduler", "KarrasScheduler", "ExponentialScheduler"), ())
        sched_node = found[0] if found else ks
    name = r.value(sampler_node, "sampler_name")
    if isinstance(name, str):
        s.sampler = SAMPLERS.get(name, name)
    steps = r.value(sched_node, "steps")
    if steps is not None:
        s.steps = as_int(steps, f"{where}.steps")
    sched = {"KarrasScheduler": "karras", "ExponentialScheduler": "exponential"}.get(str(sched_node.get("class_type")))
    sched = sched or r.value(sched_node, "scheduler")
    if isinstance(sched, str):
        s.noise_schedule = SCHEDULES.get(sched, sched)
    denoise = r.value(sched_node, "denoise")
    if denoise is not None and as_float(denoise, f"{where}.denoise") < 1.0:
        s.action, s.strength = "img2img", as_float(denoise, f"{where}.denoise")


def _size(r: GraphReader, ks: dict[str, Any], s: GenerationSettings, where: str) -> None:
    found = r.upstream(ks, "latent_image", ("EmptyLatentImage", "EmptySD3LatentImage"), ("samples",))
    if not found:
        return
    latent = found[0]
    for name in ("width", "height"):
        v = r.value(latent, name)
        if v is not None:
            setattr(s, name, as_int(v, f"{where}.{name}"))
    batch = r.value(latent, "batch_size")
    if batch is not None:
        s.n_samples = as_int(batch, f"{where}.batch_size")


def _model(r: GraphReader, ks: dict[str, Any], s: GenerationSettings, where: str) -> None:
    seen: set[int] = set()
    ref = r.inputs(ks).get("model")
    if ks.get("class_type") == "SamplerCustomAdvanced":
        ref = r.inputs(r.guider(ks)).get("model")
    loras: list[LoraSpec] = []
    for _ in range(MAX_DEPTH):
        node = r.node(ref)
        if node is None or id(node) in seen:
            break
        seen.add(id(node))
        kind = node.get("class_type")
        if kind in ("LoraLoader", "LoraLoaderModelOnly"):
            name = r.value(node, "lora_name")
            weight = r.value(node, "strength_model")
            if isinstance(name, str):
                loras.insert(0, LoraSpec(path=name, weight=as_float(weight if weight is not None else 1.0, f"{where}.strength_model")))
        elif kind == "ModelSamplingDiscrete":
            sampling, zsnr = r.value(node, "sampling"), r.value(node, "zsnr")
            if sampling == "v_prediction":
                s.prediction = "v-zsnr" if zsnr is True else "v"
            elif sampling == "eps":
                s.prediction = "eps"
        elif kind in ("CheckpointLoaderSimple", "CheckpointLoader", "UNETLoader"):
            name = r.value(node, "ckpt_name") if kind != "UNETLoader" else r.value(node, "unet_name")
            if isinstance(name, str):
                s.checkpoint = as_str(name, f"{where}.ckpt_name")
                s.model = checkpoint_stem(name)
            break
        ref = r.inputs(node).get("model")
    s.loras = loras


# ------------------------------------------------------------------------- UI workflow
def workflow_to_api(workflow: dict[str, Any]) -> Graph:
    """Convert a UI ``workflow`` (nodes + links + positional widget values) to the API shape."""
    nodes, links = workflow.get("nodes"), workflow.get("links")
    if not isinstance(nodes, list) or not isinstance(links, list):
        raise FieldError("workflow: expected 'nodes' and 'links' lists")
    sources: dict[Any, list[Any]] = {}
    for link in links:
        if isinstance(link, list) and len(link) >= 5:
            sources[link[0]] = [str(link[1]), link[2] if isinstance(link[2], int) else 0]
        elif isinstance(link, dict) and "id" in link:
            sources[link["id"]] = [str(link.get("origin_id")), link.get("origin_slot", 0)]
    graph: Graph = {}
    for node in nodes:
        if isinstance(node, dict) and "id" in node and isinstance(node.get("type"), str):
            graph[str(node["id"])] = {"class_type": node["type"], "inputs": _node_inputs(node, sources)}
    return graph


def _node_inputs(node: dict[str, Any], sources: dict[Any, list[Any]]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    values = node.get("widgets_values")
    if isinstance(values, list):
        names = list(WIDGETS.get(node["type"], ()))
        values = [v for i, v in enumerate(values) if not _is_control(values, i, names)]
        names = [n for n in names if n != "control_after_generate"]
        inputs.update(zip(names, values, strict=False))
    elif isinstance(values, dict):
        inputs.update(values)
    for slot in node.get("inputs") or []:
        if isinstance(slot, dict) and isinstance(slot.get("name"), str) and slot.get("link") in sources:
            inputs[slot["name"]] = sources[slot["link"]]
    return inputs


def _is_control(values: list[Any], i: int, names: list[str]) -> bool:
    """Is ``values[i]`` the seed's "control after generate" widget (present or not in old files)?"""
    if i >= len(names) or names[i] != "control_after_generate":
        return False
    return isinstance(values[i], str) and values[i] in _CONTROL_VALUES
