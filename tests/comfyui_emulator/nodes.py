"""Node definitions the emulator knows, written down from specs/comfyui-api.md §5 (ComfyUI 0.3x nodes.py).

Each entry is what ``/object_info/{class}`` answers: ``input`` {required, optional, hidden} with
each input as ``[TYPE or [choices], {options}]``, ``output`` (return types), ``output_node``.
A COMBO written as ``("folder", name)`` is filled with the emulator's files of that folder.
"""

from __future__ import annotations

from typing import Any

MAX_RESOLUTION = 16384
SAMPLERS = [
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "exp_heun_2_x0",
    "exp_heun_2_x0_sde", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
    "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm",
    "lcm", "ipndm", "ipndm_v", "deis", "cfgpp_ud10_ab", "res_multistep", "res_multistep_cfg_pp",
    "res_multistep_ancestral", "res_multistep_ancestral_cfg_pp", "gradient_estimation",
    "gradient_estimation_cfg_pp", "er_sde", "seeds_2", "seeds_3", "sa_solver", "sa_solver_pece", "ddim", "uni_pc",
    "uni_pc_bh2",
]
SCHEDULERS = ["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
              "linear_quadratic", "kl_optimal"]
UPSCALE_IMAGE = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
UPSCALE_LATENT = ["nearest-exact", "bilinear", "area", "bicubic", "bislerp"]


def _int(default: int, lo: int, hi: int, step: int = 1) -> list[Any]:
    return ["INT", {"default": default, "min": lo, "max": hi, "step": step}]


def _float(default: float, lo: float, hi: float, step: float = 0.01) -> list[Any]:
    return ["FLOAT", {"default": default, "min": lo, "max": hi, "step": step}]


SEED = ["INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "control_after_generate": True}]
STEPS = _int(20, 1, 10000)
CFG = ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}]
HIDDEN_SAVE = {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}


def _node(required: dict[str, Any], output: list[str], *, optional: dict[str, Any] | None = None,
          hidden: dict[str, Any] | None = None, output_node: bool = False, category: str = "",
          validate_inputs: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"input": {"required": required, "optional": optional or {}, "hidden": hidden or {}},
            "output": output, "output_node": output_node, "category": category,
            "validate_inputs": list(validate_inputs)}


