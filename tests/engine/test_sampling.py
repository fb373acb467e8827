"""σ tables, schedules, the EPS/V denoiser, CFG and the samplers on an analytic denoiser."""

from __future__ import annotations

import math

import pytest
import torch

from peropix_tui.engine.samplers import (
    SAMPLERS,
    NoiseSampler,
    ancestral_step,
    sample,
    sampler_name,
    schedule_name,
)
from peropix_tui.engine.sampling import (
    Conditioning,
    ModelSampling,
    cfg_denoiser,
    get_sigmas,
    img2img_sigmas,
    initial_noise,
    model_denoiser,
    to_denoised,
)

MS = ModelSampling()
ZS = ModelSampling(zsnr=True)


def test_sigma_table_ends() -> None:
    assert MS.sigma_min == pytest.approx(0.029167, abs=1e-6)
    assert MS.sigma_max == pytest.approx(14.614641, abs=1e-5)
    assert len(MS.sigmas) == 1000 and bool((MS.sigmas[1:] > MS.sigmas[:-1]).all())


def test_zero_terminal_snr_table() -> None:
    assert ZS.sigma_max == pytest.approx(4518.76, abs=0.01)
    assert float(ZS.sigmas[-2]) == pytest.approx(2254.2, abs=0.1)
    assert ZS.sigma_min == pytest.approx(MS.sigma_min, rel=1e-6)


KARRAS_20 = [14.6146, 11.7254, 9.3402, 7.3836, 5.7894, 4.4998, 3.4647, 2.6408, 1.9909, 1.4832,
             1.0908, 0.7909, 0.5647, 0.3964, 0.2730, 0.1842, 0.1213, 0.0779, 0.0485, 0.0292, 0.0]


def test_karras_20_golden() -> None:
    assert get_sigmas(MS, "karras", 20).tolist() == pytest.approx(KARRAS_20, abs=1e-4)


@pytest.mark.parametrize(("schedule", "flag"), [("karras", "use_karras_sigmas"), ("exponential", "use_exponential_sigmas")])
def test_schedules_match_diffusers(schedule: str, flag: str) -> None:
    diffusers = pytest.importorskip("diffusers")
    sched = diffusers.EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", **{flag: True}
    )
    sched.set_timesteps(20)
    assert torch.allclose(get_sigmas(MS, schedule, 20), sched.sigmas.float(), atol=5e-5)


def test_exponential_and_polyexponential() -> None:
    exp = get_sigmas(MS, "exponential", 20)
    logs = exp[:-1].log()
    assert torch.allclose(logs[1:] - logs[:-1], (logs[1] - logs[0]).expand(19), atol=1e-5)
    assert torch.allclose(get_sigmas(MS, "polyexponential", 20), exp, atol=1e-5)  # ρ = 1
    poly2 = get_sigmas(MS, "polyexponential", 20, rho=2.0)
    assert poly2[0] == pytest.approx(MS.sigma_max) and poly2[-2] == pytest.approx(MS.sigma_min, rel=1e-5)
    assert not torch.allclose(poly2, exp)


def test_normal_simple_sgm_uniform() -> None:
    normal = get_sigmas(MS, "normal", 5)
    assert normal[0] == pytest.approx(MS.sigma_max) and normal[-2] == pytest.approx(MS.sigma_min, rel=1e-5)
    ts = MS.timestep(normal[:-1])
    assert ts.tolist() == [999, 749, 500, 250, 0]
    assert get_sigmas(MS, "simple", 5).tolist() == pytest.approx(
        [float(MS.sigmas[i]) for i in (999, 799, 599, 399, 199)] + [0.0])
    sgm = get_sigmas(MS, "sgm_uniform", 5)
    assert MS.timestep(sgm[:-1]).tolist() == [999, 799, 599, 400, 200]
    for s in (normal, sgm):
        assert len(s) == 6 and s[-1] == 0


def test_normal_on_zsnr_starts_at_huge_sigma() -> None:
    sig = get_sigmas(ZS, "karras", 10)
    assert sig[0] == pytest.approx(4518.76, abs=0.01)
    assert get_sigmas(ZS, "normal", 10)[0] == pytest.approx(4518.76, abs=0.01)


def test_unknown_schedule_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="noise_schedule.*'bogus'"):
        get_sigmas(MS, "bogus", 10)


def test_timestep_is_nearest_index() -> None:
    table = MS.sigmas
    assert MS.timestep(table[[0, 10, 500, 999]]).tolist() == [0, 10, 500, 999]
    between = (table[10].log() * 0.8 + table[11].log() * 0.2).exp()
    assert int(MS.timestep(between)) == 10
    assert float(MS.sigma(torch.tensor(10.0))) == pytest.approx(float(table[10]), rel=1e-6)


