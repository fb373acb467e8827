"""Generation options shared by ``peropix generate`` and ``peropix cost`` (a CLI contract).

Every option defaults to None so that ``--from-image`` can supply the recipe and only the
flags actually given override it. :func:`settings_from_args` turns the namespace into one
:class:`~peropix_tui.core.settings.GenerationSettings`.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..core.settings import (
    UC_PRESETS,
    CharacterPrompt,
    CharacterReference,
    GenerationSettings,
    LoraSpec,
    SettingsError,
    VibeReference,
    parse_cell,
)
from ..i18n import _, ngettext

_PREDICTIONS = ("eps", "v", "v-zsnr")


class _CharacterAction(argparse.Action):
    """``--character TEXT`` starts a character; ``--character-uc``/``--character-pos`` modify the last one."""

    def __call__(self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, opt: Any = None) -> None:
        chars: list[dict[str, Any]] = list(getattr(ns, "characters", None) or [])
        if self.dest == "character":
            chars.append({"prompt": value, "uc": "", "position": None})
        else:
            if not chars:
                parser.error(_("{option} must follow a --character").format(option=opt))
            key = "uc" if self.dest == "character_uc" else "position"
            if key == "position":
                try:
                    value = parse_cell(value)
                except SettingsError as e:
                    parser.error(f"{opt}: {str(e).split(': ', 1)[1]}")
            chars[-1][key] = value
        ns.characters = chars


def _split_numbers(spec: str, most: int = 2) -> tuple[list[str], list[float]]:
    """``spec``'s ':'-separated parts, less up to ``most`` numbers taken from the end (the path,
    and a mode, may themselves contain ':'), and those numbers in order."""
    parts = spec.split(":")
    nums: list[float] = []
    while len(parts) > 1 and len(nums) < most:
        try:
            nums.insert(0, float(parts[-1]))
        except ValueError:
            break
        parts.pop()
    return parts, nums


def parse_vibe(spec: str) -> VibeReference:
    """``PATH[:INFO[:STRENGTH]]``; a path may itself contain ':' (numbers are taken from the end)."""
    parts, nums = _split_numbers(spec)
    path = ":".join(parts)
    if not path:
        raise SettingsError("--vibe", _("{spec} has no file path").format(spec=repr(spec)))
    vibe = VibeReference(path=path)
    if nums:
        vibe.information_extracted = nums[0]
    if len(nums) > 1:
        vibe.strength = nums[1]
    for name, v in (("information", vibe.information_extracted), ("strength", vibe.strength)):
        if not 0.0 <= v <= 1.0:
            raise SettingsError("--vibe", _("{name} {value} in {spec} must be between 0 and 1").format(
                name=name, value=v, spec=repr(spec)))
    return vibe


_CHARREF_MODE_ALIASES = {"character": "character", "char": "character", "style": "style",
                         "character&style": "character&style", "character+style": "character&style",
                         "both": "character&style"}


def parse_charref(spec: str) -> tuple[CharacterReference, set[str]]:
    """``PATH[:MODE[:STRENGTH[:FIDELITY]]]`` (numbers and mode are taken from the end, so a path may
    contain ':'); also which of mode / strength / fidelity were given."""
    parts, nums = _split_numbers(spec)
    mode = ""
    if len(parts) > 1 and parts[-1].lower() in _CHARREF_MODE_ALIASES:
        mode = _CHARREF_MODE_ALIASES[parts.pop().lower()]
    path = ":".join(parts)
    if not path:
        raise SettingsError("--charref", _("{spec} has no file path").format(spec=repr(spec)))
    ref = CharacterReference(path=path, mode=mode)
    given = {"mode"} if mode else set()
    if nums:
        ref.strength, given = nums[0], given | {"strength"}
    if len(nums) > 1:
        ref.fidelity, given = nums[1], given | {"fidelity"}
    for name, v in (("strength", ref.strength), ("fidelity", ref.fidelity)):
        if not 0.0 <= v <= 1.0:
            raise SettingsError("--charref", _("{name} {value} in {spec} must be between 0 and 1").format(
                name=name, value=v, spec=repr(spec)))
    return ref, given


def parse_lora(spec: str) -> LoraSpec:
    """``PATH[:WEIGHT]``."""
    path, sep, tail = spec.rpartition(":")
    if sep:
        try:
            return LoraSpec(path=path, weight=float(tail))
        except ValueError:
            pass
    return LoraSpec(path=spec)


def parse_hires(spec: str) -> tuple[float, float]:
    """``SCALE:DENOISE`` (e.g. ``1.5:0.5``)."""
    try:
        scale_s, denoise_s = spec.split(":")
        scale, denoise = float(scale_s), float(denoise_s)
    except ValueError:
        raise SettingsError("--hires", _("{spec} is not SCALE:DENOISE, e.g. 1.5:0.5").format(spec=repr(spec))) from None
    if not 1.0 <= scale <= 4.0:
        raise SettingsError("--hires", _("scale must be between 1 and 4"))
    if not 0.0 < denoise <= 1.0:
        raise SettingsError("--hires", _("denoise must be in (0, 1]"))
    return scale, denoise


def add_generation_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(_("what to generate"))
    g.add_argument("--provider", choices=("nai", "local", "comfyui"),
                   help=_("nai (default), local or comfyui (a ComfyUI server, see --server)"))
    g.add_argument("--model", help=_("NovelAI model id (default nai-diffusion-4-5-full)"))
    g.add_argument("--action", choices=("generate", "img2img", "infill"))
    g.add_argument("--prompt", help=_("the prompt"))
    g.add_argument("--negative", help=_("your own negative prompt (UC); the UC preset is prepended"))
    g.add_argument("--uc-preset", choices=UC_PRESETS)
    g.add_argument("--quality", action=argparse.BooleanOptionalAction, default=None, help=_("append quality tags"))
    g.add_argument("--character", action=_CharacterAction, metavar="TEXT", help=_("add a character prompt"))
    g.add_argument("--character-uc", action=_CharacterAction, metavar="TEXT", help=_("negative of the previous --character"))
    g.add_argument("--character-pos", action=_CharacterAction, metavar="CELL", help=_("A1..E5 or auto, for the previous --character"))
    g.add_argument("--from-image", metavar="FILE", help=_("start from the recipe stored in an image's metadata"))

    q = p.add_argument_group(_("parameters"))
    q.add_argument("--width", type=int)
    q.add_argument("--height", type=int)
    q.add_argument("--steps", type=int)
    q.add_argument("--scale", type=float, help=_("prompt guidance (CFG)"))
    q.add_argument("--cfg-rescale", type=float)
    q.add_argument("--sampler", help=_("NovelAI (k_euler_ancestral) or ComfyUI (euler_ancestral) name"))
    q.add_argument("--schedule", help=_("noise schedule: karras, exponential, polyexponential, native/normal, ..."))
    q.add_argument("--seed", type=int)
    q.add_argument("--n-samples", type=int)
    q.add_argument("--variety", action="store_true", default=None, help=_("Variety+ (NovelAI V4/V4.5)"))
    q.add_argument("--smea", action="store_true", default=None, help=_("SMEA (NovelAI V3 only)"))
    q.add_argument("--smea-dyn", action="store_true", default=None, help=_("SMEA DYN (NovelAI V3 only)"))
    q.add_argument("--furry", action="store_true", default=None, help=_("furry mode (NovelAI V4+)"))
    q.add_argument("--transparent", action="store_true", default=None, help=_("transparent background (NovelAI V5)"))

    r = p.add_argument_group(_("images and references"))
    r.add_argument("--image", metavar="PATH", help=_("base image for img2img / infill"))
    r.add_argument("--strength", type=float)
    r.add_argument("--noise", type=float)
    r.add_argument("--mask", metavar="PATH", help=_("infill mask: white = repaint"))
    r.add_argument("--vibe", action="append", metavar="PATH[:INFO[:STRENGTH]]", help=_("vibe transfer image or .naiv4vibe"))
    r.add_argument("--charref", action="append", metavar="PATH[:MODE[:STRENGTH[:FIDELITY]]]",
                   help=_("Precise Reference image (V4.5), repeatable; MODE character | style | character&style "
                        "(default from --style-aware), STRENGTH and FIDELITY 0..1 (default 1)"))
    r.add_argument("--fidelity", type=float)
    r.add_argument("--style-aware", action=argparse.BooleanOptionalAction, default=None)

    loc = p.add_argument_group(_("local engine"))
    loc.add_argument("--checkpoint", metavar="PATH", help=_("single-file SDXL-family .safetensors"))
    loc.add_argument("--vae", metavar="PATH", help=_("separate VAE file (LDM or diffusers layout)"))
    loc.add_argument("--lora", action="append", metavar="PATH[:W]",
                     help=_("LoRA / LyCORIS file merged at weight W (default 1); repeatable"))
    loc.add_argument("--prediction", choices=_PREDICTIONS,
                     help=_("override the detected prediction type (v-zsnr: v-pred with zero-terminal SNR)"))
    loc.add_argument("--device", choices=("cuda", "cpu", "mps"), help=_("default: cuda, else mps, else cpu"))
    loc.add_argument("--dtype", choices=("bf16", "fp16", "fp32"),
                     help=_("default: bf16 on CUDA (fp16 without bf16 support), fp16 on MPS, fp32 on the CPU"))
    loc.add_argument("--hires", metavar="SCALE:DENOISE",
                     help=_("hires fix: upscale by SCALE, then an img2img pass at DENOISE (e.g. 1.5:0.5)"))
    loc.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                     help=_("torch.compile the UNet: the first image of each size compiles (about a minute "
                          "on a GPU), later steps run faster; worth it for long slot sets"))
    loc.add_argument("--prompt-dialect", choices=("auto", "comfyui", "a1111", "novelai"),
                     help=_("how prompt syntax is read: comfyui, a1111 (incl. [a:b:0.5] editing), novelai "
                          "({x}, [x], 1.5::x::), or auto (default: [local] prompt_dialect, else auto)"))

    cf = p.add_argument_group("ComfyUI", _("--provider comfyui; also uses --checkpoint, --vae, --lora, "
                                           "--prediction, --hires as names on the server"))
    cf.add_argument("--server", metavar="NAME|URL", help=_("a configured server's name, or a URL (default: the first)"))
    cf.add_argument("--workflow", metavar="FILE", help=_("your own API-format workflow JSON; bound inputs are filled"))
    cf.add_argument("--bind", action="append", metavar="ROLE=NODE",
                    help=_("fill ROLE (prompt, negative, seed, steps, cfg, sampler, scheduler, denoise, size, "
                         "checkpoint) in the workflow node with this id or title; repeatable"))
    cf.add_argument("--clip-skip", type=int, metavar="N", help=_("CLIPSetLastLayer at -N (2 = penultimate layer)"))


def _base_settings(args: argparse.Namespace) -> tuple[GenerationSettings, list[CharacterReference]]:
    """The starting settings, and the Precise References the ``--from-image`` image recorded."""
    path = getattr(args, "from_image", None)
    if not path:
        return GenerationSettings(), []
    from ..core.metadata import read_metadata  # lazy: only for --from-image

    record = read_metadata(path)
    if not record.has_recipe:  # a Director Tools result: nothing to start from
        reason = record.notes[0] if record.notes else _("no generation recipe")
        raise SettingsError("--from-image", f"{path}: {reason}")
    import sys

    for note in record.notes:
        print(_("peropix: note: {note}").format(note=note), file=sys.stderr)
    settings = record.settings.copy()
    defaults = GenerationSettings()
    for name in record.unknown():  # not in the image: the usual defaults, as without --from-image
        setattr(settings, name, getattr(defaults, name))
    if settings.action != "generate" and not getattr(args, "image", None) and getattr(args, "action", None) is None:
        print(_("peropix: note: {note}").format(note=_(
            "{file} was made with {action}; the base image is not stored in metadata, so this runs as "
            "generate (pass --image and --action to repeat the original)").format(file=path, action=settings.action)),
            file=sys.stderr)
        settings.action, settings.mask = "generate", None
    if record.charrefs and not getattr(args, "charref", None):
        listed = "; ".join(_("{mode}, strength {strength}, fidelity {fidelity}").format(
            mode=r.mode or _("mode unknown"), strength=f"{r.strength:g}", fidelity=f"{r.fidelity:g}")
            for r in record.charrefs)
        n = len(record.charrefs)
        print(_("peropix: note: {note}").format(note=ngettext(
            "{file} was made with {n} character reference ({listed}); its image is not in the metadata: "
            "pass --charref PATH to use it again",
            "{file} was made with {n} character references ({listed}); their images are not in the metadata: "
            "pass --charref PATH for each to use them again", n).format(file=path, n=n, listed=listed)),
            file=sys.stderr)
    return settings, record.charrefs


def settings_from_args(args: argparse.Namespace) -> GenerationSettings:
    """Combine defaults (or the ``--from-image`` recipe) with the flags given."""
    s, recorded = _base_settings(args)
    direct = {
        "provider": "provider",
        "model": "model",
        "action": "action",
        "prompt": "prompt",
        "negative": "uc",
        "uc_preset": "uc_preset",
        "quality": "quality",
        "width": "width",
        "height": "height",
        "steps": "steps",
        "scale": "scale",
        "cfg_rescale": "cfg_rescale",
        "sampler": "sampler",
        "schedule": "noise_schedule",
        "seed": "seed",
        "n_samples": "n_samples",
        "variety": "variety",
        "smea": "smea",
        "smea_dyn": "smea_dyn",
        "furry": "furry",
        "transparent": "transparent",
        "image": "image",
        "strength": "strength",
        "noise": "noise",
        "mask": "mask",
        "checkpoint": "checkpoint",
        "vae": "vae",
        "prediction": "prediction",
        "device": "device",
        "dtype": "dtype",
        "compile": "compile",
        "clip_skip": "clip_skip",
        "server": "comfyui_server",
        "workflow": "workflow",
        "prompt_dialect": "prompt_dialect",
    }
    for arg, fname in direct.items():
        v = getattr(args, arg, None)
        if v is not None:
            setattr(s, fname, v)
    if getattr(args, "characters", None):
        s.characters = [CharacterPrompt(**c) for c in args.characters]
    if getattr(args, "vibe", None):
        s.vibes = [parse_vibe(v) for v in args.vibe]
    if getattr(args, "charref", None):
        specs = [args.charref] if isinstance(args.charref, str) else list(args.charref)
        refs = [parse_charref(spec) for spec in specs]
        s.charref, s.extra_charrefs = refs[0][0], [r for r, _ in refs[1:]]
        explicit = {id(r): given for r, given in refs}
        for (ref, given), old in zip(refs, recorded, strict=False):  # --from-image: the image's values, unless given
            if "mode" not in given and old.mode:
                ref.mode, ref.style_aware = old.mode, old.style_aware
            if "strength" not in given:
                ref.strength = old.strength
            if "fidelity" not in given and getattr(args, "fidelity", None) is None:
                ref.fidelity = old.fidelity
    else:
        explicit = {}
    for ref in s.charrefs():
        given = explicit.get(id(ref), set())
        if getattr(args, "fidelity", None) is not None and "fidelity" not in given:
            ref.fidelity = args.fidelity
        if getattr(args, "style_aware", None) is not None:
            ref.style_aware = args.style_aware
    if getattr(args, "lora", None):
        s.loras = [parse_lora(v) for v in args.lora]
    if getattr(args, "bind", None):
        from ..core.comfyui.workflow import parse_bindings

        s.workflow_bind = parse_bindings(args.bind)
    if getattr(args, "hires", None):
        s.hires_scale, s.hires_denoise = parse_hires(args.hires)
    if s.provider in ("local", "comfyui") and s.model.startswith("nai-") and s.checkpoint:
        from pathlib import Path

        s.model = Path(s.checkpoint).stem
    # an image without an explicit action means img2img; a mask means infill
    if getattr(args, "action", None) is None and not getattr(args, "from_image", None):
        if s.mask:
            s.action = "infill"
        elif s.image:
            s.action = "img2img"
    s.check_basic()
    if hasattr(args, "dry_run") and not s.prompt.strip():  # generate (cost prices any prompt)
        raise SettingsError("--prompt", _("nothing to generate: give --prompt TEXT (or --from-image with a prompt)"))
    return s
