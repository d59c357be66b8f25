"""Condition events: jumps on entering a stage of each network's own night,
inside one vmapped solve (continuous) or scan (discrete), against NumPy
counts of the entries on the step grid."""

from __future__ import annotations

import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import sleepjax as sj
from sleepjax import sleep as sl
from sleepjax.dynamics import RateNetwork

sys.path.insert(0, str(Path(__file__).parent))
from sleep_parts import HebbMap, np_stage  # noqa: E402


def np_entries(hyp, into, t0, t1, dt):
    """Steps (t_{k-1}, t_k] of the grid that enter `into`, by a table lookup."""
    rows = hyp.table()
    codes = {sl.stage_code(s) for s in into}
    ts = t0 + dt * np.arange(round((t1 - t0) / dt) + 1)
    inside = [np_stage(rows, float(t)) in codes for t in ts]
    return sum(1 for a, b in zip(inside[:-1], inside[1:], strict=True) if b and not a)


def nights(n):
    """`n` generated nights (90-min cycles, one model time unit per minute)
    with wake intrusions, so that N2 entries differ between networks."""
    keys = jr.split(jr.key(3), n)
    return [sl.generate(k, n_cycles=2, fragmentation=0.05, bout=3.0) for k in keys]


def stack(trees):
    return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *trees)


def test_continuous_vmapped_nights_downscale_at_their_own_entries(x64):
    """Frozen weights; each network downscales by 1 − δ at every N2 entry of
    its own night: W_final = (1 − δ)^k W0 with k counted in NumPy."""
    hyps = nights(4)
    t0, t1, dt = -5.0, np.ceil(max(float(h.end) for h in hyps)) + 5.0, 0.5
    counts = [np_entries(h, ["N2"], t0, t1, dt) for h in hyps]
    assert len(set(counts)) > 1, counts  # the nights differ
    model = sj.Model(RateNetwork(n=3, x0_scale=0.0), None)
    W0 = jr.normal(jr.key(0), (3, 3))

    def run(hyp):
        ev = sl.StageEntryEvent(hyp, ["N2"], sl.Downscale(0.18))
        y0 = model.init(None, W=W0)
        return sj.simulate(model, y0, t0=t0, t1=t1, dt=dt, events=(ev,)).final.W

    W = np.asarray(jax.jit(jax.vmap(run))(stack(hyps)))
    for w, k in zip(W, counts, strict=True):
        np.testing.assert_allclose(w, 0.82**k * np.asarray(W0), rtol=1e-13)


def test_continuous_entry_inside_a_step_lands_at_the_step_end(x64):
    """A boundary at 3.2 with dt = 1 fires at the end of the step (3, 4]: a
    value saved at the jump's time is the state before it (as for timed
    events), so 4 shows 1 and 5 shows the jump (a jump at 5 would not)."""
    hyp = sl.from_table([("WAKE", 3.2), ("N2", 2.0)])
    model = sj.Model(RateNetwork(n=2, x0_scale=0.0), None)
    W0 = jnp.ones((2, 2))
    ev = sl.StageEntryEvent(hyp, ["N2"], sl.Downscale(0.5))
    exp = sj.Experiment(
        model,
        model.init(None, W=W0),
        t0=0.0,
        t1=6.0,
        dt=1.0,
        save_ts=[3.0, 4.0, 5.0, 6.0],
        observe=lambda t, y, m: y.W[0, 0],
        events=(ev,),
    )
    np.testing.assert_array_equal(np.asarray(exp.run(None).ys), [1, 1, 0.5, 0.5])


def test_multirate_fires_at_the_block_end(x64):
    """With MultirateEuler(4) and dt = 0.5 the blocks end at 0, 2, 4, …: an
    entry at 3.2 fires at 4, once (6 shows it; a jump at 6 would not)."""
    hyp = sl.from_table([("WAKE", 3.2), ("N3", 5.0)])
    model = sj.Model(RateNetwork(n=2, x0_scale=0.0), None)
    ev = sl.StageEntryEvent(hyp, ["N3"], sl.Downscale(0.5))
    exp = sj.Experiment(
        model,
        model.init(None, W=jnp.ones((2, 2))),
        t0=0.0,
        t1=8.0,
        dt=0.5,
        save_ts=[2.0, 4.0, 6.0, 8.0],
        observe=lambda t, y, m: y.W[0, 0],
        events=(ev,),
    )
    ys = exp.run(None, solver=sj.MultirateEuler(4)).ys
    np.testing.assert_array_equal(np.asarray(ys), [1, 1, 0.5, 0.5])


