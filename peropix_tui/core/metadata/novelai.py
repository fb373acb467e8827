"""NovelAI ``Comment`` JSON <-> :class:`GenerationSettings`, plus our ``peropix`` extension.

The Comment uses NovelAI's field names (spec nai-api.md §11.1): ``prompt`` is the final prompt
(quality suffix included), ``uc`` the final negative (UC preset included), V4+ characters in
``v4_prompt`` / ``v4_negative_prompt``, vibe strengths in ``reference_*_multiple``. What NovelAI
has no field for sits in ``Comment["peropix"]`` (see :func:`peropix_object`).
"""

from __future__ import annotations

import json
from typing import Any

from ...i18n import _
from ..settings import (
    CHARREF_MODES,
    CharacterPrompt,
    CharacterReference,
    GenerationSettings,
    LoraSpec,
    VibeReference,
    cell_to_xy,
    parse_cell,
    xy_to_cell,
)
from . import naitext
from .fields import FieldError, Fields, as_float

PEROPIX_VERSION = 1
TITLE = "AI generated image"  # what NovelAI writes (fixtures)
VARIETY_SIGMA = 19.0  # written for Variety+; any non-null value reads back as Variety+
_REQUEST_TYPES = {"generate": "PromptGenerateRequest", "img2img": "Img2ImgRequest", "infill": "NativeInfillingRequest"}


