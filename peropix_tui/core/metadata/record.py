"""The normalized result of reading an image's metadata, whatever dialect it was written in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...i18n import _
from ..settings import CharacterReference, GenerationSettings

DIALECTS: tuple[str, ...] = (
    "novelai", "novelai-stealth", "peropix", "a1111", "sdnext", "comfyui", "comfyui-saver",
    "invokeai", "fooocus", "swarmui", "civitai", "tensorart", "stability-matrix", "easydiffusion", "drawthings", "midjourney", "json",
)

# settings fields whose value must come from the file: when a reader did not find one, it is
# reported as unknown (``null`` in JSON, left out of text) instead of the settings' default
TRACKED: dict[str, str] = {  # settings field -> to_json key
    "prompt": "prompt", "uc": "negative", "model": "model", "width": "width", "height": "height",
    "steps": "steps", "scale": "scale", "sampler": "sampler", "noise_schedule": "noise_schedule", "seed": "seed",
}
# fields people look for that the settings have no place for (None when not in the file)
EXTRA_KEYS: tuple[str, ...] = ("clip_skip", "model_hash", "vae", "denoise", "hires_steps", "hires_upscaler", "app")
# where the metadata was found (``container`` in JSON); the dialect names who wrote it
CONTAINERS: tuple[str, ...] = ("png", "exif", "xmp", "stealth")
# JSON keys that describe a generation recipe (all ``null`` for a file that has none, e.g. a tool result)
_RECIPE_KEYS: tuple[str, ...] = (
    "provider", "model", "action", "prompt", "negative", "quality", "uc_preset", "furry", "transparent",
    "full_prompt", "full_negative", "seed", "steps", "scale", "cfg_rescale", "sampler", "noise_schedule",
    "width", "height", "n_samples", "variety", "smea", "smea_dyn", "strength", "noise", "checkpoint",
    "prediction", "hires_scale", "hires_denoise", "vae",
)


class NoMetadataError(ValueError):
    """The image carries no metadata we can read; ``str(e) == "no readable metadata: <why>"`` (in the
    current language)."""

    def __init__(self, why: str) -> None:
        super().__init__(_("no readable metadata: {reason}").format(reason=why))
        self.why = why


@dataclass
class MetadataRecord:
    """Settings recovered from an image plus everything found, as found.

    ``settings.prompt`` / ``settings.uc`` are the user's own text (quality tags and UC preset
    taken back out for NovelAI images); ``full_prompt`` / ``full_negative`` are the text the
    generator actually saw. ``notes`` say what could not be recovered or was guessed.
    """

    dialect: str
    settings: GenerationSettings
    raw: dict[str, Any]
    peropix: dict[str, Any] | None = None
    full_prompt: str = ""
    full_negative: str = ""
    notes: list[str] = field(default_factory=list)
    # settings fields (of :data:`TRACKED`) the file gave; None = all of them (NovelAI, ours)
    known: frozenset[str] | None = None
    # :data:`EXTRA_KEYS` values found in the file
    extra: dict[str, Any] = field(default_factory=dict)
    # one of :data:`CONTAINERS` (None: not said by the reader)
    container: str | None = None
    # ``Comment["peropix"]["tool"]`` of a Director Tools / upscale result: name, options, part, source
    tool: dict[str, Any] | None = None
    # False: the file records no generation (a Director Tools result); every recipe key is unknown
    has_recipe: bool = True
    # Precise References as recorded (mode, strength, fidelity); their images are never in the file,
    # so ``path`` is empty; ``mode`` is empty when the file does not say it
    charrefs: list[CharacterReference] = field(default_factory=list)

    def unknown(self) -> list[str]:
        """Tracked settings fields that were not in the file (their settings value is a default)."""
        if self.known is None:
            return []
        return [name for name in TRACKED if name not in self.known]

    def to_json(self) -> dict[str, Any]:
        s = self.settings
        out: dict[str, Any] = {
            "dialect": self.dialect,
            "provider": s.provider,
            "model": s.model,
            "action": s.action,
            "prompt": s.prompt,
            "negative": s.uc,
            "quality": s.quality,
            "uc_preset": s.uc_preset,
            "furry": s.furry,
            "transparent": s.transparent,
            "full_prompt": self.full_prompt,
            "full_negative": self.full_negative,
            "seed": s.seed,
            "steps": s.steps,
            "scale": s.scale,
            "cfg_rescale": s.cfg_rescale,
            "sampler": s.sampler,
            "noise_schedule": s.noise_schedule,
            "width": s.width,
            "height": s.height,
            "n_samples": s.n_samples,
            "variety": s.variety,
            "smea": s.smea,
            "smea_dyn": s.smea_dyn,
            "characters": [
                {"prompt": c.prompt, "uc": c.uc, "position": c.position, "enabled": c.enabled} for c in s.characters
            ],
            "vibes": [
                {
                    "information_extracted": v.information_extracted,
                    "strength": v.strength,
                    "encoding_known": v.encoding is not None,
                    "image_sha256": v.image_sha256,
                }
                for v in s.vibes
            ],
        }
        if s.action != "generate":
            out.update(strength=s.strength, noise=s.noise)
        if s.provider == "local" or s.checkpoint:
            out.update(
                checkpoint=s.checkpoint,
                loras=[{"path": lo.path, "weight": lo.weight} for lo in s.loras],
                prediction=s.prediction,
                hires_scale=s.hires_scale,
                hires_denoise=s.hires_denoise if s.hires_scale else None,
            )
        for name in self.unknown():
            out[TRACKED[name]] = None
        if self.known is not None and "width" not in self.known:
            out["height"] = None  # a size is known as a pair or not at all
        for key in EXTRA_KEYS:
            if key == "vae":
                out.setdefault("vae", self.extra.get("vae") or s.vae)
            else:
                out[key] = self.extra.get(key)
        out.setdefault("checkpoint", s.checkpoint)
        out.setdefault("loras", [{"path": lo.path, "weight": lo.weight} for lo in s.loras])
        out.setdefault("hires_scale", s.hires_scale)
        out.setdefault("hires_denoise", s.hires_denoise if s.hires_scale else None)
        out["charrefs"] = [
            {"mode": cr.mode or None, "strength": cr.strength, "fidelity": cr.fidelity, "image_known": False}
            for cr in self.charrefs
        ]
        if not self.has_recipe:
            for key in _RECIPE_KEYS:
                out[key] = None
            out.update(characters=[], vibes=[], loras=[])
        out["container"] = self.container
        if self.tool is not None:
            out["tool"] = self.tool
        if self.peropix is not None:
            out["peropix"] = self.peropix
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def tool_lines(tool: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs for a Director Tools / upscale record: tool, part, options, source.

    The labels are in the current language; the values are the file's, as they are."""
    out = [(_("Tool"), str(tool.get("name", "?")))]
    if tool.get("part") not in (None, ""):
        out.append((_("Tool part"), str(tool["part"])))
    options = tool.get("options")
    if isinstance(options, dict) and options:
        shown = {k: v for k, v in options.items() if k != "tool"}
        if shown:
            out.append((_("Tool options"), ", ".join(f"{k}={v}" for k, v in shown.items())))
    source = tool.get("source")
    if isinstance(source, dict):
        sha = source.get("sha256")
        file = source.get("file") or "?"
        out.append((_("Tool source"), f"{file} (SHA-256 {sha})" if sha else str(file)))
    return out
