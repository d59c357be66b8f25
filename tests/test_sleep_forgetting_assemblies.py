"""Sleep and catastrophic forgetting with cell assemblies (sleep issue,
example 4, `forgetting_assemblies`): the general parts (`InhibitedRateNetwork`,
`Bounded`, `group_weights`, `chain_weights`, `cued_recall`) against NumPy
transcriptions, bad input, and (slow) the protocol's measured effects."""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from sleepjax._experiment import Experiment
from sleepjax._state import Activity
from sleepjax.analysis import (
    chain_weights,
    cued_recall,
    group_weights,
    replay_transitions,
)
from sleepjax.config import load
from sleepjax.dynamics import InhibitedRateNetwork
from sleepjax.models.sleep import SleepOptions, SleepParams, forgetting_assemblies
from sleepjax.models.sleep._forgetting import layout
from sleepjax.plasticity import AbstractRule, Bounded
from sleepjax.sweep import validate_sweep

sys.path.insert(0, str(Path(__file__).parent))
from refusal import assert_setting_refused  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def np_rate(x):
    return np.maximum(np.tanh(x), 0.0)


def test_inhibited_rate_network_matches_numpy():
    rng = np.random.default_rng(0)
    n = 9
    W, x, b, inp = (
        rng.uniform(size=(n, n)),
        rng.normal(size=n),
        rng.normal(size=n),
        rng.normal(size=n),
    )
    net = InhibitedRateNetwork(n=n, w_inh=2.5, bias=jnp.asarray(b), tau=2.0)
    d = net.drift(0.0, jnp.asarray(x), jnp.asarray(W), jnp.asarray(inp))
    r = np_rate(x)
    want = (-x + W @ r - 2.5 * r.mean() + b + inp) / 2.0
    np.testing.assert_allclose(np.asarray(d), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(net.init()), b.astype(np.float32))
    assert float(jnp.min(net.activity(jnp.asarray(x)).phi)) == 0.0


def test_inhibited_rate_network_refuses_bad_input():
    with pytest.raises(ValueError, match="positive int"):
        InhibitedRateNetwork(n=0)
    with pytest.raises(ValueError, match="bias"):
        InhibitedRateNetwork(n=3, bias=jnp.zeros(4))
    with pytest.raises(ValueError, match="w_inh"):
        InhibitedRateNetwork(n=3, w_inh=-1.0)
    with pytest.raises(ValueError, match="bias"):
        InhibitedRateNetwork(n=3, bias=jnp.nan)


class _Const(AbstractRule):
    """A rule whose drift is a fixed matrix (to test `Bounded`)."""

    d: jax.Array

    def init(self, n, dtype):
        return ()

    def drift(self, t, act, W, state):
        return self.d, ()


def test_bounded_projects_the_drift_onto_the_box():
    W = jnp.array([[0.0, 0.5, 1.0], [0.0, 1.0, 0.3], [1.2, -0.1, 0.0]])
    d = jnp.array([[-1.0, -2.0, 3.0], [2.0, -4.0, 5.0], [6.0, -7.0, 8.0]])
    act = Activity(x=jnp.zeros(3), phi=jnp.zeros(3))
    got, _ = Bounded(_Const(d), 0.0, 1.0).drift(0.0, act, W, ())
    # at/below lo with d < 0, or at/above hi with d > 0: zero; else unchanged
    want = np.array([[0.0, -2.0, 0.0], [2.0, -4.0, 5.0], [0.0, 0.0, 8.0]])
    np.testing.assert_array_equal(np.asarray(got), want)
    with pytest.raises(ValueError, match="lo <= hi"):
        Bounded(_Const(d), 1.0, 0.0)
    with pytest.raises(TypeError, match="not a plasticity rule"):
        Bounded(d, 0.0, 1.0)


