"""kohya LoRA merge equals W + s·α/r·up@down on UNet (linear and conv) and both text encoders;
unmerge restores every weight bit-exactly; bad LoRAs fail before touching anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from peropix_tui.engine.lora import LoraError, apply_lora, lora_key_map

from .tiny import make_tiny_lora, weights_snapshot


def test_merge_is_w_plus_scaled_up_down_and_unmerge_is_bit_exact(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lora_path = make_tiny_lora(tmp_path / "l.safetensors", rank=4, alpha=2.0)
    lora = load_file(str(lora_path))
    before = weights_snapshot(model)
    targets = lora_key_map(model)
    originals = {base: w.detach().clone() for base, (w, _) in targets.items()}
    handle = apply_lora(model, lora_path, 0.7, clip_weight=0.3)
    bases = {k.rsplit(".", 2)[0] for k in lora if k.endswith("lora_up.weight")}
    assert handle.patched == len(bases) and not handle.unmatched
    kinds = {b.split("_")[1] for b in bases}
    assert kinds == {"unet", "te1", "te2"}
    assert any(targets[b][0].ndim == 4 for b in bases)  # conv (LoCon) targets are covered
    for base in bases:
        w, is_text = targets[base]
        up, down = lora[base + ".lora_up.weight"], lora[base + ".lora_down.weight"]
        s = 0.3 if is_text else 0.7
        expected = originals[base] + s * (2.0 / 4) * (up.flatten(1) @ down.flatten(1)).reshape(w.shape)
        assert torch.allclose(w, expected, atol=1e-6, rtol=0)
        assert not torch.equal(w, originals[base])
    handle.remove()
    after = weights_snapshot(model)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert model.loras == []


def test_lora_changes_unet_output_and_weight_zero_is_identity(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lora_path = make_tiny_lora(tmp_path / "l.safetensors")
    cfg = model.info.unet
    x, ctx, y = torch.randn(1, 4, 8, 8), torch.randn(1, 77, cfg.context_dim), torch.randn(1, cfg.adm_in)
    t = torch.tensor([400.0])
    with torch.inference_mode():
        base = model.unet(x, t, ctx, y)
    h0 = apply_lora(model, lora_path, 0.0)
    with torch.inference_mode():
        assert torch.equal(model.unet(x, t, ctx, y), base)
    h0.remove()
    h1 = apply_lora(model, lora_path, 1.0)
    with torch.inference_mode():
        assert (model.unet(x, t, ctx, y) - base).abs().max() > 1e-3
    h1.remove()
    with torch.inference_mode():
        assert torch.equal(model.unet(x, t, ctx, y), base)


def test_two_loras_stack_and_must_be_removed_newest_first(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = weights_snapshot(model)
    a = apply_lora(model, make_tiny_lora(tmp_path / "a.safetensors", seed=1), 1.0)
    b = apply_lora(model, make_tiny_lora(tmp_path / "b.safetensors", seed=2, every=2), 0.5)
    with pytest.raises(LoraError, match="reverse order"):
        a.remove()
    b.remove()
    a.remove()
    after = weights_snapshot(model)
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_alpha_defaults_to_rank_and_peft_names_work(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k"
    w = lora_key_map(model)[base][0]
    orig = w.detach().clone()
    up, down = torch.randn(w.shape[0], 2), torch.randn(2, w.shape[1])
    save_file({f"{base}.lora_B.weight": up, f"{base}.lora_A.weight": down}, str(tmp_path / "p.safetensors"))
    h = apply_lora(model, tmp_path / "p.safetensors", 0.5)
    assert torch.allclose(w, orig + 0.5 * up @ down, atol=1e-6)
    h.remove()
    assert torch.equal(w, orig)


def test_bad_loras_fail_clearly_and_touch_nothing(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = weights_snapshot(model)
    other = tmp_path / "sd15.safetensors"
    save_file({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": torch.zeros(4, 2),
               "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": torch.zeros(2, 4)}, str(other))
    with pytest.raises(LoraError, match="sd15.safetensors: no LoRA tensor matches"):
        apply_lora(model, other, 1.0)
    wrong = tmp_path / "wrong.safetensors"
    good = load_file(str(make_tiny_lora(tmp_path / "g.safetensors")))
    key = sorted(k for k in good if k.endswith("lora_up.weight"))[-1]
    good[key] = torch.zeros(good[key].shape[0] + 1, *good[key].shape[1:])
    save_file(good, str(wrong))
    with pytest.raises(LoraError, match="wrong.safetensors: .* another model"):
        apply_lora(model, wrong, 1.0)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00" * 3 + b"not a lora")
    with pytest.raises(LoraError, match="garbage.safetensors"):
        apply_lora(model, garbage, 1.0)
    loha = tmp_path / "loha.safetensors"
    save_file({"lora_unet_out_2.hada_w1_a": torch.zeros(2, 2), "lora_unet_out_2.hada_w1_b": torch.zeros(2, 2)}, str(loha))
    with pytest.raises(LoraError, match="loha.safetensors: lora_unet_out_2 is an incomplete LoHa: missing hada_w2_a"):
        apply_lora(model, loha, 1.0)
    with pytest.raises(LoraError, match="no such LoRA"):
        apply_lora(model, tmp_path / "absent.safetensors", 1.0)
    after = weights_snapshot(model)
    assert all(torch.equal(before[k], after[k]) for k in before) and model.loras == []


def test_diffusers_names_agree_with_the_diffusers_converter(model) -> None:  # type: ignore[no-untyped-def]
    """Every UNet weight's diffusers alias is where diffusers' own converter puts that tensor."""
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint

    from peropix_tui.engine.lora import _sgm_to_diffusers, unet_diffusers_names

    from .oracle import unet_config

    own = model.unet.state_dict()
    sd = {"model.diffusion_model." + k: v for k, v in own.items()}
    converted = convert_ldm_unet_checkpoint(sd, unet_config(model.info.unet))
    where = {id(v): k for k, v in converted.items()}
    names = unet_diffusers_names(model.info.unet)
    checked = 0
    for key, tensor in own.items():
        if key.endswith(".weight") and tensor.ndim >= 2:
            alias = _sgm_to_diffusers(key[: -len(".weight")], names)
            assert alias is not None, key
            assert where[id(tensor)] == alias + ".weight", key
            checked += 1
    assert checked > 100


def test_onetrainer_and_peft_named_loras_equal_the_sgm_named_one(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from peropix_tui.engine.lora import _sgm_to_diffusers, unet_diffusers_names

    sgm = load_file(str(make_tiny_lora(tmp_path / "sgm.safetensors", every=3)))
    names = unet_diffusers_names(model.info.unet)
    sgm_names = {"lora_unet_" + n.replace(".", "_"): n for n, m in model.unet.named_modules()
                 if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)}
    kohya_diff, peft = {}, {}
    for key, t in sgm.items():
        base, _, sfx = key.partition(".")
        if base.startswith("lora_unet_"):
            alias = _sgm_to_diffusers(sgm_names[base], names)
            kohya_diff[f"lora_unet_{alias.replace('.', '_')}.{sfx}"] = t
            peft_sfx = sfx.replace("lora_up", "lora_B").replace("lora_down", "lora_A")
            if sfx != "alpha":
                peft[f"unet.{alias}.{peft_sfx}"] = t * (2.0 / 4) ** 0.5  # PEFT has no alpha: fold it in
    save_file(kohya_diff, str(tmp_path / "ot.safetensors"))
    save_file(peft, str(tmp_path / "peft.safetensors"))
    results = []
    for name in ("sgm", "ot", "peft"):
        h = apply_lora(model, tmp_path / f"{name}.safetensors", 1.0, clip_weight=0.0)
        results.append({k: v.clone() for k, v in model.unet.state_dict().items()})
        h.remove()
    assert any(not torch.equal(results[0][k], v) for k, v in model.unet.state_dict().items())
    for other in results[1:]:
        assert all(torch.allclose(results[0][k], other[k], atol=1e-6) for k in other)


def test_locon_tucker_merge_equals_the_three_conv_chain(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A Tucker LoCon is conv1×1(down) → conv k×k(mid) → conv1×1(up); its merged delta must act the same."""
    import torch.nn.functional as F

    base = "lora_unet_input_blocks_1_0_in_layers_2"
    w = lora_key_map(model)[base][0]
    orig = w.detach().clone()
    r = 3
    gen = torch.Generator().manual_seed(9)
    down = torch.randn(r, w.shape[1], 1, 1, generator=gen) * 0.1
    mid = torch.randn(r, r, 3, 3, generator=gen) * 0.1
    up = torch.randn(w.shape[0], r, 1, 1, generator=gen) * 0.1
    save_file({f"{base}.lora_down.weight": down, f"{base}.lora_mid.weight": mid, f"{base}.lora_up.weight": up,
               f"{base}.alpha": torch.tensor(6.0)}, str(tmp_path / "tucker.safetensors"))
    h = apply_lora(model, tmp_path / "tucker.safetensors", 0.5)
    x = torch.randn(1, w.shape[1], 9, 7, generator=gen)
    merged = F.conv2d(x, w - orig, padding=1)
    chain = F.conv2d(F.conv2d(F.conv2d(x, down), mid, padding=1), up) * (0.5 * 6.0 / r)
    assert merged.abs().max() > 1e-3
    assert (merged - chain).abs().max().item() < 1e-5
    h.remove()
    assert torch.equal(w, orig)
