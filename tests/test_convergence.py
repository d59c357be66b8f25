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

import sleepjax as sj
from sleepjax.plasticity import AntisymmetricSTDP, Dissipation, SumRule

T = 1.6
DTS = (0.4, 0.2, 0.1, 0.05)
H_FINE = 0.4 / 256  # 32 times finer than the finest coarse step
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


def _strong_errors(model, state0):
    """RMS error of the final state (W and neurons) at each dt in DTS against
    the fine solve, over N_PATHS Brownian paths."""
    shape = model.noise_shape(state0)
    keys = sj.network_keys(0, N_PATHS)
    paths = jax.jit(jax.vmap(lambda k: _fine_path(shape, k, T)))(keys)

    def final(dt, path):
        sim = sj.simulate(model, state0, t0=0.0, t1=T, dt=dt, brownian=path, key=0)
        return jnp.concatenate([sim.final.W.ravel(), sim.final.neurons])

    ref = jax.jit(jax.vmap(lambda p: final(H_FINE, p)))(paths)
    errors = []
    for dt in DTS:
        y = jax.jit(jax.vmap(lambda p, dt=dt: final(dt, p)))(paths)
        errors.append(float(jnp.sqrt(jnp.mean((y - ref) ** 2))))
    return np.array(errors)


def _order(errors):
    slope, _ = np.polyfit(np.log(DTS), np.log(errors), 1)
    return slope


def test_strong_order_linear_ou(x64):
    """Dissipation + weight noise: every W_ij is the linear OU process
    dW = −ηβ W dt + ησ dB (η = β = σ = 1: O(1) rates so that the error is
    visible), neurons driven by W. Strong order 1.0 ± 0.2."""
    n = 4
    model = sj.Model(
        sj.dynamics.RateNetwork(n=n),
        Dissipation(beta=1.0),
        eta=1.0,
        weight_noise=sj.WeightNoise(1.0),
    )
    state0 = model.init(jr.key(1), W=jr.normal(jr.key(2), (n, n)))
    errors = _strong_errors(model, state0)
    order = _order(errors)
    print(f"\nlinear OU: errors {errors}, order {order:.3f}")
    assert 0.8 <= order <= 1.2
    # The errors halve with dt (no plateau from the reference or round-off).
    assert np.all(errors[1:] < 0.65 * errors[:-1])


def test_strong_order_nonlinear_coupled(x64):
    """Nonlinear and coupled: rate network + antisymmetric STDP + dissipation,
    with weight noise and neuron noise (both additive). Strong order 1.0 ± 0.2."""
    n = 4
    model = sj.Model(
        sj.dynamics.RateNetwork(n=n),
        SumRule(AntisymmetricSTDP(tau_y=1.0), Dissipation(beta=1.0)),
        eta=1.0,
        weight_noise=sj.WeightNoise(0.5),
        neuron_noise=sj.NeuronNoise(0.5),
    )
    state0 = model.init(jr.key(1), W=1.5 * jr.normal(jr.key(2), (n, n)))
    errors = _strong_errors(model, state0)
    order = _order(errors)
    print(f"\nnonlinear: errors {errors}, order {order:.3f}")
    assert 0.8 <= order <= 1.2


def test_grid_path_is_consistent(x64):
    """The coarse increments are sums of the fine ones, and the fine ones are
    sleepjax's FoldInBrownianPath increments (variance h)."""
    shape = jax.ShapeDtypeStruct((3,), jnp.float64)

    @jax.jit
    def parts(key):
        path = _fine_path(shape, key, 0.8)
        fine = sj.FoldInBrownianPath(shape, key, 0.0, H_FINE).increments(512)
        return (
            path.evaluate(7 * H_FINE, 8 * H_FINE),
            fine[7],
            path.evaluate(0.4, 0.8),
            fine[256:].sum(axis=0),
            path.evaluate(0.0, 0.4),
        )

    one, one_ref, coarse, total, first = parts(jr.key(5))
    np.testing.assert_allclose(one, one_ref, rtol=1e-12)
    np.testing.assert_allclose(coarse, total, rtol=1e-10)
    assert not np.allclose(first, coarse)
