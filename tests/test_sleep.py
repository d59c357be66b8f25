"""Sleep architecture (`sleepjax.sleep`, model `sleep`): hypnograms evaluated
inside jit against their stage tables, the generator's stage fractions,
stage gating (bitwise), SHY downscaling (exact factor, NumPy transcription of
the spared set), prioritised replay and targeted reactivation (sign tests
across seeds), and bad input refused with clear messages."""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sleepjax as sj
from sleepjax import sleep as sl
from sleepjax.config import ConfigError, parse
from sleepjax.dynamics import RateNetwork
from sleepjax.models import sleep as sleep_model
from sleepjax.plasticity import AntisymmetricSTDP, Dissipation, SumRule
from sleepjax.sweep import validate_sweep

sys.path.insert(0, str(Path(__file__).parent))
from refusal import assert_refused  # noqa: E402
from sleep_parts import HebbMap, np_stage  # noqa: E402


# ------------------------------------------------------------ NumPy lookups
def probe_times(hyp, lo, hi, n=1001):
    """A dense grid plus every segment start, cycle edge and intrusion edge,
    each also one ulp before and after (float32 times)."""
    edges = np.concatenate(
        [
            np.asarray(hyp.starts),
            np.asarray(hyp.cycles),
            np.asarray(hyp.wake_at),
            np.asarray(hyp.wake_at + hyp.wake_len),
            [float(hyp.end)],
        ]
    )
    edges = edges.astype(np.float32)
    near = np.concatenate(
        [
            edges,
            np.nextafter(edges, np.float32(-np.inf)),
            np.nextafter(edges, np.float32(np.inf)),
        ]
    )
    near = near[(near == 0) | (np.abs(near) > 1e-30)]  # no denormals (flushed in XLA)
    ts = np.unique(np.concatenate([np.linspace(lo, hi, n, dtype=np.float32), near]))
    return np.pad(ts, (0, 1600 - ts.size), mode="edge")  # one shape: one compile


# --------------------------------------------------------------- hypnograms
#: one compiled generator for every test: 5 cycles, disorder as arguments
GEN = jax.jit(
    jax.vmap(
        lambda k, frag, supp, depr, nf: sl.generate(
            k,
            n_cycles=5,
            variability=0.3,
            fragmentation=frag,
            n3_suppression=supp,
            rem_deprivation=depr,
            night_fraction=nf,
        ),
        in_axes=(0, 0, None, None, None),
    )
)
N_KEYS = 400
STAGE_TIMES = jax.jit(sl.stage_times)


def generated(frag=0.0, supp=0.0, depr=0.0, nf=1.0, seed=0):
    keys = jr.split(jr.key(seed), N_KEYS)
    frag = jnp.broadcast_to(jnp.asarray(frag, float), (N_KEYS,))
    return GEN(keys, frag, supp, depr, nf)


def test_explicit_table_in_jit_equals_the_table():
    table = [("N1", 5), ("N2", 20), ("N3", 30), ("N2", 10), ("REM", 25)] * 2
    hyp = sl.from_table(table, t0=10.0, time_scale=2.0)
    starts = 10.0 + 2.0 * np.concatenate([[0], np.cumsum([d for _, d in table])])
    rows = [
        (sl.stage_code(s), a, b)
        for (s, _), a, b in zip(table, starts[:-1], starts[1:], strict=True)
    ]
    ts = probe_times(hyp, 0.0, 400.0)
    got = np.asarray(STAGE_TIMES(hyp, ts))
    want = np.array([np_stage(rows, t) for t in ts])
    assert len(rows) == 10 and rows[5] == (sl.N1, 190.0, 200.0)
    np.testing.assert_array_equal(got, want)
    # the second cycle starts where the first ends: N1 at 10 + 2·90
    assert int(hyp.stage_at(190.0)) == sl.N1 and int(hyp.stage_at(189.9)) == sl.REM