NODES: dict[str, dict[str, Any]] = {
    "CheckpointLoaderSimple": _node({"ckpt_name": ("checkpoints",)}, ["MODEL", "CLIP", "VAE"], category="loaders"),
    "VAELoader": _node({"vae_name": ("vae",)}, ["VAE"], category="loaders"),
    "LoraLoader": _node({"model": ["MODEL"], "clip": ["CLIP"], "lora_name": ("loras",),
                         "strength_model": _float(1.0, -100.0, 100.0), "strength_clip": _float(1.0, -100.0, 100.0)},
                        ["MODEL", "CLIP"], category="loaders"),
    "CLIPSetLastLayer": _node({"clip": ["CLIP"], "stop_at_clip_layer": _int(-1, -24, -1)}, ["CLIP"]),
    "CLIPTextEncode": _node({"text": ["STRING", {"multiline": True, "dynamicPrompts": True}], "clip": ["CLIP"]},
                            ["CONDITIONING"], category="conditioning"),
    "EmptyLatentImage": _node({"width": _int(512, 16, MAX_RESOLUTION, 8), "height": _int(512, 16, MAX_RESOLUTION, 8),
                               "batch_size": _int(1, 1, 4096)}, ["LATENT"], category="latent"),
    "RepeatLatentBatch": _node({"samples": ["LATENT"], "amount": _int(1, 1, 64)}, ["LATENT"]),
    "KSampler": _node({"model": ["MODEL"], "seed": SEED, "steps": STEPS, "cfg": CFG,
                       "sampler_name": [SAMPLERS], "scheduler": [SCHEDULERS], "positive": ["CONDITIONING"],
                       "negative": ["CONDITIONING"], "latent_image": ["LATENT"], "denoise": _float(1.0, 0.0, 1.0)},
                      ["LATENT"], category="sampling"),
    "KSamplerAdvanced": _node({"model": ["MODEL"], "add_noise": [["enable", "disable"]], "noise_seed": SEED,
                               "steps": STEPS, "cfg": CFG, "sampler_name": [SAMPLERS], "scheduler": [SCHEDULERS],
                               "positive": ["CONDITIONING"], "negative": ["CONDITIONING"],
                               "latent_image": ["LATENT"], "start_at_step": _int(0, 0, 10000),
                               "end_at_step": _int(10000, 0, 10000),
                               "return_with_leftover_noise": [["disable", "enable"]]},
                              ["LATENT"], category="sampling"),
    "VAEDecode": _node({"samples": ["LATENT"], "vae": ["VAE"]}, ["IMAGE"]),
    "VAEEncode": _node({"pixels": ["IMAGE"], "vae": ["VAE"]}, ["LATENT"]),
    "VAEEncodeForInpaint": _node({"pixels": ["IMAGE"], "vae": ["VAE"], "mask": ["MASK"],
                                  "grow_mask_by": _int(6, 0, 64)}, ["LATENT"]),
    "SetLatentNoiseMask": _node({"samples": ["LATENT"], "mask": ["MASK"]}, ["LATENT"]),
    "LoadImage": _node({"image": ("input", "image")}, ["IMAGE", "MASK"], validate_inputs=("image",)),
    "LoadImageMask": _node({"image": ("input", "image"), "channel": [["alpha", "red", "green", "blue"]]}, ["MASK"],
                           validate_inputs=("image",)),
    "ImageScale": _node({"image": ["IMAGE"], "upscale_method": [UPSCALE_IMAGE],
                         "width": _int(512, 0, MAX_RESOLUTION), "height": _int(512, 0, MAX_RESOLUTION),
                         "crop": [["disabled", "center"]]}, ["IMAGE"]),
    "LatentUpscale": _node({"samples": ["LATENT"], "upscale_method": [UPSCALE_LATENT],
                            "width": _int(512, 0, MAX_RESOLUTION, 8), "height": _int(512, 0, MAX_RESOLUTION, 8),
                            "crop": [["disabled", "center"]]}, ["LATENT"]),
    "LatentUpscaleBy": _node({"samples": ["LATENT"], "upscale_method": [UPSCALE_LATENT],
                              "scale_by": _float(1.5, 0.01, 8.0)}, ["LATENT"]),
    "SaveImage": _node({"images": ["IMAGE"], "filename_prefix": ["STRING", {"default": "ComfyUI"}]}, [],
                       hidden=HIDDEN_SAVE, output_node=True, category="image"),
    "PreviewImage": _node({"images": ["IMAGE"]}, [], hidden=HIDDEN_SAVE, output_node=True, category="image"),
    "SaveImageWebsocket": _node({"images": ["IMAGE"]}, [], output_node=True, category="api node/image"),
    "ModelSamplingDiscrete": _node({"model": ["MODEL"], "sampling": [["eps", "v_prediction", "lcm", "x0",
                                                                      "img_to_img"]],
                                    "zsnr": ["BOOLEAN", {"default": False}]}, ["MODEL"], category="advanced/model"),
    "RescaleCFG": _node({"model": ["MODEL"], "multiplier": _float(0.7, 0.0, 1.0)}, ["MODEL"],
                        category="advanced/model"),
}


def object_info(cls: str, folders: dict[str, list[str]]) -> dict[str, Any]:
    """``/object_info/{cls}`` as ComfyUI answers it, with COMBOs of files filled in."""
    node = NODES[cls]

    def spec(v: Any) -> list[Any]:
        if isinstance(v, tuple):
            opts: dict[str, Any] = {"image_upload": True} if v[0] == "input" else {}
            return [list(folders.get(v[0], [])), opts] if opts else [list(folders.get(v[0], []))]
        return list(v)

    inputs = {kind: {name: spec(v) for name, v in node["input"][kind].items()} for kind in ("required", "optional")}
    inputs["hidden"] = dict(node["input"]["hidden"])
    return {
        "input": inputs,
        "input_order": {k: list(node["input"][k]) for k in ("required", "optional", "hidden") if node["input"][k]},
        "output": list(node["output"]),
        "output_is_list": [False] * len(node["output"]),
        "output_name": list(node["output"]),
        "name": cls,
        "display_name": cls,
        "description": "",
        "python_module": "nodes",
        "category": node["category"],
        "output_node": node["output_node"],
    }
