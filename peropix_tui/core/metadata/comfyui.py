"""ComfyUI ``prompt`` (API format) and ``workflow`` (UI format) graphs -> a recipe.

The API graph is ``{node_id: {"class_type": T, "inputs": {name: value | [source_id, slot]}}}``.
We find the sampler (KSampler and friends, or any node with positive / negative / steps / seed
inputs), then follow links *generically*, not by a list of node types:

* prompts: from the sampler's ``positive`` / ``negative`` back through any conditioning node
  (ControlNet, combine, custom nodes) to the node holding the text, and from there through string
  nodes (primitives, rgthree Power Prompt, Comfyroll text boxes), switches (the input chosen by the
  selector, else the first connected) and reroutes to the string itself;
* the size: from ``latent_image`` back through upscale / encode nodes to the node with a width and
  height (``scale_by`` multiplies);
* the model: back through LoRA loaders (weights kept) to the checkpoint loader.

Where a link cannot be followed the value stays unknown and a note says where the walk stopped;
nothing is defaulted. A UI workflow is first converted to the API shape (:func:`workflow_to_api`).
Every walk is bounded and cycle-safe.
"""

from __future__ import annotations

import re
from typing import Any

from ... import i18n
from ..settings import GenerationSettings, LoraSpec
from .fields import FieldError, as_float, as_int
from .recipe import Recipe

Graph = dict[str, dict[str, Any]]

SAMPLER_NODES = (
    "KSampler", "KSamplerAdvanced", "SamplerCustom", "SamplerCustomAdvanced", "KSampler (Efficient)",
    "KSampler Adv. (Efficient)", "KSampler SDXL (Eff.)",
)
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
    "LatentUpscale": ("upscale_method", "width", "height", "crop"),
    "LatentUpscaleBy": ("upscale_method", "scale_by"),
    "ImageScale": ("upscale_method", "width", "height", "crop"),
    "ImageScaleBy": ("upscale_method", "scale_by"),
    "UpscaleModelLoader": ("model_name",),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "VAELoader": ("vae_name",),
    "CLIPSetLastLayer": ("stop_at_clip_layer",),
    "LoraLoader": ("lora_name", "strength_model", "strength_clip"),
    "LoraLoaderModelOnly": ("lora_name", "strength_model"),
    "ModelSamplingDiscrete": ("sampling", "zsnr"),
    "PrimitiveNode": ("value", "control_after_generate"),
    "PrimitiveString": ("value",),
    "PrimitiveStringMultiline": ("value",),
    "PrimitiveInt": ("value", "control_after_generate"),
    "PrimitiveFloat": ("value",),
    "Power Prompt (rgthree)": ("prompt",),
    "Power Prompt - Simple (rgthree)": ("prompt",),
    "CR Text": ("text",),
    "CR Prompt Text": ("prompt",),
    "CR Text Input Switch": ("Input",),
    "String Literal": ("string",),
    "Text Multiline": ("text",),
}
_CONTROL_VALUES = {"fixed", "increment", "decrement", "randomize"}

# inputs that carry text, best first ("populated_text" is the wildcard result)
_TEXT_KEYS = ("populated_text", "text", "string", "prompt", "value", "wildcard_text", "text_a", "Text")
# inputs that never lead to the prompt text
_NOT_TEXT = frozenset({
    "clip", "model", "vae", "image", "images", "pixels", "mask", "control_net", "latent", "latent_image", "samples",
    "opt_clip", "clip_vision", "style_model", "upscale_model", "noise", "sigmas", "sampler", "guider",
})
_SELECTORS = ("select", "Input", "input", "index", "selected", "choice", "switch", "selection")
_SWITCH_INPUT = re.compile(r"^(?:text|input|any|string|on|value|option|conditioning)?_?0*(\d+)$", re.IGNORECASE)
_UNSCALED_SIZE = re.compile(r"(\d{2,5})\s*[x×*]\s*(\d{2,5})")