def test_group_and_chain_weights_match_numpy():
    rng = np.random.default_rng(1)
    G, m = 4, 3
    W = rng.normal(size=(G * m, G * m))
    groups = np.kron(np.eye(G), np.ones(m))
    Wg = np.asarray(group_weights(jnp.asarray(W), jnp.asarray(groups)))
    for k in range(G):
        for j in range(G):
            blk = W[k * m : (k + 1) * m, j * m : (j + 1) * m]
            np.testing.assert_allclose(Wg[k, j], blk.mean(), rtol=1e-5, atol=1e-6)
    orders = np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    got = np.asarray(chain_weights(jnp.asarray(Wg), jnp.asarray(orders)))
    fwd = np.mean([Wg[k + 1, k] for k in range(3)])
    rev = np.mean([Wg[k, k + 1] for k in range(3)])
    far = [Wg[k, j] for k in range(G) for j in range(G) if abs(k - j) >= 2]
    np.testing.assert_allclose(got, [fwd, rev, np.mean(far)], rtol=1e-5, atol=1e-6)


def np_cued_recall(W, groups, order, drive, bias, w_inh, cue, duration, dt):
    """Loop-by-loop transcription of `cued_recall` for `InhibitedRateNetwork`."""
    x = np.broadcast_to(bias, W.shape[0]).astype(float).copy()
    acts = []
    for k in range(int(round(duration / dt))):
        inp = drive * groups[order[0]] if k < int(round(cue / dt)) else 0.0
        r = np_rate(x)
        x = x + dt * (-x + W @ r - w_inh * r.mean() + bias + inp)
        acts.append(groups @ np_rate(x) / groups.sum(1))
    acts = np.array(acts)
    peak, top = acts.argmax(0), acts.max(0)
    ok = [
        peak[b] > peak[a] and top[a] > 0.2 and top[b] > 0.2
        for a, b in zip(order[:-1], order[1:], strict=True)
    ]
    return float(np.mean(ok))


def test_cued_recall_of_a_hand_made_chain_matches_numpy():
    """A forward chain A → B → … → E (0.6 per synapse, groups of 10)
    replays S1 from a cue of A and nothing from a cue of E; a weak chain
    (0.3) propagates part of the way (NumPy: 2 of 4 pairs); an empty W
    recalls nothing; the traced run equals a NumPy loop."""
    G, m = 5, 10
    n = G * m
    groups = np.kron(np.eye(G), np.ones(m))
    W = sum(np.outer(groups[k + 1], groups[k]) for k in range(G - 1)) * 0.6
    net = InhibitedRateNetwork(n=n, w_inh=3.0, bias=-0.3)
    kw = dict(drive=2.0, cue=2.0, duration=30.0, dt=0.1)
    s1, s1s = np.arange(G), np.arange(G)[::-1]
    f = jax.jit(lambda W, o: cued_recall(net, W, jnp.asarray(groups), o, **kw))
    cases = ((W, s1, 1.0), (W, s1s, 0.0), (W / 2, s1, 0.5), (0 * W, s1, 0.0))
    for Wx, order, want in cases:
        got = float(f(jnp.asarray(Wx), jnp.asarray(order)))
        assert got == want
        assert got == np_cued_recall(Wx, groups, order, bias=-0.3, w_inh=3.0, **kw)


def np_transitions(act, orders, threshold=0.2):
    """Loop transcription of `replay_transitions`."""
    dom = [int(a.argmax()) if a.max() > threshold else -1 for a in act]
    ep = [g for i, g in enumerate(dom) if g >= 0 and (i == 0 or dom[i - 1] != g)]
    pairs = list(zip(ep[:-1], ep[1:], strict=False))
    fwd = [
        sum(
            any(o[k] == a and o[k + 1] == b for k in range(len(o) - 1))
            for a, b in pairs
        )
        for o in orders
    ]
    return fwd + [len(pairs)]


