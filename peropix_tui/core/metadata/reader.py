"""``read_metadata``: one normalized record from any image we know how to read.

Order (first that yields settings wins, spec metadata-dialects.md §2): InvokeAI chunks, Stability
Matrix ``parameters-json``, TensorArt ``generation_data``, the NovelAI ``Comment`` (``peropix``
when our extension is inside), ``parameters`` (JSON dialects by shape, else A1111 infotext),
ComfyUI ``prompt`` / ``workflow``, NovelAI stealth alpha, EXIF (UserComment, and the IFD0
Make / Model / ImageDescription carriers). Each failed step leaves a reason; when none succeeds
the reasons become one :class:`NoMetadataError`. A PNG whose image data is cut or damaged still
gives the text chunks before the damage (with a note). Pillow's warnings are logged, never
printed. Nothing here decodes pixels unless the stealth step needs them; every size is bounded.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from ...i18n import _
from ..settings import CharacterReference
from . import a1111, comfyui, dialects, exif, novelai, png, stealth
from .fields import FieldError
from .recipe import Recipe, foreign_settings
from .record import TRACKED, MetadataRecord, NoMetadataError

log = logging.getLogger(__name__)
_WARNINGS_LOCK = threading.Lock()

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_PIXELS = 64 * 1024 * 1024  # stealth needs a full decode; refuse anything larger


class _Skip(ValueError):
    """This step found nothing usable; the message is the reason."""


def read_metadata(source: str | Path | bytes) -> MetadataRecord:
    """The recipe stored in an image (file path or bytes); raises :class:`NoMetadataError`."""
    data, name = _load(source)
    prefix = f"{name}: " if name else ""
    try:
        return _read(data)
    except NoMetadataError as e:
        raise NoMetadataError(prefix + e.why) from None
    except (png.PngFormatError, FieldError) as e:
        raise NoMetadataError(prefix + str(e)) from None


def _load(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), ""
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise NoMetadataError(_("{file}: file is {size} bytes (limit {limit})").format(file=path.name, size=size, limit=MAX_FILE_BYTES))
        return path.read_bytes(), path.name
    except OSError as e:
        raise NoMetadataError(_("{file}: cannot read ({error})").format(file=path, error=e.strerror or type(e).__name__)) from None


def _read(data: bytes) -> MetadataRecord:
    if not data:
        raise NoMetadataError(_("empty file"))
    # warnings.catch_warnings swaps process-wide state: one reader at a time, so that threads
    # reading images together cannot restore each other's filters out of order
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            record = _read_quiet(data)
        finally:
            for w in caught:  # Pillow's "Corrupt EXIF data" and friends: logged, never printed
                log.info("while reading metadata: %s", w.message)
    return record


def _read_quiet(data: bytes) -> MetadataRecord:
    damage: str | None = None
    if png.is_png(data):
        text, damage = png.read_text_tolerant(data)
        steps: list[tuple[str, Callable[[], MetadataRecord]]] = [
            ("png", lambda: _from_invokeai(text)),
            ("png", lambda: _from_stability_matrix(text)),
            ("png", lambda: _from_tensorart(text)),
            ("png", lambda: _from_comment(text)),
            ("png", lambda: _from_parameters(text)),
            ("png", lambda: _from_comfy(text)),
            ("png", lambda: _from_easydiffusion_chunks(text)),
            ("xmp", lambda: _from_xmp(text.get("XML:com.adobe.xmp"))),
            ("png", lambda: _from_midjourney(text)),
        ]
        if damage is None:
            steps += [("stealth", lambda: _from_stealth(data)), ("exif", lambda: _from_exif(data))]
    else:
        try:
            _open_image(data)
        except _Skip:
            raise NoMetadataError(_("not a PNG, WebP or JPEG image (unrecognised format)")) from None
        steps = [("stealth", lambda: _from_stealth(data)), ("exif", lambda: _from_exif(data)),
                 ("xmp", lambda: _from_xmp(_image_xmp(data)))]
    reasons: list[str] = []
    for container, step in steps:
        try:
            record = step()
        except (_Skip, FieldError, stealth.StealthError, exif.ExifError, png.PngFormatError) as e:
            if str(e) not in reasons:
                reasons.append(str(e))
            continue
        if record.container is None:
            record.container = container
        if damage is not None:
            record.notes.append(f"image data is damaged ({damage}); metadata read from the chunks before it")
            record.raw["damage"] = damage
        return record
    if damage is not None:
        reasons.append(f"image data is damaged ({damage})")
    raise NoMetadataError("; ".join(reasons))


# ------------------------------------------------------------------------------ steps
def _from_comment(text: dict[str, str], dialect: str = "novelai", raw: dict[str, Any] | None = None) -> MetadataRecord:
    if "Comment" not in text:
        raise _Skip(_("no Comment text chunk"))
    comment = novelai.parse_json_object(text["Comment"], "Comment")
    return _novelai_record(comment, text, dialect, raw)


def _novelai_record(comment: dict[str, Any], text: dict[str, str], dialect: str, raw: dict[str, Any] | None) -> MetadataRecord:
    peropix = comment.get("peropix") if isinstance(comment.get("peropix"), dict) else None
    if peropix is not None and dialect == "novelai":
        dialect = "peropix"
    tool = peropix.get("tool") if peropix is not None and isinstance(peropix.get("tool"), dict) else None
    try:
        reading = novelai.CommentReading(comment, text)
    except FieldError:
        if tool is None:
            raise
        return _tool_only_record(comment, text, dialect, raw, peropix, tool)
    settings = reading.settings()
    missing = {name for name, key in _NAI_FIELDS.items() if comment.get(key) is None}
    if any(n.startswith("model unknown") for n in reading.notes):
        missing.add("model")
    if "width" in missing or "height" in missing:
        missing |= {"width", "height"}
    notes = list(reading.notes)
    if missing - {"seed"}:
        notes.append(f"not in the file: {', '.join(sorted(m for m in missing if m != 'seed'))}")
    if tool is not None:
        notes.append(f"{tool_summary(tool)}; the recipe shown is the one its source image carried")
    return MetadataRecord(
        dialect=dialect,
        settings=settings,
        raw={**(raw or {}), "text": text, "comment": comment},
        peropix=peropix,
        full_prompt=reading.full_prompt,
        full_negative=reading.full_negative,
        notes=notes,
        known=None if not missing else frozenset(set(TRACKED) - missing),
        tool=tool,
        charrefs=_charrefs(reading, notes),
    )


def _charrefs(reading: novelai.CommentReading, notes: list[str]) -> list[CharacterReference]:
    try:
        return reading.charrefs()
    except FieldError as e:
        notes.append(f"character reference settings not read ({e})")
        return []


def tool_summary(tool: dict[str, Any]) -> str:
    """``made by NovelAI's emotion tool from 000_base_0000001.png`` (the file name as recorded)."""
    name = tool.get("name")
    source = tool.get("source")
    file = source.get("file") if isinstance(source, dict) else None
    where = f" from {file}" if isinstance(file, str) and file else ""
    made = f"NovelAI's {name} tool" if isinstance(name, str) and name else "a NovelAI tool"
    return f"made by {made}{where}"