def parse_json_object(text: str, what: str) -> dict[str, Any]:
    """``json.loads`` that turns every failure (incl. absurd nesting) into a :class:`FieldError`."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise FieldError(_("{what} is not valid JSON ({reason} at char {position})").format(what=what, reason=e.msg, position=e.pos)) from None
    except (ValueError, RecursionError) as e:
        raise FieldError(_("{what} is not usable JSON ({error_type})").format(what=what, error_type=type(e).__name__)) from None
    if not isinstance(obj, dict):
        raise FieldError(_("{what} JSON is a {type}, not an object").format(what=what, type=type(obj).__name__))
    return obj


# ----------------------------------------------------------------------------- reading
class CommentReading:
    """Settings recovered from one Comment object (plus the text chunks beside it)."""

    def __init__(self, comment: dict[str, Any], text: dict[str, str]) -> None:
        self.c = Fields(comment, "Comment")
        self.text = text
        self.notes: list[str] = []
        self.pp = self.c.obj("peropix")
        self.full_prompt = self._full_prompt()
        self.full_negative = self.c.get_str("uc") or ""

    def _full_prompt(self) -> str:
        prompt = self.c.get_str("prompt")
        if prompt is None:
            v4 = self.c.obj("v4_prompt")
            cap = v4.obj("caption") if v4 else None
            prompt = cap.get_str("base_caption") if cap else None
        if prompt is None:
            prompt = self.text.get("Description")
        if prompt is None:
            raise FieldError(_("Comment has no prompt (no prompt, v4_prompt or Description)"))
        return prompt

    def provider(self) -> str:
        p = self.pp.get_str("provider") if self.pp else None
        return p if p in ("nai", "local", "comfyui") else "nai"

    def model(self) -> str:
        m = self.pp.get_str("model") if self.pp else None
        if m:
            return m
        rt = self.c.get_str("request_type") or ""
        if rt.startswith("nai-diffusion"):  # PeroPix (web) stores the model id here
            return rt
        return naitext.model_from_source(self.text.get("Source", ""), self.notes)

    def settings(self) -> GenerationSettings:
        """Settings from the Comment; a damaged ``peropix`` object is ignored (with a note), not fatal."""
        try:
            return self._settings()
        except FieldError as e:
            if self.pp is None or not str(e).startswith("Comment.peropix"):
                raise
            self.pp, self.notes = None, [f"ignored our unreadable extension ({e})"]
            return self._settings()

    def _settings(self) -> GenerationSettings:
        s = GenerationSettings(provider=self.provider(), model=self.model())
        s.characters = self._characters()
        self._prompts(s)
        self._parameters(s)
        self._action(s)
        s.vibes = self._vibes()
        self._local(s)
        self._references_notes()
        return s

    def _prompts(self, s: GenerationSettings) -> None:
        if s.provider == "nai":
            chars = [c.prompt for c in s.characters if c.enabled]
            user = naitext.user_prompt(self.full_prompt, s.model, self.notes, chars)
            s.prompt, s.quality, s.furry, s.transparent = user.prompt, user.quality, user.furry, user.transparent
            s.uc_preset, s.uc = naitext.user_negative(self.full_negative, s.model, self.notes, self.full_prompt)
            return
        s.prompt, s.uc = self.full_prompt, self.full_negative
        pp = self.pp
        s.quality = bool(pp.get_bool("quality")) if pp else False
        preset = pp.get_str("uc_preset") if pp else None
        s.uc_preset = preset if preset else "none"

    def _parameters(self, s: GenerationSettings) -> None:
        c = self.c
        s.width = c.get_int("width") or s.width
        s.height = c.get_int("height") or s.height
        s.steps = c.get_int("steps") or s.steps
        s.scale = _or(c.get_float("scale"), s.scale)
        s.cfg_rescale = _or(c.get_float("cfg_rescale"), 0.0)
        s.sampler = c.get_str("sampler") or s.sampler
        modern = any(tag in s.model for tag in ("diffusion-4", "diffusion-5"))
        s.noise_schedule = c.get_str("noise_schedule") or ("karras" if modern or s.provider == "local" else "native")
        s.seed = c.get_int("seed")
        s.n_samples = c.get_int("n_samples") or 1
        s.smea = bool(c.get_bool("sm"))
        s.smea_dyn = bool(c.get_bool("sm_dyn"))
        variety = self.pp.get_bool("variety") if self.pp else None
        if variety is None and self.pp:
            variety = self.pp.get_bool("variety_plus")  # PeroPix (web) name
        s.variety = variety if variety is not None else c.has("skip_cfg_above_sigma")

    def _action(self, s: GenerationSettings) -> None:
        action = self.pp.get_str("action") if self.pp else None
        rt = self.c.get_str("request_type") or ""
        if action not in ("generate", "img2img", "infill"):
            action = "infill" if "Infill" in rt else "img2img" if "Img2Img" in rt else "generate"
        s.action = action
        if action != "generate":
            s.strength = _or(self.c.get_float("strength"), s.strength)
            s.noise = _or(self.c.get_float("noise"), s.noise)
            self.notes.append("base image / mask not recoverable")

    def _characters(self) -> list[CharacterPrompt]:
        if self.pp and self.pp.has("characters"):
            return [
                CharacterPrompt(
                    prompt=ch.get_str("prompt") or "",
                    uc=ch.get_str("uc") or "",
                    position=_cell(ch.get_str("position"), ch.where),
                    enabled=_or(ch.get_bool("enabled"), True),
                )
                for ch in self.pp.objs("characters")
            ]
        pos = _captions(self.c.obj("v4_prompt"))
        neg = _captions(self.c.obj("v4_negative_prompt"))
        v4 = self.c.obj("v4_prompt")
        use_coords = bool(v4.get_bool("use_coords")) if v4 else False
        out = []
        for i, (text, xy) in enumerate(pos):
            cell = xy_to_cell(*xy) if use_coords and xy else None
            uc = neg[i][0] if i < len(neg) else ""
            out.append(CharacterPrompt(prompt=text, uc=uc, position=cell))
        return out

    def _vibes(self) -> list[VibeReference]:
        info = self.c.floats("reference_information_extracted_multiple")
        strength = self.c.floats("reference_strength_multiple")
        encodings = [e for e in self.c.strs("reference_image_multiple")]
        ours = self.pp.objs("vibes") if self.pp else []
        count = max(len(info), len(strength), len(ours))
        vibes = []
        for i in range(count):
            mine = ours[i] if i < len(ours) else None
            vibes.append(
                VibeReference(
                    information_extracted=_pick(info, i, mine, "information_extracted", 1.0),
                    strength=_pick(strength, i, mine, "strength", 0.6),
                    encoding=encodings[i] if i < len(encodings) else None,
                    image_sha256=mine.get_str("image_sha256") if mine else None,
                )
            )
        return vibes

    def _local(self, s: GenerationSettings) -> None:
        pp = self.pp
        if pp is None:
            return
        s.checkpoint = pp.get_str("checkpoint")
        s.vae = pp.get_str("vae")
        s.prediction = pp.get_str("prediction")
        s.hires_scale = pp.get_float("hires_scale")
        s.hires_denoise = _or(pp.get_float("hires_denoise"), s.hires_denoise)
        s.prompt_dialect = pp.get_str("prompt_dialect")
        s.comfyui_server = pp.get_str("comfyui_server")
        s.clip_skip = pp.get_int("clip_skip")
        s.workflow = pp.get_str("workflow")
        bind = pp.obj("workflow_bind")
        s.workflow_bind = {k: str(v) for k, v in bind.data.items() if isinstance(v, str)} if bind else {}
        s.loras = [
            LoraSpec(path=lo.get_str("path") or lo.get_str("name") or "", weight=_or(lo.get_float("weight"), 1.0))
            for lo in pp.objs("loras")
        ]

    def charrefs(self) -> list[CharacterReference]:
        """The Precise References recorded (mode, strength, fidelity; the images are never in the file).

        Our ``peropix.charrefs`` first; else NovelAI's Comment lists (``director_reference_strengths`` /
        ``_secondary_strengths``, or the request's ``_values`` names) and any ``descriptions``.
        """
        ours = self.pp.objs("charrefs") if self.pp else []
        if ours:
            refs = []
            for ref in ours:
                mode = ref.get_str("mode") or ""
                if mode not in CHARREF_MODES:
                    raise FieldError(_("{where}.mode: {mode} is not one of {values}").format(where=ref.where, mode=repr(mode), values=', '.join(CHARREF_MODES)))
                refs.append(_charref(mode, ref.get_float("strength"), ref.get_float("fidelity")))
            return refs
        strengths = self.c.floats("director_reference_strengths") or self.c.floats("director_reference_strength_values")
        secondary = self.c.floats("director_reference_secondary_strengths") or self.c.floats(
            "director_reference_secondary_strength_values")
        modes = [_description_mode(d) for d in self.c.objs("director_reference_descriptions")]
        count = max(len(strengths), len(secondary), len(modes))
        return [
            _charref(
                modes[i] if i < len(modes) else "",
                strengths[i] if i < len(strengths) else None,
                round(1.0 - secondary[i], 2) if i < len(secondary) else None,
            )
            for i in range(count)
        ]

    def _references_notes(self) -> None:
        if any(self.c.has(k) for k in ("director_reference_strengths", "director_reference_strength_values")):
            self.notes.append("character reference image is not recoverable")
        if self.c.has("reference_strength_multiple") and not self.c.has("reference_image_multiple"):
            self.notes.append("vibe source images are not recoverable")


def _charref(mode: str, strength: float | None, fidelity: float | None) -> CharacterReference:
    ref = CharacterReference(path="", mode=mode, style_aware=mode != "character")
    if strength is not None:
        ref.strength = strength
    if fidelity is not None:
        ref.fidelity = fidelity
    return ref


def _description_mode(d: Fields) -> str:
    cap = d.obj("caption")
    mode = cap.get_str("base_caption") if cap else None
    return mode if mode in CHARREF_MODES else ""


def _or(v: Any, default: Any) -> Any:
    return default if v is None else v


def _pick(values: list[float], i: int, mine: Fields | None, key: str, default: float) -> float:
    if i < len(values):
        return values[i]
    v = mine.get_float(key) if mine else None
    return default if v is None else v


def _cell(value: str | None, where: str) -> str | None:
    try:
        return parse_cell(value)
    except ValueError as e:
        raise FieldError(_("{where}.position: {error}").format(where=where, error=e)) from None


def _captions(v4: Fields | None) -> list[tuple[str, tuple[float, float] | None]]:
    cap = v4.obj("caption") if v4 else None
    if cap is None:
        return []
    out: list[tuple[str, tuple[float, float] | None]] = []
    for cc in cap.objs("char_captions"):
        centers = cc.objs("centers")
        xy = None
        if centers:
            x, y = centers[0].get_float("x"), centers[0].get_float("y")
            xy = (x or 0.0, y or 0.0)
        out.append((cc.get_str("char_caption") or "", xy))
    return out


# ----------------------------------------------------------------------------- writing
def peropix_object(s: GenerationSettings, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Our extension: what NovelAI's Comment has no field for. ``extra`` (from the caller) wins."""
    obj: dict[str, Any] = {
        "version": PEROPIX_VERSION,
        "provider": s.provider,
        "model": s.model,
        "action": s.action,
        "quality": s.quality,
        "uc_preset": s.uc_preset,
        "variety": s.variety,
        "characters": [
            {"prompt": c.prompt, "uc": c.uc, "position": c.position, "enabled": c.enabled} for c in s.characters
        ],
    }
    if s.vibes:
        obj["vibes"] = [
            {"image_sha256": v.image_sha256, "information_extracted": v.information_extracted, "strength": v.strength}
            for v in s.enabled_vibes()
        ]
    if s.provider in ("local", "comfyui"):
        obj.update(
            checkpoint=s.checkpoint,
            vae=s.vae,
            prediction=s.prediction,
            loras=[{"path": lo.path, "weight": lo.weight} for lo in s.loras],
            hires_scale=s.hires_scale,
            hires_denoise=s.hires_denoise,
            prompt_dialect=s.prompt_dialect,
        )
    refs = s.charrefs()
    if refs:
        obj["charrefs"] = [{"mode": cr.caption(), "strength": cr.strength, "fidelity": cr.fidelity} for cr in refs]
    if s.provider == "comfyui":  # the server pin (None: any server) and the graph's own settings
        obj.update(comfyui_server=s.comfyui_server, clip_skip=s.clip_skip, workflow=s.workflow,
                   workflow_bind=dict(s.workflow_bind))
    if extra:
        obj.update(extra)
    return obj


