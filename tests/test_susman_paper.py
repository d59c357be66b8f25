"""The rest of Susman et al. 2019 (docs/susman.md): the authors' exact x̄
update, the equilibration protocol, capacity and the Hopf bifurcation.

- Exact x̄: sleepjax's decorrelation with `xbar = "exact"` against a plain
  NumPy transcription of the per-step loop of the authors' erosion.m
  (lsusman/stable-memory), with the same weight-noise increments: equal to
  1e-10 in float64, step by step and after a whole run with a memory
  inserted.
- Equilibration: the stationarity criterion and determinism per key.
- Capacity: the map against NumPy (1e-10), the per-seed critical M, and
  its linear growth with N through the sweep machinery (two small sizes in
  CI; N = 128-1024 under `slow`).
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


# ------------------------------------------------------------------ capacity
def test_capacity_map_matches_numpy(x64):
    """The capacity network is x(t+1) = W tanh x(t) with
    W = ρ Σ_k (u_k v_kᵀ − v_k u_kᵀ) over the stored planes only: ten steps
    against a NumPy transcription with the dense W, to 1e-10; the cue sits
    at the cycle's amplitude a* = ρ tanh a*."""
    n, rho = 32, 3.0
    exp = susman.capacity(
        susman.SusmanOptions(n=n), jr.key(5), load=0.1, rho=rho, corruption=0.25
    )
    U = np.asarray(exp.model.U)
    m = 3  # round(0.1 · 32)
    W = sum(
        rho
        * (
            np.outer(U[:, 2 * k], U[:, 2 * k + 1])
            - np.outer(U[:, 2 * k + 1], U[:, 2 * k])
        )
        for k in range(m)
    )
    x = np.asarray(exp.state0)
    a = float(susman.cycle_amplitude(rho))
    assert abs(a - rho * np.tanh(a)) < 1e-12
    flipped = np.sum(np.sign(x) != np.sign(U[:, 0]))
    assert flipped == 8 and np.allclose(np.abs(x), a)
    y, step = x, jax.jit(lambda y: exp.model.step(0.0, y, None))
    for _ in range(10):
        got = step(jax.numpy.asarray(y))
        y = W @ np.tanh(y)
        np.testing.assert_allclose(np.asarray(got), y, atol=1e-10)


def test_critical_planes_and_line_fit():
    """The per-seed critical M and the fits, on hand-made cases."""
    from sleepjax.models.susman._report_capacity import critical_planes, line_fit

    assert critical_planes([2, 4, 6, 8], [1, 1, 0, 0]) == 5.0
    assert critical_planes([8, 2, 6, 4], [0, 1, 1, 0]) == 3.0  # first failure
    assert critical_planes([2, 4], [0, 0]) == 1.0
    assert np.isnan(critical_planes([2, 4], [1, 1]))
    x = np.array([1.0, 2.0, 3.0, 4.0])
    a, b, sa, sb, c = line_fit(x, 0.5 + 2.0 * x)
    assert abs(a - 0.5) < 1e-12 and abs(b - 2.0) < 1e-12 and sa < 1e-8
    assert abs(c - np.sum(x * (0.5 + 2 * x)) / np.sum(x * x)) < 1e-12


CAPACITY_TOML = """
[model]
name = "susman"
n = 64

[protocol]
name = "capacity"
rho = 10.0
corruption = 0.1
t_end = 16

[sweep]
seeds = {seeds}
paired = true

[sweep.grid]
"model.n" = {sizes}
"protocol.load" = [0.03, 0.06, 0.08, 0.1, 0.12, 0.14, 0.17, 0.22]
"""


def _critical_m(tmp_path, sizes, seeds):
    """Critical M per (N, seed) from a capacity sweep through the config
    layer (paired seeds: nested loads)."""
    from sleepjax.config import load
    from sleepjax.models.susman._report_capacity import (
        critical_planes,
        n_planes,
        retrieved_at_end,
    )
    from sleepjax.sweep import sweep

    cfg = tmp_path / "capacity.toml"
    cfg.write_text(CAPACITY_TOML.format(seeds=seeds, sizes=list(sizes)))
    ds = sweep(load(cfg), None, quiet=True).to_xarray()
    assert (ds["status"].values == 0).all()
    n = ds["model.n"].values
    seed = ds["seed"].values
    m = n_planes(ds["protocol.load"].values, n)
    ok = retrieved_at_end(ds["m_cue"].values, 0.95)
    rows = []
    for size in sizes:
        for s in range(seeds):
            at = (n == size) & (seed == s)
            rows.append((size, critical_planes(m[at], ok[at])))
    return np.array(rows)


def _check_linear(crit):
    from sleepjax.models.susman._report_capacity import line_fit

    assert np.isfinite(crit[:, 1]).all(), "a seed never failed: extend the loads"
    a, b, sa, sb, c = line_fit(crit[:, 0], crit[:, 1])
    assert b > 3 * sb > 0, (a, b, sa, sb)
    assert abs(a) < 3 * sa, f"intercept {a:.2f} ± {sa:.2f} is not ≈ 0"
    return a, b, sa, sb, c