def _tool_only_record(comment: dict[str, Any], text: dict[str, str], dialect: str, raw: dict[str, Any] | None,
                      peropix: dict[str, Any] | None, tool: dict[str, Any]) -> MetadataRecord:
    """A Director Tools result: the tool record, and no generation recipe (every recipe field unknown)."""
    return MetadataRecord(
        dialect=dialect,
        settings=foreign_settings(),
        raw={**(raw or {}), "text": text, "comment": comment},
        peropix=peropix,
        notes=[f"{tool_summary(tool)}: no generation recipe in this file (its source image has it)"],
        known=frozenset(),
        tool=tool,
        has_recipe=False,
    )


# NovelAI Comment keys of the tracked settings fields (the rest are always known or inferred)
_NAI_FIELDS = {"width": "width", "height": "height", "steps": "steps", "scale": "scale", "sampler": "sampler", "seed": "seed"}


def _open_image(data: bytes) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise _Skip(_("image dimensions too large to decode (decompression bomb?)")) from None
    except Exception as e:  # PIL raises many exception types for unknown or broken files
        raise _Skip(_("not an image PIL can open ({error_type})").format(error_type=type(e).__name__)) from None
    return image


def _from_stealth(data: bytes) -> MetadataRecord:
    image = _open_image(data)
    if "A" not in image.getbands() and image.mode not in ("P", "PA"):
        if image.format == "PNG" and image.mode == "RGB" and image.size[0] * image.size[1] <= MAX_PIXELS // 4:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    mode, payload = stealth.read_stealth_rgb(image)
            except stealth.StealthError:
                pass
            except Exception as e:  # decoding errors of every kind
                raise _Skip(_("pixel data unreadable ({error_type}: {error})").format(error_type=type(e).__name__, error=e)) from None
            else:
                return _from_stealth_payload(mode, payload)
        raise _Skip(_("no stealth data (mode {mode} has no alpha channel)").format(mode=image.mode))
    w, h = image.size
    if w * h > MAX_PIXELS:
        raise _Skip(_("image is {width}x{height}, too large to scan for stealth data (limit {limit} pixels)").format(width=w, height=h, limit=MAX_PIXELS))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
            if "A" not in image.getbands():
                image = image.convert("RGBA")
    except Exception as e:  # decoding errors of every kind
        raise _Skip(_("pixel data unreadable ({error_type}: {error})").format(error_type=type(e).__name__, error=e)) from None
    mode, payload = stealth.read_stealth(image)
    return _from_stealth_payload(mode, payload)


