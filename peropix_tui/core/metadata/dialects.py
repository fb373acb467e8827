"""Readers for the JSON and command-line dialects of other tools (spec metadata-dialects.md §4).

Each ``read_*`` takes the parsed carrier and returns a :class:`Recipe` holding only what the
file says. :func:`classify_json` decides which reader a JSON object found in ``parameters`` or
an EXIF UserComment belongs to (§2 step 4); NovelAI's Comment shape is recognised by fields
only NovelAI writes, so a diffusers-style ``{"prompt": …}`` is never taken for it.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from typing import Any

from ...i18n import _
from . import comfyui
from .fields import FieldError, as_float, as_int
from .recipe import Recipe

_NAI_KEYS = frozenset({
    "uc", "v4_prompt", "v4_negative_prompt", "request_type", "signed_hash", "n_samples", "noise_schedule", "sm",
    "sm_dyn", "uncond_scale", "cfg_rescale", "legacy_v3_extend", "skip_cfg_above_sigma", "peropix",
})
_FOOOCUS_KEYS = frozenset({"base_model", "sharpness", "adm_guidance", "refiner_model", "performance"})
_ED_KEYS = frozenset({"use_stable_diffusion_model", "sampler_name", "use_vae_model"})
_PAIR = re.compile(r"^\s*\(?\s*(\d{1,6})\s*[,x×]\s*(\d{1,6})\s*\)?\s*$")


def parse_json(text: str, what: str) -> Any:
    """``json.loads`` with every failure (incl. absurd nesting) as a :class:`FieldError`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FieldError(_("{what} is not valid JSON ({reason} at char {position})").format(what=what, reason=e.msg, position=e.pos)) from None
    except (ValueError, RecursionError) as e:
        raise FieldError(_("{what} is not usable JSON ({error_type})").format(what=what, error_type=type(e).__name__)) from None


def is_graph(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, dict) and "class_type" in v for v in obj.values())


def is_workflow(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("nodes"), list) and isinstance(obj.get("links"), list)


def looks_like_novelai(obj: dict[str, Any]) -> bool:
    sampler = obj.get("sampler")
    return bool(_NAI_KEYS & obj.keys()) or (isinstance(sampler, str) and sampler.startswith("k_"))


def classify_json(obj: dict[str, Any]) -> str | None:
    """The dialect of a JSON object from ``parameters`` / UserComment, or None (not ours to read)."""
    if isinstance(obj.get("sui_image_params"), dict):
        return "swarmui"
    if ("extra" in obj or "extraMetadata" in obj) and any(isinstance(v, dict) and "class_type" in v for v in obj.values()):
        return "civitai"
    if _graph_member(obj.get("prompt")) is not None or _workflow_member(obj.get("workflow")) is not None:
        return "comfyui"
    version = obj.get("version")
    if (_FOOOCUS_KEYS & obj.keys()) or (isinstance(version, str) and version.startswith("Fooocus")) or obj.get("fooocus_scheme") == "fooocus":
        return "fooocus"
    if _ED_KEYS & obj.keys():
        return "easydiffusion"
    if "Comment" in obj or looks_like_novelai(obj):
        return "novelai"
    if any(k in obj for k in ("prompt", "negative_prompt", "num_inference_steps", "guidance_scale")):
        return "json"
    return None


def _graph_member(v: Any) -> dict[str, Any] | None:
    if isinstance(v, str) and v.lstrip().startswith("{"):
        try:
            v = json.loads(v)
        except (ValueError, RecursionError):
            return None
    return v if is_graph(v) else None


def _workflow_member(v: Any) -> dict[str, Any] | None:
    if isinstance(v, str) and v.lstrip().startswith("{"):
        try:
            v = json.loads(v)
        except (ValueError, RecursionError):
            return None
    return v if is_workflow(v) else None


