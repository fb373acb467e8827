"""NovelAI image models and the rules that are checked before anything is sent.

One :class:`NaiModel` row per model (spec §5, §14). :func:`validate` refuses every
combination the server would reject (or silently mishandle) with a
:class:`~peropix_tui.core.settings.SettingsError` naming the field.

Choices documented here:

* ``params_version``: 3 for V3, V4 and V4.5 — both V4+ website captures in the fixtures send 3
  and the server accepts 3 or 4 for V4.5 (spec §3.1); V5 requires 4 (its web captures send 4).
* Samplers: Euler, Euler Ancestral, DPM++ 2S Ancestral, DPM++ 2M, DPM++ 2M SDE, DPM++ SDE and
  DDIM (NAIS2's V4+ list); on V3 DDIM is ``ddim_v3``. Inpainting models reject DDIM.
* V5 maximum characters: 32 (the web bundle's ``maxCharacters`` for V5, spec §14).
* Character reference: V4.5 full and curated only. Vibes: V3 (raw images), V4, V4.5; not V5.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...i18n import _
from .. import vocab
from ..settings import GenerationSettings, SettingsError, not_one_of

MAX_AREA = 3_145_728  # 2048 x 1536
MAX_STEPS = 50
MAX_SCALE = 10.0
MAX_VIBES = 16
MAX_N_SAMPLES = 8
# V3/V4/V4.5 send 3: the observed website bodies (fixtures) do, and the server takes 3 or 4.
# The 2026 website sends 4 for V4.5 but together with V5-era fields we have no capture of.
V4_PARAMS_VERSION = 3
V5_PARAMS_VERSION = 4

_V4_SAMPLERS = (
    "k_euler",
    "k_euler_ancestral",
    "k_dpmpp_2s_ancestral",
    "k_dpmpp_2m",
    "k_dpmpp_2m_sde",
    "k_dpmpp_sde",
    "ddim",
)
_V3_SAMPLERS = _V4_SAMPLERS[:-1] + ("ddim_v3",)
_V3_SCHEDULES = ("native", "karras", "exponential", "polyexponential")
_V4_SCHEDULES = ("karras", "exponential", "polyexponential")

# ComfyUI / A1111-style names accepted for convenience (the CLI help promises this).
SAMPLER_ALIASES = vocab.NAI_SAMPLER_ALIASES
SCHEDULE_ALIASES = vocab.NAI_SCHEDULE_ALIASES


@dataclass(frozen=True)
class NaiModel:
    """What NovelAI allows for one image model."""

    id: str
    name: str
    family: str  # "v3" | "v4" | "v4.5" | "v5"
    variant: str  # "anime" | "furry" | "full" | "curated"
    params_version: int
    inpaint_id: str
    samplers: tuple[str, ...]
    schedules: tuple[str, ...]
    max_characters: int
    vibes: bool
    charref: bool
    default_scale: float
    # Variety+ base sigma (scaled by resolution in the request builder); None = not supported
    variety_sigma: float | None
    # key of this family in a .naiv4vibe file's ``encodings`` map (None: no encoded vibes)
    vibe_key: str | None

    @property
    def smea(self) -> bool:
        return self.family == "v3"

    @property
    def v4_prompt(self) -> bool:
        """V4 and later use ``v4_prompt`` / character captions."""
        return self.family != "v3"

    @property
    def encoded_vibes(self) -> bool:
        """V4+ vibes are encodings from /ai/encode-vibe; V3 takes raw images."""
        return self.vibes and self.family != "v3"


def _m(
    id: str, name: str, family: str, variant: str, inpaint_id: str, *, max_chars: int = 6,
    vibes: bool = True, charref: bool = False, scale: float = 5.0, vibe_key: str | None = None,
) -> NaiModel:
    v3, v5 = family == "v3", family == "v5"
    return NaiModel(
        id=id,
        name=name,
        family=family,
        variant=variant,
        params_version=V5_PARAMS_VERSION if v5 else V4_PARAMS_VERSION,
        inpaint_id=inpaint_id,
        samplers=_V3_SAMPLERS if v3 else _V4_SAMPLERS,
        schedules=_V3_SCHEDULES if v3 else ("karras",) if v5 else _V4_SCHEDULES,
        max_characters=0 if v3 else max_chars,
        vibes=vibes,
        charref=charref,
        default_scale=scale,
        variety_sigma=None if v5 else 58.0 if family == "v4.5" else 19.0,
        vibe_key=vibe_key,
    )


MODELS: dict[str, NaiModel] = {
    m.id: m
    for m in (
        _m("nai-diffusion-5-full", "V5 Full", "v5", "full", "nai-diffusion-5-full-inpainting",
           max_chars=32, vibes=False, scale=7.0),
        # V5 curated has no inpainting model; the website swaps in 4.5 curated inpainting.
        _m("nai-diffusion-5-curated", "V5 Curated", "v5", "curated", "nai-diffusion-4-5-curated-inpainting",
           max_chars=32, vibes=False, scale=7.0),
        _m("nai-diffusion-4-5-full", "V4.5 Full", "v4.5", "full", "nai-diffusion-4-5-full-inpainting",
           charref=True, vibe_key="v4-5full"),
        _m("nai-diffusion-4-5-curated", "V4.5 Curated", "v4.5", "curated", "nai-diffusion-4-5-curated-inpainting",
           charref=True, vibe_key="v4-5curated"),
        _m("nai-diffusion-4-full", "V4 Full", "v4", "full", "nai-diffusion-4-full-inpainting", vibe_key="v4full"),
        # not "-curated-preview-inpainting"
        _m("nai-diffusion-4-curated-preview", "V4 Curated", "v4", "curated", "nai-diffusion-4-curated-inpainting",
           vibe_key="v4curated"),
        _m("nai-diffusion-3", "V3 Anime", "v3", "anime", "nai-diffusion-3-inpainting"),
        _m("nai-diffusion-furry-3", "V3 Furry", "v3", "furry", "nai-diffusion-furry-3-inpainting"),
    )
}

# PNG "Source" chunk -> model id (hashes from the official web inspector, spec §5/§11).
SOURCE_TO_MODEL: dict[str, str] = {
    "NovelAI Diffusion V5 657484A5": "nai-diffusion-5-full",
    "NovelAI Diffusion V5 0ADF9AB7": "nai-diffusion-5-full",
    "NovelAI Diffusion V4.5 4BDE2A90": "nai-diffusion-4-5-full",
    "NovelAI Diffusion V4.5 1229B44F": "nai-diffusion-4-5-full",
    "NovelAI Diffusion V4.5 B9F340FD": "nai-diffusion-4-5-full",
    "NovelAI Diffusion V4.5 F3D95188": "nai-diffusion-4-5-full",
    "NovelAI Diffusion V4.5 C02D4F98": "nai-diffusion-4-5-curated",
    "NovelAI Diffusion V4.5 5BB76870": "nai-diffusion-4-5-curated",
    "NovelAI Diffusion V4.5 5AB81C7C": "nai-diffusion-4-5-curated",
    "NovelAI Diffusion V4.5 B5A2A797": "nai-diffusion-4-5-curated",
    "NovelAI Diffusion V4 5AB81C7C": "nai-diffusion-4-5-curated",
    "NovelAI Diffusion V4 B5A2A797": "nai-diffusion-4-5-curated",
    "NovelAI Diffusion V4 44FD40FE": "nai-diffusion-4-full",
    "NovelAI Diffusion V4 37442FCA": "nai-diffusion-4-full",
    "NovelAI Diffusion V4 4F49EC75": "nai-diffusion-4-full",
    "NovelAI Diffusion V4 CA4B7203": "nai-diffusion-4-full",
    "NovelAI Diffusion V4 79F47848": "nai-diffusion-4-full",
    "NovelAI Diffusion V4 F6302A9D": "nai-diffusion-4-full",
    "NovelAI Diffusion V4 C5E578FD": "nai-diffusion-4-curated-preview",
    "NovelAI Diffusion V4 7ABFFA2A": "nai-diffusion-4-curated-preview",
    "NovelAI Diffusion V4 C1CCBA86": "nai-diffusion-4-curated-preview",
    "NovelAI Diffusion V4 770A9E12": "nai-diffusion-4-curated-preview",
    "Stable Diffusion XL B0BDF6C1": "nai-diffusion-3",
    "Stable Diffusion XL C1E1DE52": "nai-diffusion-3",
    "Stable Diffusion XL 7BCCAA2C": "nai-diffusion-3",
    "Stable Diffusion XL 1120E6A9": "nai-diffusion-3",
    "Stable Diffusion XL 8BA2AF87": "nai-diffusion-3",
    "Stable Diffusion XL 4BE8C60C": "nai-diffusion-furry-3",
    "Stable Diffusion XL C8704949": "nai-diffusion-furry-3",
    "Stable Diffusion XL 37C2B166": "nai-diffusion-furry-3",
    "Stable Diffusion XL F306816B": "nai-diffusion-furry-3",
    "Stable Diffusion XL 9CC2F394": "nai-diffusion-furry-3",
    # pre-V3 models (no longer served; their images still carry these, LlmKira _enum.py PROMOTION)
    "Stable Diffusion 81274D13": "nai-diffusion",
    "Stable Diffusion 3B3287AF": "nai-diffusion",
    "Stable Diffusion 4CC42576": "nai-diffusion-furry",
    "Stable Diffusion 1D09C008": "nai-diffusion-furry",
    "Stable Diffusion 1D09D794": "nai-diffusion-furry",
    "Stable Diffusion F64BA557": "nai-diffusion-furry",
    "Stable Diffusion 49BFAF6A": "nai-diffusion-2",
    "Stable Diffusion F1022D28": "nai-diffusion-2",
    "Stable Diffusion 1D44365E": "safe-diffusion",
    "Stable Diffusion F4D50568": "safe-diffusion",
}

# n_samples allowed by image area (Aedial get_max_n_samples), first match wins.
_N_SAMPLES_BY_AREA = ((512 * 704, 8), (640 * 640, 6), (512 * 2560, 4), (1024 * 1536, 2), (MAX_AREA, 1))


def get_model(model_id: str) -> NaiModel:
    """The model row for a base or inpainting id; SettingsError("model") when unknown."""
    if model_id in MODELS:
        return MODELS[model_id]
    for m in MODELS.values():
        if m.inpaint_id == model_id and not (m.family == "v5" and m.variant == "curated"):
            return m
    known = ", ".join(MODELS)
    raise SettingsError("model", _("{model} is not a NovelAI image model ({known})")
                        .format(model=repr(model_id), known=known))


def request_model_id(model_id: str, action: str) -> str:
    """The model id a request for ``action`` sends: the inpainting model for infill (V5 curated
    borrows V4.5 curated's), the base model otherwise; SettingsError("model") when unknown."""
    m = get_model(model_id)
    return m.inpaint_id if action == "infill" else m.id


def model_from_source(source: str) -> str | None:
    """Model id for a PNG ``Source`` chunk, e.g. ``"NovelAI Diffusion V4.5 B9F340FD"``.

    Unknown V5 hashes map to V5 curated: the official inspector lists only the full hashes
    and treats every other V5 hash as curated. Other unknown sources give None.
    """
    s = source.strip()
    if s in SOURCE_TO_MODEL:
        return SOURCE_TO_MODEL[s]
    if s.startswith("NovelAI Diffusion V5"):
        return "nai-diffusion-5-curated"
    return None


def max_n_samples(width: int, height: int) -> int:
    area = width * height
    for limit, n in _N_SAMPLES_BY_AREA:
        if area <= limit:
            return n
    return 0


def nai_sampler(name: str, model: NaiModel | None = None) -> str:
    """NovelAI sampler name for a NovelAI or ComfyUI-style name (``ddim`` is ``ddim_v3`` on V3)."""
    key = name.strip()
    sampler = SAMPLER_ALIASES.get(key.lower(), key)
    if sampler == "ddim" and model is not None and model.family == "v3":
        return "ddim_v3"
    return sampler


def nai_schedule(name: str) -> str:
    key = name.strip().lower()
    return SCHEDULE_ALIASES.get(key, key)


# ----------------------------------------------------------------------------- validation
def validate(settings: GenerationSettings) -> None:
    """Refuse, before sending, every setting NovelAI would reject. Raises SettingsError(field)."""
    settings.check_basic()
    model = get_model(settings.model)
    _check_size(settings)
    _check_numbers(settings)
    _check_sampling(settings, model)
    _check_characters(settings, model)
    _check_references(settings, model)
    from .presets import uc_presets_for  # local import: presets imports this module

    if settings.uc_preset not in uc_presets_for(model.id):
        allowed = ", ".join(uc_presets_for(model.id))
        raise SettingsError("uc_preset", _not_on(settings.uc_preset, model, allowed))


def _not_on(value: str, model: NaiModel, allowed: str) -> str:
    return _("{value} is not available on {model} ({allowed})").format(value=repr(value), model=model.name,
                                                                        allowed=allowed)


def _between(value: object, low: str, high: str) -> str:
    return _("{value} must be between {low} and {high}").format(value=value, low=low, high=high)


def check_references(settings: GenerationSettings) -> None:
    """Only the vibe and Precise Reference rules of :func:`validate` (for editors that add references)."""
    _check_references(settings, get_model(settings.model))


def _check_size(s: GenerationSettings) -> None:
    for name, v in (("width", s.width), ("height", s.height)):
        if v <= 0 or v % 64:
            raise SettingsError(name, _("{value} must be a positive multiple of 64").format(value=v))
    if s.width * s.height > MAX_AREA:
        raise SettingsError(
            "width/height", _("{width}x{height} = {pixels} px is over the {limit} px limit (2048x1536)")
            .format(width=s.width, height=s.height, pixels=s.width * s.height, limit=MAX_AREA)
        )
    limit = max_n_samples(s.width, s.height)
    if not 1 <= s.n_samples <= min(limit, MAX_N_SAMPLES):
        raise SettingsError("n_samples", _("{n} is not allowed at {width}x{height} (1..{limit})")
                            .format(n=s.n_samples, width=s.width, height=s.height, limit=limit))


def _check_numbers(s: GenerationSettings) -> None:
    if not 1 <= s.steps <= MAX_STEPS:
        raise SettingsError("steps", _between(s.steps, "1", str(MAX_STEPS)))
    if not 0.0 <= s.scale <= MAX_SCALE:
        raise SettingsError("scale", _between(s.scale, "0", f"{MAX_SCALE:g}"))
    if not 0.0 <= s.cfg_rescale <= 1.0:
        raise SettingsError("cfg_rescale", _between(s.cfg_rescale, "0", "1"))
    if not 0.0 <= s.noise <= 0.99:
        raise SettingsError("noise", _between(s.noise, "0", "0.99"))
    if s.action in ("img2img", "infill") and s.strength <= 0.0:
        raise SettingsError("strength", _("{value} must be above 0 for {action}").format(value=s.strength,
                                                                                         action=s.action))


def _check_sampling(s: GenerationSettings, m: NaiModel) -> None:
    sampler, schedule = nai_sampler(s.sampler, m), nai_schedule(s.noise_schedule)
    if sampler not in m.samplers:
        raise SettingsError("sampler", _not_on(s.sampler, m, ", ".join(m.samplers)))
    if s.action == "infill" and sampler in ("ddim", "ddim_v3"):
        raise SettingsError("sampler", _("inpainting models do not accept ddim"))
    if schedule not in m.schedules:
        raise SettingsError("noise_schedule", _not_on(s.noise_schedule, m, ", ".join(m.schedules)))
    if (s.smea or s.smea_dyn) and not m.smea:
        raise SettingsError("smea", _("SMEA is a V3 feature; {model} does not support it").format(model=m.name))
    if s.smea_dyn and not s.smea:
        raise SettingsError("smea_dyn", _("SMEA DYN needs SMEA turned on"))
    if s.variety and m.variety_sigma is None:
        raise SettingsError("variety", _("Variety+ is not supported on {model}").format(model=m.name))


def _check_characters(s: GenerationSettings, m: NaiModel) -> None:
    n = len(s.enabled_characters())
    if n and m.max_characters == 0:
        raise SettingsError("characters", _("{model} does not support character prompts").format(model=m.name))
    if n > m.max_characters:
        raise SettingsError("characters", _("{n} character prompts; {model} allows at most {limit}")
                            .format(n=n, model=m.name, limit=m.max_characters))


def _check_references(s: GenerationSettings, m: NaiModel) -> None:
    vibes = s.enabled_vibes()
    if vibes and not m.vibes:
        raise SettingsError("vibes", _("{model} does not support vibe transfer").format(model=m.name))
    if len(vibes) > MAX_VIBES:
        raise SettingsError("vibes", _("{n} vibes; at most {limit} are allowed").format(n=len(vibes), limit=MAX_VIBES))
    for i, v in enumerate(vibes):
        for name, value in (("information_extracted", v.information_extracted), ("strength", v.strength)):
            if not 0.0 <= value <= 1.0:
                raise SettingsError(f"vibes[{i}].{name}", _between(value, "0", "1"))
        if not v.path and not v.encoding and not v.image_sha256:  # a sha alone is looked up in the cache
            raise SettingsError(f"vibes[{i}]", _("needs an image path or an encoding"))
    refs = s.charrefs()
    if not refs:
        return
    if not m.charref:
        if m.family == "v5":
            why = _("Precise Reference (character reference) is a V4.5 feature; {model} does not support it "
                    "(the server answers 400 'Error encoding v4 director references')")
        else:
            why = _("Precise Reference (character reference) is a V4.5 feature; {model} does not support it")
        raise SettingsError("charref", why.format(model=m.name))
    if s.action == "infill":
        raise SettingsError("charref", _("Precise Reference (character reference) cannot be used with infill; "
                                         "remove the references to inpaint"))
    if vibes:
        raise SettingsError("charref", _("Precise Reference and vibe transfer cannot be used together"))
    from ..settings import CHARREF_MODES

    for i, cr in enumerate(refs):
        where = "charref" if len(refs) == 1 else f"charref[{i}]"
        if cr.mode and cr.mode not in CHARREF_MODES:
            raise SettingsError(f"{where}.mode", not_one_of(cr.mode, CHARREF_MODES))
        for name, value in (("fidelity", cr.fidelity), ("strength", cr.strength)):
            if not 0.0 <= value <= 1.0:
                raise SettingsError(f"{where}.{name}", _between(value, "0", "1"))
