"""MultirateEuler: with one sub-step it is Euler–Maruyama; with k sub-steps the
weight statistics of the OU problem (SPEC V1) are those of single-rate Euler."""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sleepjax as sj
from sleepjax.plasticity import AntisymmetricSTDP, RateControl, SumRule
from sleepjax.stimuli import OUPlaneStimulus


def test_one_substep_is_euler(x64):
    """substeps = 1 equals diffrax.Euler on the same Brownian path (weight,
    neuron and stimulus noise; STDP + rate control; an OU stimulus) up to
    round-off in the order of the additions."""
    n = 8
    u = jnp.where(jnp.arange(n) % 2 == 0, 1.0, -1.0) / np.sqrt(n)
    v = jnp.where(jnp.arange(n) < n // 2, 1.0, -1.0) / np.sqrt(n)
    model = sj.Model(
        sj.dynamics.RateNetwork(n=n),
        SumRule(AntisymmetricSTDP(tau_y=2.0), RateControl(jnp.linspace(-0.8, 0.8, n))),
        eta=0.3,
        weight_noise=sj.WeightNoise(0.3),
        neuron_noise=sj.NeuronNoise(0.2),
        stimuli=(OUPlaneStimulus(u, v, amplitude=2.0, t_on=0.55, t_off=3.55),),
    )
    state0 = model.init(jr.key(1), W=jr.normal(jr.key(2), (n, n)) / np.sqrt(n))

    @jax.jit
    def both(key):
        kw = dict(t0=0.0, t1=5.0, dt=0.1, key=key)
        a = sj.simulate(model, state0, **kw).final
        b = sj.simulate(model, state0, solver=sj.MultirateEuler(1), **kw).final
        return a, b

    a, b = both(jr.key(0))
    leaves = jax.tree_util.tree_leaves
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    assert float(jnp.abs(a.W - state0.W).max()) > 1e-2
    assert float(jnp.abs(a.stimulus[0]).max()) > 1e-2


def test_substeps_keep_ou_statistics():
    """The V1 OU problem (dissipation + weight noise σ² = 1/N, W0 = 0), with
    fast rates η = 0.1, β = 1 (relaxation time 10) so that t = 60 is stationary.
    MultirateEuler(5) (weight step 0.5) and Euler (0.1) both give the entry
    variance η σ²/(2β) (1 − e^{−2ηβt}) within 4 standard errors, and agree with
    each other within sampling error."""
    n, nets, eta, beta, t1 = 16, 16, 0.1, 1.0, 60.0
    sigma2 = 1.0 / n
    model = sj.Model(
        sj.dynamics.RateNetwork(n=n),
        sj.plasticity.Dissipation(beta=beta),
        eta=eta,
        weight_noise=sj.WeightNoise(np.sqrt(sigma2)),
    )
    ts = jnp.array([5.0, 10.0, 60.0])
    saveat = diffrax.SaveAt(ts=ts, fn=lambda t, y, args: y.W)

    def stats(solver, seed):
        run = jax.jit(
            jax.vmap(
                lambda k: (
                    sj.simulate(
                        model,
                        model.init(None),
                        t0=0.0,
                        t1=t1,
                        dt=0.1,
                        key=k,
                        saveat=saveat,
                        solver=solver,
                    ).ys
                )
            )
        )
        W = np.asarray(run(sj.network_keys(seed, nets)), np.float64)
        per_net = np.mean(W**2, axis=(2, 3))
        return per_net.mean(0), per_net.std(0, ddof=1) / np.sqrt(nets)

    theory = eta * sigma2 / (2 * beta) * (1 - np.exp(-2 * eta * beta * np.asarray(ts)))
    results = {0.1: stats(None, 0), 0.5: stats(sj.MultirateEuler(5), 1)}
    exact = {}
    for h, (v, se) in results.items():
        # Exact discrete variance of W <- a W + η σ √h z, a = 1 − ηβh: relative
        # bias against the SDE law ≤ 1 % (h = 0.1) and ≤ 4 % (h = 0.5).
        a = 1 - eta * beta * h
        k = np.round(np.asarray(ts) / h)
        exact[h] = eta**2 * sigma2 * h * (1 - a ** (2 * k)) / (1 - a**2)
        assert np.all(np.abs(exact[h] / theory - 1) < 0.05)
        assert np.all(np.abs(v - exact[h]) < 4 * se), (h, v, exact[h], se)
        assert np.all(se / v < 0.05)  # power: a 20 % error would be seen
    (v1, se1), (v5, se5) = results[0.1], results[0.5]
    expected = exact[0.1] - exact[0.5]
    assert np.all(np.abs(v1 - v5 - expected) < 4 * np.hypot(se1, se5))


def test_substeps_must_divide_steps():
    model = sj.Model(sj.dynamics.RateNetwork(n=2))
    with pytest.raises(ValueError, match="multiple of substeps"):
        sj.simulate(
            model, model.init(None), t0=0.0, t1=1.0, dt=0.1, solver=sj.MultirateEuler(3)
        )