def _caption_block(base: str, chars: list[tuple[str, str | None]]) -> dict[str, Any]:
    return {
        "base_caption": base,
        "char_captions": [
            {"char_caption": text, "centers": [dict(zip(("x", "y"), cell_to_xy(cell), strict=True))]} for text, cell in chars
        ],
    }


def build_comment(s: GenerationSettings, *, seed: int, peropix: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Comment JSON object for ``s`` as generated with ``seed``."""
    prompt, negative = naitext.final_prompt(s), naitext.final_negative(s)
    chars = s.enabled_characters()
    use_coords = any(c.position for c in chars)
    vibes = s.enabled_vibes()
    c: dict[str, Any] = {
        "prompt": prompt,
        "steps": s.steps,
        "height": s.height,
        "width": s.width,
        "scale": s.scale,
        "uncond_scale": 1.0,
        "cfg_rescale": s.cfg_rescale,
        "seed": seed,
        "n_samples": s.n_samples,
        "noise_schedule": s.noise_schedule,
        "legacy_v3_extend": False,
        "sampler": s.sampler,
        "sm": s.smea,
        "sm_dyn": s.smea_dyn,
        "skip_cfg_above_sigma": VARIETY_SIGMA if s.variety else None,
        "dynamic_thresholding": False,
        "uc": negative,
        "request_type": _REQUEST_TYPES.get(s.action, "PromptGenerateRequest"),
        "v4_prompt": {
            "caption": _caption_block(prompt, [(ch.prompt, ch.position) for ch in chars]),
            "use_coords": use_coords,
            "use_order": True,
        },
        "v4_negative_prompt": {
            "caption": _caption_block(negative, [(ch.uc, ch.position) for ch in chars]),
            "legacy_uc": False,
        },
    }
    if s.action != "generate":
        c.update(strength=s.strength, noise=s.noise, extra_noise_seed=seed)
    if vibes:
        c["reference_information_extracted_multiple"] = [v.information_extracted for v in vibes]
        c["reference_strength_multiple"] = [v.strength for v in vibes]
        if all(v.encoding for v in vibes):
            c["reference_image_multiple"] = [v.encoding for v in vibes]
    refs = s.charrefs()
    if refs:  # NovelAI's Comment names (not the request's ``_values``); one entry per reference
        c["director_reference_strengths"] = [as_float(cr.strength, f"charref[{i}].strength") for i, cr in enumerate(refs)]
        c["director_reference_secondary_strengths"] = [
            round(1.0 - as_float(cr.fidelity, f"charref[{i}].fidelity"), 2) for i, cr in enumerate(refs)]
    c["peropix"] = peropix_object(s, peropix)
    return c
