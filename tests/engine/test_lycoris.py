"""LyCORIS files (LoHa, LoKr, DoRA, full diff) merged into the tiny SDXL model equal references written
out here independently (sums of outer products, Kronecker blocks filled one by one, per-row DoRA norms);
unmerge is bit-exact, they stack with plain LoRAs, and bad files fail before any weight changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from peropix_tui.engine.checkpoint import load_checkpoint
from peropix_tui.engine.lora import (
    LoraError,
    _sgm_to_diffusers,
    apply_lora,
    lora_key_map,
    unet_diffusers_names,
)

from .tiny import make_tiny_loha, make_tiny_lokr, make_tiny_lora, weights_snapshot, with_dora_scale

UNET_W, CLIP_W = 0.7, 0.3


def _unchanged(model, before: dict[str, torch.Tensor]) -> bool:  # type: ignore[no-untyped-def]
    after = weights_snapshot(model)
    return all(torch.equal(before[k], after[k]) for k in before)


# --- references: the maths written out, not calling the engine ---------------------------------------

def ref_lora(sd: dict[str, torch.Tensor], base: str, shape: torch.Size) -> torch.Tensor:
    up, down = sd[f"{base}.lora_up.weight"], sd[f"{base}.lora_down.weight"]
    rank = down.shape[0]
    out = sum(torch.outer(up.flatten(1)[:, i], down.flatten(1)[i]) for i in range(rank))
    return out.reshape(shape) * (float(sd[f"{base}.alpha"]) / rank)


def ref_loha(sd: dict[str, torch.Tensor], base: str, shape: torch.Size) -> torch.Tensor:
    """(w1_a @ w1_b) ⊙ (w2_a @ w2_b) as sums of rank-1 terms; Tucker: Σ_pq t[p,q] · w_a[p] ⊗ w_b[q]."""
    factors = []
    for n in ("1", "2"):
        w_a, w_b = sd[f"{base}.hada_w{n}_a"], sd[f"{base}.hada_w{n}_b"]
        t = sd.get(f"{base}.hada_t{n}")
        if t is None:
            f = sum(torch.outer(w_a[:, i], w_b[i]) for i in range(w_b.shape[0])).reshape(shape)
        else:
            f = torch.zeros(shape)
            for p in range(t.shape[0]):
                for q in range(t.shape[1]):
                    f += t[p, q][None, None] * w_a[p][:, None, None, None] * w_b[q][None, :, None, None]
        factors.append(f)
    alpha = float(sd[f"{base}.alpha"])
    return factors[0] * factors[1] * (alpha / sd[f"{base}.hada_w1_b"].shape[0])


def ref_lokr(sd: dict[str, torch.Tensor], base: str, shape: torch.Size) -> torch.Tensor:
    """Block (i, j) of ΔW is w1[i, j] · w2: filled block by block."""
    g = sd.get
    w1 = g(f"{base}.lokr_w1")
    if w1 is None:
        w1 = g(f"{base}.lokr_w1_a") @ g(f"{base}.lokr_w1_b")
    a, c = w1.shape
    b, d, kernel = shape[0] // a, shape[1] // c, tuple(shape[2:])
    w2, w2_a, w2_b, t2 = g(f"{base}.lokr_w2"), g(f"{base}.lokr_w2_a"), g(f"{base}.lokr_w2_b"), g(f"{base}.lokr_t2")
    if t2 is not None:
        w2 = torch.zeros(b, d, *kernel)
        for p in range(t2.shape[0]):
            for q in range(t2.shape[1]):
                w2 += t2[p, q][None, None] * w2_a[p][:, None, None, None] * w2_b[q][None, :, None, None]
    elif w2 is None:
        w2 = torch.einsum("pr,rq...->pq...", w2_a, w2_b.reshape(w2_b.shape[0], d, *kernel))
    out = torch.empty(shape)
    for i in range(a):
        for j in range(c):
            out[i * b:(i + 1) * b, j * d:(j + 1) * d] = w1[i, j] * w2
    low_rank = g(f"{base}.lokr_w1_b", g(f"{base}.lokr_w2_b"))
    gamma = 1.0 if low_rank is None else float(sd[f"{base}.alpha"]) / low_rank.shape[0]
    return out * gamma


def ref_delta(sd: dict[str, torch.Tensor], base: str, shape: torch.Size) -> torch.Tensor:
    if f"{base}.lora_up.weight" in sd:
        return ref_lora(sd, base, shape)
    return ref_loha(sd, base, shape) if f"{base}.hada_w1_a" in sd else ref_lokr(sd, base, shape)


def ref_merge(sd: dict[str, torch.Tensor], base: str, w: torch.Tensor, s: float) -> torch.Tensor:
    """W + s·ΔW, or with DoRA: W + s·(m · V/‖V‖ − W), V = W + ΔW, the norm row by row or column by column."""
    delta = ref_delta(sd, base, w.shape)
    m = sd.get(f"{base}.dora_scale")
    if m is None:
        return w + s * delta
    v = w + delta
    dora = torch.empty_like(v)
    if m.shape[0] == w.shape[0]:
        for o in range(w.shape[0]):
            dora[o] = m.flatten()[o] * v[o] / v[o].norm()
    else:
        for c in range(w.shape[1]):
            dora[:, c] = m.flatten()[c] * v[:, c] / v[:, c].norm()
    return w + s * (dora - w)


# --- merges ----------------------------------------------------------------------------------------

KINDS = {
    "loha": lambda p, m: make_tiny_loha(p),
    "loha-tucker-conv": lambda p, m: make_tiny_loha(p, tucker=True, alpha=3.0),
    "lokr-full": lambda p, m: make_tiny_lokr(p, alpha=4.0),  # alpha ignored: both factors are full
    "lokr-decomposed": lambda p, m: make_tiny_lokr(p, decompose=(True, True), alpha=3.0, rank=2),
    "lokr-w2-only-tucker-conv": lambda p, m: make_tiny_lokr(p, decompose=(False, True), tucker=True, alpha=1.0),
    "dora-lora-on-output": lambda p, m: with_dora_scale(make_tiny_lora(p.with_suffix(".l"), every=2), p, _weights(m),
                                                        on_output=True),
    "dora-lora-on-input": lambda p, m: with_dora_scale(make_tiny_lora(p.with_suffix(".l"), every=2), p, _weights(m),
                                                       on_output=False),
    "dora-loha-tucker-conv": lambda p, m: with_dora_scale(make_tiny_loha(p.with_suffix(".h"), tucker=True, every=2),
                                                          p, _weights(m), on_output=False),
    "dora-lokr": lambda p, m: with_dora_scale(make_tiny_lokr(p.with_suffix(".k"), decompose=(False, True), every=2), p,
                                              _weights(m), on_output=False),
}


def _weights(model) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    return {base: w for base, (w, _) in lora_key_map(model).items()}


@pytest.mark.parametrize("kind", list(KINDS))
def test_merge_equals_reference_changes_unet_and_unmerges_bit_exactly(model, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    path = KINDS[kind](tmp_path / f"{kind}.safetensors", model)
    sd = load_file(str(path))
    bases = {k.split(".", 1)[0] for k in sd}
    targets = lora_key_map(model)
    originals = {base: targets[base][0].detach().clone() for base in bases}
    before = weights_snapshot(model)
    cfg = model.info.unet
    gen = torch.Generator().manual_seed(0)
    x, ctx, y = torch.randn(1, 4, 8, 8, generator=gen), torch.randn(1, 77, cfg.context_dim, generator=gen), \
        torch.randn(1, cfg.adm_in, generator=gen)
    t = torch.tensor([400.0])
    with torch.inference_mode():
        out0 = model.unet(x, t, ctx, y)

    handle = apply_lora(model, path, UNET_W, clip_weight=CLIP_W)
    assert handle.patched == len(bases) and not handle.unmatched
    assert {b.split("_")[1] for b in bases} == {"unet", "te1", "te2"}
    assert any(targets[b][0].ndim == 4 for b in bases)
    for base in sorted(bases):
        w, is_text = targets[base]
        expected = ref_merge(sd, base, originals[base], CLIP_W if is_text else UNET_W)
        assert torch.allclose(w, expected, atol=2e-5, rtol=1e-5), base
        assert not torch.equal(w, originals[base]), base
    with torch.inference_mode():
        assert (model.unet(x, t, ctx, y) - out0).abs().max() > 1e-3
    handle.remove()
    assert _unchanged(model, before) and model.loras == []


def test_tucker_conventions_agree_with_conv_chains(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A Tucker factor is conv1×1(w_b) → conv k×k(t) → conv1×1(w_aᵀ): the merged LoKr-Tucker (w1 = [[1]]) acts
    like that chain, which pins which Tucker index meets w_a and which meets w_b."""
    import torch.nn.functional as F

    base = "lora_unet_input_blocks_1_0_in_layers_2"
    w = lora_key_map(model)[base][0]
    orig = w.detach().clone()
    gen = torch.Generator().manual_seed(8)
    r = 3
    t2 = torch.randn(r, r, 3, 3, generator=gen)
    w2_a, w2_b = torch.randn(r, w.shape[0], generator=gen), torch.randn(r, w.shape[1], generator=gen)
    save_file({f"{base}.lokr_w1": torch.ones(1, 1), f"{base}.lokr_t2": t2, f"{base}.lokr_w2_a": w2_a,
               f"{base}.lokr_w2_b": w2_b, f"{base}.alpha": torch.tensor(float(r))}, str(tmp_path / "t.safetensors"))
    h = apply_lora(model, tmp_path / "t.safetensors", 1.0)
    x = torch.randn(1, w.shape[1], 6, 5, generator=gen)
    merged = F.conv2d(x, w - orig, padding=1)
    chain = F.conv2d(F.conv2d(F.conv2d(x, w2_b[:, :, None, None]), t2, padding=1), w2_a.T[:, :, None, None])
    assert (merged - chain).abs().max().item() < 1e-3 * chain.abs().max().item()
    h.remove()
    assert torch.equal(w, orig)


