"""Director Tools (``/ai/augment-image``) and the V5 upscaler (``/ai/upscale``): exact request bodies.

Facts from specs/nai-tools.md §1–§2 (it corrects nai-api.md where they disagree):

* ``req_type`` is one of :data:`REQ_TYPES`. The body is ``{req_type, prompt?, defry?, width,
  height, image, use_new_shared_trial: true}``; ``image`` is base64 PNG without a ``data:``
  prefix and ``width``/``height`` are the size of the image actually sent. It is sent as JSON
  (works live); the website itself sends the same fields as multipart.
* The website resizes before sending, with ``Math.floor`` and no 64-grid snap: down to at most
  3,145,728 − 2000 px, and up to about 1 MP when the image is under 1,011,712 px
  (:func:`web_size`).
* ``emotion``: ``prompt`` is ``"<mood>;;<extra>"`` with one of the 24 :data:`MOODS`; ``defry``
  0..5 is the emotion level, 0 = normal (strongest) … 5 = weakest. ``colorize`` takes an
  optional free-text ``prompt`` and the same ``defry``. Other tools take neither.
* The answer is a ZIP: ``image_0.png`` for six tools, ``image_0..2`` for ``bg-removal``
  (masked, generated, blend; all three are kept, named by :data:`BG_REMOVAL_PARTS`).
* Upscale: ``{image, model, declared_blur_sigma}`` with a V5 model only; output is always 2x;
  the server refuses inputs over 3,145,728 px (the spec's sources disagree on whether the web UI
  stops at 1 MP; the server's limit is what is enforced here).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from ...i18n import _, ngettext
from ..settings import SettingsError, not_one_of
from . import images

AUGMENT = "/ai/augment-image"
UPSCALE = "/ai/upscale"

REQ_TYPES: tuple[str, ...] = (
    "bg-removal", "lineart", "sketch", "colorize", "emotion", "declutter", "declutter-keep-bubbles",
)
MOODS: tuple[str, ...] = (
    "neutral", "happy", "sad", "angry", "scared", "surprised", "tired", "excited", "nervous", "thinking",
    "confused", "shy", "disgusted", "smug", "bored", "laughing", "irritated", "aroused", "embarrassed",
    "worried", "love", "determined", "hurt", "playful",
)
EMOTION_LEVELS: tuple[str, ...] = ("normal", "slightly_weak", "weak", "even_weaker", "very_weak", "weakest")
"""``defry`` 0..5 as the website names the emotion strength (0 strongest)."""
DEFRY_MAX = 5
DEFRY_TOOLS = frozenset({"colorize", "emotion"})
PROMPT_TOOLS = DEFRY_TOOLS
BG_REMOVAL_PARTS: tuple[str, ...] = ("masked", "generated", "blend")

MAX_SEND_PIXELS = 3_145_728 - 2000
UPSIZE_BELOW = 1_011_712
UPSIZE_TARGET = 1_048_576

UPSCALE_MODELS: tuple[str, ...] = ("nai-diffusion-5-curated", "nai-diffusion-5-full")
DEFAULT_UPSCALE_MODEL = UPSCALE_MODELS[0]
UPSCALE_MAX_PIXELS = 3_145_728
UPSCALE_FACTOR = 2
BLUR_SIGMAS: tuple[float, ...] = (0.0, 0.30, 0.35, 0.40, 0.45, 0.50)


class ToolError(SettingsError):
    """A tool request that can never be valid; the message names the option or file."""


# ----------------------------------------------------------------------------- sizing
def web_size(width: int, height: int) -> tuple[int, int]:
    """The size the website sends an image of ``width`` x ``height`` at (floor, no grid snap)."""
    if width <= 0 or height <= 0:
        raise ToolError("image", _("{width}x{height} is not a usable size").format(width=width, height=height))
    area = width * height
    if area > MAX_SEND_PIXELS:
        scale = (MAX_SEND_PIXELS / area) ** 0.5
    elif area < UPSIZE_BELOW:
        scale = (UPSIZE_TARGET / area) ** 0.5
    else:
        return width, height
    return max(1, int(width * scale)), max(1, int(height * scale))


# ------------------------------------------------------------------------ options
def check_tool(tool: str) -> str:
    if tool not in REQ_TYPES:
        raise ToolError("tool", not_one_of(tool, REQ_TYPES))
    return tool


def check_mood(mood: str) -> str:
    m = mood.strip().lower()
    if m not in MOODS:
        raise ToolError("--mood", _("{value} is not one of the 24 moods ({moods})")
                        .format(value=repr(mood), moods=", ".join(MOODS)))
    return m


def expand_moods(moods: list[str] | tuple[str, ...]) -> list[str]:
    """Moods in the order given, ``all`` meaning all 24; duplicates dropped."""
    out: list[str] = []
    for m in moods:
        for one in MOODS if m.strip().lower() == "all" else (check_mood(m),):
            if one not in out:
                out.append(one)
    return out


def check_defry(defry: int) -> int:
    if isinstance(defry, bool) or not isinstance(defry, int) or not 0 <= defry <= DEFRY_MAX:
        raise ToolError("--defry", _("{value} must be a whole number 0..{limit} (0 = strongest)")
                        .format(value=repr(defry), limit=DEFRY_MAX))
    return defry


def strength_label(defry: int) -> str:
    """How the website shows ``defry``: 0 ``normal`` (strongest) … 5 ``weakest``."""
    return EMOTION_LEVELS[check_defry(defry)]


def emotion_prompt(mood: str, extra: str = "") -> str:
    """``"<mood>;;<extra>"`` (extra may be empty: ``"neutral;;"``)."""
    return f"{check_mood(mood)};;{extra.strip()}"


@dataclass(frozen=True)
class ToolOptions:
    """What the user chose for one augment request."""

    tool: str
    mood: str | None = None
    defry: int = 0
    prompt: str = ""

    def check(self) -> ToolOptions:
        check_tool(self.tool)
        if self.tool == "emotion":
            if self.mood is None:
                raise ToolError("--mood", _("emotion needs a mood (one of the 24, or 'all')"))
            check_mood(self.mood)
        elif self.mood is not None:
            raise ToolError("--mood", _("only the emotion tool takes a mood, not {tool}").format(tool=self.tool))
        if self.tool in DEFRY_TOOLS:
            check_defry(self.defry)
        elif self.defry:
            raise ToolError("--defry", _("only colorize and emotion take --defry, not {tool}").format(tool=self.tool))
        if self.prompt and self.tool not in PROMPT_TOOLS:
            raise ToolError("--prompt", _("only colorize and emotion take a prompt, not {tool}").format(tool=self.tool))
        return self

    def wire_prompt(self) -> str | None:
        if self.tool == "emotion":
            assert self.mood is not None
            return emotion_prompt(self.mood, self.prompt)
        if self.tool == "colorize":
            return self.prompt.strip()
        return None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"tool": self.tool}
        if self.mood is not None:
            out["mood"] = self.mood
        if self.tool in DEFRY_TOOLS:
            out["defry"] = self.defry
            out["strength"] = strength_label(self.defry)
        if self.prompt:
            out["prompt"] = self.prompt
        return out


# ---------------------------------------------------------------------------- bodies
@dataclass
class PreparedImage:
    """A source image loaded and resized the way the website sends it."""

    path: Path
    source_size: tuple[int, int]
    size: tuple[int, int]
    png_b64: str = field(repr=False)


def prepare_augment_image(path: str | os.PathLike[str]) -> PreparedImage:
    im = images.load_image(path, "image")
    w, h = web_size(*im.size)
    fitted = _rgb_or_rgba(im)
    if fitted.size != (w, h):
        fitted = fitted.resize((w, h), Image.Resampling.LANCZOS)
    return PreparedImage(Path(path), im.size, (w, h), images.b64(images.encode_png(fitted)))


def _rgb_or_rgba(im: Image.Image) -> Image.Image:
    if im.mode in ("RGB", "RGBA"):
        return im
    has_alpha = im.mode in ("LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    return im.convert("RGBA" if has_alpha else "RGB")


def augment_body(options: ToolOptions, image: PreparedImage) -> dict[str, Any]:
    """The exact ``/ai/augment-image`` JSON body."""
    options.check()
    body: dict[str, Any] = {"req_type": options.tool}
    prompt = options.wire_prompt()
    if prompt is not None:
        body["prompt"] = prompt
    if options.tool in DEFRY_TOOLS:
        body["defry"] = options.defry
    body["width"], body["height"] = image.size
    body["image"] = image.png_b64
    body["use_new_shared_trial"] = True
    return body


def check_upscale_model(model: str) -> str:
    if model not in UPSCALE_MODELS:
        raise ToolError("--model", _("{model} cannot upscale: standalone upscaling is V5 only ({models})")
                        .format(model=repr(model), models=", ".join(UPSCALE_MODELS)))
    return model


def round_sigma(sigma: float) -> float:
    """The nearest of the blur sigmas the server takes (0, .30, .35, .40, .45, .50)."""
    if not 0.0 <= sigma <= 1.0:
        raise ToolError("--blur-sigma", _("{value} must be between {low} and {high}").format(value=sigma, low="0",
                                                                                             high="0.5"))
    return min(BLUR_SIGMAS, key=lambda s: abs(s - sigma))


def check_upscale_size(width: int, height: int, where: str = "image") -> None:
    if width * height > UPSCALE_MAX_PIXELS:
        raise ToolError(where, _("{width}x{height} = {pixels} px is too large to upscale "
                                 "(NovelAI's maximum is {limit} px, e.g. 1536x2048)")
                        .format(width=width, height=height, pixels=width * height, limit=UPSCALE_MAX_PIXELS))


def prepare_upscale_image(path: str | os.PathLike[str]) -> PreparedImage:
    """The source as PNG at its own size (no resizing: the output is exactly 2x the input)."""
    im = images.load_image(path, "image")
    check_upscale_size(*im.size, where=str(path))
    data = Path(path).read_bytes()
    if not data.startswith(images.PNG_SIGNATURE):
        data = images.encode_png(_rgb_or_rgba(im))
    return PreparedImage(Path(path), im.size, im.size, images.b64(data))


def upscale_body(image: PreparedImage, model: str = DEFAULT_UPSCALE_MODEL, blur_sigma: float = 0.0) -> dict[str, Any]:
    check_upscale_model(model)
    check_upscale_size(*image.size, where=str(image.path))
    return {"image": image.png_b64, "model": model, "declared_blur_sigma": _num(round_sigma(blur_sigma))}


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ToolResult:
    """One image a tool returned: ``part`` names it (``bg-removal``: masked / generated / blend)."""

    data: bytes
    part: str
    index: int


def name_results(tool: str, datas: list[bytes]) -> list[ToolResult]:
    """Name the ZIP's images; bg-removal must bring three (masked, generated, blend)."""
    if tool == "bg-removal":
        if len(datas) != len(BG_REMOVAL_PARTS):
            raise ToolError("bg-removal", ngettext("NovelAI returned {n} image, expected 3 (masked, generated, blend)",
                                                   "NovelAI returned {n} images, expected 3 (masked, generated, blend)",
                                                   len(datas)).format(n=len(datas)))
        return [ToolResult(d, part, i) for i, (d, part) in enumerate(zip(datas, BG_REMOVAL_PARTS, strict=True))]
    if not datas:
        raise ToolError(tool, _("NovelAI returned no image"))
    return [ToolResult(d, tool, i) for i, d in enumerate(datas)]