def test_replay_transitions_match_numpy():
    rng = np.random.default_rng(2)
    orders = np.array([[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [0, 2, 4, 1, 3]])
    f = jax.jit(lambda a: replay_transitions(a, jnp.asarray(orders)))
    for T in (1, 2, 7, 40, 40, 40):
        act = rng.uniform(size=(T, 5)) * rng.uniform(0.1, 1.1)
        act[rng.uniform(size=T) < 0.2] = 0.0  # samples with no dominant group
        np.testing.assert_array_equal(
            np.asarray(f(jnp.asarray(act))), np_transitions(act, orders)
        )
    # A hand-made record: A B B C (gap) C D → A→B, B→C, C→C, C→D
    act = np.zeros((7, 5))
    for i, g in enumerate([0, 1, 1, 2, -1, 2, 3]):
        if g >= 0:
            act[i, g] = 1.0
    np.testing.assert_array_equal(np.asarray(f(jnp.asarray(act))), [3, 0, 0, 4])


# ------------------------------------------------------------------ protocol
BASE = {
    "model": {"name": "sleep_stages", "n": 20, "eta": 0.05, "tau_y": 2.0},
    "protocol": {"name": "forgetting_assemblies", "sleep_time": 40.0, "repeats": 2},
}


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("connectivity", 1.5, r"\[protocol\] connectivity must be in \[0, 1\]"),
        ("w_max", 0.0, r"\[protocol\] w_max"),
        ("length", 3, r"n = 20 neurons must split into `length` = 3 groups"),
    ],
)
def test_bad_config_is_refused_and_the_cli_writes_nothing(
    tmp_path, capsys, key, value, match
):
    assert_setting_refused(BASE, "protocol", key, value, match, tmp_path, capsys)


def test_example_is_valid():
    plan = validate_sweep(load(ROOT / "examples" / "sleep_forgetting_assemblies.toml"))
    assert plan.n_networks == 32


def test_short_protocol_learns_s1_and_the_control_night_keeps_w():
    """CI size (n = 20, 4 groups, 3 presentations, a 40 τ night): S1's chain
    is learned above the background and S1* is unknown after S1 alone;
    S1* then raises its own chain; a night with STDP gain 0 leaves W bitwise
    (the noise still drives activity)."""
    opts, p = SleepOptions(n=20), SleepParams(eta=0.05, tau_y=2.0)
    e = forgetting_assemblies(
        opts,
        p,
        jr.key(3),
        length=4,
        repeats=3,
        sleep_time=40.0,
        n3_stdp=0.0,
        save_every=5.0,
    )
    ys = jax.jit(lambda k: e.run(k).ys)(jr.key(4))
    t = np.asarray(e.save_ts)
    _, t2, ts = layout(4, 5.0, 10.0, 3, 20.0)
    i1, i2, i3 = (int(np.searchsorted(t, m - 1e-9)) for m in (t2, ts, ts + 40.0))
    chain, recall = np.asarray(ys["chain"]), np.asarray(ys["recall"])
    assert chain[i1, 0] > 3 * chain[i1, 2] and chain[i1, 1] < chain[i1, 2]
    assert recall[i1, 1] == 0.0
    assert chain[i2, 1] > chain[i1, 1] + 0.02
    np.testing.assert_array_equal(chain[i3], chain[i2])
    np.testing.assert_array_equal(ys["w_norm"][i3], ys["w_norm"][i2])
    assert float(np.max(ys["activity"][i2:i3])) > 0.0


# ----------------------------------------------------------------- slow: effect
def _run(n3_stdp, seeds=16):
    opts, p = SleepOptions(n=50), SleepParams(eta=0.05, tau_y=2.0)

    def one(k):
        kb, kr = jr.split(k)
        ys = forgetting_assemblies(opts, p, kb, n3_stdp=n3_stdp).run(kr).ys
        return ys["chain"], ys["recall"]

    keys = jax.vmap(lambda i: jr.fold_in(jr.key(11), i))(jnp.arange(seeds))
    t = np.asarray(forgetting_assemblies(opts, p, jr.key(0)).save_ts)
    _, t2, ts = layout(5, 5.0, 10.0, 10, 20.0)
    idx = [int(np.searchsorted(t, m - 1e-9)) for m in (t2, ts, ts + 1400.0)]
    return [np.asarray(o)[:, idx] for o in jax.jit(jax.vmap(one))(keys)]