def test_img2img_takes_the_tail_of_a_longer_schedule() -> None:
    sig = img2img_sigmas(MS, "karras", 10, 0.5)
    assert len(sig) == 11
    assert torch.allclose(sig, get_sigmas(MS, "karras", 20)[-11:])
    assert torch.equal(img2img_sigmas(MS, "karras", 10, 1.0), get_sigmas(MS, "karras", 10))


# ------------------------------------------------------------------------------ denoiser and CFG
def test_eps_and_v_denoised_recover_x0() -> None:
    g = torch.manual_seed(0)
    x0, eps = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    sigma = torch.tensor(3.0)
    x = x0 + sigma * eps
    assert torch.allclose(to_denoised("eps", x, eps, sigma), x0, atol=1e-5)
    # v = α·ε − σ_vp·x0 in the VP parameterisation, α = 1/√(σ²+1), σ_vp = σ/√(σ²+1)
    alpha, sigma_vp = 1 / (sigma**2 + 1) ** 0.5, sigma / (sigma**2 + 1) ** 0.5
    v = alpha * eps - sigma_vp * x0
    assert torch.allclose(to_denoised("v", x, v, sigma), x0, atol=1e-5)


def test_model_denoiser_scales_input_and_quantises_timestep() -> None:
    seen: dict[str, torch.Tensor] = {}

    def unet(x, t, context, y):  # type: ignore[no-untyped-def]
        seen["x"], seen["t"] = x, t
        return torch.zeros_like(x)

    cond = Conditioning(torch.zeros(1, 77, 8), torch.zeros(1, 16))
    x = torch.ones(1, 4, 2, 2)
    sigma = MS.sigmas[700]
    out = model_denoiser(unet, MS)(x, sigma, cond)
    assert torch.allclose(seen["x"], x / (sigma**2 + 1) ** 0.5)
    assert seen["t"].tolist() == [700]
    assert torch.equal(out, x)  # ε = 0 ⇒ x0 = x


def _counting_denoiser(calls: list[int]):  # type: ignore[no-untyped-def]
    def denoise(x, sigma, cond):  # type: ignore[no-untyped-def]
        calls.append(x.shape[0])
        return x * 0 + cond.y[:, :1, None, None]  # x0 = a per-sample constant from the conditioning

    return denoise


def test_cfg_combines_and_batches_cond_with_uncond() -> None:
    calls: list[int] = []
    cond = Conditioning(torch.zeros(1, 77, 8), torch.full((1, 4), 2.0))
    uncond = Conditioning(torch.zeros(1, 77, 8), torch.full((1, 4), 1.0))
    guided = cfg_denoiser(_counting_denoiser(calls), cond, uncond, scale=5.0)
    out = guided(torch.zeros(1, 4, 2, 2), torch.tensor(1.0))
    assert calls == [2]  # one batched call
    assert torch.allclose(out, torch.full_like(out, 1.0 + 5.0 * (2.0 - 1.0)))


def test_cfg_one_skips_uncond() -> None:
    calls: list[int] = []
    cond = Conditioning(torch.zeros(1, 77, 8), torch.full((1, 4), 2.0))
    guided = cfg_denoiser(_counting_denoiser(calls), cond, cond, scale=1.0)
    guided(torch.zeros(1, 4, 2, 2), torch.tensor(1.0))
    assert calls == [1]


def test_cfg_rescale_matches_cond_std_in_v_space() -> None:
    g = torch.manual_seed(1)
    x = torch.randn(1, 4, 8, 8, generator=g) * 5
    x0_c, x0_u = torch.randn(1, 4, 8, 8, generator=g), torch.randn(1, 4, 8, 8, generator=g) * 0.5
    sigma = torch.tensor(4.0)
    cond = Conditioning(torch.zeros(1, 1, 1), torch.zeros(1, 1))

    def denoise(xx, s, c):  # type: ignore[no-untyped-def]
        return torch.cat([x0_c, x0_u])

    plain = cfg_denoiser(denoise, cond, cond, scale=7.0)(x, sigma)
    zero = cfg_denoiser(denoise, cond, cond, scale=7.0, rescale=1e-12)(x, sigma)
    assert torch.allclose(plain, zero, atol=1e-4)
    full = cfg_denoiser(denoise, cond, cond, scale=7.0, rescale=1.0)(x, sigma)
    k = (sigma**2 + 1) ** 0.5 / sigma

    def to_v(x0):  # type: ignore[no-untyped-def]
        return (x / (sigma**2 + 1) - x0) * k

    assert float(to_v(full).std()) == pytest.approx(float(to_v(x0_c).std()), rel=1e-4)
    assert not torch.allclose(full, plain)


# --------------------------------------------------------------------- samplers, analytic denoiser
MU, S = 0.5, 0.3  # data ~ N(μ, s²) per element ⇒ E[x0 | x_σ] = (s²x + σ²μ)/(s² + σ²)


