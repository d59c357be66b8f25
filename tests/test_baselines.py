"""The benchmark baselines (benchmarks/_baselines.py) all do the same work.

Small problem (N = 16, B = 4, 200 Euler steps of dt = 0.1, T = 20):

- without noise every implementation reproduces the floor to float32
  round-off from the shared initial condition;
- with noise, starting every network of the batch from the same state, the
  across-network variance of each weight ("spread") isolates the Wiener
  increments: ≈ η²σ²T = 1.25e-4 for all four, and the pooled statistics of
  W and x agree within sampling error;
- the spread statistic has the power to detect a noise amplitude off by √2.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
bl = importlib.import_module("benchmarks._baselines")
timing = importlib.import_module("benchmarks._timing")

N, B, STEPS, SEED = 16, 4, 200, 0
P = bl.Params()
T = STEPS * P.dt
SPREAD_THEORY = P.eta**2 * P.sigma(N) ** 2 * T  # pure-diffusion variance of W_ij
NAMES = tuple(bl.IMPLEMENTATIONS)


def _combined(a: float, b: float) -> float:
    return float(np.hypot(a, b))


@pytest.fixture(scope="module")
def noisy_stats() -> dict:
    # The VirtualBrownianTree over the whole state pytree takes ~3x longer to
    # compile than over W alone; the diagonal form is covered by diffrax_ubp.
    opts = {"diffrax_vbt": {"diffusion": "w_only"}}
    return bl.check_same_work(N, B, STEPS, SEED, same_init=True, options=opts)


@pytest.fixture(scope="module")
def deterministic() -> dict:
    # Without noise diffrax_ubp and diffrax_vbt are the same ODE solve (they
    # differ only in the adjoint), so one of them suffices here.
    out = {}
    for name in ("floor", "numpy_loop", "diffrax_vbt"):
        b = bl.make(name, N, B, STEPS, SEED, noise=False)
        x, w = b.run()
        out[name] = (np.asarray(x), np.asarray(w), b)
    return out


def test_deterministic_runs_agree_with_floor(deterministic: dict) -> None:
    x_ref, w_ref, _ = deterministic["floor"]
    x0, _, _, w0 = bl.initial_state(N, B, SEED)
    # The solution has moved far from the initial condition, so agreement
    # below is not vacuous.
    assert np.abs(w_ref - w0).max() > 0.05
    assert np.abs(x_ref - x0).max() > 0.5
    for name, (x, w, _) in deterministic.items():
        assert x.shape == (B, N) and w.shape == (B, N, N)
        assert x.dtype == np.float32 and w.dtype == np.float32
        np.testing.assert_allclose(x, x_ref, atol=1e-4, err_msg=name)
        np.testing.assert_allclose(w, w_ref, atol=1e-4, err_msg=name)


def test_diffrax_takes_exactly_n_steps(deterministic: dict) -> None:
    assert deterministic["diffrax_vbt"][2].info["num_steps"]() == STEPS


def test_floor_matches_explicit_euler_step() -> None:
    """One floor step equals the SPEC §1 equations written out by hand."""
    b = bl.floor(N, B, 1, SEED, noise=False)
    x1, w1 = (np.asarray(a, np.float64) for a in b.run())
    x, _, _, w = (a.astype(np.float64) for a in bl.initial_state(N, B, SEED))
    phi = np.tanh(x)  # y0 = xbar0 = 0
    x_exp = x + P.dt * (-x + np.einsum("bij,bj->bi", w, phi))
    dw = P.b * np.eye(N) - np.tanh(x)[:, :, None] * phi[:, None, :]
    w_exp = w + P.dt * P.eta * dw
    np.testing.assert_allclose(x1, x_exp, atol=1e-5)
    np.testing.assert_allclose(w1, w_exp, atol=1e-6)


def test_noise_spread_matches_theory(noisy_stats: dict) -> None:
    for name, s in noisy_stats.items():
        assert s.finite, name
        assert s.w_spread == pytest.approx(SPREAD_THEORY, rel=0.2), name


@pytest.mark.parametrize("name", [n for n in NAMES if n != "floor"])
@pytest.mark.parametrize("field", ["w_mean", "w_var", "x_mean", "x_var", "w_spread"])
def test_statistics_agree_with_floor(noisy_stats: dict, name: str, field: str) -> None:
    a, b = noisy_stats["floor"], noisy_stats[name]
    se = _combined(getattr(a, field + "_se"), getattr(b, field + "_se"))
    diff = abs(getattr(a, field) - getattr(b, field))
    assert diff <= 5 * se, (field, getattr(a, field), getattr(b, field), se)


def test_spread_detects_wrong_noise_amplitude(noisy_stats: dict) -> None:
    """The check has power: σ² doubled (noise × √2) is far outside tolerance."""
    wrong = bl.Params(sigma2=2.0 / N)
    s = bl.check_same_work(N, B, STEPS, SEED, names=("numpy_loop",), params=wrong)
    bad, ref = s["numpy_loop"], noisy_stats["floor"]
    se = _combined(bad.w_spread_se, ref.w_spread_se)
    assert abs(bad.w_spread - ref.w_spread) > 5 * se
    assert bad.w_spread != pytest.approx(SPREAD_THEORY, rel=0.2)
    off = bl.check_same_work(N, B, STEPS, SEED, names=("numpy_loop",), noise=False)
    assert off["numpy_loop"].w_spread < 1e-12


@pytest.mark.parametrize("impl", ["rbg", "unsafe_rbg"])
def test_floor_prng_impls(impl: str) -> None:
    s = bl.check_same_work(N, B, STEPS, SEED, names=("floor",), impl=impl)
    assert s["floor"].w_spread == pytest.approx(SPREAD_THEORY, rel=0.2)


def test_runs_are_repeatable(deterministic: dict) -> None:
    for b in (deterministic["floor"][2], bl.numpy_loop(N, B, 20, SEED)):
        x1, w1 = b.run()
        x2, w2 = b.run()
        np.testing.assert_array_equal(np.asarray(w1), np.asarray(w2))
        np.testing.assert_array_equal(np.asarray(x1), np.asarray(x2))


def test_ubp_refuses_default_adjoint() -> None:
    with pytest.raises(ValueError, match="UnsafeBrownianPath"):
        bl.diffrax_ubp(N, 1, 5, SEED, adjoint=diffrax.RecursiveCheckpointAdjoint())


def test_timing_utilities() -> None:
    calls = []

    def fn() -> jax.Array:
        calls.append(1)
        return jnp.ones(3) * 2

    t = timing.time_call(fn, repeats=3, warmup=2)
    assert t >= 0 and len(calls) == 5
    assert timing.peak_rss_mb() > 10
    m = timing.jit_memory(lambda a: a @ a, jax.ShapeDtypeStruct((64, 64), jnp.float32))
    if m is not None:  # CPU XLA reports it in jax 0.10
        assert m.argument == 64 * 64 * 4 and m.output == 64 * 64 * 4
        assert m.total >= 2 * 64 * 64 * 4