def test_discrete_event_equals_on_stage_entry_per_network(x64):
    """`iterate(events=(StageEntryEvent,))` gives bitwise the final state of
    the `OnStageEntry` map, for each of several vmapped nights."""
    hyps = nights(3)
    phi = jr.normal(jr.key(1), (5,))
    W0 = jr.normal(jr.key(2), (5, 5))
    y0 = sj.NetworkState(jnp.zeros(5), W0, None, None)
    t1 = np.ceil(max(float(h.end) for h in hyps)) + 4.0
    jump = sl.Downscale(0.18, 0.25)

    def with_event(hyp):
        ev = sl.StageEntryEvent(hyp, ["N2", "N3"], jump)
        sim = sj.iterate(HebbMap(hyp, phi), y0, t0=0.0, t1=t1, dt=1.0, events=(ev,))
        return sim.final.W

    def with_map(hyp):
        m = sl.OnStageEntry(HebbMap(hyp, phi), hyp, ["N2", "N3"], jump, dt=1.0)
        return sj.iterate(m, y0, t0=0.0, t1=t1, dt=1.0).final.W

    a = np.asarray(jax.vmap(with_event)(stack(hyps)))
    b = np.asarray(jax.vmap(with_map)(stack(hyps)))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])  # different nights, different weights


def test_in_stages_puts_two_factor_consolidation_into_a_night(x64):
    """The sleep parts on another model, unchanged: the two-factor model's
    supervised consolidation map, stepping only in N2 and N3 of a night
    (one epoch per time unit), ends where the bare map ends after as many
    epochs as the night has N2/N3 steps (to rounding: two compiled
    programs); other stages leave it bitwise unchanged."""
    from sleepjax.models import two_factor as tf

    opts = tf.TwoFactorOptions(n=24, alpha=5 / 24, f=0.25, z=2)
    net, y0 = tf.supervised(opts, tf.TwoFactorParams(spread=0.3), jr.key(0))
    hyp = sl.from_table([("WAKE", 3), ("N2", 4), ("REM", 3), ("N3", 5), ("N1", 2)])
    rows = hyp.table()
    nrem = [np_stage(rows, float(t)) in (sl.N2, sl.N3) for t in range(17)]
    gated = sl.InStages(net, hyp, ["N2", "N3"])
    ts = np.arange(18.0)
    sim = sj.iterate(gated, y0, t0=0.0, t1=17.0, dt=1.0, save_ts=ts,
                     fn=lambda t, y, m: y.syn.u)  # fmt: skip
    bare = sj.iterate(net, y0, t0=0.0, t1=float(sum(nrem)), dt=1.0)
    u = np.asarray(sim.ys)
    for k, on in enumerate(nrem):
        assert np.array_equal(u[k + 1], u[k]) != on, k  # steps exactly in NREM
    np.testing.assert_allclose(u[-1], np.asarray(bare.final.syn.u), rtol=1e-13)


def test_generated_starts_never_step_back(x64):
    """Segment starts are non-decreasing for every key, also where a stage
    has zero length (no N3 late in the night, full REM deprivation): a
    start computed as cumsum − length could round back by an ulp."""
    keys = jr.split(jr.key(0), 500)
    starts = jax.vmap(lambda k: sl.generate(k, n_cycles=5, n3_suppression=0.5).starts)(
        keys
    )
    assert np.all(np.diff(np.asarray(starts), axis=1) >= 0)


def test_stage_entry_event_refuses_bad_input():
    hyp = sl.from_table([("N2", 1.0)])
    with pytest.raises(TypeError, match="Hypnogram"):
        sl.StageEntryEvent([("N2", 1.0)], ["N2"], sl.Downscale(0.1))
    with pytest.raises(ValueError, match="no stage"):
        sl.StageEntryEvent(hyp, [], sl.Downscale(0.1))
    with pytest.raises(TypeError, match="callable"):
        sl.StageEntryEvent(hyp, ["N2"], 0.5)
    with pytest.raises(ValueError):
        sl.StageEntryEvent(hyp, ["N7"], sl.Downscale(0.1))


def _slow_wave_cell(key, t_end):
    """The slow-wave model's single cell with spiking infomax and a pairing
    every 50 ms in an up-state background: `(map, initial state)`."""
    from sleepjax.models import slow_wave as sw

    opts = sw.SlowWaveOptions(baseline="fixed")
    p = sw.SlowWaveParams(g_bar=0.8)
    exp = sw.stdp(opts, p, key, background_rate=2.0, w0=0.5, delta_t=10.0,
                  period=50.0, phase=5.0, t_on=0.0, t_end=t_end)  # fmt: skip
    return exp.model, exp.state0