def _from_stealth_payload(mode: str, payload: bytes) -> MetadataRecord:
    try:
        value = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise _Skip(_("stealth ({mode}) payload is not UTF-8").format(mode=mode)) from None
    raw = {"stealth": {"mode": mode, "payload": value}}
    if value.lstrip().startswith("{"):
        chunks = novelai.parse_json_object(value, f"stealth ({mode}) payload")
        return _from_text_map(chunks, "novelai-stealth", raw)
    if a1111.looks_like_parameters(value):
        return _a1111_record(value, None, raw)
    raise _Skip(_("stealth ({mode}) payload is neither JSON nor A1111 parameters").format(mode=mode))


def _from_text_map(chunks: dict[str, Any], dialect: str, raw: dict[str, Any], where: str | None = None) -> MetadataRecord:
    """A JSON map of text chunks (stealth, EXIF) or a bare Comment object, or another tool's JSON.

    ``dialect`` names NovelAI-style content (``novelai``, ``novelai-stealth``); other JSON is named
    by its own dialect. ``where`` names the carrier in messages (default: ``dialect``).
    """
    where = where or dialect
    comment = chunks.get("Comment")
    if isinstance(comment, dict):
        text = {k: v for k, v in chunks.items() if isinstance(v, str)}
        return _novelai_record(comment, text, dialect, raw)
    if isinstance(comment, str):
        text = {k: v for k, v in chunks.items() if isinstance(v, str)}
        return _from_comment(text, dialect, raw)
    kind = dialects.classify_json(chunks)
    if kind == "novelai":
        return _novelai_record(chunks, {}, dialect, raw)
    if kind is not None:
        return dialects.read_json(chunks, kind, raw, where).record()
    if dialects.is_graph(chunks):
        return _graph_record(chunks, None, "comfyui", raw, "graph")
    raise _Skip(_("{where}: JSON has no Comment or prompt").format(where=where))


def _graph_record(prompt: Any, workflow: Any, dialect: str, raw: dict[str, Any], where: str) -> MetadataRecord:
    return dialects.read_graphs(prompt, workflow, dialect, raw, where).record()


def _a1111_record(value: str, dialect: str | None, raw: dict[str, Any] | None = None) -> MetadataRecord:
    return a1111.recipe_from_parameters(value, dialect, raw).record()