def test_capacity_grows_linearly_small(tmp_path):
    """Two small sizes through the sweep machinery: the critical number of
    planes grows with N along a line through the origin (intercept within
    3 standard errors of the spread over seeds)."""
    _check_linear(_critical_m(tmp_path, (64, 128), 8))


@pytest.mark.slow
def test_capacity_grows_linearly(tmp_path):
    """All four sizes of the paper's range, 16 seeds: slope > 0, intercept
    ≈ 0, and the per-plane load normalised by two is of the order of
    Hopfield's critical load (0.1-0.3 at these N)."""
    a, b, sa, sb, c = _check_linear(_critical_m(tmp_path, (128, 256, 512, 1024), 16))
    assert 0.1 < 2 * c < 0.3


# ------------------------------------------------------ learning fractions
class _StubView:
    """The three things `formed_kept` reads from a StoreView."""

    def __init__(self, t, im, ov, window):
        self.time = np.asarray(t, float)
        self._vars = {"mem_im": im[..., None], "plane_overlap": ov[..., None]}
        self._window = window

    def var(self, name):
        return self._vars[name]

    def setting(self, section, key):
        assert (section, key) == ("protocol", "window")
        return self._window


def test_formed_and_kept():
    """Formed: a pair (|Im λ| > 1, overlap > 0.5) at some save after the
    window opens; kept: at the last save. Four hand-made networks."""
    from sleepjax.models.susman._report_learning import formed_kept

    t = np.arange(6.0)
    im = np.array(
        [
            [0, 0, 0, 2, 2, 2],  # formed and kept
            [0, 0, 0, 2, 0.5, 0.5],  # formed, lost
            [2, 2, 0, 0, 0, 0],  # present only before the window: not formed
            [0, 0, 0, 2, 2, 2],  # large |Im λ| but off the plane
        ],
        float,
    )
    ov = np.array([[0.9] * 6, [0.9] * 6, [0.9] * 6, [0.2] * 6])
    formed, kept = formed_kept(_StubView(t, im, ov, (1.5, 2.5)))
    assert formed.tolist() == [True, True, False, False]
    assert kept.tolist() == [True, False, False, False]


# ------------------------------------------------------------ Hopf figure
def test_hopf_onset_matches_normal_form():
    """The reduced system's cycle against the turn-averaged normal form
    r* = √(2(γ − 1)/γ) (derived in _report_hopf): the relative error is
    O(γ − 1) (next order of tanh), the frequency tends to ρ, and below
    γ = 1 the plane returns to rest."""
    from sleepjax.models.susman._report_hopf import normal_form_radius

    gamma = np.array([0.95, 1.02, 1.05, 1.1])
    out = np.array(susman.reduced_cycles(np.full(4, 2.0), gamma, 300.0, h=0.02))
    assert out[0, 0] < 2e-4  # rate 1 − γ = 0.05 from r = 1 over ≥ 180 τ: e^{−9}
    err = np.abs(out[1:, 0] / normal_form_radius(gamma[1:]) - 1)
    assert (err < gamma[1:] - 1).all() and (np.diff(err) > 0).all(), err
    assert (np.abs(out[1:, 1] - 2.0) < 2.0 * (gamma[1:] - 1) + 1e-3).all(), out


def test_cue_outcomes():
    """Sustained cycle, damped spiral and a decay without rotation, built
    from the plane's linear dynamics (γ − 1) ± iρ with ρ = 1; and a plane
    that oscillated before the cue (ongoing activity)."""
    from sleepjax.models.susman._report_life import cue_outcomes

    t = np.arange(0.0, 40.0, 0.1)
    t_on, dur, window = 10.0, 2.0, 30.0
    s = np.clip(t - t_on, 0.0, None) * (t > t_on)
    decay = np.array([0.0, 0.5, 2.0])[:, None]  # 1 − γ
    rho = np.array([1.0, 1.0, 0.0])[:, None]
    pu = np.exp(-decay * s) * np.cos(rho * s) * (t > t_on)
    pv = np.exp(-decay * s) * np.sin(rho * s) * (t > t_on)
    # a fourth network already oscillating before the cue
    pu = np.vstack([pu, np.cos(t)])
    pv = np.vstack([pv, np.sin(t)])
    out, keep, turns = cue_outcomes(t, pu, pv, t_on, dur, window)
    assert out.tolist() == [
        "sustained",
        "damped rotation",
        "no rotation",
        "ongoing activity",
    ]
    np.testing.assert_allclose(turns[:2], 28.0 / (2 * np.pi), rtol=0.01)
    assert keep[0] == pytest.approx(1.0) and keep[1] < 1e-3
