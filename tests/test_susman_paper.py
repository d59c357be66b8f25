"""The rest of Susman et al. 2019 (docs/susman.md): the authors' exact x̄
update, the equilibration protocol, capacity and the Hopf bifurcation.

- Exact x̄: sleepjax's decorrelation with `xbar = "exact"` against a plain
  NumPy transcription of the per-step loop of the authors' erosion.m
  (lsusman/stable-memory), with the same weight-noise increments: equal to
  1e-10 in float64, step by step and after a whole run with a memory
  inserted.
"""

from __future__ import annotations

import jax
import jax.random as jr
import numpy as np
import pytest

import sleepjax as sj
from sleepjax.models import susman

N, DT = 16, 0.1


# ------------------------------------------------------------ exact x̄
def authors_erosion(x, W, z, *, eta, b, tau_x, gain, dt, insert=None):
    """The per-step loop of the authors' erosion.m (decorrelation, no STDP),
    transcribed to NumPy. `z`: (steps, N, N) standard normal draws (their
    `randn(N, N)`); `insert`: (step index, ΔW) added after that step's update
    (their `if i == 3000/dt`). Returns the final x, W and x̄, and the weight
    increments of every step."""
    x, W = x.copy(), W.copy()
    n = x.shape[0]
    xlp = np.zeros(n)
    B = b * np.eye(n)
    dWs = []
    for i in range(z.shape[0]):
        r = np.tanh(x)
        xlp = ((-xlp + x * gain) / tau_x) * dt  # x/5e-2 in the script: gain 20
        x = x + (-x + W @ r) * dt
        hs = B - np.outer(np.tanh(x - xlp), np.tanh(x))
        noise = z[i] / np.sqrt(n)
        dW = eta * (noise + hs) * dt
        dWs.append(dW)
        W = W + dW
        if insert is not None and i == insert[0]:
            W = W + insert[1]
    return x, W, xlp, np.array(dWs)


def _exact_opts(**kw):
    return susman.SusmanOptions(
        n=N, rule="decorrelation", xbar="exact", dt=DT, noise_form="code", **kw
    )


@jax.jit
def _final_and_noise(exp, key):
    sim = sj.simulate(
        exp.model,
        exp.state0,
        t0=exp.t0,
        t1=exp.t1,
        dt=exp.dt,
        key=key,
        events=exp.events,
    )
    steps = round((exp.t1 - exp.t0) / exp.dt)
    shape = exp.model.noise_shape(exp.state0)
    dB = sj.FoldInBrownianPath(shape, key, exp.t0, exp.dt).increments(steps)
    return sim.final, sim.status, dB.W


def test_exact_xbar_matches_authors_loop(x64):
    """A whole erosion run (memory inserted at t = 10, run to 30): final x, W
    and x̄ equal the authors' loop to 1e-10 with the same noise draws (the
    code form's per-step η·dt·σ·z, z = dB/√dt)."""
    opts, p = _exact_opts(), susman.SusmanParams(xbar_gain=20.0)
    exp = susman.erosion(opts, p, jr.key(3), t_insert=10.0, t_end=30.0, save_every=30.0)
    final, status, dB = _final_and_noise(exp, jr.key(4))
    assert int(status) == 0
    u, v = np.asarray(exp.observe.planes[0])
    ins = (round(10.0 / DT) - 1, 5.0 * (np.outer(u, v) - np.outer(v, u)))
    z = np.asarray(dB) / np.sqrt(DT)
    x0, W0 = np.asarray(exp.state0.neurons), np.asarray(exp.state0.W)
    x, W, xlp, _ = authors_erosion(
        x0, W0, z, eta=0.01, b=0.5, tau_x=20.0, gain=20.0, dt=DT, insert=ins
    )
    assert np.abs(W - W0).max() > 1.0  # the memory went in, W moved
    np.testing.assert_allclose(np.asarray(final.W), W, rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.asarray(final.neurons), x, rtol=0, atol=1e-10)
    np.testing.assert_allclose(np.asarray(final.rules), xlp, rtol=0, atol=1e-10)


def test_exact_xbar_same_increments(x64):
    """Step by step: sleepjax's weight drift times dt is the authors' hs
    increment at every state of their loop (noise off), and the x̄ it
    advances to is theirs; the code's fixed-point form c·x is not."""
    p = susman.SusmanParams(xbar_gain=100.0, noise=0.0)  # decorrelation_learning.m
    exp = susman.erosion(
        _exact_opts(), p, jr.key(5), t_insert=20.0, t_end=20.0, save_every=20.0
    )
    model, state = exp.model, exp.state0
    x, W = np.asarray(state.neurons), np.asarray(state.W)
    xlp = np.zeros(N)
    for _ in range(50):
        d = model.drift(0.0, state)
        # one pass of the authors' loop body from (x, W, x̄)
        xlp1 = ((-xlp + x * 100.0) / 20.0) * DT
        r = np.tanh(x)
        x_next = x + (-x + W @ r) * DT
        hs = 0.5 * np.eye(N) - np.outer(np.tanh(x_next - xlp1), np.tanh(x_next))
        np.testing.assert_allclose(np.asarray(d.W) * DT, 0.01 * hs * DT, atol=1e-12)
        np.testing.assert_allclose(
            np.asarray(state.rules) + DT * np.asarray(d.rules), xlp1, atol=1e-12
        )
        x, W, xlp = x_next, W + 0.01 * hs * DT, xlp1
        state = sj.NetworkState(
            neurons=jax.numpy.asarray(x),
            W=jax.numpy.asarray(W),
            rules=jax.numpy.asarray(xlp),
            stimulus=None,
        )
    # the ẋ term matters: the fixed-point form gives another increment
    code = susman.SusmanOptions(n=N, rule="decorrelation", xbar="code", dt=DT)
    pc = susman.SusmanParams(code_factor=0.4975, noise=0.0)
    mc = susman.build_model(code, pc, jr.key(0))
    dc = mc.drift(0.0, sj.NetworkState(state.neurons, state.W, None, None))
    assert np.abs(np.asarray(dc.W) - np.asarray(d.W)).max() > 1e-4


