"""Strong convergence of Euler–Maruyama (sleepjax's default solver).

For additive noise Euler–Maruyama has strong order 1. Every noise source of
sleepjax is additive (WeightNoise, NeuronNoise, OU stimulus noise), so the
strong error E|y_dt(T) − y(T)| must fall like dt¹. The reference y(T) is a fine
Euler solve driven by the SAME Brownian path: a path given by its values on a
fine grid, whose increments over a coarse step are sums of fine increments.
The slope of log(error) against log(dt) is fitted and compared with 1.

(A multiplicative case, order 1/2, is not tested: sleepjax has no
multiplicative noise source.)
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import pytest

import sleepjax as sj
from sleepjax.plasticity import AntisymmetricSTDP, Dissipation, Gain, SumRule

N = 4
T = 1.6
DTS = (0.2, 0.1, 0.05, 0.025)
H_FINE = 0.025 / 32  # 32 times finer than the finest coarse step
N_PATHS = 32


class GridBrownianPath(diffrax.AbstractBrownianPath):
    """Brownian motion given by its values on a fine grid t0 + k h.

    `evaluate(s, t)` returns B(t) − B(s) for grid points s, t: over a coarse
    step this is exactly the sum of the fine increments, so solves with
    different step sizes see the same Brownian path.
    """

    values: jax.Array  # pytree of arrays with a leading grid axis
    grid_t0: float = eqx.field(static=True)
    h: float = eqx.field(static=True)
    levy_area: type = eqx.field(static=True, default=diffrax.BrownianIncrement)

    @property
    def t0(self):
        return self.grid_t0

    @property
    def t1(self):
        n = jtu.tree_leaves(self.values)[0].shape[0] - 1
        return self.grid_t0 + n * self.h

    def evaluate(self, t0, t1=None, left=True, use_levy=False):
        def index(t):
            return jnp.round((t - self.grid_t0) / self.h).astype(jnp.int32)

        i0, i1 = index(t0), index(t1)
        return jtu.tree_map(lambda b: b[i1] - b[i0], self.values)


def _fine_path(shape, key, t1):
    """A GridBrownianPath with the fine increments of sleepjax's own path."""
    n = round(t1 / H_FINE)
    dB = sj.FoldInBrownianPath(shape, key, 0.0, H_FINE).increments(n)
    values = jtu.tree_map(
        lambda d: jnp.concatenate([jnp.zeros_like(d[:1]), jnp.cumsum(d, axis=0)]), dB
    )
    return GridBrownianPath(values, 0.0, H_FINE)


def _model(stdp_gain, sigma_w, sigma_x):
    """Rate network + gated antisymmetric STDP + dissipation, η = β = τ_y = 1
    (O(1) rates, so that the discretisation error is visible), additive weight
    and neuron noise."""
    return sj.Model(
        sj.dynamics.RateNetwork(n=N),
        SumRule(Gain(AntisymmetricSTDP(tau_y=1.0), stdp_gain), Dissipation(beta=1.0)),
        eta=1.0,
        weight_noise=sj.WeightNoise(sigma_w),
        neuron_noise=sj.NeuronNoise(sigma_x),
    )


# name -> ((STDP gain, σ_W, σ_x), scale of the initial weights)
CASES = {
    # STDP off, no neuron noise: every W_ij is the linear OU process
    # dW = −W dt + dB, independent of the neurons (which W drives).
    "linear OU": ((0.0, 1.0, 0.0), 1.0),
    # STDP on, weight and neuron noise: nonlinear, coupled, still additive.
    "nonlinear": ((1.0, 0.5, 0.5), 1.5),
}


@pytest.fixture(scope="module")
def strong_errors():
    """RMS error of the final state (W and neurons) at each dt in DTS against
    the fine solve, over N_PATHS Brownian paths, for both CASES (which share
    one structure, so each dt is one compilation)."""
    prev = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        models = [_model(*args) for args, _ in CASES.values()]
        W0 = jr.normal(jr.key(2), (N, N))
        states = [
            m.init(jr.key(1), W=scale * W0)
            for m, (_, scale) in zip(models, CASES.values(), strict=True)
        ]
        shape = models[0].noise_shape(states[0])
        models = jtu.tree_map(lambda *a: jnp.stack(a), *models)
        states = jtu.tree_map(lambda *a: jnp.stack(a), *states)
        paths = jax.jit(jax.vmap(lambda k: _fine_path(shape, k, T)))(
            sj.network_keys(0, N_PATHS)
        )

        def final(dt, model, state0, path):
            sim = sj.simulate(model, state0, t0=0.0, t1=T, dt=dt, key=0, brownian=path)
            return jnp.concatenate([sim.final.W.ravel(), sim.final.neurons])

        def run(dt):
            per_path = jax.vmap(final, in_axes=(None, None, None, 0))
            per_model = jax.vmap(per_path, in_axes=(None, 0, 0, None))
            return jax.jit(per_model, static_argnums=0)(dt, models, states, paths)

        ref = run(H_FINE)
        errors = np.array(
            [np.sqrt(np.mean((run(dt) - ref) ** 2, axis=(1, 2))) for dt in DTS]
        ).T
    finally:
        jax.config.update("jax_enable_x64", prev)
    return dict(zip(CASES, errors, strict=True))


def _order(errors):
    slope, _ = np.polyfit(np.log(DTS), np.log(errors), 1)
    return slope


@pytest.mark.parametrize("case", list(CASES))
def test_strong_order_one(strong_errors, case):
    """Euler–Maruyama with additive noise: strong order 1.0 ± 0.2, and the
    error halves with dt (no plateau from the reference or round-off)."""
    errors = strong_errors[case]
    order = _order(errors)
    print(f"\n{case}: errors {errors}, order {order:.3f}")
    assert 0.8 <= order <= 1.2
    assert np.all(errors[1:] < 0.65 * errors[:-1])


def test_grid_path_is_consistent(x64):
    """The coarse increments are sums of the fine ones, and the fine ones are
    sleepjax's FoldInBrownianPath increments (variance h)."""
    shape = jax.ShapeDtypeStruct((3,), jnp.float64)

    @jax.jit
    def parts(key):
        path = _fine_path(shape, key, 512 * H_FINE)
        fine = sj.FoldInBrownianPath(shape, key, 0.0, H_FINE).increments(512)
        return (
            path.evaluate(7 * H_FINE, 8 * H_FINE),
            fine[7],
            path.evaluate(256 * H_FINE, 512 * H_FINE),
            fine[256:].sum(axis=0),
            path.evaluate(0.0, 256 * H_FINE),
        )

    one, one_ref, coarse, total, first = parts(jr.key(5))
    np.testing.assert_allclose(one, one_ref, rtol=1e-12)
    np.testing.assert_allclose(coarse, total, rtol=1e-10)
    assert not np.allclose(first, coarse)
