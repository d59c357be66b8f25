"""FoldInBrownianPath: statistics, determinism, grid checks, gradients, PRNG
implementations, multi-step queries and per-leaf keys."""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sleepjax as sj
from sleepjax import FoldInBrownianPath, NetworkState

DT, T0 = 0.1, 3.0
# Two leaves (a tuple: static fields of a jitted module must be hashable).
SHAPE = (
    jax.ShapeDtypeStruct((64,), jnp.float32),
    jax.ShapeDtypeStruct((8, 8), jnp.float32),
)
A, B = 0, 1


@jax.jit
def _increments(key):
    return FoldInBrownianPath(SHAPE, key, T0, DT).increments(100)


def _check_moments(z, var):
    """Mean 0 and variance `var` within 4 standard errors (i.i.d. normals:
    SE of the mean √(var/M), of the variance var·√(2/M))."""
    z = np.asarray(z, np.float64).ravel()
    m = z.size
    assert abs(z.mean()) < 4 * np.sqrt(var / m), z.mean()
    assert abs(z.var() - var) < 4 * var * np.sqrt(2 / m), (z.var(), var)


def _check_uncorrelated(a, b):
    """Sample correlation of paired samples within 4/√M of 0."""
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    r = np.corrcoef(a, b)[0, 1]
    assert abs(r) < 4 / np.sqrt(a.size), r


def test_increment_moments_and_independence():
    dB = _increments(jr.key(0))
    assert dB[A].shape == (100, 64) and dB[B].shape == (100, 8, 8)
    for z in dB:
        _check_moments(z, DT)
        flat = z.reshape(100, -1)
        _check_uncorrelated(flat[1:], flat[:-1])  # adjacent steps
        _check_uncorrelated(flat[:, 1:], flat[:, :-1])  # neighbouring entries
    _check_uncorrelated(dB[A], dB[B].reshape(100, 64))  # different leaves
    # The test has power: a variance off by 10 % is detected.
    with pytest.raises(AssertionError):
        _check_moments(dB[A] * np.sqrt(1.1), DT)


def test_determinism_and_key_dependence():
    a, b, c = _increments(jr.key(0)), _increments(jr.key(0)), _increments(jr.key(1))
    for k in (A, B):
        np.testing.assert_array_equal(a[k], b[k])
        assert not np.any(np.asarray(a[k]) == np.asarray(c[k]))
    # The increment of a step depends only on (key, leaf, step), not on t0 or on
    # which steps were queried before.
    path = FoldInBrownianPath(SHAPE, jr.key(0), T0, DT)
    k = 17
    one = jax.jit(lambda s, t: path.evaluate(s, t))(T0 + k * DT, T0 + (k + 1) * DT)
    np.testing.assert_allclose(one[B], a[B][k], rtol=1e-6)


def test_multi_step_query_has_variance_m_dt():
    """A query over m steps is one draw of variance m·dt (multirate stepping),
    not the sum of the single-step draws (an equally valid realisation)."""
    m = 4
    path = FoldInBrownianPath(SHAPE, jr.key(3), T0, DT)
    starts = T0 + DT * m * jnp.arange(50)
    big = jax.jit(jax.vmap(lambda t: path.evaluate(t, t + m * DT)))(starts)
    for z in big:
        _check_moments(z, m * DT)
    small = _increments(jr.key(3))[A][: 4 * m].reshape(4, m, 64).sum(axis=1)
    assert not np.allclose(big[A][:4], small)


def test_nested_path_sums_the_fine_increments():
    """`nested=True`: an m-step query is the sum of the m single-step increments
    of the default path (one realisation on every coarser grid); a single step
    is the default path's increment."""
    m = 5
    key = jr.key(3)
    fine = _increments(key)
    nested = FoldInBrownianPath(SHAPE, key, T0, DT, nested=True)
    starts = T0 + DT * m * jnp.arange(20)
    big = jax.jit(jax.vmap(lambda t: nested.evaluate(t, t + m * DT)))(starts)
    for leaf in (A, B):
        want = fine[leaf].reshape(20, m, *fine[leaf].shape[1:]).sum(axis=1)
        np.testing.assert_allclose(big[leaf], want, rtol=1e-5, atol=1e-6)
    one = jax.jit(lambda t: nested.evaluate(t, t + DT))(T0 + 7 * DT)
    np.testing.assert_array_equal(one[B], fine[B][7])


def test_nested_path_couples_multirate_to_euler():
    """With weight noise only and a linear drift, MultirateEuler(k) on the
    nested path differs from single-rate Euler on the same path only by
    where in the block the noise enters: O(eta beta k dt) of the noise, far
    below the difference between two independent realisations."""
    model = sj.Model(
        sj.dynamics.RateNetwork(n=16),
        sj.plasticity.Dissipation(1.0),
        eta=0.01,
        weight_noise=sj.WeightNoise(1.0),
    )
    state0 = model.init(jr.key(0), W=jnp.zeros((16, 16)))
    kw = dict(t0=0.0, t1=50.0, dt=0.1, key=jr.key(1))
    euler = sj.simulate(model, state0, **kw).final.W
    coupled = sj.simulate(
        model, state0, solver=sj.MultirateEuler(10), brownian="fold_in_nested", **kw
    ).final.W
    independent = sj.simulate(model, state0, solver=sj.MultirateEuler(10), **kw).final.W
    scale = float(jnp.std(euler))
    assert float(jnp.abs(coupled - euler).max()) < 1e-2 * scale
    assert float(jnp.abs(independent - euler).max()) > 0.5 * scale