def test_sleep_parts_put_the_slow_wave_model_into_a_night(x64):
    """The sleep parts on the slow-wave model, unchanged: its single-cell map
    with infomax plasticity and periodic pairings steps only in N3
    (`InStages`), and `Downscale` multiplies its plastic weights by 1 − δ on
    each entry into N3 (`OnStageEntry`). Checked against a plain loop over the
    model's own step with iterate's per-step keys and a NumPy stage lookup:
    outside N3 the whole state is bitwise unchanged, at each entry only W
    changes, by exactly 1 − δ, and the run ends where the loop ends."""
    model, y0 = _slow_wave_cell(jr.key(0), 400.0)
    hyp = sl.from_table([("WAKE", 60), ("N3", 120), ("REM", 80), ("N3", 100)])
    delta = 0.2
    gated = sl.OnStageEntry(
        sl.InStages(model, hyp, ["N3"]), hyp, ["N3"], sl.Downscale(delta), dt=1.0
    )
    key = jr.key(7)
    T = 400
    sim = sj.iterate(gated, y0, t0=0.0, t1=float(T), dt=1.0, key=key,
                     save_ts=np.arange(T + 1.0))  # fmt: skip
    traj = sim.ys
    rows = hyp.table()
    n3 = [np_stage(rows, float(k)) == sl.N3 for k in range(T + 1)]

    def at(k):
        return jax.tree_util.tree_map(lambda a: np.asarray(a[k]), traj)

    step = eqx.filter_jit(lambda m, t, y, k: m.step(t, y, k))
    y = y0
    entries, changed_in_n3 = 0, 0
    for k in range(T):
        if n3[k]:
            y = step(model, jnp.asarray(float(k)), y, jr.fold_in(key, k))
        if n3[k + 1] and not n3[k]:
            y = sl.Downscale(delta)(y)
            entries += 1
            before, after = at(k), at(k + 1)
            np.testing.assert_allclose(after.W, (1 - delta) * before.W, rtol=1e-15)
            assert eqx.tree_equal(eqx.tree_at(lambda s: s.W, after, before.W), before)
        elif not n3[k]:
            assert eqx.tree_equal(at(k + 1), at(k)), k  # asleep outside N3: frozen
        else:
            changed_in_n3 += not np.array_equal(at(k + 1).W, at(k).W)
    assert entries == 2
    assert changed_in_n3 > 10  # the rule does act in N3
    for a, b in zip(jax.tree.leaves(sim.final), jax.tree.leaves(y), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-14)


def test_stage_gain_scales_the_spiking_infomax_step_by_step(x64):
    """`stage_gain` on a rule that updates inside a model's step (the
    slow-wave model's spiking infomax) gives a `StepGain` that the map holds
    in the rule's place: from the same state and key, every step's weight
    change is g_{s(t)} times the bare rule's (WAKE 0: bitwise unchanged; N3
    0.75; REM 1), and everything else in the state is the bare step's."""
    from sleepjax.plasticity import StepGain

    bare, y = _slow_wave_cell(jr.key(1), 300.0)
    hyp = sl.from_table([("WAKE", 60), ("N3", 120), ("REM", 120)])
    gains = {"WAKE": 0.0, "N3": 0.75}
    gained = eqx.tree_at(lambda m: m.rule, bare, sl.stage_gain(bare.rule, hyp, gains))
    assert isinstance(gained.rule, StepGain)
    assert gained.rule.tau_h is bare.rule.tau_h  # the rule's own attributes
    step = eqx.filter_jit(lambda m, t, y, k: m.step(t, y, k))
    rows = hyp.table()
    expect = {sl.WAKE: 0.0, sl.N3: 0.75, sl.REM: 1.0}
    moved = {sl.WAKE: 0, sl.N3: 0, sl.REM: 0}
    key = jr.key(5)
    for k in range(300):
        t, kk = jnp.asarray(float(k)), jr.fold_in(key, k)
        yg, yb = step(gained, t, y, kk), step(bare, t, y, kk)
        g = expect[np_stage(rows, float(k))]
        dW_g, dW_b = np.asarray(yg.W - y.W), np.asarray(yb.W - y.W)
        if g == 0.0:
            assert np.array_equal(np.asarray(yg.W), np.asarray(y.W)), k
        else:
            np.testing.assert_allclose(dW_g, g * dW_b, rtol=1e-10, atol=1e-15)
        moved[np_stage(rows, float(k))] += bool(np.any(dW_b != 0))
        assert eqx.tree_equal(eqx.tree_at(lambda s: s.W, yg, yb.W), yb), k
        y = yg
    assert min(moved.values()) > 10  # the bare rule acts in every stage


def test_step_gain_refuses_what_it_cannot_scale():
    from sleepjax.plasticity import AntisymmetricSTDP, Gain, StepGain

    with pytest.raises(TypeError, match="drift rule; scale it with Gain"):
        StepGain(AntisymmetricSTDP(), 1.0)
    with pytest.raises(TypeError, match="update"):
        StepGain(jnp.ones(3), 1.0)
    hyp = sl.from_table([("N3", 1.0)])
    assert isinstance(sl.stage_gain(AntisymmetricSTDP(), hyp, {"N3": 0.5}), Gain)
