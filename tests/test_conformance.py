"""One conformance suite over every plasticity rule (optax-style).

For each rule (and each paper/code variant, and the combinators):

- jit: a noisy solve compiles once; a second call with other parameter values
  (same structure) does not retrace (`eqx.debug.assert_max_traces`);
- vmap: a batch of rules built with `jax.vmap` over parameter values gives the
  same results as a Python loop over the rules;
- grad: the gradient of a loss on a short NOISY solve (reverse mode, default
  RecursiveCheckpointAdjoint, noise held fixed by the key) with respect to
  every numeric leaf of the rule equals central finite differences (float64,
  relative tolerance 1e-5);
- dtypes: float32 and float64 runs are finite and agree loosely (all rules
  at once, in one SumRule, to save compilations).

Network: N = 4 rate neurons, η = 0.5 (fast plasticity, so that every parameter
matters within the horizon), weight noise, 20 Euler steps of 0.1. (Gradients
through neuron noise are tested in test_brownian.py.)
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import sleepjax as sj
from sleepjax.plasticity import (
    AntisymmetricSTDP,
    Decorrelation,
    Dissipation,
    Gain,
    Masked,
    RateControl,
    RateSTDP,
    SumRule,
)
from sleepjax.stimuli import PiecewiseConstant

N, DT, T1, ETA = 4, 0.1, 2.0, 0.5

# name -> (builder from a parameter vector, three parameter vectors). The
# first vector is where the gradient is checked; all three form the vmap batch.
_MASK = 1.0 - np.eye(N)
CASES = {
    "AntisymmetricSTDP": (
        lambda p: AntisymmetricSTDP(tau_y=p[0]),
        [[2.0], [1.0], [4.0]],
    ),
    "RateSTDP": (
        lambda p: RateSTDP(a_P=p[0], a_D=p[1], tau_P=p[2], tau_D=p[3]),
        [[1.0, -0.6, 2.0, 3.0], [0.5, -1.0, 1.0, 1.0], [1.5, -0.2, 3.0, 2.0]],
    ),
    "Dissipation": (lambda p: Dissipation(beta=p[0]), [[0.5], [0.1], [1.0]]),
    "RateControl-matmul": (
        lambda p: RateControl(p, variant="matmul"),
        [[0.5, -0.3, 0.1, 0.8], [0.0, 0.0, 0.0, 0.0], [-0.5, 0.5, -0.5, 0.5]],
    ),
    "RateControl-hadamard": (
        lambda p: RateControl(p, variant="hadamard"),
        [[0.5, -0.3, 0.1, 0.8], [0.0, 0.0, 0.0, 0.0], [-0.5, 0.5, -0.5, 0.5]],
    ),
    "Decorrelation-lowpass": (
        lambda p: Decorrelation(b=p[0], xbar="lowpass", tau_x=p[1]),
        [[0.5, 2.0], [1.0, 1.0], [0.2, 5.0]],
    ),
    "Decorrelation-code": (
        lambda p: Decorrelation(b=p[0], xbar="code", code_factor=p[1]),
        [[0.5, 0.3], [1.0, 0.0995], [0.2, 0.5]],
    ),
    "SumRule": (
        lambda p: SumRule(AntisymmetricSTDP(tau_y=p[0]), Dissipation(beta=p[1])),
        [[2.0, 0.5], [1.0, 0.1], [3.0, 1.0]],
    ),
    # breakpoint off the step grid: the loss is smooth in `times` (derivative 0)
    "Gain-PiecewiseConstant": (
        lambda p: Gain(
            AntisymmetricSTDP(tau_y=p[0]),
            PiecewiseConstant(times=p[1:2], values=p[2:4]),
        ),
        [[2.0, 1.05, 0.5, 1.5], [1.0, 0.55, 1.0, 0.0], [3.0, 1.55, -1.0, 2.0]],
    ),
    "Masked": (
        lambda p: Masked(RateSTDP(a_P=p[0], a_D=p[1]), p[2:].reshape(N, N)),
        [
            [1.0, -0.6, *(_MASK * 0.9 + 0.05).ravel()],
            [1.0, -1.0, *_MASK.ravel()],
            [0.5, -0.5, *np.ones(N * N)],
        ],
    ),
}
NAMES = list(CASES)


_RNG = np.random.default_rng(1)
_W0 = 1.5 * _RNG.standard_normal((N, N))
_X0 = _RNG.standard_normal(N)


def _loss(rule, key, noise=1.0):
    """A scalar of the final state of a short solve with weight noise scaled by
    `noise` (the same initial state in every dtype)."""
    dtype = jtu.tree_leaves(rule)[0].dtype
    noise = jnp.asarray(noise, dtype)
    model = sj.Model(
        sj.dynamics.RateNetwork(n=N),
        rule,
        eta=jnp.asarray(ETA, dtype),
        weight_noise=sj.WeightNoise(0.3 * noise),
    )
    state0 = model.init(None, W=jnp.asarray(_W0, dtype), dtype=dtype)
    state0 = eqx.tree_at(lambda s: s.neurons, state0, jnp.asarray(_X0, dtype))
    sim = sj.simulate(model, state0, t0=0.0, t1=T1, dt=DT, key=key)
    c = jnp.arange(1, N * N + 1, dtype=dtype).reshape(N, N) / (N * N)
    return jnp.sum(c * sim.final.W) + jnp.sum(jnp.sin(sim.final.neurons))


def _params(name, dtype=None):
    build, values = CASES[name]
    return build, [jnp.asarray(v, dtype) for v in values]


@pytest.mark.parametrize("name", NAMES)
def test_rule_conformance(name, x64):
    build, ps = _params(name, jnp.float64)
    key = jr.key(0)

    # jit, and no retrace on a second call with other numbers.
    fwd = eqx.filter_jit(eqx.debug.assert_max_traces(_loss, max_traces=1))
    one = jnp.asarray(1.0)  # an array: traced, not static
    loop = np.array([float(fwd(build(p), key, one)) for p in ps])
    assert np.all(np.isfinite(loop))
    assert (
        eqx.debug.get_num_traces(fwd) == 1
        if hasattr(eqx.debug, "get_num_traces")
        else True
    )
    assert len(np.unique(loop)) == len(ps)  # the parameters matter

    # A batch: three rules from jax.vmap over parameter values, followed by the
    # finite-difference stencil around the first, in every numeric leaf.
    rules = jax.vmap(build)(jnp.stack(ps))
    rule0 = build(ps[0])
    leaves, static = eqx.partition(rule0, eqx.is_inexact_array)
    flat, unravel = ravel_pytree(leaves)
    h = 1e-6 * jnp.maximum(1.0, jnp.abs(flat))
    stencil = [
        eqx.combine(unravel(flat + s * h[i] * jnp.eye(flat.size)[i]), static)
        for i in range(flat.size)
        for s in (1.0, -1.0)
    ]
    batch = jtu.tree_map(
        lambda a, *b: jnp.concatenate([a, jnp.stack(b)]), rules, *stencil
    )
    value_and_grad = eqx.filter_jit(
        eqx.filter_vmap(eqx.filter_value_and_grad(_loss), in_axes=(0, None))
    )
    values, grads = value_and_grad(batch, key)
    values = np.asarray(values)

    # vmap == loop
    np.testing.assert_allclose(values[:3], loop, rtol=1e-12, atol=0)

    # grad == central finite differences, leaf by leaf
    g0 = jtu.tree_map(lambda a: a[0], eqx.filter(grads, eqx.is_inexact_array))
    grad_flat = np.asarray(ravel_pytree(g0)[0])
    fd = (values[3::2] - values[4::2]) / (2 * np.asarray(h))
    scale = np.abs(fd).max()
    assert scale > 1e-3
    np.testing.assert_allclose(grad_flat, fd, rtol=1e-5, atol=1e-7 * scale)


def test_all_rules_float32_and_float64(x64):
    """Every rule at once (a SumRule of all the cases, one compilation per
    dtype): float32 and float64 runs are finite, and without noise (a float32
    key draws other normals than a float64 one) they agree to float32
    accuracy."""
    key = jr.key(0)

    def everything(dtype):
        return SumRule(
            *[CASES[n][0](jnp.asarray(CASES[n][1][0], dtype)) for n in NAMES]
        )

    fwd64 = eqx.filter_jit(_loss)
    f64 = float(fwd64(everything(jnp.float64), key, jnp.asarray(0.0)))
    f64_noisy = float(fwd64(everything(jnp.float64), key, jnp.asarray(1.0)))
    with jax.enable_x64(False):
        rule32 = everything(jnp.float32)
        assert all(a.dtype == jnp.float32 for a in jtu.tree_leaves(rule32))
        fwd32 = eqx.filter_jit(_loss)
        f32 = float(fwd32(rule32, key, jnp.asarray(0.0)))
        f32_noisy = float(fwd32(rule32, key, jnp.asarray(1.0)))
    assert np.all(np.isfinite([f64, f64_noisy, f32, f32_noisy]))
    assert f32 == pytest.approx(f64, rel=1e-4, abs=1e-4)
    assert f64_noisy != pytest.approx(f64, rel=1e-3)  # the noise matters