@pytest.mark.parametrize(
    "t0, t1",
    [(T0 + 0.3 * DT, T0 + 1.3 * DT), (T0, T0 + 1.5 * DT), (T0, T0), (T0, T0 - DT)],
)
def test_off_grid_query_raises(t0, t1):
    path = FoldInBrownianPath(SHAPE, jr.key(0), T0, DT)
    with pytest.raises(Exception, match="VirtualBrownianTree"):
        jax.block_until_ready(jax.jit(lambda s, t: path.evaluate(s, t))(t0, t1))
    with pytest.raises(ValueError, match="evaluate"):
        path.evaluate(T0)


def test_adaptive_solve_raises():
    """An adaptive step-size controller leaves the grid after the first step."""
    shape = jax.ShapeDtypeStruct((3,), jnp.float32)
    path = FoldInBrownianPath(shape, jr.key(0), 0.0, DT)
    terms = diffrax.MultiTerm(
        diffrax.ODETerm(lambda t, y, args: -y),
        diffrax.ControlTerm(lambda t, y, args: jnp.eye(3), path),
    )
    with pytest.raises(Exception, match="VirtualBrownianTree"):
        sol = diffrax.diffeqsolve(
            terms,
            diffrax.Heun(),
            0.0,
            2.0,
            DT,
            jnp.ones(3),
            stepsize_controller=diffrax.PIDController(rtol=1e-2, atol=1e-2),
        )
        jax.block_until_ready(sol.ys)


@pytest.mark.parametrize("impl", ["rbg", "unsafe_rbg"])
def test_other_prng_implementations(impl):
    """rbg and unsafe_rbg keys: correct moments, deterministic, key-dependent,
    and a noisy simulate runs on them."""
    key = jr.key(0, impl=impl)
    a, b = _increments(key), _increments(key)
    c = _increments(jr.key(1, impl=impl))
    for k in (A, B):
        _check_moments(a[k], DT)
        np.testing.assert_array_equal(a[k], b[k])
        assert not np.allclose(a[k], c[k])
    model = sj.Model(
        sj.dynamics.RateNetwork(n=4),
        sj.plasticity.Dissipation(),
        weight_noise=sj.WeightNoise(1.0),
    )
    sim = jax.jit(
        lambda k: sj.simulate(model, model.init(None), t0=0.0, t1=1.0, dt=DT, key=k)
    )(key)
    assert int(sim.status) == 0 and float(jnp.abs(sim.final.W).max()) > 0


def test_leaf_keys_do_not_depend_on_other_sources():
    """The weight noise of step k is the same whether or not neuron or stimulus
    noise exists, and `evaluate_shape` on a subset equals `evaluate`'s leaf."""
    sds = jax.ShapeDtypeStruct((5, 5), jnp.float32)
    vec = jax.ShapeDtypeStruct((5,), jnp.float32)
    full = NetworkState(
        W=sds,
        neurons=vec,
        rules=None,
        stimulus=(None, jax.ShapeDtypeStruct((2,), jnp.float32)),
    )
    w_only = NetworkState(W=sds, neurons=None, rules=None, stimulus=None)
    key = jr.key(9)
    t0, t1 = T0 + 5 * DT, T0 + 6 * DT

    @jax.jit
    def draws():
        p_full = FoldInBrownianPath(full, key, T0, DT)
        p_w = FoldInBrownianPath(w_only, key, T0, DT)
        sub = p_full.evaluate_shape(
            t0, t1, NetworkState(W=None, neurons=vec, rules=None, stimulus=None)
        )
        return p_full.evaluate(t0, t1), p_w.evaluate(t0, t1), sub

    a, b, sub = draws()
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.neurons, sub.neurons)
    assert sub.W is None
    assert not np.allclose(a.W[0], a.neurons)


def test_gradient_through_noisy_simulate(x64):
    """Reverse mode (default RecursiveCheckpointAdjoint) through a noisy solve
    with the noise held fixed by the key: d/dσ_W, d/dσ_x and d/dη match central
    finite differences to 1e-6 relative. (d/dσ needs the backward pass to see
    exactly the forward increments.)"""
    n = 4
    W0 = jr.normal(jr.key(1), (n, n))

    def loss(theta, key):
        eta, s_w, s_x = theta
        model = sj.Model(
            sj.dynamics.RateNetwork(n=n),
            sj.plasticity.SumRule(
                sj.plasticity.AntisymmetricSTDP(tau_y=2.0),
                sj.plasticity.Dissipation(0.5),
            ),
            eta=eta,
            weight_noise=sj.WeightNoise(s_w),
            neuron_noise=sj.NeuronNoise(s_x),
        )
        sim = sj.simulate(
            model, model.init(jr.key(2), W=W0), t0=0.0, t1=3.0, dt=DT, key=key
        )
        return jnp.sum(sim.final.W**2) + jnp.sum(jnp.tanh(sim.final.neurons))

    theta = jnp.array([0.5, 0.3, 0.2])
    key = jr.key(0)
    f = jax.jit(loss)
    g = np.asarray(jax.jit(jax.grad(loss))(theta, key))
    h = 1e-6
    fd = np.array(
        [
            (f(theta.at[i].add(h), key) - f(theta.at[i].add(-h), key)) / (2 * h)
            for i in range(3)
        ]
    )
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    assert np.all(np.abs(g) > 1e-3)
    assert float(f(theta, key)) != pytest.approx(float(f(theta, jr.key(1))), rel=1e-3)