@pytest.fixture(scope="module")
def runs():
    return {g: _run(g) for g in (0.75, 0.0)}


@pytest.mark.slow
def test_s1_star_degrades_s1_and_is_learned(runs):
    chain, recall = runs[0.0]
    assert np.all(chain[:, 1, 0] < chain[:, 0, 0])  # S1's chain falls (16/16)
    # S1 replays fully after S1 alone (measured: 16/16 networks in the example,
    # 15/16 with these keys, the other 0.5)
    assert (recall[:, 0, 0] == 1.0).sum() >= 14
    assert np.median(recall[:, 1, 1]) >= 0.5  # S1* learned (median 0.75)


@pytest.mark.slow
def test_n3_night_potentiates_every_pathway_as_measured(runs):
    """What this reduction does (measured, 16 networks): the N3 night with
    STDP at 0.75 raises S1's chain in 16/16 networks, and also the background
    (16/16): the bounds at 0 rectify balanced STDP into net potentiation."""
    chain, _ = runs[0.75]
    ctrl, _ = runs[0.0]
    assert (chain[:, 2, 0] > ctrl[:, 2, 0]).sum() >= 15
    assert (chain[:, 2, 2] > ctrl[:, 2, 2]).sum() >= 15


@pytest.mark.slow
def test_the_control_night_replays_both_sequences_in_order():
    """Spontaneous activity replays S1 and S1* forward above chance (the
    dense reduction does not): the dominant group every 0.5 τ of the control
    night (measured, 16 networks: median S1 forward 0.32, S1* 0.30 of the
    transitions, chance 0.20 each; both above chance in 12 networks)."""
    opts, p = SleepOptions(n=50), SleepParams(eta=0.05, tau_y=2.0)
    _, _, ts = layout(5, 5.0, 10.0, 10, 20.0)
    save = tuple(float(x) for x in np.arange(ts, ts + 1400.0, 0.5))
    s1 = np.arange(5)

    def one(k):
        kb, kr = jr.split(k)
        e = forgetting_assemblies(opts, p, kb, n3_stdp=0.0)
        g = e.observe.groups

        def obs(t, y, model):
            return {"g": g @ model.dynamics.activity(y.neurons).phi / g.sum(1)}

        e = Experiment(
            e.model, e.state0, t0=e.t0, t1=e.t1, dt=e.dt, save_ts=save, observe=obs
        )
        return replay_transitions(e.run(kr).ys["g"], jnp.array([s1, s1[::-1]]))

    keys = jax.vmap(lambda i: jr.fold_in(jr.key(0), i))(jnp.arange(16))
    c = np.asarray(jax.jit(jax.vmap(one))(keys))
    frac = c[:, :2] / c[:, 2:]
    assert np.all(np.median(frac, axis=0) > 0.25)
    assert (frac > 0.2).all(axis=1).sum() >= 10


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="NOT REPRODUCED: with assemblies and S1* = S1 reversed on the same "
    "neurons, the N3 night with STDP 0.75 lowers cued recall of S1 (example: 6/16 "
    "networks down, none up) and of S1* (7/16 down) against the control "
    "night, although S1's chain weight rises; González et al. 2020 report "
    "both sequences improving; see docs/sleep.md",
)
def test_sleep_restores_s1_recall_sign_test(runs):
    from scipy.stats import binomtest

    _, recall = runs[0.75]
    _, ctrl = runs[0.0]
    d1 = recall[:, 2, 0] - ctrl[:, 2, 0]
    up, down = int((d1 > 0).sum()), int((d1 < 0).sum())
    assert binomtest(up, up + down, 0.5, alternative="greater").pvalue < 0.05
    assert (recall[:, 2, 1] < ctrl[:, 2, 1]).sum() <= 1
