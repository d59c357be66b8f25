"""The one-shot modern Hopfield memory (hippocampus) built on model B.

- The update is one Euler step (dt = τ_f) of `ReducedHopfield` with the
  log-sum-exp Lagrangian: equal to X softmax(β Xᵀξ/√d) written out here.
- Batched retrieval equals an independent NumPy transcription of Spens &
  Burgess's loop (iterate until ≤ 0.5 elements change, at most 10 times) to
  1e-10 in float64, for many queries and for two networks at once (vmap).
- G2: retrievals from uniform noise land within cosine ≥ 0.99 of a stored
  pattern when β·Δ/√d ≫ log M (Δ: the patterns' smallest separation), and
  fail as predicted well below: the state goes to the patterns' mean, whose
  largest cosine with a pattern is computed here.
- One-shot storage: images come back from 50 %-occluded cues exactly when
  the cue's own overlap beats every other pattern's by more than log M / β_eff.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from sleepjax.data.corrupt import occlusion_mask
from sleepjax.data.shapes import shapes
from sleepjax.dynamics import ModernHopfieldMemory, converge, coverage

sys.path.insert(0, str(Path(__file__).parent))
from memory_reference import np_retrieve  # noqa: E402


def test_update_is_one_euler_step_of_model_b(x64):
    X = jr.uniform(jr.key(0), (7, 20), minval=-1, maxval=1)
    mem = ModernHopfieldMemory(X, 3.0)
    v = jr.normal(jr.key(1), (20,))
    want = X.T @ jax.nn.softmax(3.0 * X @ v / np.sqrt(20))
    np.testing.assert_allclose(mem.update(v), want, rtol=0, atol=1e-13)
    net = mem.network()
    np.testing.assert_allclose(v + net.drift(0.0, v), want, rtol=0, atol=1e-13)


def test_retrieval_matches_numpy_batched_and_over_networks(x64):
    d, M = 48, 9
    Xs = np.asarray(jr.uniform(jr.key(2), (2, M, d), minval=-1, maxval=1))
    Q = np.asarray(jr.uniform(jr.key(3), (2, 5, d), minval=-1, maxval=1))
    mems = jax.vmap(lambda x: ModernHopfieldMemory(x, 4.0))(jnp.asarray(Xs))
    got = jax.vmap(lambda m, q: m.retrieve(q))(mems, jnp.asarray(Q))
    for n in range(2):
        for i in range(5):
            want = np_retrieve(Xs[n].T, Q[n, i][:, None], 4.0)[:, 0]
            np.testing.assert_allclose(got[n, i], want, rtol=0, atol=1e-10)
    # leading axes are kept
    one = ModernHopfieldMemory(Xs[0], 4.0).retrieve(jnp.asarray(Q[0]).reshape(5, 1, d))
    assert one.shape == (5, 1, d)


def test_converge_stops_at_a_fixed_point_or_max_iter():
    y, k = converge(lambda y: jnp.minimum(y + 1.0, 3.0), jnp.zeros(4))
    assert int(k) == 4 and np.all(np.asarray(y) == 3.0)  # 1, 2, 3, 3 (no change)
    y, k = converge(lambda y: y + 1.0, jnp.zeros(4), max_iter=6)
    assert int(k) == 6 and np.all(np.asarray(y) == 6.0)
    with pytest.raises(ValueError):
        converge(lambda y: y, jnp.zeros(2), max_iter=0)


def test_g2_retrieval_from_noise_against_separation():
    d, M = 256, 32
    X = jr.rademacher(jr.key(0), (M, d), dtype=jnp.float32)
    q = jr.uniform(jr.key(1), (100, d), minval=-1.0, maxval=1.0)
    delta = float(jnp.min(ModernHopfieldMemory(X).separation()))
    assert delta > 100  # random ±1 patterns: d minus the largest cross-overlap
    # well above: beta * delta / sqrt(d) = 10 log M  ->  every retrieval is a pattern
    beta_hi = 10 * np.log(M) * np.sqrt(d) / delta
    mem = ModernHopfieldMemory(X, beta_hi)
    idx, cos = mem.nearest(mem.retrieve(q))
    assert float(cos.min()) >= 0.99
    assert int(coverage(idx, cos, M)) >= 28  # noise reaches (almost) every pattern
    # well below: beta * delta / sqrt(d) = 0.1 log M  ->  the patterns' mean
    beta_lo = 0.1 * np.log(M) * np.sqrt(d) / delta
    mem = ModernHopfieldMemory(X, beta_lo)
    out = mem.retrieve(q)
    mean = jnp.mean(X, axis=0)
    cos_mean = out @ mean / (jnp.linalg.norm(out, axis=1) * jnp.linalg.norm(mean))
    assert float(cos_mean.min()) >= 0.99
    _, cos = mem.nearest(out)
    _, predicted = mem.nearest(mean[None])  # the mean's best cosine with a pattern
    assert float(cos.max()) < 0.5
    np.testing.assert_allclose(np.asarray(cos), float(predicted[0]), atol=0.03)
    assert int(coverage(*mem.nearest(out), M)) == 0


def test_one_shot_recall_from_half_occluded_cues():
    M = 64
    x, _ = shapes(0, M, size=32)
    P = (2.0 * x - 1.0).reshape(M, -1)  # images stored in [-1, 1]
    keep = jnp.broadcast_to(occlusion_mask(32, 32, 0.5), x.shape).reshape(M, -1)
    cue = jnp.where(keep, P, 0.0)  # right half unknown (0)
    mem = ModernHopfieldMemory(P, 20.0)
    # one shot: each image is one memory unit's weights, nothing trained
    np.testing.assert_array_equal(np.asarray(mem.network().xi), np.asarray(P))
    idx, cos = mem.nearest(mem.retrieve(cue))
    ok = np.asarray((idx == jnp.arange(M)) & (cos >= 0.99))
    G = np.array(cue @ P.T)
    own = np.diag(G).copy()
    np.fill_diagonal(G, -np.inf)
    margin = 20.0 / np.sqrt(P.shape[1]) * (own - G.max(1)) / np.log(M)
    assert (margin > 2).sum() >= M // 2  # most images are well separated...
    assert ok[margin > 2].all()  # ...and every one of those comes back
    assert not ok[margin < 0].any()  # a brighter look-alike wins otherwise
    assert np.asarray(cos >= 0.99).all()  # always some stored image, never a blend


def test_equal_norm_gain_matches_numpy(x64):
    """`equal_norm=True`: gain r̄/‖x_μ‖ on each unit's score, output weights X;
    batched retrieval equals the NumPy loop with the same gains."""
    rng = np.random.default_rng(0)
    d, M = 48, 9
    X = rng.uniform(-1, 1, (M, d)) * rng.uniform(0.3, 1.5, (M, 1))  # unequal norms
    Q = rng.uniform(-1, 1, (6, d))
    mem = ModernHopfieldMemory(X, 4.0, equal_norm=True)
    norm = np.linalg.norm(X, axis=1)
    g = norm.mean() / norm
    np.testing.assert_allclose(mem.gain, g, rtol=1e-12)
    got = mem.retrieve(jnp.asarray(Q))
    for i in range(len(Q)):
        want = np_retrieve(X.T, Q[i][:, None], 4.0, gain=g[:, None])[:, 0]
        np.testing.assert_allclose(got[i], want, rtol=0, atol=1e-10)
    assert ModernHopfieldMemory(X, 4.0).gain is None
    with pytest.raises(ValueError, match="not model B"):
        mem.network()
    with pytest.raises(TypeError, match="equal_norm"):
        ModernHopfieldMemory(X, 4.0, equal_norm="yes")
    # a zero pattern gets gain 0 (no division by zero)
    Z = np.vstack([X, np.zeros(d)])
    assert float(ModernHopfieldMemory(Z, equal_norm=True).gain[-1]) == 0.0


def test_equal_norm_keeps_small_patterns_fixed_points(x64):
    """A pattern that is a smaller copy of most of another is not a fixed point
    with the dot product (Δ < 0: the larger one wins at it), but is with equal
    norms, where Δ_μ = r̄‖x_μ‖(1 − max_ν cos(x_μ, x_ν)) > 0."""
    rng = np.random.default_rng(1)
    d = 64
    a = 0.5 * rng.choice([-1.0, 1.0], d)
    b = rng.choice([-1.0, 1.0], d)
    X = np.stack([a, 1.6 * a + 0.3 * b, b])
    dot = ModernHopfieldMemory(X, 50.0)
    assert float(dot.separation()[0]) < 0
    idx, _ = dot.nearest(dot.retrieve(jnp.asarray(X)))
    assert list(np.asarray(idx)) == [1, 1, 2]  # pattern 0 is lost
    eq = ModernHopfieldMemory(X, 50.0, equal_norm=True)
    norm = np.linalg.norm(X, axis=1)
    cos = (X / norm[:, None]) @ (X / norm[:, None]).T
    np.fill_diagonal(cos, -np.inf)
    want = norm.mean() * norm * (1.0 - cos.max(axis=1))
    np.testing.assert_allclose(eq.separation(), want, rtol=1e-10)
    assert float(jnp.min(eq.separation())) * 50.0 / np.sqrt(d) > 5 * np.log(3)
    idx, c = eq.nearest(eq.retrieve(jnp.asarray(X)))
    assert list(np.asarray(idx)) == [0, 1, 2] and float(c.min()) >= 0.99


def test_equal_norm_spreads_replay_from_noise():
    """Retrieval from uniform noise ends (mostly) at the unit with the largest
    first score g_μ x_μ·ξ. For ±1 patterns scaled by s_μ those scores are
    nearly independent Gaussians with spread ∝ g_μ s_μ, so the share of
    replays at the largest quarter of the norms is P(argmax of N(0, (g s)²)
    is there): sampled here in NumPy (dot product: 0.57; equal norms, g s
    constant: 1/4), and met within 3 binomial standard errors."""
    d, M, Q = 256, 40, 400
    s = np.linspace(0.5, 1.5, M)
    X = jnp.asarray(s)[:, None] * jr.rademacher(jr.key(0), (M, d), dtype=jnp.float32)
    q = jr.uniform(jr.key(1), (Q, d), minval=-1.0, maxval=1.0)
    top = M - M // 4  # the largest quarter of the norms
    z = np.random.default_rng(0).standard_normal((100_000, M))
    for eq, spread in ((False, s), (True, np.ones(M))):
        mem = ModernHopfieldMemory(X, 20.0, equal_norm=eq)
        assert float(jnp.min(mem.separation())) > 0  # every pattern a fixed point
        idx, cos = mem.nearest(mem.retrieve(q))
        assert float(cos.min()) >= 0.99
        share = np.mean(np.asarray(idx) >= top)
        want = np.mean(np.argmax(z * spread, axis=1) >= top)
        assert abs(share - want) < 3 * np.sqrt(want * (1 - want) / Q), (eq, share)
    assert want == pytest.approx(0.25, abs=0.01)
    assert len(np.unique(np.asarray(idx))) >= M - 2  # equal norms reach them all