def test_generated_nights_in_jit_equal_their_tables():
    """Nights with fragmentation (three rates), REM deprivation, N3
    suppression and a shortened night, generated in one vmapped jit."""
    frag = jnp.tile(jnp.asarray([0.0, 0.05, 0.2]), N_KEYS // 3 + 1)[:N_KEYS]
    hyps = generated(frag, supp=0.3, depr=0.5, nf=0.9, seed=3)
    for i in range(3):
        hyp = jax.tree_util.tree_map(lambda x, i=i: x[i], hyps)
        ts = probe_times(hyp, -5.0, 500.0)
        got = np.asarray(STAGE_TIMES(hyp, ts))
        want = np.array([np_stage(hyp.table(), t) for t in ts])
        np.testing.assert_array_equal(got, want, err_msg=f"key {i}")
    # intrusions happen only with fragmentation; the night ends at 90 %
    assert float(jnp.sum(hyps.wake_len[0])) == 0.0
    assert float(jnp.sum(hyps.wake_len[2])) > 0
    assert np.allclose(hyps.end, 0.9 * hyps.cycles[:, -1])


def _segment_fractions(hyps):
    """Per key and cycle, the fraction of each stage from the segment arrays
    (no intrusions), shape (keys, cycles, 5)."""
    starts = np.asarray(hyps.starts)
    stops = np.concatenate([starts[:, 1:], np.asarray(hyps.cycles)[:, -1:]], axis=1)
    c = starts.shape[1] // 6
    seg = (stops - starts).reshape(-1, c, 6)  # N1, N2, N3, N2, REM, WAKE
    frac = np.stack(
        [seg[..., 5], seg[..., 0], seg[..., 1] + seg[..., 3], seg[..., 2], seg[..., 4]],
        axis=-1,
    )
    return frac / seg.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("supp, depr", [(0.0, 0.0), (0.5, 0.4)])
def test_generator_fractions_match_the_mix(supp, depr):
    """Mean stage fractions per cycle over 400 keys equal the mix (N3 moved
    to N2 by `n3_suppression`, REM to wake by `rem_deprivation`) within 5
    standard errors: f = μ(1 + ε(z − Σμz)), z ~ U(−1, 1), has sd ≤ 2εμ/√3."""
    n_keys, c, eps = N_KEYS, 5, 0.3
    hyps = generated(supp=supp, depr=depr)
    mix = np.asarray(sl.stage_mix(c))
    want = mix.copy()
    want[:, sl.N2] += supp * mix[:, sl.N3]
    want[:, sl.N3] *= 1 - supp
    want[:, sl.WAKE] = depr * mix[:, sl.REM]
    want[:, sl.REM] *= 1 - depr
    got = _segment_fractions(hyps).mean(axis=0)
    se = 2 * eps * mix.max(axis=1, keepdims=True) / np.sqrt(3 * n_keys)
    assert np.all(np.abs(got - want) <= 5 * se + 1e-6)
    live = want > 0  # random, not the mix itself; an absent stage stays at 0
    assert np.all(np.abs(got - want)[live] > 0) or supp == 0
    assert np.all(np.abs(got[~live]) < 1e-6)  # up to float32 rounding
    # N3 early, REM late, and the table agrees with the segments on one key
    assert want[0, sl.N3] > want[-1, sl.N3] and want[0, sl.REM] < want[-1, sl.REM]
    one = jax.tree_util.tree_map(lambda x: x[0], hyps)
    np.testing.assert_allclose(
        sl.stage_fractions(one), _segment_fractions(hyps)[0], atol=1e-5
    )


# ------------------------------------------------------------- stage gating
def test_rule_gated_off_in_a_stage_leaves_weights_bitwise_unchanged():
    """STDP + dissipation gated to 0 in N3: W at the start and at the end of
    N3 are identical bits while the neurons and the STDP trace keep moving;
    in N2 and REM the weights change."""
    n = 8
    hyp = sl.from_table([("N2", 10.0), ("N3", 10.0), ("REM", 10.0)])
    rule = sl.stage_gain(
        SumRule(AntisymmetricSTDP(tau_y=2.0), Dissipation(beta=0.5)), hyp, {"N3": 0.0}
    )
    model = sj.Model(RateNetwork(n=n), rule, eta=0.1)
    W0 = jr.normal(jr.key(0), (n, n)) / np.sqrt(n)
    exp = sj.Experiment(
        model,
        model.init(jr.key(1), W=W0),
        t0=0.0,
        t1=30.0,
        dt=0.1,
        save_ts=[0.0, 10.0, 15.0, 20.0, 30.0],
        observe=lambda t, y, m: y.W,
    )
    W = np.asarray(exp.run(jr.key(2)).ys)
    assert np.array_equal(W[1], W[2]) and np.array_equal(W[1], W[3])
    assert not np.array_equal(W[0], W[1]) and not np.array_equal(W[3], W[4])


# ---------------------------------------------------------------------- SHY
def np_spared(W, spare):
    a = np.abs(W).ravel()
    k = int(np.floor(spare * a.size + 1e-6))
    if k == 0:
        return np.zeros_like(W, bool)
    thr = np.sort(a)[::-1][k - 1]
    return np.abs(W) >= thr


@pytest.mark.parametrize("spare", [0.0, 0.2, 0.5])
def test_shy_downscale_is_exactly_one_minus_delta_outside_the_spared_set(spare):
    W = jr.normal(jr.key(7), (32, 32))
    delta = 0.18
    out = np.asarray(sl.downscale(W, delta, spare))
    keep = np_spared(np.asarray(W), spare)
    assert keep.sum() == int(np.floor(spare * W.size + 1e-6))
    np.testing.assert_array_equal(out[keep], np.asarray(W)[keep])
    np.testing.assert_array_equal(out[~keep], np.asarray((1 - delta) * W)[~keep])
    # the bisection used inside the continuous rule finds the same set
    fast = np.asarray(sl.spared_mask(W, spare, exact=False)).astype(bool)
    np.testing.assert_array_equal(fast, keep)


@pytest.mark.slow
def test_shy_on_stage_entry_in_a_discrete_map(x64):
    """A discrete map (W ← W + η φφᵀ in WAKE, identity asleep) wrapped by
    `OnStageEntry`: each entry into N2 downscales once; compared with a
    NumPy transcription of the same sequence."""

    hyp = sl.from_table([("WAKE", 3), ("N2", 2), ("REM", 2), ("N2", 2), ("WAKE", 1)])
    phi = jr.normal(jr.key(1), (6,))
    W0 = jr.normal(jr.key(2), (6, 6))
    m = sl.OnStageEntry(
        HebbMap(hyp, phi), hyp, ["N2"], sl.Downscale(0.18, 0.25), dt=1.0
    )
    y0 = sj.NetworkState(jnp.zeros(6), W0, None, None)
    sim = sj.iterate(
        m,
        y0,
        t0=0.0,
        t1=10.0,
        dt=1.0,
        key=jr.key(0),
        save_ts=np.arange(11.0),
        fn=lambda t, y, mm: y.W,
    )
    W = np.asarray(W0)
    ref = [W]
    stages = [np_stage(hyp.table(), float(t)) for t in range(11)]
    for k in range(10):
        W = W + 0.01 * (stages[k] == sl.WAKE) * np.outer(phi, phi)
        if stages[k + 1] == sl.N2 and stages[k] != sl.N2:
            keep = np_spared(W, 0.25)
            W = np.where(keep, W, (1 - 0.18) * W)
        ref.append(W)
    np.testing.assert_allclose(np.asarray(sim.ys), np.stack(ref), rtol=1e-13, atol=0)


@pytest.mark.slow
def test_shy_rule_downscales_by_the_euler_product(x64):
    """The continuous rule over 10 τ of N3 at rate κ (no activity: φ = 0):
    unspared weights are multiplied by (1 − ηκ dt)^(T/dt), spared ones kept."""
    n, eta, dt = 6, 0.5, 0.1
    hyp = sl.from_table([("N3", 10.0), ("REM", 5.0)])
    kappa = sl.shy_rate(0.18, 10.0, eta)
    rule = sl.SHY(wake=0.0, sleep=sl.StageSchedule(hyp, {"N3": kappa}, 0.0), spare=0.25)
    model = sj.Model(RateNetwork(n=n, x0_scale=0.0), rule, eta=eta)
    W0 = jr.normal(jr.key(3), (n, n)) * 0.1
    exp = sj.Experiment(
        model,
        model.init(None, W=W0),
        t0=0.0,
        t1=15.0,
        dt=dt,
        save_ts=[15.0],
        observe=lambda t, y, m: y.W,
    )
    W = np.asarray(exp.run(None).ys[-1])
    keep = np_spared(np.asarray(W0), 0.25)
    factor = (1 - eta * kappa * dt) ** 100
    np.testing.assert_array_equal(W[keep], np.asarray(W0)[keep])
    np.testing.assert_allclose(W[~keep], factor * np.asarray(W0)[~keep], rtol=1e-11)
    assert abs(factor - 0.82) < 2e-3  # Euler vs e^{-ηκT} = 1 − δ


# ------------------------------------------------------ replay and TMR
def _replay_net(prio, key, n=16, t1=300.0):
    """Three equal memories in a small Susman-type network; replay by
    `prio` in N3 only, never mixed (a one-hot `prio` is targeted
    reactivation: `test_targeted_is_a_one_hot_replay`)."""
    k_p, k_w, k_r, k_x = jr.split(key, 4)
    planes = sleep_model.orthonormal_planes(k_p, n, 3)
    hyp = sl.from_table([("N2", 100.0), ("N3", 200.0)])
    seqs = jnp.stack([jnp.stack([u, -v, -u, v]) for u, v in planes])
    rep = sl.Replay(
        seqs,
        prio,
        {"N3": 0.03},
        k_r,
        hypnogram=hyp,
        mixing={},
        amplitude=3.0,
        duration=16.0,
        interval=20.0,
    )
    W0 = 0.3 * jr.normal(k_w, (n, n)) / np.sqrt(n)
    W0 = W0 + sum(1.0 * (jnp.outer(u, v) - jnp.outer(v, u)) for u, v in planes)
    rule = SumRule(AntisymmetricSTDP(tau_y=5.0), Dissipation(beta=0.1))
    noise = sj.WeightNoise(0.3 / np.sqrt(n))
    model = sj.Model(
        RateNetwork(n=n), rule, eta=0.01, weight_noise=noise, stimuli=(rep,)
    )
    obs = sleep_model.SleepObservables(hyp, planes)
    return sj.Experiment(
        model, model.init(k_x, W=W0), t0=0.0, t1=t1, dt=0.2, save_ts=[t1], observe=obs
    )


@pytest.mark.slow
def test_targeted_is_a_one_hot_replay():
    hyp = sl.from_table([("N2", 10.0), ("N3", 10.0)])
    pats = jr.normal(jr.key(0), (3, 8))
    tmr = sl.targeted(pats, 2, ["N3"], 0.5, jr.key(1), hypnogram=hyp)
    ref = sl.Replay(
        pats,
        jnp.asarray([0.0, 0.0, 1.0]),
        {"N3": 0.5},
        jr.key(1),
        hypnogram=hyp,
        mixing={},
    )
    same = jax.tree_util.tree_map(lambda a, b: bool(jnp.all(a == b)), tmr, ref)
    assert all(jax.tree_util.tree_leaves(same))
    ev = tmr.events(20.0)
    assert len(ev["time"]) > 0 and np.all(ev["memory"] == 2)
    assert np.all(ev["stage"] == sl.N3)


@pytest.mark.slow
def test_priority_decides_which_memory_survives_and_tmr_strengthens_the_cue():
    """Sign tests over 6 seeds (one-sided p = 1/64 each), one compiled call:
    the gap between memories 0 and 1 is larger when replay favours memory 0
    than when it favours memory 1; targeted reactivation of memory 2 (a
    one-hot priority) leaves it stronger than both uncued memories."""
    seeds = 6
    prios = jnp.asarray([[0.9, 0.1, 0.0], [0.1, 0.9, 0.0], [0.0, 0.0, 1.0]])
    keys = jr.split(jr.key(11), seeds)

    @jax.jit
    def run(prio, key):
        return _replay_net(prio, key).run(jr.fold_in(key, 1)).ys["strength"][-1]

    out = jax.vmap(lambda p: jax.vmap(lambda k: run(p, k))(keys))(prios)
    favour0, favour1, tmr = np.asarray(out)
    gap0, gap1 = favour0[:, 0] - favour0[:, 1], favour1[:, 0] - favour1[:, 1]
    assert np.all(gap0 > gap1), (gap0, gap1)
    assert np.all(tmr[:, 2] > tmr[:, :2].max(axis=1)), tmr


# ---------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_clear_errors():
    with pytest.raises(ValueError, match="unknown sleep stage 'N4'"):
        sl.from_table([("N4", 10)])
    with pytest.raises(ValueError, match=r"row 1 has duration -5.0; need > 0"):
        sl.from_table([("N2", 10), ("N3", -5)])
    with pytest.raises(ValueError, match=r"rem_deprivation` must be in \[0.0, 1.0\]"):
        sl.generate(jr.key(0), rem_deprivation=1.5)
    with pytest.raises(ValueError, match=r"one value per stage"):
        sl.StageSchedule(sl.from_table([("N2", 1)]), [1.0, 2.0])
    with pytest.raises(ValueError, match=r"`priority` must have shape \(2,\)"):
        sl.Replay(
            jnp.ones((2, 4)),
            jnp.ones(3),
            {"N3": 0.1},
            jr.key(0),
            hypnogram=sl.from_table([("N3", 10)]),
        )
    with pytest.raises(ValueError, match=r"unknown priority 'loudness'"):
        sl.priority("loudness", strength=jnp.ones(2))
    with pytest.raises(ValueError, match=r"`index` must be in \[0, 2\)"):
        sl.targeted(
            jnp.ones((2, 4)),
            2,
            ["N3"],
            0.1,
            jr.key(0),
            hypnogram=sl.from_table([("N3", 10)]),
        )


NIGHT = {"model": {"name": "sleep_stages"}, "protocol": {"name": "night"}}


@pytest.mark.parametrize(
    "section, key, value, match",
    [
        (
            "protocol",
            "rem_deprivation",
            1.5,
            r"\[protocol\] rem_deprivation must be in \[0, 1\]",
        ),
        ("model", "priority", "loudness", r"priority 'loudness'"),
        ("protocol", "fragmentaton", 0.1, r"did you mean 'fragmentation'"),
    ],
)
def test_bad_config_is_refused_and_the_cli_writes_nothing(
    tmp_path, capsys, section, key, value, match
):
    raw = {s: dict(v) for s, v in NIGHT.items()}
    raw[section][key] = value
    assert_refused(raw, match, tmp_path, capsys)


def test_unused_parameter_is_refused():
    """`beta` (dissipation of the night) means nothing for the shy protocol."""
    raw = {"model": {"name": "sleep_stages", "beta": 0.2}, "protocol": {"name": "shy"}}
    with pytest.raises(ConfigError, match=r"\[model\] beta is .* not used"):
        validate_sweep(parse(raw))


@pytest.mark.parametrize(
    "name",
    ["sleep_night", "sleep_priority", "sleep_tmr", "sleep_shy", "sleep_transfer"],
)
def test_examples_are_valid(name):
    from pathlib import Path

    from sleepjax.config import load

    root = Path(__file__).resolve().parents[1]
    plan = validate_sweep(load(root / "examples" / f"{name}.toml"))
    assert plan.n_networks >= 12


# ---------------------------------------------------------- two-stage transfer
@pytest.mark.slow
def test_nightly_nights_are_separated_by_wake():
    hyp = sl.nightly(jr.key(5), 3, 1440.0, n_cycles=4, t0=1320.0, night_fraction=0.8)
    rows = hyp.table()
    ts = probe_times(hyp, 0.0, 3 * 1440.0 + 1320.0)
    np.testing.assert_array_equal(
        np.asarray(STAGE_TIMES(hyp, ts)), [np_stage(rows, t) for t in ts]
    )
    onsets = hyp.boundaries(["N1", "N2", "N3", "REM"])
    nights = onsets[np.concatenate([[True], np.diff(onsets) > 600.0])]
    np.testing.assert_allclose(nights, 1320.0 + 1440.0 * np.arange(3), atol=1e-3)
    for k in range(3):  # each night ends at 80 % of its cycles, wake after
        edges = np.asarray(hyp.cycles).reshape(3, 5)[k]
        end = edges[0] + 0.8 * (edges[-1] - edges[0])
        assert int(hyp.stage_at(end + 1.0)) == sl.WAKE


@pytest.mark.slow
def test_notebook_transfer_with_one_example_is_lms(x64):
    """One stored example: retrieval returns it exactly, and the student's
    prediction after K gated replays is y(1 − (1 − η|x|²)^K) (NumPy loop)."""
    x = jr.normal(jr.key(0), (1, 5)) / np.sqrt(5)
    y = jnp.asarray([0.7])
    hyp = sl.from_table([("WAKE", 3.0), ("N2", 10.0), ("REM", 5.0), ("N3", 7.0)])
    gate = sl.StageSchedule(hyp, {"N2": 1.0, "N3": 1.0}, 0.0)
    net = sl.NotebookTransfer(x, y, 0.4, 50.0, gate, 0)
    xh, yh = net.replay(jr.key(1))
    np.testing.assert_allclose(xh, x[0], rtol=1e-12)
    sim = sj.iterate(
        net,
        net.init(),
        t0=0.0,
        t1=25.0,
        dt=1.0,
        key=jr.key(2),
        save_ts=np.arange(26.0),
        fn=lambda t, s, m: s.w @ x[0],
    )
    w, ref = np.zeros(5), [0.0]
    xs = np.asarray(x[0])
    for k in range(25):
        g = 1.0 if np_stage(hyp.table(), float(k)) in (sl.N2, sl.N3) else 0.0
        w = w + 0.4 * g * (0.7 - w @ xs) * xs
        ref.append(w @ xs)
    np.testing.assert_allclose(np.asarray(sim.ys), ref, rtol=1e-10, atol=1e-14)
    assert abs(ref[-1] - 0.7 * (1 - (1 - 0.4 * xs @ xs) ** 17)) < 1e-12


@pytest.mark.slow
def test_boundary_events_downscale_a_continuous_model_at_each_entry(x64):
    """Frozen weights, `DownscaleEvent`s at each entry into N2 of a concrete
    night: W ends at (1 − δ)^k W0 outside the spared set (k entries)."""
    hyp = sl.from_table(
        [("N2", 3.0), ("REM", 2.0), ("N2", 2.0), ("N3", 2.0), ("N2", 1.0)]
    )
    events = sl.boundary_events(hyp, ["N2"], lambda t: sl.DownscaleEvent(t, 0.18, 0.0))
    assert [e.time for e in events] == [0.0, 5.0, 9.0]  # sleep onset is an entry
    model = sj.Model(RateNetwork(n=4, x0_scale=0.0), None)
    W0 = jr.normal(jr.key(0), (4, 4))
    exp = sj.Experiment(
        model,
        model.init(None, W=W0),
        t0=0.0,
        t1=10.0,
        dt=0.5,
        save_ts=[4.5, 5.5, 10.0],
        observe=lambda t, y, m: y.W,
        events=events[1:],  # a run from t = 0 takes events in (0, t1]
    )
    W = np.asarray(exp.run(None).ys)
    np.testing.assert_array_equal(W[0], np.asarray(W0))
    np.testing.assert_allclose(W[1], 0.82 * np.asarray(W0), rtol=1e-15)
    np.testing.assert_allclose(W[2], 0.82**2 * np.asarray(W0), rtol=1e-15)