def test_dora_strength_zero_is_identity_and_peft_magnitude_is_output_axis(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    weights = _weights(model)
    path = with_dora_scale(make_tiny_lora(tmp_path / "l.safetensors", every=4), tmp_path / "d.safetensors", weights,
                           on_output=True)
    before = weights_snapshot(model)
    h = apply_lora(model, path, 0.0)
    assert h.patched > 0 and _unchanged(model, before)
    h.remove()
    # PEFT names: unet.<diffusers name>.lora_A/lora_B.weight + .lora_magnitude_vector [out]
    base = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"
    alias = _sgm_to_diffusers("input_blocks.4.1.transformer_blocks.0.attn1.to_q", unet_diffusers_names(model.info.unet))
    w = weights[base]
    orig = w.detach().clone()
    gen = torch.Generator().manual_seed(2)
    up, down = torch.randn(w.shape[0], 2, generator=gen) * 0.1, torch.randn(2, w.shape[1], generator=gen) * 0.1
    m = orig.norm(dim=1) * 1.2
    save_file({f"unet.{alias}.lora_B.weight": up, f"unet.{alias}.lora_A.weight": down,
               f"unet.{alias}.lora_magnitude_vector": m}, str(tmp_path / "peft.safetensors"))
    h = apply_lora(model, tmp_path / "peft.safetensors", 0.5)
    v = orig + up @ down
    expected = orig + 0.5 * (m[:, None] * v / v.norm(dim=1, keepdim=True) - orig)
    assert torch.allclose(w, expected, atol=1e-6)
    h.remove()
    assert torch.equal(w, orig)


def test_full_diff_with_bias_under_the_lycoris_prefix(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sgm = "input_blocks.4.1.proj_in"
    alias = _sgm_to_diffusers(sgm, unet_diffusers_names(model.info.unet))
    mod = model.unet.get_submodule(sgm)
    w0, b0 = mod.weight.detach().clone(), mod.bias.detach().clone()
    gen = torch.Generator().manual_seed(6)
    diff, diff_b = torch.randn(w0.shape, generator=gen) * 0.01, torch.randn(b0.shape, generator=gen) * 0.01
    name = "lycoris_" + alias.replace(".", "_")
    save_file({f"{name}.diff": diff, f"{name}.diff_b": diff_b}, str(tmp_path / "full.safetensors"))
    h = apply_lora(model, tmp_path / "full.safetensors", 0.7)
    assert h.patched == 2 and not h.unmatched
    assert torch.allclose(mod.weight, w0 + 0.7 * diff, atol=1e-7)
    assert torch.allclose(mod.bias, b0 + 0.7 * diff_b, atol=1e-7)
    h.remove()
    assert torch.equal(mod.weight, w0) and torch.equal(mod.bias, b0)


def test_mixed_stack_with_plain_lora_then_removed_newest_first(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = weights_snapshot(model)
    targets = lora_key_map(model)
    current = {base: w.detach().clone() for base, (w, _) in targets.items()}
    plain = make_tiny_lora(tmp_path / "plain.safetensors", every=2)
    loha = make_tiny_loha(tmp_path / "loha.safetensors", tucker=True, every=3)
    dora_lokr = with_dora_scale(make_tiny_lokr(tmp_path / "k.safetensors", decompose=(True, True), every=2),
                                tmp_path / "dk.safetensors", _weights(model), on_output=True)
    handles = []
    for path, s, cs in ((plain, 1.0, 0.5), (loha, UNET_W, CLIP_W), (dora_lokr, 0.5, 0.5)):
        sd = load_file(str(path))
        for base in {k.split(".", 1)[0] for k in sd}:
            current[base] = ref_merge(sd, base, current[base], cs if targets[base][1] else s)
        handles.append(apply_lora(model, path, s, clip_weight=cs))
    touched = {k.split(".", 1)[0] for p in (plain, loha, dora_lokr) for k in load_file(str(p))}
    assert len(touched) > 50
    for base in touched:
        assert torch.allclose(targets[base][0], current[base], atol=5e-5, rtol=1e-5), base
    with pytest.raises(LoraError, match="reverse order"):
        handles[1].remove()
    for h in reversed(handles):
        h.remove()
    assert _unchanged(model, before) and model.loras == []


def test_half_precision_model_merges_in_fp32_and_unmerges_bit_exactly(tiny_ckpt: Path, tmp_path: Path) -> None:
    model = load_checkpoint(tiny_ckpt, dtype=torch.bfloat16)
    before = weights_snapshot(model)
    targets = lora_key_map(model)
    path = with_dora_scale(make_tiny_lokr(tmp_path / "k.safetensors", decompose=(False, True), every=3),
                           tmp_path / "dk.safetensors", _weights(model), on_output=True)
    sd = load_file(str(path))
    originals = _originals(before, model)
    h = apply_lora(model, path, UNET_W, clip_weight=CLIP_W)
    for base in {k.split(".", 1)[0] for k in sd}:
        w, is_text = targets[base]
        assert w.dtype == torch.bfloat16
        orig = originals[base]
        expected = ref_merge(sd, base, orig, CLIP_W if is_text else UNET_W)
        assert torch.allclose(w.float(), expected, rtol=2**-7, atol=1e-3), base  # within bf16 rounding
        assert not torch.equal(w.float(), orig)
    h.remove()
    assert _unchanged(model, before)


def _originals(snapshot: dict[str, torch.Tensor], model) -> dict[str, torch.Tensor]:  # type: ignore[no-untyped-def]
    """Each target's weight before merging, from the snapshot, in fp32."""
    where = {id(p): f"{prefix}.{name}" for prefix, part in (("unet", model.unet), ("l", model.clip_l), ("g", model.clip_g))
             for name, p in part.named_parameters()}
    return {base: snapshot[where[id(w)]].float() for base, (w, _) in lora_key_map(model).items()}


# --- bad files -------------------------------------------------------------------------------------

BASE = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k"


def _bad_files(tmp_path: Path, model) -> dict[str, tuple[dict[str, torch.Tensor], str]]:  # type: ignore[no-untyped-def]
    w = lora_key_map(model)[BASE][0]
    o, i = w.shape
    z = torch.zeros
    good = load_file(str(make_tiny_loha(tmp_path / "good.safetensors")))
    last = sorted(k for k in good if k.endswith("hada_w2_a"))[-1]
    wrong_loha = {**good, last: z(good[last].shape[0] + 1, good[last].shape[1])}
    return {
        "loha_shape": (wrong_loha, r"loha_shape.safetensors: .* \(LoHa: hada_w1_a.* does not fit .* another model"),
        "lokr_shape": ({f"{BASE}.lokr_w1": z(3, 4), f"{BASE}.lokr_w2": z(o // 3, i // 4)},
                       "lokr_shape.safetensors: .*LoKr.* does not fit the model weight"),
        "dora_shape": ({f"{BASE}.lora_up.weight": z(o, 2), f"{BASE}.lora_down.weight": z(2, i),
                        f"{BASE}.dora_scale": z(o + 1, 1)}, "dora_shape.safetensors: .*DoRA LoRA.* does not fit"),
        "oft": ({f"{BASE}.oft_blocks": z(4, 8, 8), f"{BASE}.alpha": torch.tensor(1.0)},
                "oft.safetensors: OFT/BOFT adapters are not supported"),
        "glora": ({f"{BASE}.a1.weight": z(2, i), f"{BASE}.a2.weight": z(o, 2), f"{BASE}.b1.weight": z(2, i),
                   f"{BASE}.b2.weight": z(o, 2)}, "glora.safetensors: GLoRA adapters are not supported"),
        "w_norm": ({"lora_unet_out_0.w_norm": z(32), "lora_unet_out_0.b_norm": z(32)},
                   r"w_norm.safetensors: norm-layer \(b_norm\), norm-layer \(w_norm\) adapters are not supported"),
        "half_pair": ({f"{BASE}.lora_up.weight": z(o, 2), f"{BASE}.alpha": torch.tensor(1.0)},
                      f"half_pair.safetensors: {BASE} is an incomplete LoRA: missing lora_down.weight"),
        "half_loha": ({f"{BASE}.hada_w1_a": z(o, 2), f"{BASE}.hada_w1_b": z(2, i), f"{BASE}.hada_w2_a": z(o, 2)},
                      "half_loha.safetensors: .* incomplete LoHa: missing hada_w2_b$"),
        "lokr_no_w2": ({f"{BASE}.lokr_w1": z(4, 4)}, r"incomplete LoKr: missing lokr_w2 \(or lokr_w2_a and lokr_w2_b\)"),
        "dora_alone": ({f"{BASE}.dora_scale": z(o, 1)}, "dora_alone.safetensors: .* DoRA magnitude .* but no"),
        "mixed": ({f"{BASE}.lora_up.weight": z(o, 2), f"{BASE}.lora_down.weight": z(2, i),
                   f"{BASE}.hada_w1_a": z(o, 2)}, "mixed.safetensors: .* mixes LoRA and LoHa tensors"),
        "no_bias": ({f"{BASE}.diff": z(o, i), f"{BASE}.diff_b": z(o)}, "no_bias.safetensors: .* has no bias"),
    }


def test_bad_files_fail_clearly_and_touch_nothing(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = weights_snapshot(model)
    for name, (tensors, message) in _bad_files(tmp_path, model).items():
        path = tmp_path / f"{name}.safetensors"
        save_file(tensors, str(path))
        with pytest.raises(LoraError, match=message):
            apply_lora(model, path, 1.0)
    assert _unchanged(model, before) and model.loras == []


# --- cross-check against LyCORIS itself (dev-only oracle: the network as it was trained) ------------

def _lycoris_cases(layer: str) -> dict[str, tuple[torch.nn.Module, object]]:
    """(LyCORIS module wrapping a fresh ``layer``, our adapter) built from the same random tensors."""
    from lycoris.functional.general import factorization
    from lycoris.modules.locon import LoConModule
    from lycoris.modules.loha import LohaModule
    from lycoris.modules.lokr import LokrModule

    from peropix_tui.engine.lora import LoraPair
    from peropix_tui.engine.lycoris import DoRA, LoHa, LoKr

    gen = torch.Generator().manual_seed(11)

    def g(*shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=gen) * 0.3

    def org() -> torch.nn.Module:
        return torch.nn.Linear(48, 64) if layer == "linear" else torch.nn.Conv2d(32, 64, 3, padding=1)

    w = org().weight
    o, i, k = w.shape[0], w.shape[1], tuple(w.shape[2:])
    kk, r, alpha = (9 if k else 1), 4, torch.tensor(3.0)
    (a, b), (c, d) = factorization(o, -1), factorization(i, -1)
    loha = dict(w1a=g(o, r), w1b=g(r, i * kk), w2a=g(o, r), w2b=g(r, i * kk), t1=None, t2=None)
    if k:
        loha = dict(w1a=g(r, o), w1b=g(r, i), w2a=g(r, o), w2b=g(r, i), t1=g(r, r, *k), t2=g(r, r, *k))
    lokr_full = dict(w1=g(a, c), w2=g(b, d, *k))
    lokr_both = dict(w1a=g(a, 2), w1b=g(2, c), w2a=g(b, 2), w2b=g(2, d * kk))
    if k:
        lokr_both = dict(w1a=g(a, 2), w1b=g(2, c), t2=g(2, 2, *k), w2a=g(2, b), w2b=g(2, d))
    cases: dict[str, tuple[torch.nn.Module, object]] = {
        "loha": (LohaModule.make_module_from_state_dict("x", org(), *loha.values(), alpha, None),
                 LoHa(loha["w1a"], loha["w1b"], loha["w2a"], loha["w2b"], 3.0, loha["t1"], loha["t2"])),
    }
    for name, t in (("lokr-full", lokr_full), ("lokr-decomposed", lokr_both)):
        n = t.get
        cases[name] = (LokrModule.make_module_from_state_dict("x", org(), n("w1"), n("w1a"), n("w1b"), n("w2"), n("w2a"),
                                                              n("w2b"), None, n("t2"), alpha, None),
                       LoKr(n("w1"), n("w1a"), n("w1b"), n("w2"), n("w2a"), n("w2b"), n("t2"), 3.0))
    for on_out in (True, False):
        up, down = g(o, r, *[1] * len(k)), g(r, i, *k)
        mod = LoConModule("x", org(), 1.0, r, 3.0, weight_decompose=True, wd_on_out=on_out, wd_on_output=on_out)
        mod.lora_up.weight.copy_(up)
        mod.lora_down.weight.copy_(down)
        mod.dora_scale.mul_(1 + 0.1 * torch.randn(mod.dora_scale.shape, generator=gen))
        cases[f"dora-{'out' if on_out else 'in'}"] = (mod, DoRA(LoraPair(up, down, 3.0), mod.dora_scale.detach().clone()))
    return cases


@pytest.mark.parametrize("layer", ["linear", "conv"])
def test_merged_weights_act_like_lycoris_modules(layer: str) -> None:
    """Needs the ``lycoris-lora`` package (dev-only): its modules' forward is the network as trained."""
    pytest.importorskip("lycoris.modules.lokr", reason="LyCORIS (pip package lycoris-lora) is not installed")
    import torch.nn.functional as F

    torch.manual_seed(0)
    with torch.no_grad():
        for name, (mod, adapter) in _lycoris_cases(layer).items():
            org = mod.org_module[0]
            mod.apply_to()
            mod.eval()
            x = torch.randn(2, 32, 7, 6) if layer == "conv" else torch.randn(3, 48)
            for s in (1.0, 0.5) if not name.startswith("dora") else (1.0,):  # DoRA at s≠1: ComfyUI's blend
                mod.multiplier = s
                merged = org.weight + adapter.delta(org.weight, s)  # type: ignore[attr-defined]
                ours = F.conv2d(x, merged, org.bias, padding=1) if layer == "conv" else F.linear(x, merged, org.bias)
                theirs = mod(x)
                assert (ours - theirs).abs().max() <= 1e-5 * theirs.abs().max(), (name, s)