def read_json(obj: dict[str, Any], dialect: str, raw: dict[str, Any], where: str) -> Recipe:
    readers = {
        "swarmui": read_swarm, "civitai": read_civitai, "comfyui": read_comfy_wrapper, "fooocus": read_fooocus,
        "easydiffusion": read_easydiffusion, "json": read_generic,
    }
    return readers[dialect](obj, raw, where)


# ------------------------------------------------------------------------------ ComfyUI
def read_graphs(prompt: Any, workflow: Any, dialect: str, raw: dict[str, Any], where: str) -> Recipe:
    """The recipe from an API graph (preferred) or a UI workflow."""
    graph = _graph_member(prompt)
    if graph is not None:
        return comfyui.recipe_from_graph(graph, f"{where} prompt", dialect, raw)
    wf = _workflow_member(workflow)
    if wf is not None:
        return comfyui.recipe_from_graph(comfyui.workflow_to_api(wf), f"{where} workflow", dialect, raw)
    raise FieldError(_("{where}: no ComfyUI graph").format(where=where))


def read_comfy_wrapper(obj: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    return read_graphs(obj.get("prompt"), obj.get("workflow"), "comfyui", {**raw, "json": obj}, where)


def read_civitai(obj: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    graph = {k: v for k, v in obj.items() if k not in ("extra", "extraMetadata") and isinstance(v, dict) and "class_type" in v}
    r = comfyui.recipe_from_graph(graph, f"{where} graph", "civitai", {**raw, "json": obj})
    extra = obj.get("extra")
    airs = extra.get("airs") if isinstance(extra, dict) else None
    if isinstance(airs, list):
        r.raw["civitai_resources"] = [a for a in airs if isinstance(a, str)]
    meta = obj.get("extraMetadata")
    if isinstance(meta, str):
        meta = parse_json(meta, f"{where} extraMetadata")
    if isinstance(meta, dict):
        r.fill_from(_civitai_meta(meta, raw, where))
    return r


def _civitai_meta(meta: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    r = Recipe("civitai", raw)
    w = f"{where} extraMetadata"
    r.text("prompt", meta.get("prompt"), f"{w}.prompt")
    r.text("uc", meta.get("negativePrompt"), f"{w}.negativePrompt")
    r.put_int("steps", meta.get("steps"), f"{w}.steps")
    r.put_float("scale", meta.get("cfgScale"), f"{w}.cfgScale")
    r.put_int("seed", meta.get("seed"), f"{w}.seed")
    r.sampler(meta.get("sampler"), f"{w}.sampler")
    r.size(meta.get("width"), meta.get("height"), w)
    r.put_extra("clip_skip", meta.get("clipSkip"))
    return r


def extract_from_extra_metadata(obj: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe | None:
    """Civitai WebP: the UserComment JSON holds only ``extraMetadata`` next to the graph in Model."""
    meta = obj.get("extraMetadata")
    if isinstance(meta, str):
        meta = parse_json(meta, f"{where} extraMetadata")
    return _civitai_meta(meta, raw, where) if isinstance(meta, dict) else None


# ------------------------------------------------------------------------------ Fooocus
def read_fooocus(obj: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    r = Recipe("fooocus", {**raw, "json": obj})
    r.text("prompt", obj.get("prompt"), f"{where}.prompt")
    r.text("uc", obj.get("negative_prompt"), f"{where}.negative_prompt")
    full, full_neg = obj.get("full_prompt"), obj.get("full_negative_prompt")
    if isinstance(full, list) and all(isinstance(x, str) for x in full):
        r.full_prompt = ", ".join(full)
    if isinstance(full_neg, list) and all(isinstance(x, str) for x in full_neg):
        r.full_negative = ", ".join(full_neg)
    r.put_int("steps", obj.get("steps"), f"{where}.steps")
    r.put_float("scale", obj.get("guidance_scale"), f"{where}.guidance_scale")
    r.put_int("seed", obj.get("seed"), f"{where}.seed")
    r.sampler(obj.get("sampler"), f"{where}.sampler")
    r.schedule(obj.get("scheduler"), f"{where}.scheduler")
    res = obj.get("resolution")
    if isinstance(res, str):
        m = _PAIR.match(res)
        if not m:
            raise FieldError(_("{where}.resolution: {value} is not (width, height)").format(where=where, value=repr(res)))
        r.size(m.group(1), m.group(2), where)
    r.model(obj.get("base_model"), f"{where}.base_model")
    r.put_extra("model_hash", obj.get("base_model_hash"))
    vae = obj.get("vae")
    if isinstance(vae, str) and vae.lower() != "default (model)":
        r.s.vae = vae
    r.put_extra("clip_skip", as_int(obj["clip_skip"], f"{where}.clip_skip") if obj.get("clip_skip") is not None else None)
    r.put_extra("app", obj.get("version"))
    loras = obj.get("loras")
    if isinstance(loras, list):
        for i, lo in enumerate(loras):
            if isinstance(lo, list) and lo and isinstance(lo[0], str):
                r.lora(lo[0], lo[1] if len(lo) > 1 else None, f"{where}.loras[{i}]")
    return r


# ------------------------------------------------------------------------------ SwarmUI
def read_swarm(obj: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    p = obj["sui_image_params"]
    w = f"{where}.sui_image_params"
    r = Recipe("swarmui", {**raw, "json": obj})
    r.text("prompt", p.get("prompt"), f"{w}.prompt")
    r.text("uc", p.get("negativeprompt"), f"{w}.negativeprompt")
    r.put_int("steps", p.get("steps"), f"{w}.steps")
    r.put_float("scale", p.get("cfgscale"), f"{w}.cfgscale")
    r.put_int("seed", p.get("seed"), f"{w}.seed")
    r.sampler(p.get("sampler") or p.get("comfyuisampler") or p.get("autowebuisampler"), f"{w}.sampler")
    r.schedule(p.get("scheduler"), f"{w}.scheduler")
    r.size(p.get("width"), p.get("height"), w)
    r.model(p.get("model"), f"{w}.model")
    if isinstance(p.get("vae"), str):
        r.s.vae = p["vae"]
    stop = p.get("clipstopatlayer")
    if stop is not None:
        r.put_extra("clip_skip", -as_int(stop, f"{w}.clipstopatlayer"))
    if p.get("initimagecreativity") is not None:
        r.denoise(p["initimagecreativity"], f"{w}.initimagecreativity", hires=False)
    if p.get("refinerupscale") is not None:
        r.s.hires_scale = as_float(p["refinerupscale"], f"{w}.refinerupscale")
        if p.get("refinercontrolpercentage") is not None:
            r.denoise(p["refinercontrolpercentage"], f"{w}.refinercontrolpercentage", hires=True)
        r.put_extra("hires_steps", p.get("refinersteps"))
        r.put_extra("hires_upscaler", p.get("refinerupscalemethod"))
    names, weights = p.get("loras"), p.get("loraweights")
    if isinstance(names, list):
        ws = weights if isinstance(weights, list) else []
        for i, name in enumerate(names):
            if isinstance(name, str):
                r.lora(name, ws[i] if i < len(ws) else None, f"{w}.loraweights[{i}]")
    r.put_extra("app", p.get("swarm_version"))
    models = obj.get("sui_models")
    if isinstance(models, list):
        for m in models:
            if isinstance(m, dict) and m.get("param") == "model" and isinstance(m.get("hash"), str):
                r.put_extra("model_hash", m["hash"])
    return r


# ------------------------------------------------------------------------------ generic
def read_generic(obj: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    """diffusers / Hugging Face Spaces style JSON: only the keys it has."""
    r = Recipe("json", {**raw, "json": obj})
    r.text("prompt", obj.get("prompt"), f"{where}.prompt")
    r.text("uc", obj.get("negative_prompt"), f"{where}.negative_prompt")
    steps = "num_inference_steps" if "num_inference_steps" in obj else "steps"
    r.put_int("steps", obj.get(steps), f"{where}.{steps}")
    cfg = "guidance_scale" if "guidance_scale" in obj else "cfg_scale"
    r.put_float("scale", obj.get(cfg), f"{where}.{cfg}")
    r.put_int("seed", obj.get("seed"), f"{where}.seed")
    r.size(obj.get("width"), obj.get("height"), where)
    r.sampler(obj.get("sampler") or obj.get("scheduler"), f"{where}.scheduler")
    r.model(obj.get("model") or obj.get("model_id"), f"{where}.model")
    return r


def read_easydiffusion(obj: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    r = Recipe("easydiffusion", {**raw, "json": obj})
    r.text("prompt", obj.get("prompt"), f"{where}.prompt")
    r.text("uc", obj.get("negative_prompt"), f"{where}.negative_prompt")
    r.put_int("steps", obj.get("num_inference_steps"), f"{where}.num_inference_steps")
    r.put_float("scale", obj.get("guidance_scale"), f"{where}.guidance_scale")
    r.put_int("seed", obj.get("seed"), f"{where}.seed")
    r.size(obj.get("width"), obj.get("height"), where)
    r.sampler(obj.get("sampler_name"), f"{where}.sampler_name")
    r.model(obj.get("use_stable_diffusion_model"), f"{where}.use_stable_diffusion_model")
    if isinstance(obj.get("use_vae_model"), str) and obj["use_vae_model"]:
        r.s.vae = obj["use_vae_model"]
    r.put_extra("clip_skip", obj.get("clip_skip") if isinstance(obj.get("clip_skip"), int) else None)
    return r


# ------------------------------------------------------------------------------ InvokeAI
def read_invokeai(meta: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    r = Recipe("invokeai", raw)
    r.text("prompt", meta.get("positive_prompt"), f"{where}.positive_prompt")
    r.text("uc", meta.get("negative_prompt"), f"{where}.negative_prompt")
    r.put_int("steps", meta.get("steps"), f"{where}.steps")
    r.put_float("scale", meta.get("cfg_scale"), f"{where}.cfg_scale")
    r.put_int("seed", meta.get("seed"), f"{where}.seed")
    r.sampler(meta.get("scheduler"), f"{where}.scheduler")
    r.size(meta.get("width"), meta.get("height"), where)
    model = meta.get("model")
    if isinstance(model, dict):
        r.model(model.get("name") or model.get("model_name"), f"{where}.model.name")
        r.put_extra("model_hash", model.get("hash"))
    elif isinstance(model, str):
        r.model(model, f"{where}.model")
    r.model(meta.get("model_name"), f"{where}.model_name")
    vae = meta.get("vae")
    if isinstance(vae, dict):
        vae = vae.get("name") or vae.get("model_name")
    if isinstance(vae, str):
        r.s.vae = vae
    if meta.get("clip_skip") is not None:
        r.put_extra("clip_skip", as_int(meta["clip_skip"], f"{where}.clip_skip"))
    loras = meta.get("loras")
    if isinstance(loras, list):
        for i, lo in enumerate(loras):
            if not isinstance(lo, dict):
                continue
            m = lo.get("model") if isinstance(lo.get("model"), dict) else lo.get("lora")
            name = (m.get("name") or m.get("model_name") or m.get("key")) if isinstance(m, dict) else None
            if isinstance(name, str):
                r.lora(name, lo.get("weight"), f"{where}.loras[{i}].weight")
    hrf_size = meta.get("hrf_width") not in (None, "") and meta.get("hrf_height") not in (None, "")
    if meta.get("hrf_enabled") is True or (hrf_size and meta.get("hrf_enabled") is not False):
        r.put_extra("hires_upscaler", meta.get("hrf_method"))
        if meta.get("hrf_strength") is not None:
            r.denoise(meta["hrf_strength"], f"{where}.hrf_strength", hires=True)
        _invokeai_hires_size(meta, model, r, where)
    elif meta.get("strength") is not None:
        r.denoise(meta["strength"], f"{where}.strength", hires=False)
    r.put_extra("app", meta.get("app_version"))
    return r


# InvokeAI's "optimal dimension" per base model (its first pass for the high-resolution fix)
_INVOKE_OPTIMAL = {"sd-1": 512, "sd-2": 768, "sdxl": 1024, "sdxl-refiner": 1024, "sd-3": 1024, "flux": 1024}


def invokeai_first_pass(optimal: int, width: int, height: int) -> tuple[int, int]:
    """The first-pass size InvokeAI (3.4+) picks for its high-resolution fix at output ``width`` x
    ``height``: the model's area at the output's aspect, each side at least half the optimal
    dimension, at most the output's, rounded down to a multiple of 8."""
    aspect = width / height
    least, area = optimal // 2, optimal * optimal
    if aspect > 1.0:
        h = max(least, math.sqrt(area / aspect))
        w = h * aspect
    else:
        w = max(least, math.sqrt(area * aspect))
        h = w / aspect
    return _down8(min(width, w)), _down8(min(height, h))


def _down8(x: float) -> int:
    return int(math.floor(x)) // 8 * 8


def _invokeai_hires_size(meta: dict[str, Any], model: Any, r: Recipe, where: str) -> None:
    """Metadata width/height are InvokeAI's output size; ours are the first pass, scaled by ``hires_scale``.

    3.2/3.3 recorded the first pass as ``hrf_width`` / ``hrf_height``; later versions compute it from
    the base model (:func:`invokeai_first_pass`), so that needs ``model.base``.
    """
    if "width" not in r.known:
        r.note("InvokeAI high-resolution fix: the output size is not in the metadata, so its scale is unknown")
        return
    out_w, out_h = r.s.width, r.s.height
    if meta.get("hrf_width") not in (None, "") and meta.get("hrf_height") not in (None, ""):
        first = (as_int(meta["hrf_width"], f"{where}.hrf_width"), as_int(meta["hrf_height"], f"{where}.hrf_height"))
        how = "first pass from hrf_width/hrf_height"
    else:
        base = model.get("base") if isinstance(model, dict) else None
        optimal = _INVOKE_OPTIMAL.get(base) if isinstance(base, str) else None
        if optimal is None:
            r.note("InvokeAI high-resolution fix: the model's base is not in the metadata, so its scale is unknown")
            return
        first = invokeai_first_pass(optimal, out_w, out_h)
        how = f"first pass computed as InvokeAI does for base {base}"
    if first[0] <= 0 or first[1] <= 0:
        raise FieldError(_("{where}.hrf_width: the first pass {width}x{height} is not a size").format(where=where, width=first[0], height=first[1]))
    r.size(first[0], first[1], where)
    r.s.hires_scale = round(out_w / first[0], 4)
    r.note(f"InvokeAI high-resolution fix: {first[0]}x{first[1]} upscaled to {out_w}x{out_h} ({how})")


def read_invokeai_graph(graph: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    nodes = graph.get("nodes")
    items = list(nodes.values()) if isinstance(nodes, dict) else nodes if isinstance(nodes, list) else []
    meta = next((n for n in items if isinstance(n, dict) and n.get("type") in ("core_metadata", "metadata")), None)
    if meta is not None:
        return read_invokeai(meta, raw, where)
    r = Recipe("invokeai", raw)
    for n in items:
        if not isinstance(n, dict):
            continue
        if n.get("type") == "noise":
            r.put_int("seed", n.get("seed"), f"{where}.noise.seed")
            r.size(n.get("width"), n.get("height"), f"{where}.noise")
        elif n.get("type") == "denoise_latents":
            r.put_int("steps", n.get("steps"), f"{where}.denoise_latents.steps")
            r.put_float("scale", n.get("cfg_scale"), f"{where}.denoise_latents.cfg_scale")
            r.sampler(n.get("scheduler"), f"{where}.denoise_latents.scheduler")
    r.note("InvokeAI graph without a metadata node: prompts not read")
    return r


def read_sd_metadata(obj: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    """InvokeAI 2.x ``sd-metadata``: the negative is the ``[…]`` part of the prompt."""
    r = Recipe("invokeai", raw)
    image = obj.get("image")
    if not isinstance(image, dict):
        raise FieldError(_("{where}: no 'image' object").format(where=where))
    prompt = image.get("prompt")
    if isinstance(prompt, list):
        prompt = " ".join(p.get("prompt", "") for p in prompt if isinstance(p, dict) and isinstance(p.get("prompt"), str))
    if isinstance(prompt, str):
        pos, neg = split_bracket_negative(prompt)
        r.put("prompt", pos)
        r.put("uc", neg)
    r.put_int("steps", image.get("steps"), f"{where}.image.steps")
    r.put_float("scale", image.get("cfg_scale"), f"{where}.image.cfg_scale")
    r.put_int("seed", image.get("seed"), f"{where}.image.seed")
    r.sampler(image.get("sampler"), f"{where}.image.sampler")
    r.size(image.get("width"), image.get("height"), f"{where}.image")
    r.model(obj.get("model_weights"), f"{where}.model_weights")
    r.put_extra("model_hash", obj.get("model_hash"))
    r.put_extra("app", obj.get("app_version"))
    if image.get("type") == "img2img" and image.get("strength") is not None:
        r.denoise(image["strength"], f"{where}.image.strength", hires=False)
    return r


_NEG = re.compile(r"\[([^\[\]]{0,100000})\]")


def split_bracket_negative(prompt: str) -> tuple[str, str]:
    negs = [m.group(1).strip() for m in _NEG.finditer(prompt)]
    pos = " ".join(_NEG.sub(" ", prompt).split())
    return pos, ", ".join(n for n in negs if n)


_DREAM_FLAGS: dict[str, str] = {
    "-s": "steps", "--steps": "steps", "-S": "seed", "--seed": "seed", "-W": "width", "--width": "width",
    "-H": "height", "--height": "height", "-C": "cfg", "--cfg_scale": "cfg", "-A": "sampler",
    "--sampler": "sampler", "-f": "strength", "--strength": "strength",
}


def read_dream(text: str, raw: dict[str, Any], where: str) -> Recipe:
    """Legacy InvokeAI ``Dream``: ``"prompt [neg]" -s 50 -S 42 -W 512 -H 512 -C 7.5 -A k_lms``."""
    try:
        words = shlex.split(text[:100_000])
    except ValueError as e:
        raise FieldError(_("{where}: not a dream command line ({error})").format(where=where, error=e)) from None
    r = Recipe("invokeai", raw)
    prompt_words: list[str] = []
    values: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if word in _DREAM_FLAGS and i + 1 < len(words):
            values[_DREAM_FLAGS[word]] = words[i + 1]
            i += 2
            continue
        if not word.startswith("-"):
            prompt_words.append(word)
        i += 1
    pos, neg = split_bracket_negative(" ".join(prompt_words))
    r.put("prompt", pos)
    r.put("uc", neg)
    r.put_int("steps", values.get("steps"), f"{where} -s")
    r.put_int("seed", values.get("seed"), f"{where} -S")
    r.size(values.get("width"), values.get("height"), where)
    r.put_float("scale", values.get("cfg"), f"{where} -C")
    r.sampler(values.get("sampler"), f"{where} -A")
    if "strength" in values:
        r.denoise(values["strength"], f"{where} -f", hires=False)
    return r


# ------------------------------------------------------------------------------ TensorArt, Stability Matrix
def read_tensorart(gen: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    r = Recipe("tensorart", raw)
    r.text("prompt", gen.get("prompt"), f"{where}.prompt")
    r.text("uc", gen.get("negativePrompt"), f"{where}.negativePrompt")
    r.put_int("steps", gen.get("steps"), f"{where}.steps")
    r.put_float("scale", gen.get("cfgScale"), f"{where}.cfgScale")
    r.put_int("seed", gen.get("seed"), f"{where}.seed")
    r.sampler(gen.get("sampler") or gen.get("samplerName"), f"{where}.sampler")
    r.size(gen.get("width"), gen.get("height"), where)
    if gen.get("clipSkip") is not None:
        r.put_extra("clip_skip", as_int(gen["clipSkip"], f"{where}.clipSkip"))
    base = gen.get("baseModel")
    if isinstance(base, dict):
        r.model(base.get("modelFileName"), f"{where}.baseModel.modelFileName")
        r.put_extra("model_hash", base.get("hash"))
    return r


def read_stability_matrix(obj: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    r = Recipe("stability-matrix", {**raw, "json": obj})
    r.text("prompt", obj.get("PositivePrompt"), f"{where}.PositivePrompt")
    r.text("uc", obj.get("NegativePrompt"), f"{where}.NegativePrompt")
    r.put_int("steps", obj.get("Steps"), f"{where}.Steps")
    r.put_float("scale", obj.get("CfgScale"), f"{where}.CfgScale")
    r.put_int("seed", obj.get("Seed"), f"{where}.Seed")
    r.sampler(obj.get("Sampler"), f"{where}.Sampler")
    r.schedule(obj.get("Scheduler"), f"{where}.Scheduler")
    r.size(obj.get("Width"), obj.get("Height"), where)
    r.model(obj.get("ModelName"), f"{where}.ModelName")
    r.put_extra("model_hash", obj.get("ModelHash"))
    return r


def is_stability_matrix(obj: Any) -> bool:
    return isinstance(obj, dict) and ("PositivePrompt" in obj or "ModelName" in obj) and "CfgScale" in obj


# ------------------------------------------------------------------------------ Draw Things (XMP)
_XMP_OPEN = re.compile(r"<exif:UserComment\b[^>]{0,1000}>")
_LI_OPEN = re.compile(r"<rdf:li\b[^>]{0,1000}>")


def xmp_user_comment(xmp: str) -> str | None:
    """The text of ``exif:UserComment`` in an XMP packet (plain searches, no XML parser: no entity
    expansion, linear time)."""
    import html

    m = _XMP_OPEN.search(xmp)
    if m is None:
        return None
    end = xmp.find("</exif:UserComment>", m.end())
    if end < 0:
        return None
    inner = xmp[m.end() : end]
    li = _LI_OPEN.search(inner)
    if li is not None:
        close = inner.find("</rdf:li>", li.end())
        inner = inner[li.end() : close if close >= 0 else len(inner)]
    return html.unescape(inner.strip())


def read_drawthings(obj: dict[str, Any], raw: dict[str, Any], where: str) -> Recipe:
    """Draw Things' JSON: ``c`` prompt, ``uc`` negative, ``size`` "WxH", ``v2`` details."""
    r = Recipe("drawthings", {**raw, "json": obj})
    r.text("prompt", obj.get("c"), f"{where}.c")
    r.text("uc", obj.get("uc"), f"{where}.uc")
    r.put_int("steps", obj.get("steps"), f"{where}.steps")
    r.put_float("scale", obj.get("scale"), f"{where}.scale")
    r.put_int("seed", obj.get("seed"), f"{where}.seed")
    r.sampler(obj.get("sampler"), f"{where}.sampler")
    size = obj.get("size")
    if isinstance(size, str):
        m = _PAIR.match(size)
        if not m:
            raise FieldError(_("{where}.size: {size} is not WIDTHxHEIGHT").format(where=where, size=repr(size)))
        r.size(m.group(1), m.group(2), where)
    r.model(obj.get("model"), f"{where}.model")
    if obj.get("strength") is not None:
        r.denoise(obj["strength"], f"{where}.strength", hires=False)
    v2 = obj.get("v2")
    loras = v2.get("loras") if isinstance(v2, dict) else None
    if isinstance(loras, list):
        for i, lo in enumerate(loras):
            if isinstance(lo, dict) and isinstance(lo.get("file"), str):
                r.lora(lo["file"], lo.get("weight"), f"{where}.v2.loras[{i}].weight")
    return r


def is_drawthings(obj: Any) -> bool:
    return isinstance(obj, dict) and "c" in obj and "prompt" not in obj
