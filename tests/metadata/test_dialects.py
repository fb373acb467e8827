"""Other tools' metadata, built here from the dialect descriptions (spec metadata-dialects.md §3–§5)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from peropix_tui.core.metadata import png, read_metadata
from peropix_tui.core.metadata.exif import USER_COMMENT, user_comment_exif

from .util import noise_image, png_bytes


def rgb_png(text: dict[str, str]) -> bytes:
    return png_bytes(noise_image(16, 16, mode="RGB"), text)


def exif_image(fmt: str, ifd0: dict[int, str] | None = None, comment: str | None = None, **kw: Any) -> bytes:
    exif = user_comment_exif(comment) if comment is not None else Image.Exif()
    for tag, value in (ifd0 or {}).items():
        exif[tag] = value
    buf = io.BytesIO()
    noise_image(32, 32, mode="RGB").save(buf, format=fmt, exif=exif, **kw)
    return buf.getvalue()


def graph(text: str = "a red fox", neg: str = "blurry") -> dict[str, Any]:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "fox-xl.safetensors"}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": neg, "clip": ["4", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 768, "height": 1344, "batch_size": 1}},
        "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 26, "cfg": 6.0, "sampler_name": "dpmpp_2m",
                                                   "scheduler": "karras", "denoise": 1.0, "model": ["4", 0],
                                                   "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
    }


def summary(r: Any) -> tuple[Any, ...]:
    s = r.settings
    return (r.dialect, s.prompt, s.uc, s.steps, s.scale, s.seed, s.sampler, s.noise_schedule, s.width, s.height, s.model)


# ------------------------------------------------------------------------------ A1111 family
def test_a1111_keys_are_case_insensitive() -> None:
    r = read_metadata(rgb_png({"parameters": "cat\nSteps: 20, Sampler: Euler, CFG Scale: 4.5, Seed: 1, Size: 512x512"}))
    assert r.settings.scale == 4.5


def test_gis_underscore_sampler_and_cfg_scale() -> None:
    text = "cat\nNegative prompt: dog\nSteps: 20, Sampler: euler_ancestral_karras, CFG Scale: 7, Seed: 1, Size: 512x768, Version: ComfyUI"
    r = read_metadata(rgb_png({"parameters": text}))
    assert summary(r) == ("comfyui-saver", "cat", "dog", 20, 7.0, 1, "k_euler_ancestral", "karras", 512, 768, r.settings.model)


def test_schedule_type_key_and_combined_label() -> None:
    r = read_metadata(rgb_png({"parameters": "cat\nSteps: 9, Sampler: Euler Ancestral Karras, CFG scale: 5, Seed: 2"}))
    assert (r.settings.sampler, r.settings.noise_schedule) == ("k_euler_ancestral", "karras")
    r = read_metadata(rgb_png({"parameters": "cat\nSteps: 9, Sampler: DPM++ 2M, Schedule type: SGM Uniform, CFG scale: 5"}))
    assert (r.settings.sampler, r.settings.noise_schedule) == ("k_dpmpp_2m", "sgm_uniform")


def test_sdnext_hires_scale_and_strength() -> None:
    text = (
        "castle\nNegative prompt: \nSteps: 30, Sampler: DPM++ 2M, CFG scale: 6, Seed: 9, Size: 512x512, Model: dream, "
        "Hires scale: 2, Hires upscaler: Latent, Hires strength: 0.3, Hires steps: 10, App: SD.Next, Version: 431bcc3"
    )
    r = read_metadata(rgb_png({"parameters": text}))
    assert r.dialect == "sdnext"
    assert (r.settings.hires_scale, r.settings.hires_denoise, r.settings.action) == (2.0, 0.3, "generate")
    j = r.to_json()
    assert (j["hires_upscaler"], j["hires_steps"], j["denoise"]) == ("Latent", 10, 0.3)


def test_a1111_fields_people_look_for() -> None:
    text = (
        "1girl <lora:detail:0.6>\nNegative prompt: lowres\nSteps: 28, Sampler: DPM++ 2M, Schedule type: Karras, "
        "CFG scale: 7, Seed: 1, Size: 832x1216, Model hash: 6ce0161689, Model: v15, VAE hash: 235745af8d, "
        'VAE: sdxl_vae.safetensors, Clip skip: 2, Denoising strength: 0.5, Hires upscale: 2, Hires upscaler: Latent, '
        'Lora hashes: "detail: 7c6bad76eb54", Hashes: {"model": "6ce0161689", "lora:detail": "7c6b"}, Version: v1.9.4'
    )
    r = read_metadata(rgb_png({"parameters": text}))
    j = r.to_json()
    assert (j["model_hash"], j["vae"], j["clip_skip"], j["hires_scale"], j["hires_denoise"]) == (
        "6ce0161689", "sdxl_vae.safetensors", 2, 2.0, 0.5)
    assert j["loras"] == [{"path": "detail", "weight": 0.6}]
    assert r.raw["pairs"]["Hashes"] == '{"model": "6ce0161689", "lora:detail": "7c6b"}'
    assert j["app"] == "v1.9.4"


def test_dynamic_prompts_template_lines_after_the_params() -> None:
    text = "a cat\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 3\nTemplate: a {cat|dog}\nNegative Template: x"
    r = read_metadata(rgb_png({"parameters": text}))
    assert (r.settings.prompt, r.settings.steps, r.settings.seed) == ("a cat", 20, 3)


def test_utf8_bytes_in_text_chunk() -> None:
    text = "猫耳、笑顔\nNegative prompt: 低品質\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512"
    base = png_bytes(noise_image(8, 8, mode="RGB"))
    at = next(c.offset for c in png.iter_chunks(base) if c.type == b"IDAT")
    data = base[:at] + png.make_chunk(b"tEXt", b"parameters\x00" + text.encode("utf-8")) + base[at:]
    r = read_metadata(data)
    assert (r.settings.prompt, r.settings.uc) == ("猫耳、笑顔", "低品質")


# ------------------------------------------------------------------------------ JSON dialects
def test_diffusers_json_is_not_novelai_and_nothing_is_filled_in() -> None:
    obj = {"prompt": "a lighthouse", "negative_prompt": "fog", "num_inference_steps": 30, "guidance_scale": 7.5, "seed": 42}
    r = read_metadata(rgb_png({"parameters": json.dumps(obj)}))
    j = r.to_json()
    assert j["dialect"] == "json" and j["provider"] == "local"
    assert (j["prompt"], j["negative"], j["steps"], j["scale"], j["seed"]) == ("a lighthouse", "fog", 30, 7.5, 42)
    assert (j["width"], j["height"], j["model"], j["sampler"], j["noise_schedule"]) == (None, None, None, None, None)
    assert j["quality"] is False and j["uc_preset"] == "none"
    assert any(n.startswith("not in the file: ") and "width" in n and "model" in n for n in j["notes"])


def test_fooocus_json_scheme() -> None:
    obj = {
        "adm_guidance": "(1.5, 0.8, 0.3)", "base_model": "juggernautXL_v8Rundiffusion.safetensors",
        "base_model_hash": "aeb7e9e689", "clip_skip": 2, "full_negative_prompt": ["ugly", "(worst quality:2)"],
        "full_prompt": ["cat", "cinematic"], "guidance_scale": 4, "loras": [["sdxl_offset.safetensors", 0.1, "4852686128"]],
        "negative_prompt": "ugly", "performance": "Speed", "prompt": "cat", "prompt_expansion": "cat, cinematic",
        "refiner_model": "None", "resolution": "(1152, 896)", "sampler": "dpmpp_2m_sde_gpu", "scheduler": "karras",
        "seed": "12345", "sharpness": 2, "steps": 30, "styles": "['Fooocus V2']", "vae": "Default (model)",
        "version": "Fooocus v2.5.5",
    }
    r = read_metadata(rgb_png({"parameters": json.dumps(obj), "fooocus_scheme": "fooocus"}))
    assert summary(r) == ("fooocus", "cat", "ugly", 30, 4.0, 12345, "k_dpmpp_2m_sde", "karras", 1152, 896,
                          "juggernautXL_v8Rundiffusion")
    assert r.full_prompt == "cat, cinematic" and r.to_json()["clip_skip"] == 2
    assert [(lo.path, lo.weight) for lo in r.settings.loras] == [("sdxl_offset.safetensors", 0.1)]


def test_fooocus_jpeg_ifd0_user_comment_without_prefix() -> None:
    obj = {"prompt": "owl", "negative_prompt": "", "steps": 20, "guidance_scale": 3, "seed": "7", "sampler": "euler",
           "scheduler": "karras", "resolution": "(896, 1152)", "base_model": "x.safetensors", "version": "Fooocus v2.5.5"}
    exif = Image.Exif()
    exif[USER_COMMENT] = json.dumps(obj).encode()
    exif[0x0131] = "Fooocus v2.5.5"
    buf = io.BytesIO()
    noise_image(16, 16, mode="RGB").save(buf, "JPEG", exif=exif)
    r = read_metadata(buf.getvalue())
    assert summary(r)[:8] == ("fooocus", "owl", "", 20, 3.0, 7, "k_euler", "karras")


@pytest.mark.parametrize("carrier", ["png", "jpeg"])
def test_swarmui(carrier: str) -> None:
    obj = {"sui_image_params": {"prompt": "cat", "negativeprompt": "dog", "seed": 1, "steps": 22, "cfgscale": 7,
                                "sampler": "euler", "scheduler": "karras", "width": 1024, "height": 1024,
                                "model": "sdxl/base.safetensors", "clipstopatlayer": -2, "loras": ["a", "b"],
                                "loraweights": ["0.5", "1"], "swarm_version": "0.9.5"},
           "sui_models": [{"name": "base.safetensors", "param": "model", "hash": "0x1234"}]}
    data = rgb_png({"parameters": json.dumps(obj)}) if carrier == "png" else exif_image("JPEG", comment=json.dumps(obj))
    r = read_metadata(data)
    assert summary(r) == ("swarmui", "cat", "dog", 22, 7.0, 1, "k_euler", "karras", 1024, 1024, "base")
    j = r.to_json()
    assert (j["clip_skip"], j["model_hash"], j["loras"]) == (2, "0x1234", [{"path": "a", "weight": 0.5}, {"path": "b", "weight": 1.0}])


def test_civitai_generator_jpeg() -> None:
    obj = {**graph(), "extra": {"airs": ["urn:air:sdxl:checkpoint:civitai:101@202"]},
           "extraMetadata": json.dumps({"prompt": "a red fox", "negativePrompt": "blurry", "steps": 26, "cfgScale": 6,
                                        "sampler": "DPM++ 2M Karras", "seed": 5})}
    r = read_metadata(exif_image("JPEG", comment=json.dumps(obj)))
    assert summary(r) == ("civitai", "a red fox", "blurry", 26, 6.0, 5, "k_dpmpp_2m", "karras", 768, 1344, "fox-xl")
    assert r.raw["civitai_resources"] == ["urn:air:sdxl:checkpoint:civitai:101@202"]


def test_comfyui_graph_inside_exif_user_comment() -> None:
    r = read_metadata(exif_image("WEBP", comment=json.dumps({"prompt": graph(), "workflow": {"nodes": [], "links": []}})))
    assert summary(r) == ("comfyui", "a red fox", "blurry", 26, 6.0, 5, "k_dpmpp_2m", "karras", 768, 1344, "fox-xl")


def test_comfyui_animated_webp_make_model() -> None:
    frames = [noise_image(16, 16, mode="RGB", seed=i) for i in range(2)]
    exif = Image.Exif()
    exif[0x0110] = "prompt:" + json.dumps(graph())
    exif[0x010F] = "workflow:" + json.dumps({"nodes": [], "links": []})
    buf = io.BytesIO()
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], exif=exif, duration=100)
    r = read_metadata(buf.getvalue())
    assert summary(r) == ("comfyui", "a red fox", "blurry", 26, 6.0, 5, "k_dpmpp_2m", "karras", 768, 1344, "fox-xl")


def test_save_image_extended_make_and_description() -> None:
    data = exif_image("JPEG", {0x010F: "Prompt: " + json.dumps(graph("an owl")), 0x010E: "Workflow: {\"nodes\": [], \"links\": []}"})
    r = read_metadata(data)
    assert (r.dialect, r.settings.prompt, r.settings.steps) == ("comfyui", "an owl", 26)


def test_tensorart_prompts_from_generation_data_rest_from_graph() -> None:
    g = graph("graph text", "graph neg")
    g["4"]["class_type"] = "ECHOCheckpointLoaderSimple"
    gen = {"prompt": "the user's prompt", "negativePrompt": "the user's negative", "width": 768, "height": 1344,
           "seed": 5, "steps": 26, "cfgScale": 6, "clipSkip": 2, "baseModel": {"modelFileName": "ta.safetensors", "hash": "abc"}}
    r = read_metadata(rgb_png({"prompt": json.dumps(g), "generation_data": json.dumps(gen)}))
    assert summary(r) == ("tensorart", "the user's prompt", "the user's negative", 26, 6.0, 5, "k_dpmpp_2m", "karras",
                          768, 1344, "fox-xl")
    assert r.to_json()["clip_skip"] == 2


def test_stability_matrix_parameters_json() -> None:
    pj = {"PositivePrompt": "ヘロン", "NegativePrompt": "x", "Steps": 30, "Sampler": "DPM++ 2M Karras", "CfgScale": 5.5,
          "Seed": 77, "Width": 832, "Height": 1216, "ModelHash": "ff00", "ModelName": "ani.safetensors"}
    text = "ヘロン\nNegative prompt: x\nSteps: 30, Sampler: DPM++ 2M Karras, CFG scale: 5.5, Seed: 77, Size: 832x1216, Model: ani"
    base = png_bytes(noise_image(8, 8, mode="RGB"))
    at = next(c.offset for c in png.iter_chunks(base) if c.type == b"IDAT")
    chunks = b"".join(png.make_chunk(b"tEXt", k.encode() + b"\x00" + v.encode("utf-8"))
                      for k, v in (("parameters", text), ("parameters-json", json.dumps(pj, ensure_ascii=False))))
    r = read_metadata(base[:at] + chunks + base[at:])
    assert summary(r) == ("stability-matrix", "ヘロン", "x", 30, 5.5, 77, "k_dpmpp_2m", "karras", 832, 1216, "ani")
    assert r.to_json()["model_hash"] == "ff00"


def test_stability_matrix_webp_image_description() -> None:
    pj = {"PositivePrompt": "cat", "NegativePrompt": "", "Steps": 8, "Sampler": "Euler", "CfgScale": 2, "Seed": 1,
          "Width": 512, "Height": 512, "ModelName": "m"}
    r = read_metadata(exif_image("WEBP", {0x010E: json.dumps(pj), 0x0131: "{\"smproj\": 1}"}))
    assert summary(r) == ("stability-matrix", "cat", "", 8, 2.0, 1, "k_euler", "native", 512, 512, "m")


# ------------------------------------------------------------------------------ InvokeAI
def test_invokeai_metadata() -> None:
    meta = {"positive_prompt": "cat", "negative_prompt": "dog", "width": 1024, "height": 768, "seed": 1, "steps": 30,
            "cfg_scale": 7, "scheduler": "dpmpp_2m_k", "clip_skip": 0,
            "model": {"key": "k", "hash": "blake3:aa", "name": "sdxl", "base": "sdxl", "type": "main"},
            "loras": [{"model": {"name": "detail", "key": "x"}, "weight": 0.75}], "vae": {"name": "fixvae"},
            "app_version": "4.2.0"}
    r = read_metadata(rgb_png({"invokeai_metadata": json.dumps(meta), "invokeai_graph": "{}"}))
    assert summary(r) == ("invokeai", "cat", "dog", 30, 7.0, 1, "k_dpmpp_2m", "karras", 1024, 768, "sdxl")
    j = r.to_json()
    assert (j["model_hash"], j["vae"], j["loras"], j["app"]) == ("blake3:aa", "fixvae", [{"path": "detail", "weight": 0.75}], "4.2.0")


def test_invokeai_graph_core_metadata_node() -> None:
    g = {"nodes": {"m": {"type": "core_metadata", "positive_prompt": "owl", "negative_prompt": "", "seed": 3,
                         "steps": 10, "cfg_scale": 5, "scheduler": "euler_a", "width": 512, "height": 512}}}
    r = read_metadata(rgb_png({"invokeai_graph": json.dumps(g)}))
    assert summary(r)[:9] == ("invokeai", "owl", "", 10, 5.0, 3, "k_euler_ancestral", "native", 512)


def test_invokeai_2_sd_metadata() -> None:
    meta = {"model_weights": "stable-diffusion-1.5", "model_hash": "cc6cb27103", "app_version": "2.3.5",
            "image": {"prompt": [{"prompt": "a cat [ugly, blurry]", "weight": 1}], "steps": 50, "cfg_scale": 7.5,
                      "sampler": "k_lms", "seed": 42, "width": 512, "height": 512}}
    r = read_metadata(rgb_png({"sd-metadata": json.dumps(meta)}))
    assert summary(r) == ("invokeai", "a cat", "ugly, blurry", 50, 7.5, 42, "k_lms", "native", 512, 512, "stable-diffusion-1.5")


def test_invokeai_legacy_dream() -> None:
    r = read_metadata(rgb_png({"Dream": '"a cat [ugly]" -s 50 -S 42 -W 512 -H 640 -C 7.5 -A k_euler_a'}))
    assert summary(r)[:10] == ("invokeai", "a cat", "ugly", 50, 7.5, 42, "k_euler_ancestral", "native", 512, 640)


# ------------------------------------------------------------------------------ bounded on hostile input
@pytest.mark.parametrize(
    "chunks",
    [
        {"invokeai_metadata": "[1]"},
        {"sd-metadata": json.dumps({"image": 3})},
        {"Dream": '"unclosed -s 5'},
        {"generation_data": "{"},
        {"parameters-json": json.dumps({"PositivePrompt": "x", "CfgScale": "lots"})},
        {"parameters": json.dumps({"sui_image_params": {"steps": "many"}})},
        {"parameters": json.dumps({"prompt": "x", "resolution": "(big)", "base_model": "m"})},
    ],
    ids=["invoke-list", "sd-metadata-image", "dream-quote", "tensorart-json", "sm-cfg", "swarm-steps", "fooocus-res"],
)
def test_bad_dialect_values_are_one_error_naming_the_field(chunks: dict[str, str]) -> None:
    from peropix_tui.core.metadata import NoMetadataError

    with pytest.raises(NoMetadataError) as e:
        read_metadata(rgb_png(chunks))
    assert "\n" not in str(e.value)



# ------------------------------------------------------------------------------ more carriers
def test_comfyui_apng_comf_chunks_after_the_frames() -> None:
    data = png_bytes(noise_image(8, 8, mode="RGB"))
    end = next(c.offset for c in png.iter_chunks(data) if c.type == b"IEND")
    comf = png.make_chunk(b"comf", b"prompt\x00" + json.dumps(graph("apng fox")).encode())
    r = read_metadata(data[:end] + comf + data[end:])
    assert (r.dialect, r.settings.prompt, r.settings.width) == ("comfyui", "apng fox", 768)


def test_comfyui_workflow_with_civitai_airs_is_civitai() -> None:
    wf = {"nodes": [], "links": [], "extra": {"airs": ["urn:air:sdxl:lora:civitai:1@2"]}}
    r = read_metadata(rgb_png({"prompt": json.dumps(graph()), "workflow": json.dumps(wf)}))
    assert (r.dialect, r.settings.prompt) == ("civitai", "a red fox")


def test_civitai_webp_graph_in_model_extra_metadata_in_user_comment() -> None:
    meta = {"extraMetadata": json.dumps({"prompt": "the civitai prompt", "negativePrompt": "n", "steps": 26})}
    data = exif_image("WEBP", {0x0110: "prompt:" + json.dumps(graph())}, comment=json.dumps(meta))
    r = read_metadata(data)
    assert summary(r) == ("civitai", "the civitai prompt", "n", 26, 6.0, 5, "k_dpmpp_2m", "karras", 768, 1344, "fox-xl")


def test_image_saver_jpeg_infotext_with_graph_in_model() -> None:
    text = "a red fox\nNegative prompt: blurry\nSteps: 26, Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: 5, Size: 768x1344, Model: fox-xl, Version: ComfyUI"
    data = exif_image("JPEG", {0x0110: "prompt:" + json.dumps(graph())}, comment=text)
    r = read_metadata(data)
    assert summary(r) == ("comfyui-saver", "a red fox", "blurry", 26, 6.0, 5, "k_dpmpp_2m", "karras", 768, 1344, "fox-xl")


def test_fooocus_a1111_scheme() -> None:
    text = ("cat\nNegative prompt: ugly\nSteps: 30, Sampler: DPM++ 2M SDE Karras, Scheduler: karras, Seed: 9, "
            "Size: 1152x896, CFG scale: 4, Sharpness: 2, Model: juggernaut, Lora weights: \"offset: 0.1\", Version: Fooocus v2.5.5")
    r = read_metadata(rgb_png({"parameters": text, "fooocus_scheme": "a1111"}))
    assert summary(r) == ("fooocus", "cat", "ugly", 30, 4.0, 9, "k_dpmpp_2m_sde", "karras", 1152, 896, "juggernaut")
    assert [(lo.path, lo.weight) for lo in r.settings.loras] == [("offset", 0.1)]


def test_easydiffusion_json() -> None:
    obj = {"prompt": "cat", "negative_prompt": "dog", "seed": 3, "use_stable_diffusion_model": "sd-v1-5",
           "clip_skip": False, "use_vae_model": "vae-ft", "sampler_name": "euler_a", "width": 512, "height": 512,
           "num_inference_steps": 25, "guidance_scale": 7.5}
    r = read_metadata(exif_image("JPEG", comment=json.dumps(obj)))
    assert summary(r) == ("easydiffusion", "cat", "dog", 25, 7.5, 3, "k_euler_ancestral", r.settings.noise_schedule,
                          512, 512, "sd-v1-5")
    assert r.to_json()["vae"] == "vae-ft" and r.to_json()["noise_schedule"] is None


def test_swarmui_utf16le_user_comment() -> None:
    obj = {"sui_image_params": {"prompt": "猫", "seed": 1, "cfgscale": 7, "sampler": "euler"}}
    exif = Image.Exif()
    exif.get_ifd(0x8769)[USER_COMMENT] = b"UNICODE\x00" + json.dumps(obj, ensure_ascii=False).encode("utf-16-le")
    buf = io.BytesIO()
    noise_image(16, 16, mode="RGB").save(buf, "JPEG", exif=exif)
    r = read_metadata(buf.getvalue())
    assert (r.dialect, r.settings.prompt, r.settings.scale) == ("swarmui", "猫", 7.0)
    assert r.to_json()["steps"] is None


@pytest.mark.parametrize("style", ["snake", "title"])
def test_easydiffusion_png_one_chunk_per_field(style: str) -> None:
    snake = {"prompt": "cat", "negative_prompt": "dog", "seed": "3", "use_stable_diffusion_model": "sd-v1-5",
             "width": "512", "height": "640", "num_inference_steps": "25", "guidance_scale": "7.5", "sampler_name": "dpmpp_2m"}
    title = {"Prompt": "cat", "Negative Prompt": "dog", "Seed": "3", "Stable Diffusion model": "sd-v1-5", "Width": "512",
             "Height": "640", "Steps": "25", "Guidance Scale": "7.5", "Sampler": "dpmpp_2m"}
    r = read_metadata(rgb_png(snake if style == "snake" else title))
    assert summary(r)[:10] == ("easydiffusion", "cat", "dog", 25, 7.5, 3, "k_dpmpp_2m", r.settings.noise_schedule, 512, 640)


DRAW_THINGS = {"c": "a fox &amp; a crow", "uc": "blurry", "seed": 8, "steps": 12, "scale": 4.5, "sampler": "DPM++ 2M Karras",
               "model": "sd_xl_base_1.0_f16.ckpt", "size": "1024x768", "strength": 1,
               "v2": {"loras": [{"file": "detail_lora_f16.ckpt", "weight": 0.6}]}}


def _xmp(obj: dict[str, Any]) -> str:
    body = json.dumps(obj).replace("&amp;", "&").replace("&", "&amp;").replace("<", "&lt;")
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/"><exif:UserComment><rdf:Alt>'
            f'<rdf:li xml:lang="x-default">{body}</rdf:li></rdf:Alt></exif:UserComment></rdf:Description></rdf:RDF></x:xmpmeta>')


@pytest.mark.parametrize("carrier", ["png", "jpeg"])
def test_draw_things_xmp(carrier: str) -> None:
    xmp = _xmp(DRAW_THINGS)
    if carrier == "png":
        data = rgb_png({"XML:com.adobe.xmp": xmp})
    else:
        buf = io.BytesIO()
        noise_image(16, 16, mode="RGB").save(buf, "JPEG", xmp=xmp.encode())
        data = buf.getvalue()
    r = read_metadata(data)
    assert summary(r) == ("drawthings", "a fox & a crow", "blurry", 12, 4.5, 8, "k_dpmpp_2m", "karras", 1024, 768, "sd_xl_base_1.0_f16")
    assert r.to_json()["loras"] == [{"path": "detail_lora_f16.ckpt", "weight": 0.6}]


@pytest.mark.timeout(30)
def test_hostile_xmp_is_bounded() -> None:
    from peropix_tui.core.metadata import NoMetadataError

    for xmp in ("<exif:UserComment>" * 200_000, "<exif:UserComment><rdf:li>" + "{" * 100_000 + "</exif:UserComment>"):
        with pytest.raises(NoMetadataError):
            read_metadata(rgb_png({"XML:com.adobe.xmp": xmp}))


def test_midjourney_description() -> None:
    r = read_metadata(rgb_png({"Description": "a lighthouse at dusk --ar 3:2 --v 6 Job ID: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}))
    j = r.to_json()
    assert (j["dialect"], j["prompt"], j["seed"], j["steps"], j["width"], j["model"]) == (
        "midjourney", "a lighthouse at dusk", None, None, None, None)
    assert r.raw["parameters"] == "--ar 3:2 --v 6"