def gaussian_denoiser(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    return (S * S * x + sigma * sigma * MU) / (S * S + sigma * sigma)


def start(sigmas: torch.Tensor, seed: int = 1) -> torch.Tensor:
    return MU + torch.randn(1, 4, 64, 64, generator=torch.manual_seed(seed)) * (S * S + sigmas[0] ** 2) ** 0.5


@pytest.mark.parametrize(("name", "steps", "tol"), [("euler", 200, 0.01), ("dpmpp_2m", 30, 0.005)])
def test_ode_samplers_reach_the_data_distribution(name: str, steps: int, tol: float) -> None:
    sig = get_sigmas(MS, "karras", steps)
    out = sample(name, gaussian_denoiser, start(sig), sig)
    assert float(out.mean()) == pytest.approx(MU, abs=0.01)
    assert float(out.std()) == pytest.approx(S, abs=tol)


@pytest.mark.parametrize("name", ["euler_ancestral", "dpmpp_2m_sde", "dpmpp_2s_ancestral", "dpmpp_sde"])
def test_stochastic_samplers_reach_the_data_distribution_and_are_seeded(name: str) -> None:
    sig = get_sigmas(MS, "karras", 200)
    a = sample(name, gaussian_denoiser, start(sig), sig, NoiseSampler([7]))
    assert float(a.mean()) == pytest.approx(MU, abs=0.01)
    assert float(a.std()) == pytest.approx(S, rel=0.05)
    short = get_sigmas(MS, "karras", 8)
    b1 = sample(name, gaussian_denoiser, start(short), short, NoiseSampler([7]))
    b2 = sample(name, gaussian_denoiser, start(short), short, NoiseSampler([7]))
    b3 = sample(name, gaussian_denoiser, start(short), short, NoiseSampler([8]))
    assert torch.equal(b1, b2)
    assert not torch.allclose(b1, b3)


def test_second_order_beats_euler_at_few_steps() -> None:
    sig = get_sigmas(MS, "karras", 10)
    err = {n: abs(float(sample(n, gaussian_denoiser, start(sig), sig).std()) - S) for n in ("euler", "dpmpp_2m")}
    assert err["dpmpp_2m"] < err["euler"] / 4


def test_model_calls_per_step_and_callback() -> None:
    calls: list[float] = []
    steps: list[int] = []

    def counting(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        calls.append(float(sigma))
        return gaussian_denoiser(x, sigma)

    sig = get_sigmas(MS, "karras", 6)
    for name, per_step in (("euler", 1), ("dpmpp_2s_ancestral", 2), ("dpmpp_sde", 2)):
        calls.clear(), steps.clear()
        sample(name, counting, start(sig), sig, NoiseSampler([0]), callback=lambda i, x, d: steps.append(i))
        assert steps == list(range(6))
        assert len(calls) == per_step * 5 + 1  # the last step (σ_next = 0) is a single Euler call


def test_ancestral_step_splits_variance() -> None:
    down, up = ancestral_step(torch.tensor(5.0), torch.tensor(2.0))
    assert float(down**2 + up**2) == pytest.approx(4.0)
    assert 0 < float(up) < 2.0


def test_noise_sampler_gives_each_image_its_own_seed() -> None:
    like = torch.zeros(2, 4, 8, 8)
    both = NoiseSampler([5, 6])(like)
    assert torch.equal(both[1], NoiseSampler([6])(like[:1])[0])
    # one image: exactly ComfyUI's prepare_noise, randn(latent shape, generator=manual_seed(seed)) on the CPU
    assert torch.equal(initial_noise((1, 4, 8, 8), [10]), torch.randn((1, 4, 8, 8), generator=torch.manual_seed(10)))
    first = initial_noise((2, 4, 8, 8), [10, 11])
    assert torch.equal(first[0], torch.randn((4, 8, 8), generator=torch.manual_seed(10)))
    assert torch.equal(first[1], torch.randn((4, 8, 8), generator=torch.manual_seed(11)))


@pytest.mark.parametrize(
    ("given", "expected"),
    [("k_euler_ancestral", "euler_ancestral"), ("k_euler", "euler"), ("k_dpmpp_2m", "dpmpp_2m"),
     ("k_dpmpp_2s_ancestral", "dpmpp_2s_ancestral"), ("k_dpmpp_sde", "dpmpp_sde"),
     ("k_dpmpp_2m_sde", "dpmpp_2m_sde"), ("ddim_v3", "euler"), ("dpmpp_2m", "dpmpp_2m"), ("Euler", "euler")],
)
def test_sampler_names(given: str, expected: str) -> None:
    assert sampler_name(given) == expected


def test_schedule_names_and_unknowns() -> None:
    assert schedule_name("native") == "normal"
    assert schedule_name("karras") == "karras"
    assert schedule_name("sgm_uniform") == "sgm_uniform"
    with pytest.raises(ValueError, match="sampler: unknown sampler 'k_lms'"):
        sampler_name("k_lms")
    with pytest.raises(ValueError, match="noise_schedule"):
        schedule_name("cosine")
    assert set(SAMPLERS) == {"euler", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_2s_ancestral", "dpmpp_sde"}
    assert math.isfinite(MS.sigma_max)


def exact_flow(x_start: torch.Tensor, sigma_start: float, sigma_end: float) -> torch.Tensor:
    """The probability-flow ODE solution for Gaussian data: standardised values are preserved."""
    return MU + (x_start - MU) * ((S * S + sigma_end**2) / (S * S + sigma_start**2)) ** 0.5


@pytest.mark.parametrize(("name", "order", "limit"), [("euler", 1, 0.05), ("dpmpp_2m", 2, 0.002)])
def test_ode_samplers_converge_per_element_at_their_order(name: str, order: int, limit: float) -> None:
    errors = []
    for steps in (16, 32, 64):
        sig = get_sigmas(MS, "exponential", steps)
        x = start(sig)
        out = sample(name, gaussian_denoiser, x, sig)
        # both samplers end with x0 = D(x, σ_min): compare with D at the exact ODE point
        exact = gaussian_denoiser(exact_flow(x, float(sig[0]), float(sig[-2])), sig[-2])
        errors.append(float((out - exact).abs().max()))
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    assert errors[-1] < limit
    assert all(r > 2 ** order * 0.75 for r in ratios), (errors, ratios)


def test_without_noise_the_stochastic_samplers_reduce_to_their_ode_twins() -> None:
    from peropix_tui.engine import samplers as sm

    sig = get_sigmas(MS, "karras", 8)
    x = start(sig)
    noise = NoiseSampler([1])
    assert torch.allclose(sm.euler_ancestral(gaussian_denoiser, x, sig, noise, eta=0.0),
                          sm.euler(gaussian_denoiser, x, sig), atol=1e-5)
    assert torch.allclose(sm.dpmpp_2m_sde(gaussian_denoiser, x, sig, noise, eta=0.0),
                          sm.dpmpp_2m(gaussian_denoiser, x, sig), atol=1e-5)
    assert torch.allclose(sm.dpmpp_sde(gaussian_denoiser, x, sig, noise, eta=0.0),
                          sm.dpmpp_2s_ancestral(gaussian_denoiser, x, sig, noise, eta=0.0), atol=1e-5)


def test_cfg_with_contexts_of_different_length_runs_two_calls() -> None:
    calls: list[int] = []
    cond = Conditioning(torch.zeros(1, 154, 8), torch.full((1, 4), 2.0))
    uncond = Conditioning(torch.zeros(1, 77, 8), torch.full((1, 4), 1.0))
    out = cfg_denoiser(_counting_denoiser(calls), cond, uncond, scale=3.0)(torch.zeros(1, 4, 2, 2), torch.tensor(1.0))
    assert calls == [1, 1]
    assert torch.allclose(out, torch.full_like(out, 1.0 + 3.0 * (2.0 - 1.0)))


def test_brownian_increments_are_normal_and_correlated_like_a_path() -> None:
    like = torch.zeros(1, 4, 128, 128)
    noise = NoiseSampler([4])
    whole = noise.between(like, torch.tensor(4.0), torch.tensor(1.0))
    part = noise.between(like, torch.tensor(4.0), torch.tensor(3.0))
    later = noise.between(like, torch.tensor(1.0), torch.tensor(0.5))
    assert float(whole.std()) == pytest.approx(1.0, abs=0.02) and float(part.std()) == pytest.approx(1.0, abs=0.02)
    corr = float((whole * part).mean())
    assert corr == pytest.approx(1 / 3**0.5, abs=0.02)  # Cov(W4−W1, W4−W3) = 1, normalised by √(3·1)
    assert abs(float((whole * later).mean())) < 0.02  # disjoint intervals are independent
    assert torch.equal(noise.between(like, torch.tensor(4.0), torch.tensor(1.0)), whole)  # a path, not draws
    assert torch.equal(NoiseSampler([4]).between(like, torch.tensor(4.0), torch.tensor(1.0)), whole)


def test_dpmpp_sde_reaches_the_data_distribution_at_30_steps() -> None:
    # its two stages share one Brownian path; independent draws would leave the std ~10 % low here
    sig = get_sigmas(MS, "karras", 30)
    out = sample("dpmpp_sde", gaussian_denoiser, start(sig), sig, NoiseSampler([3]))
    assert float(out.std()) == pytest.approx(S, rel=0.02)