def _from_parameters(text: dict[str, str]) -> MetadataRecord:
    if "parameters" not in text:
        raise _Skip(_("no A1111 parameters chunk"))
    value = text["parameters"]
    raw: dict[str, Any] = {"text": text}
    if value.lstrip().startswith("{"):
        obj = novelai.parse_json_object(value, "parameters")
        kind = dialects.classify_json(obj)
        if kind == "novelai" or kind is None:
            return _from_text_map(obj, "a1111", raw)
        return dialects.read_json(obj, kind, raw, "parameters").record()
    recipe = a1111.recipe_from_parameters(value, None, raw)
    if "prompt" in text or "workflow" in text:  # a ComfyUI saver: infotext summary, graph kept
        if recipe.dialect == "a1111":
            recipe.dialect = "comfyui-saver"
        try:
            recipe.fill_from(dialects.read_graphs(_json_or_none(text.get("prompt")), _json_or_none(text.get("workflow")), "comfyui", raw, "ComfyUI"))
        except FieldError as e:
            recipe.note(f"ComfyUI graph beside the parameters not read ({e})")
    if text.get("fooocus_scheme") == "a1111":
        recipe.dialect = "fooocus"
    return recipe.record()


def _json_or_none(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return dialects.parse_json(value, "ComfyUI graph")
    except FieldError:
        return None


def _from_comfy(text: dict[str, str]) -> MetadataRecord:
    if "prompt" not in text and "workflow" not in text:
        raise _Skip(_("no ComfyUI prompt/workflow chunk"))
    prompt = novelai.parse_json_object(text["prompt"], "ComfyUI prompt") if "prompt" in text else None
    workflow = novelai.parse_json_object(text["workflow"], "ComfyUI workflow") if "workflow" in text else None
    dialect = "civitai" if _has_airs(workflow) else "comfyui"
    if prompt is not None:
        return comfyui.recipe_from_graph(prompt, "prompt", dialect, {"text": text}).record()
    assert workflow is not None
    return comfyui.recipe_from_graph(comfyui.workflow_to_api(workflow), "workflow", dialect, {"text": text}).record()


def _has_airs(workflow: dict[str, Any] | None) -> bool:
    extra = workflow.get("extra") if isinstance(workflow, dict) else None
    return isinstance(extra, dict) and "airs" in extra


_ED_TITLE = {"Prompt": "prompt", "Negative Prompt": "negative_prompt", "Seed": "seed", "Width": "width",
             "Height": "height", "Steps": "num_inference_steps", "Guidance Scale": "guidance_scale",
             "Sampler": "sampler_name", "Stable Diffusion model": "use_stable_diffusion_model",
             "VAE model": "use_vae_model", "Clip Skip": "clip_skip"}


def _from_easydiffusion_chunks(text: dict[str, str]) -> MetadataRecord:
    """EasyDiffusion PNGs: one text chunk per field, snake_case or Title Case."""
    fields = {_ED_TITLE.get(k, k): v for k, v in text.items()}
    if "use_stable_diffusion_model" not in fields or "prompt" not in fields:
        raise _Skip(_("no EasyDiffusion chunks"))
    return dialects.read_easydiffusion(fields, {"text": text}, "EasyDiffusion").record()


def _from_invokeai(text: dict[str, str]) -> MetadataRecord:
    raw: dict[str, Any] = {"text": text}
    if "invokeai_metadata" in text:
        meta = novelai.parse_json_object(text["invokeai_metadata"], "invokeai_metadata")
        return dialects.read_invokeai(meta, raw, "invokeai_metadata").record()
    if "invokeai_graph" in text:
        graph = novelai.parse_json_object(text["invokeai_graph"], "invokeai_graph")
        return dialects.read_invokeai_graph(graph, raw, "invokeai_graph").record()
    if "sd-metadata" in text:
        meta = novelai.parse_json_object(text["sd-metadata"], "sd-metadata")
        return dialects.read_sd_metadata(meta, raw, "sd-metadata").record()
    if "Dream" in text:
        return dialects.read_dream(text["Dream"], raw, "Dream").record()
    raise _Skip(_("no InvokeAI chunk"))


def _from_stability_matrix(text: dict[str, str]) -> MetadataRecord:
    if "parameters-json" not in text:
        raise _Skip(_("no Stability Matrix parameters-json chunk"))
    obj = novelai.parse_json_object(text["parameters-json"], "parameters-json")
    recipe = dialects.read_stability_matrix(obj, {"text": text}, "parameters-json")
    if "parameters" in text and a1111.looks_like_parameters(text["parameters"]):
        try:
            recipe.fill_from(a1111.recipe_from_parameters(text["parameters"], None, {}))
        except FieldError as e:
            recipe.note(f"parameters beside parameters-json not read ({e})")
    return recipe.record()


def _from_tensorart(text: dict[str, str]) -> MetadataRecord:
    if "generation_data" not in text:
        raise _Skip(_("no TensorArt generation_data chunk"))
    gen = novelai.parse_json_object(text["generation_data"], "generation_data")
    recipe = dialects.read_tensorart(gen, {"text": text}, "generation_data")
    if "prompt" in text:  # prompts from generation_data, everything else from the graph
        try:
            graph = dialects.read_graphs(_json_or_none(text["prompt"]), None, "tensorart", {}, "TensorArt")
        except FieldError as e:
            recipe.note(f"ComfyUI graph beside generation_data not read ({e})")
        else:
            for name in ("steps", "scale", "sampler", "noise_schedule", "seed", "width", "height", "model"):
                if name in graph.known:
                    recipe.known.discard(name)
            recipe.fill_from(graph)
    return recipe.record()


_GRAPH_PREFIX = re.compile(r"^\s*(prompt|workflow)\s*:\s*", re.IGNORECASE)


# a JPEG APP1 segment holds at most 65,533 bytes ("Exif\0\0" header included): a block this close
# to that size was most likely cut there by its writer
_JPEG_EXIF_MAX = 65533
_JPEG_EXIF_FULL = _JPEG_EXIF_MAX - 64


def _from_exif(data: bytes) -> MetadataRecord:
    image = _open_image(data)
    block = image.info.get("exif") if image.format == "JPEG" else None
    full = isinstance(block, bytes) and len(block) >= _JPEG_EXIF_FULL
    try:
        record = _read_exif(image)
    except (_Skip, FieldError, exif.ExifError) as e:
        if not full:
            raise
        assert isinstance(block, bytes)
        raise exif.ExifError(
            _("EXIF is cut off: the block fills the JPEG 64 KB segment ({size} bytes), so its writer truncated it ({error})").format(size=len(block), error=e)) from None
    if full:
        assert isinstance(block, bytes)
        record.notes.append(f"the EXIF block fills the JPEG 64 KB segment ({len(block)} bytes): its text may be cut off")
    return record


def _read_exif(image: Image.Image) -> MetadataRecord:
    fields = exif.read_fields(image)
    raw: dict[str, Any] = {"exif": fields}
    graphs = _exif_graphs(fields)
    value = fields.get("UserComment")
    if value is not None:
        raw["exif_user_comment"] = value
    if graphs:  # ComfyUI animated WebP (Model/Make), save-image-extended (Make/ImageDescription)
        prompt, workflow = graphs.get("prompt"), graphs.get("workflow")
        dialect = "civitai" if _has_airs(workflow) else "comfyui"
        infotext = value is not None and not value.lstrip().startswith("{") and a1111.looks_like_parameters(value)
        graph_read = ""
        try:
            recipe = dialects.read_graphs(prompt, workflow, dialect, raw, "EXIF")
            graph_read = "; read from the workflow"
        except FieldError as e:
            if not infotext:
                raise
            recipe = Recipe(dialect, raw)
            recipe.note(f"ComfyUI graph beside the parameters not read ({e})")
        if prompt is None and image.format == "JPEG":
            recipe.note("no ComfyUI API prompt in the EXIF (savers leave it out of JPEGs whose EXIF would pass "
                        f"64 KB){graph_read}")
        if value is not None and value.lstrip().startswith("{"):
            obj = dialects.parse_json(value, "EXIF UserComment")
            extra = dialects.extract_from_extra_metadata(obj, raw, "EXIF UserComment") if isinstance(obj, dict) else None
            if extra is not None:
                recipe.dialect = "civitai"
                _prefer(extra, recipe)
                return extra.record()
        elif value is not None and infotext:
            summary = a1111.recipe_from_parameters(value, None, raw)
            summary.dialect = "comfyui-saver" if summary.dialect == "a1111" else summary.dialect
            summary.fill_from(recipe)
            return summary.record()
        return recipe.record()
    desc = fields.get("ImageDescription", "")
    if desc.lstrip().startswith("{"):
        obj = dialects.parse_json(desc, "EXIF ImageDescription")
        if dialects.is_stability_matrix(obj):
            return dialects.read_stability_matrix(obj, raw, "EXIF ImageDescription").record()
    if value is None:
        raise exif.ExifError(_("EXIF has no UserComment"))
    if value.lstrip().startswith("{"):
        chunks = novelai.parse_json_object(value, "EXIF UserComment")
        if "Fooocus" in fields.get("Software", "") and dialects.classify_json(chunks) in (None, "json", "novelai"):
            return dialects.read_fooocus(chunks, raw, "EXIF UserComment").record()
        return _from_text_map(chunks, "novelai", raw, "EXIF UserComment")
    if a1111.looks_like_parameters(value):
        recipe = a1111.recipe_from_parameters(value, None, raw)
        if recipe.dialect == "a1111" and fields.get("MakerNote") == "a1111" and "Fooocus" in fields.get("Software", ""):
            recipe.dialect = "fooocus"
        if recipe.dialect == "comfyui-saver" and image.format == "JPEG":
            # Image Saver leaves the graphs out of JPEG EXIF that would pass 64 KB (prompt first, then workflow)
            recipe.note("no ComfyUI graph in the EXIF (savers leave it out of JPEGs whose EXIF would pass 64 KB)")
        return recipe.record()
    raise _Skip(_("EXIF UserComment is neither JSON nor A1111 parameters"))


_MJ_JOB = re.compile(r"\s*Job ID:\s*([0-9a-fA-F-]{8,64})\s*$")


def _from_midjourney(text: dict[str, str]) -> MetadataRecord:
    """Midjourney: ``Description`` = ``prompt --ar 3:2 --v 6 Job ID: <uuid>``; only the prompt is a recipe."""
    desc = text.get("Description", "")
    job = _MJ_JOB.search(desc)
    if job is None:
        raise _Skip(_("no Midjourney Description"))
    body = desc[: job.start()]
    cut = body.find(" --")
    recipe = Recipe("midjourney", {"text": text, "job_id": job.group(1)})
    recipe.put("prompt", (body if cut < 0 else body[:cut]).strip())
    if cut >= 0:
        recipe.raw["parameters"] = body[cut:].strip()
    return recipe.record()


def _image_xmp(data: bytes) -> str | None:
    xmp = _open_image(data).info.get("xmp")
    if isinstance(xmp, bytes) and len(xmp) <= png.MAX_TEXT_BYTES:
        return png.latin1_or_utf8(xmp)
    return xmp if isinstance(xmp, str) else None


def _from_xmp(xmp: str | None) -> MetadataRecord:
    """Draw Things: JSON in the XMP packet's ``exif:UserComment``."""
    comment = dialects.xmp_user_comment(xmp) if xmp else None
    if not comment:
        raise _Skip(_("no XMP UserComment"))
    obj = dialects.parse_json(comment, "XMP UserComment")
    if not dialects.is_drawthings(obj):
        raise _Skip(_("XMP UserComment is not Draw Things JSON"))
    return dialects.read_drawthings(obj, {"xmp": xmp}, "XMP UserComment").record()


def _prefer(first: Recipe, then: Recipe) -> None:
    first.raw.update(then.raw)
    first.fill_from(then)


def _exif_graphs(fields: dict[str, str]) -> dict[str, Any]:
    """``prompt:{…}`` / ``workflow:{…}`` values in Make, Model, ImageDescription, classified by shape."""
    out: dict[str, Any] = {}
    for key in ("Model", "Make", "ImageDescription"):
        text = fields.get(key)
        if not text:
            continue
        m = _GRAPH_PREFIX.match(text)
        if not m:
            continue
        obj = dialects.parse_json(text[m.end() :], f"EXIF {key}")
        if dialects.is_graph(obj):
            out.setdefault("prompt", obj)
        elif dialects.is_workflow(obj):
            out.setdefault("workflow", obj)
    return out