def _is_link(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and isinstance(v[0], str | int) and isinstance(v[1], int)


class GraphReader:
    def __init__(self, graph: Graph, where: str) -> None:
        self.g = graph
        self.where = where
        self.notes: list[str] = []

    def node(self, ref: Any) -> dict[str, Any] | None:
        node = self.g.get(str(ref[0])) if _is_link(ref) else None
        return node if isinstance(node, dict) else None

    def inputs(self, node: dict[str, Any]) -> dict[str, Any]:
        inputs = node.get("inputs")
        return inputs if isinstance(inputs, dict) else {}

    def kind(self, node: dict[str, Any]) -> str:
        return str(node.get("class_type", ""))

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # ---------------------------------------------------------------- scalars
    def value(self, node: dict[str, Any], name: str, depth: int = 0) -> Any:
        """An input value; a link is followed to the source's value of the same name, or its
        ``value`` / ``seed`` / first numeric widget (primitive, seed and aspect-ratio nodes)."""
        v = self.inputs(node).get(name)
        while _is_link(v) and depth < MAX_DEPTH:
            src = self.node(v)
            if src is None:
                return None
            ins = self.inputs(src)
            keys = (name, "value", "Value", "seed", "noise_seed", "int", "float", "number", "string", "text")
            nxt = next((ins[k] for k in keys if k in ins), None)
            if nxt is None:
                nxt = self._switched(src, depth)
            if nxt is None:
                nxt = next((w for w in _widgets(ins) if isinstance(w, int | float) and not isinstance(w, bool)), None)
            v = nxt
            depth += 1
        return None if _is_link(v) else v

    # ---------------------------------------------------------------- strings
    def _selector(self, ins: dict[str, Any]) -> int | bool | None:
        for key in _SELECTORS:
            v = ins.get(key)
            if isinstance(v, bool):
                return v
            if isinstance(v, int):
                return v
        for key in ("boolean", "Boolean", "condition"):
            if isinstance(ins.get(key), bool):
                return bool(ins[key])
        return None

    def _switched(self, node: dict[str, Any], depth: int) -> Any:
        """The input a switch passes on: by its selector, else the first connected (None if not a switch)."""
        ins = self.inputs(node)
        if "on_true" in ins or "on_false" in ins:
            sel = self._selector(ins)
            return ins.get("on_true" if sel is not False else "on_false")
        numbered = sorted(
            ((int(m.group(1)), k) for k in ins if (m := _SWITCH_INPUT.match(k)) and k not in _SELECTORS),
        )
        if not numbered:
            return None
        sel = self._selector(ins)
        if isinstance(sel, int) and not isinstance(sel, bool):
            for n, k in numbered:
                if n == sel:
                    return ins[k]
            return None
        for _, k in numbered:
            if ins[k] is not None:
                return ins[k]
        return None

    def string(self, ref: Any, depth: int = 0) -> str | None:
        """The text a link carries: string widgets, switches, reroutes, concatenations."""
        if isinstance(ref, str):
            return ref
        src = self.node(ref)
        if src is None or depth > MAX_DEPTH:
            return None
        ins = self.inputs(src)
        kind = self.kind(src).lower()
        if "switch" in kind or "on_true" in ins:
            chosen = self._switched(src, depth)
            if chosen is not None:
                return self.string(chosen, depth + 1)
        if any(w in kind for w in ("concat", "join", "combine")) and "switch" not in kind:
            return self._concat(ins, depth)
        for key in _TEXT_KEYS:
            if key in ins:
                got = self.string(ins[key], depth + 1)
                if got is not None:
                    return got
        chosen = self._switched(src, depth)
        if chosen is not None:
            return self.string(chosen, depth + 1)
        widget = next((w for w in _widgets(ins) if isinstance(w, str) and w not in _CONTROL_VALUES), None)
        if widget is not None:
            return widget
        links = [v for k, v in ins.items() if _is_link(v) and k not in _NOT_TEXT]
        if len(links) == 1:  # reroute and other one-input pass-throughs
            return self.string(links[0], depth + 1)
        return None

    def _concat(self, ins: dict[str, Any], depth: int) -> str | None:
        sep = next((ins[k] for k in ("delimiter", "separator", "Delimiter") if isinstance(ins.get(k), str)), ", ")
        parts = []
        for k in sorted(ins):
            if k in ("delimiter", "separator", "Delimiter") or k in _NOT_TEXT:
                continue
            v = ins[k]
            if _is_link(v) or (isinstance(v, str) and k.lower().startswith(("text", "string"))):
                got = self.string(v, depth + 1)
                if got is None:
                    return None
                if got:
                    parts.append(got)
        return sep.join(parts) if parts else None

    # ---------------------------------------------------------------- prompts
    def cond_text(self, node: dict[str, Any], name: str, role: str) -> str | None:
        """Prompt text behind conditioning input ``name`` (several encoders joined with ``BREAK``);
        None when the walk cannot reach any text (a note says where it stopped)."""
        texts: list[str] = []
        failed: list[str] = []
        self._cond(self.inputs(node).get(name), role, 0, set(), texts, failed)
        if failed and not texts:
            self.note(f"{role} prompt: could not follow the graph past {failed[0]}")
            return None
        return " BREAK ".join(texts) if texts or not failed else None

    def _cond(self, ref: Any, role: str, depth: int, seen: set[int], texts: list[str], failed: list[str]) -> None:
        src = self.node(ref)
        if src is None:
            if _is_link(ref):
                failed.append(f"a link to missing node {ref[0]}")
            return
        if id(src) in seen or depth > MAX_DEPTH:
            return
        seen.add(id(src))
        ins = self.inputs(src)
        text = self._encoder_text(src, role)
        if text is not None:
            texts.append(text)
            return
        # a node with both positive and negative inputs (ControlNetApplyAdvanced…): the one for this role
        if _is_link(ins.get("positive")) and _is_link(ins.get("negative")):
            self._cond(ins[role], role, depth + 1, seen, texts, failed)
            return
        if "switch" in self.kind(src).lower() or "on_true" in ins:
            chosen = self._switched(src, depth)
            if chosen is not None:
                self._cond(chosen, role, depth + 1, seen, texts, failed)
                return
        links = [(k, v) for k, v in ins.items() if _is_link(v) and k not in _NOT_TEXT]
        conds = [v for k, v in links if k.startswith("conditioning") or k in ("positive", "negative", "base_positive")]
        for v in conds or ([links[0][1]] if len(links) == 1 else []):
            self._cond(v, role, depth + 1, seen, texts, failed)
        if not conds and len(links) != 1:
            failed.append(f"node of type {self.kind(src)!r}")

    def _encoder_text(self, src: dict[str, Any], role: str) -> str | None:
        ins = self.inputs(src)
        for key in ("populated_text", "text"):
            if key in ins:
                got = self.string(ins[key])
                if got is not None:
                    return got
        if "text_g" in ins or "text_l" in ins:
            g, lo = self.string(ins.get("text_g")), self.string(ins.get("text_l"))
            parts = [t for t in (g, lo) if t]
            if g is not None or lo is not None:
                return parts[0] if len(parts) == 2 and parts[0] == parts[1] else ", ".join(parts)
        for key in (f"text_{role}", role, "prompt", "string"):
            v = ins.get(key)
            if isinstance(v, str) or (_is_link(v) and key != role):
                got = self.string(v)
                if got is not None:
                    return got
            elif _is_link(v) and key == role:
                src2 = self.node(v)
                if src2 is not None and not self._carries_conditioning(src2):
                    got = self.string(v)
                    if got is not None:
                        return got
        return None

    def _carries_conditioning(self, node: dict[str, Any]) -> bool:
        ins = self.inputs(node)
        return "clip" in ins or any(k.startswith("conditioning") or k in ("positive", "negative") for k in ins)

    # ---------------------------------------------------------------- graph pieces
    def samplers(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for key, node in self.g.items():
            if not isinstance(node, dict):
                continue
            ins = self.inputs(node)
            generic = {"positive", "negative", "steps"} <= ins.keys() and ("seed" in ins or "noise_seed" in ins)
            if self.kind(node) in SAMPLER_NODES or generic:
                out.append((key, node))
        return sorted(out, key=lambda kn: _order(kn[0]))

    def latent_source(self, node: dict[str, Any], depth: int = 0) -> tuple[str, dict[str, Any]] | None:
        """What a sampler's ``latent_image`` comes from: ("empty", node) or ("sampler", node)."""
        ref, seen = self.inputs(node).get("latent_image"), set()
        sampler_ids = {id(n) for _, n in self.samplers()}
        for _ in range(MAX_DEPTH):
            src = self.node(ref)
            if src is None or id(src) in seen:
                return None
            seen.add(id(src))
            if id(src) in sampler_ids:
                return ("sampler", src)
            ins = self.inputs(src)
            fed = any(_is_link(ins.get(k)) for k in ("samples", "image", "pixels", "latent", "images"))
            sized = ("width" in ins and "height" in ins) or "empty_latent_width" in ins
            if sized and "scale_by" not in ins and not fed:
                return ("empty", src)
            ref = next((ins[k] for k in ("samples", "latent", "latent_image", "pixels", "image", "LATENT") if _is_link(ins.get(k))), None)
            if ref is None:
                links = [v for v in ins.values() if _is_link(v)]
                ref = links[0] if len(links) == 1 else None
        return None

    def size(self, ref: Any, depth: int = 0) -> tuple[int, int] | None:
        """(width, height) a latent/image link carries, through upscale and encode nodes."""
        src = self.node(ref)
        if src is None or depth > MAX_DEPTH:
            return None
        ins = self.inputs(src)
        kind = self.kind(src)
        if "scale_by" in ins:
            inner = self.size(ins.get("samples", ins.get("image")), depth + 1)
            scale = self.value(src, "scale_by")
            if inner is None or scale is None:
                return None
            f = as_float(scale, f"{self.where}.scale_by")
            if not 0 < f <= 64:
                raise FieldError(i18n.gettext("{where}.scale_by: {scale} is not a usable scale").format(where=self.where, scale=f"{f:g}"))
            return round(inner[0] * f), round(inner[1] * f)
        if "empty_latent_width" in ins and "empty_latent_height" in ins:  # Efficient Loader
            ins = {**ins, "width": ins["empty_latent_width"], "height": ins["empty_latent_height"]}
            src = {**src, "inputs": ins}
        if "width" in ins and "height" in ins:
            w, h = self.value(src, "width"), self.value(src, "height")
            if w is None or h is None:
                self.note(f"size: the width/height of {kind!r} come from a link we cannot follow")
                return None
            return as_int(w, f"{self.where}.width"), as_int(h, f"{self.where}.height")
        for key in ("dimensions", "resolution", "aspect_ratio"):
            v = self.value(src, key)
            if isinstance(v, str) and (m := _UNSCALED_SIZE.search(v)):
                return int(m.group(1)), int(m.group(2))
        if kind in ("LoadImage", "LoadImageMask", "Load Image"):
            self.note("size: the first pass starts from a loaded image, whose size is not in the metadata")
            return None
        nxt = next((ins[k] for k in ("samples", "latent", "latent_image", "pixels", "image", "images") if _is_link(ins.get(k))), None)
        if nxt is None:
            links = [v for v in ins.values() if _is_link(v)]
            nxt = links[0] if len(links) == 1 else None
        return None if nxt is None else self.size(nxt, depth + 1)

    def upstream(self, node: dict[str, Any], name: str, want: tuple[str, ...]) -> list[dict[str, Any]]:
        """Nodes of a type in ``want`` reached from input ``name``, through any linked input."""
        found: list[dict[str, Any]] = []
        seen: set[int] = set()
        stack = [(self.inputs(node).get(name), 0)]
        while stack:
            ref, depth = stack.pop()
            src = self.node(ref)
            if src is None or id(src) in seen or depth > MAX_DEPTH:
                continue
            seen.add(id(src))
            if self.kind(src) in want:
                found.append(src)
                continue
            stack.extend((v, depth + 1) for v in self.inputs(src).values() if _is_link(v))
        return found

    def first(self, kinds: tuple[str, ...]) -> dict[str, Any] | None:
        for _, node in sorted(self.g.items(), key=lambda kn: _order(kn[0])):
            if isinstance(node, dict) and self.kind(node) in kinds:
                return node
        return None

    def guider(self, node: dict[str, Any]) -> dict[str, Any]:
        found = self.upstream(node, "guider", ("CFGGuider", "DualCFGGuider", "BasicGuider"))
        return found[0] if found else node


def _widgets(ins: dict[str, Any]) -> list[Any]:
    """Positional widget values kept by :func:`workflow_to_api` for node types without names."""
    w = ins.get("_widgets")
    return w if isinstance(w, list) else []


def _order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isascii() and key.isdigit() else (1 << 30, key)


def recipe_from_graph(graph: Graph, where: str = "prompt", dialect: str = "comfyui", raw: dict[str, Any] | None = None) -> Recipe:
    r = GraphReader(graph, where)
    samplers = r.samplers()
    if not samplers:
        raise FieldError(i18n.gettext("{where}: no sampler node (KSampler, SamplerCustom, …) in the graph").format(where=where))
    sources = {id(n): r.latent_source(n) for _, n in samplers}
    first_pass = [n for _, n in samplers if (src := sources[id(n)]) is not None and src[0] == "empty"]
    ks = first_pass[0] if first_pass else samplers[0][1]
    rec = Recipe(dialect, raw)
    cond = r.guider(ks) if r.kind(ks) == "SamplerCustomAdvanced" else ks
    prompt = r.cond_text(cond, "positive", "positive")
    if prompt is None and "conditioning" in r.inputs(cond):
        prompt = r.cond_text(cond, "conditioning", "positive")
    rec.text("prompt", prompt, f"{where}.positive")
    negative = r.cond_text(cond, "negative", "negative") if "negative" in r.inputs(cond) else None
    rec.text("uc", negative, f"{where}.negative")
    if negative is None and "negative" in r.inputs(cond):
        rec.lost.add("uc")
    _sampling(r, ks, cond, rec, where)
    size = r.size(r.inputs(ks).get("latent_image"))
    if size is not None:
        rec.size(size[0], size[1], where)
    empty = sources[id(ks)]
    if empty is not None and empty[0] == "empty":
        batch = r.value(empty[1], "batch_size")
        if batch is not None:
            rec.s.n_samples = as_int(batch, f"{where}.batch_size")
    _model(r, cond if r.kind(ks) == "SamplerCustomAdvanced" else ks, rec, where)
    _hires(r, ks, samplers, rec, where)
    _resources(r, rec, where)
    for n in r.notes:
        rec.note(n)
    return rec


def settings_from_graph(graph: Graph, where: str = "prompt") -> GenerationSettings:
    return recipe_from_graph(graph, where).s


def _sampling(r: GraphReader, ks: dict[str, Any], cond: dict[str, Any], rec: Recipe, where: str) -> None:
    noise = ks
    if r.kind(ks) == "SamplerCustomAdvanced":
        found = r.upstream(ks, "noise", ("RandomNoise",))
        noise = found[0] if found else ks
    seed = r.value(noise, "seed") if "seed" in r.inputs(noise) else r.value(noise, "noise_seed")
    rec.put_int("seed", seed, f"{where}.seed")
    rec.put_float("scale", r.value(cond, "cfg"), f"{where}.cfg")
    sampler_node, sched_node = ks, ks
    if "sampler" in r.inputs(ks):
        found = r.upstream(ks, "sampler", ("KSamplerSelect",))
        sampler_node = found[0] if found else ks
        found = r.upstream(ks, "sigmas", ("BasicScheduler", "KarrasScheduler", "ExponentialScheduler"))
        sched_node = found[0] if found else ks
    name = r.value(sampler_node, "sampler_name")
    if isinstance(name, str):
        rec.sampler(name, f"{where}.sampler_name")
    rec.put_int("steps", r.value(sched_node, "steps"), f"{where}.steps")
    sched = {"KarrasScheduler": "karras", "ExponentialScheduler": "exponential"}.get(r.kind(sched_node))
    sched = sched or r.value(sched_node, "scheduler")
    if isinstance(sched, str):
        rec.schedule(sched, f"{where}.scheduler")
    denoise = r.value(sched_node, "denoise")
    if denoise is not None:
        d = as_float(denoise, f"{where}.denoise")
        rec.extra["denoise"] = d
        if d < 1.0:
            rec.s.action, rec.s.strength = "img2img", d


def _model(r: GraphReader, ks: dict[str, Any], rec: Recipe, where: str) -> None:
    seen: set[int] = set()
    ref = r.inputs(ks).get("model")
    loras: list[LoraSpec] = []
    s = rec.s
    for _ in range(MAX_DEPTH):
        node = r.node(ref)
        if node is None or id(node) in seen:
            break
        seen.add(id(node))
        kind, ins = r.kind(node), r.inputs(node)
        if "lora_name" in ins:
            name = r.value(node, "lora_name")
            weight = r.value(node, "strength_model")
            w = as_float(weight if weight is not None else 1.0, f"{where}.strength_model")
            if isinstance(name, str) and name.lower() != "none" and abs(w) >= 0.001:  # ~0: switched off
                loras.insert(0, LoraSpec(path=name, weight=w))
        for key in sorted(k for k in ins if k.lower().startswith("lora_") and isinstance(ins[k], dict)):
            entry = ins[key]  # rgthree Power Lora Loader: {"on": true, "lora": "x", "strength": 0.8}
            if entry.get("on", True) and isinstance(entry.get("lora"), str):
                loras.insert(0, LoraSpec(path=entry["lora"], weight=as_float(entry.get("strength", 1.0), f"{where}.{key}")))
        if kind == "ModelSamplingDiscrete":
            sampling, zsnr = r.value(node, "sampling"), r.value(node, "zsnr")
            if sampling == "v_prediction":
                s.prediction = "v-zsnr" if zsnr is True else "v"
            elif sampling == "eps":
                s.prediction = "eps"
        ckpt = next((r.value(node, k) for k in ("ckpt_name", "unet_name", "base_ckpt_name") if k in ins), None)
        if isinstance(ckpt, str):
            rec.model(ckpt, f"{where}.ckpt_name")
            vae = r.value(node, "vae_name")
            if isinstance(vae, str) and "baked" not in vae.lower():
                s.vae = vae
            clip_skip = r.value(node, "clip_skip")
            if isinstance(clip_skip, int) and clip_skip < 0:
                rec.extra["clip_skip"] = -clip_skip
            break
        ref = ins.get("model")
    s.loras = loras


def _hires(r: GraphReader, base: dict[str, Any], samplers: list[tuple[str, dict[str, Any]]], rec: Recipe, where: str) -> None:
    """A later sampler whose latent comes from the base pass: hires steps / denoise / scale / upscaler."""
    for _, node in samplers:
        if node is base:
            continue
        src = r.latent_source(node)
        if src is None or src[1] is not base:
            continue
        steps = r.value(node, "steps")
        if steps is not None:
            rec.extra["hires_steps"] = as_int(steps, f"{where}.hires.steps")
        denoise = r.value(node, "denoise")
        if denoise is not None:
            rec.denoise(denoise, f"{where}.hires.denoise", hires=True)
        _hires_scale(r, node, rec, where)
        return


_MODEL_FACTOR = re.compile(r"(?:^|[^0-9a-z])x?([2-8])x(?:[^0-9a-z]|$)|x([2-8])(?:plus|[^0-9a-z]|$)", re.IGNORECASE)


def _hires_scale(r: GraphReader, node: dict[str, Any], rec: Recipe, where: str) -> None:
    """Scale of the hires pass: a latent ``scale_by``, an explicit target size, or an upscale model's
    factor (from its name, e.g. ``4x-UltraSharp``) times any ``ImageScaleBy`` after it."""
    latent = r.upstream(node, "latent_image", ("LatentUpscaleBy", "NNLatentUpscale"))
    models = r.upstream(node, "latent_image", ("UpscaleModelLoader",))
    model_name = r.value(models[0], "model_name") if models else None
    if isinstance(model_name, str):
        rec.extra["hires_upscaler"] = model_name
    if latent:
        up = latent[0]
        scale = r.value(up, "scale_by") if "scale_by" in r.inputs(up) else r.value(up, "scale")
        if scale is not None:
            rec.s.hires_scale = as_float(scale, f"{where}.scale_by")
        method = r.value(up, "upscale_method")
        if isinstance(method, str):
            rec.extra.setdefault("hires_upscaler", method)
        return
    explicit = r.upstream(node, "latent_image", ("LatentUpscale", "ImageScale"))
    if explicit and "width" in rec.known and rec.s.width:
        w = r.value(explicit[0], "width")
        if isinstance(w, int) and not isinstance(w, bool) and w > 0:
            rec.s.hires_scale = round(w / rec.s.width, 4)
            return
    if isinstance(model_name, str):
        m = _MODEL_FACTOR.search(model_name)
        if m is None:
            rec.note(f"hires scale: the factor of upscale model {model_name!r} is not in the metadata")
            return
        factor = float(m.group(1) or m.group(2))
        for by in r.upstream(node, "latent_image", ("ImageScaleBy",)):
            v = r.value(by, "scale_by")
            if v is not None:
                factor *= as_float(v, f"{where}.scale_by")
        rec.s.hires_scale = factor
        rec.note(f"hires scale {factor:g} taken from the upscale model's name {model_name!r}")


def _resources(r: GraphReader, rec: Recipe, where: str) -> None:
    clip = r.first(("CLIPSetLastLayer",))
    if clip is not None and "clip_skip" not in rec.extra:
        v = r.value(clip, "stop_at_clip_layer")
        if v is not None:
            rec.extra["clip_skip"] = -as_int(v, f"{where}.stop_at_clip_layer")
    vae = r.first(("VAELoader",))
    if vae is not None and rec.s.vae is None:
        name = r.value(vae, "vae_name")
        if isinstance(name, str):
            rec.s.vae = name
    if "model" not in rec.known:
        rec.note("model: could not follow the sampler's model input to a checkpoint loader")


# ------------------------------------------------------------------------- UI workflow
def workflow_to_api(workflow: dict[str, Any]) -> Graph:
    """Convert a UI ``workflow`` (nodes + links + positional widget values) to the API shape.

    Muted nodes (mode 2) are left out; bypassed ones (mode 4) pass their first input on. Widget
    values of node types we have no names for are kept as ``_widgets`` (string and number
    nodes are read from them).
    """
    nodes, links = workflow.get("nodes"), workflow.get("links")
    if not isinstance(nodes, list) or not isinstance(links, list):
        raise FieldError(i18n.gettext("workflow: expected 'nodes' and 'links' lists"))
    sources: dict[Any, list[Any]] = {}
    for link in links:
        if isinstance(link, list) and len(link) >= 5:
            sources[link[0]] = [str(link[1]), link[2] if isinstance(link[2], int) else 0]
        elif isinstance(link, dict) and "id" in link:
            sources[link["id"]] = [str(link.get("origin_id")), link.get("origin_slot", 0)]
    graph: Graph = {}
    for node in nodes:
        if isinstance(node, dict) and "id" in node and isinstance(node.get("type"), str):
            if node.get("mode") == 2:
                continue
            inputs = _node_inputs(node, sources)
            if node.get("mode") == 4:  # bypassed: a pass-through of its linked inputs
                inputs = {k: v for k, v in inputs.items() if _is_link(v)}
                graph[str(node["id"])] = {"class_type": "Reroute", "inputs": inputs}
                continue
            graph[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return graph


def _node_inputs(node: dict[str, Any], sources: dict[Any, list[Any]]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    values = node.get("widgets_values")
    if isinstance(values, list):
        names = list(WIDGETS.get(node["type"], ()))
        if names:
            values = [v for i, v in enumerate(values) if not _is_control(values, i, names)]
            names = [n for n in names if n != "control_after_generate"]
            inputs.update(zip(names, values, strict=False))
        else:
            inputs["_widgets"] = list(values)
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