def test_exact_xbar_needs_dt_and_derivative():
    with pytest.raises(ValueError, match="needs `dt`"):
        sj.plasticity.Decorrelation(xbar="exact")
    rule = sj.plasticity.Decorrelation(xbar="exact", dt=0.1)
    act = sj.Activity(x=jax.numpy.zeros(3), phi=jax.numpy.zeros(3))
    with pytest.raises(ValueError, match="Activity.dxdt"):
        rule.drift(0.0, act, jax.numpy.zeros((3, 3)), jax.numpy.zeros(3))


# ------------------------------------------------------------ equilibration
def test_window_drift_and_stationary():
    """The windowed drift against a direct NumPy computation; a ramp is not
    stationary, a constant with small noise is."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=(40, 3))
    m = 5
    d = np.asarray(sj.analysis.window_drift(y, m))
    for k in range(40):
        if k < 2 * m - 1:
            assert np.isnan(d[k]).all()
        else:
            want = y[k - m + 1 : k + 1].mean(0) - y[k - 2 * m + 1 : k - m + 1].mean(0)
            np.testing.assert_allclose(d[k], want, atol=1e-5)
    t = np.arange(100.0)
    ramp = np.stack([t, np.ones_like(t)], 1)
    flat = np.ones((100, 2)) + 1e-3 * rng.normal(size=(100, 2))
    scale = np.full(100, 1.0)
    assert not np.asarray(sj.analysis.stationary(ramp, scale, 10, 0.05)).any()
    ok = np.asarray(sj.analysis.stationary(flat, scale, 10, 0.05))
    assert not ok[:19].any() and ok[19:].all()


EQ_N, EQ_T, EQ_WINDOW = 32, 1200.0, 200.0


def _eq_run(key):
    opts = susman.SusmanOptions(
        n=EQ_N, rule="decorrelation", xbar="exact", noise_form="code"
    )
    p = susman.SusmanParams(xbar_gain=100.0)
    exp = susman.equilibrate(
        opts, p, jr.key(7), t_end=EQ_T, save_every=10.0, window=EQ_WINDOW
    )
    return exp, exp.run(key)


def test_equilibration_reaches_criterion_and_is_deterministic():
    """From the random start (bulk radius 2) the spectrum moves, so the first
    window pair is not stationary; by the end of the run it is, by the
    stated criterion. The same key gives the same network bit for bit,
    another key another one."""
    from sleepjax.models.susman._equilibrate import STAT_NAMES, stationarity

    exp, sim = _eq_run(jr.key(1))
    ys = {k: np.asarray(v) for k, v in sim.ys.items()}
    stats = np.stack([ys[s] for s in STAT_NAMES], -1)
    ok, t_eq = stationarity(exp.save_ts, stats, ys["radius"], EQ_WINDOW, 0.05)
    first = int(
        np.argmax(
            np.isfinite(
                np.asarray(sj.analysis.window_drift(stats, round(EQ_WINDOW / 10.0)))[
                    :, 0
                ]
            )
        )
    )
    assert not ok[first], "the transient from the random start was not detected"
    assert np.isfinite(t_eq) and ok[-1]
    # the equilibrium differs from the start: B·I raised the diagonal
    assert ys["re_mean"][-1] > ys["re_mean"][0] + 0.5
    _, again = _eq_run(jr.key(1))
    _, other = _eq_run(jr.key(2))
    assert np.array_equal(np.asarray(again.final.W), np.asarray(sim.final.W))
    assert not np.allclose(np.asarray(other.final.W), np.asarray(sim.final.W))


def test_learning_starts_from_the_equilibrated_network():
    """`start = "equilibrated"`: the learning run starts from the network the
    equilibration reaches (same rule, same random start, its own noise key),
    deterministically; the random start is unchanged."""
    opts = susman.SusmanOptions(
        n=EQ_N, rule="decorrelation", xbar="exact", noise_form="code"
    )
    p = susman.SusmanParams(xbar_gain=100.0)
    kw = dict(window=(10.0, 20.0), t_end=30.0, t_equilibrate=300.0)
    a = susman.learning(opts, p, jr.key(3), start="equilibrated", **kw)
    b = susman.learning(opts, p, jr.key(3), start="equilibrated", **kw)
    r = susman.learning(opts, p, jr.key(3), **kw)
    assert np.array_equal(np.asarray(a.state0.W), np.asarray(b.state0.W))
    k_rule, _, k_init, _ = jr.split(jr.key(3), 4)
    x, W, xbar = susman.equilibrated_state(
        opts, p, k_rule, k_init, jr.fold_in(jr.key(3), 1), 300.0
    )
    np.testing.assert_array_equal(np.asarray(a.state0.W), np.asarray(W))
    np.testing.assert_array_equal(np.asarray(a.state0.neurons), np.asarray(x))
    np.testing.assert_array_equal(np.asarray(a.state0.rules[-1]), np.asarray(xbar))
    assert not np.allclose(np.asarray(r.state0.W), np.asarray(W))
    with pytest.raises(ValueError, match="whole number of steps"):
        susman.learning(
            opts, p, jr.key(3), start="equilibrated", **dict(kw, t_equilibrate=300.05)
        )
