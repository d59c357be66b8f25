"""Sleep and catastrophic forgetting (sleep issue, example 4): the general
parts (`SequenceInput`, `sequence_recall`) against NumPy transcriptions,
bad input, and (slow) the protocol's measured effects."""

from __future__ import annotations

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from sleepjax.analysis import sequence_recall
from sleepjax.config import load
from sleepjax.dynamics import AdaptationState, AdaptiveRateNetwork, RateNetwork
from sleepjax.models.sleep import SleepOptions, SleepParams, forgetting
from sleepjax.models.sleep._forgetting import layout, overlapping_sequences
from sleepjax.sleep import StageSchedule, from_table
from sleepjax.stimuli import SequenceInput
from sleepjax.sweep import validate_sweep

sys.path.insert(0, str(Path(__file__).parent))
from refusal import assert_setting_refused  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
recall_jit = jax.jit(sequence_recall)  # one compilation instead of eager ops
sequences_jit = jax.jit(overlapping_sequences, static_argnums=(1, 2))


# ------------------------------------------------------ NumPy transcriptions
def np_recall(W, seqs, gain=1.0):
    """Loop-by-loop transcription of `sequence_recall`."""
    s_n, k_n, n = seqs.shape
    cand = seqs.reshape(s_n * k_n, n)
    unit = cand / np.linalg.norm(cand, axis=1)[:, None]
    frac, marg = np.zeros(s_n), np.zeros(s_n)
    for s in range(s_n):
        for k in range(k_n - 1):
            h = W @ np.tanh(gain * seqs[s, k])
            h = h / np.linalg.norm(h)
            i_cue, i_tgt = s * k_n + k, s * k_n + k + 1
            best = -np.inf
            for j in range(s_n * k_n):
                if unit[j] @ unit[i_cue] > 1 - 1e-6 or unit[j] @ unit[i_tgt] > 1 - 1e-6:
                    continue
                best = max(best, h @ unit[j])
            m = h @ unit[i_tgt] - best
            frac[s] += (m > 0) / (k_n - 1)
            marg[s] += m / (k_n - 1)
    return frac, marg


def test_sequence_recall_matches_numpy(x64):
    rng = np.random.default_rng(0)
    n, k = 20, 4
    p = rng.choice([-1.0, 1.0], (k, n))
    q = rng.choice([-1.0, 1.0], (k, n))
    q[1] = p[2]  # an element shared by both sequences
    seqs = np.stack([p, q])
    for W in (rng.normal(size=(n, n)), sum(np.outer(p[i + 1], p[i]) for i in range(3))):
        frac, marg = recall_jit(jnp.asarray(W), jnp.asarray(seqs), 0.7)
        f_np, m_np = np_recall(W, seqs, gain=0.7)
        np.testing.assert_allclose(np.asarray(marg), m_np, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(np.asarray(frac), f_np)


def test_sequence_recall_of_a_hand_made_chain():
    """W = Σ p_{k+1} p_kᵀ stores S1 forward: every S1 transition is recalled;
    S2 (S1 reversed) is recalled nowhere."""
    rng = np.random.default_rng(1)
    p = rng.choice([-1.0, 1.0], (5, 64))
    W = sum(np.outer(p[i + 1], p[i]) for i in range(4)) / 64
    frac, marg = recall_jit(jnp.asarray(W), jnp.asarray(np.stack([p, p[::-1]])))
    np.testing.assert_array_equal(np.asarray(frac), [1.0, 0.0])
    assert marg[0] > 0.5 and marg[1] < -0.5


def test_sequence_input_presents_each_element_in_its_window():
    pats = jnp.asarray(np.eye(3, 5))
    stim = SequenceInput(pats, 2.0, t_on=10.0, dwell=4.0, gap=3.0, repeats=2)
    ts = np.arange(0.0, 45.0, 0.5)
    got = np.asarray(jax.jit(jax.vmap(lambda t: stim.drive(t, None)))(ts))
    for t, b in zip(ts, got, strict=True):
        s = t - 10.0
        ph = s % 15.0
        on = 0 <= s < 30.0 and ph < 12.0
        want = 2.0 * np.eye(3, 5)[int(ph // 4.0)] if on else np.zeros(5)
        np.testing.assert_array_equal(b, want, err_msg=f"t = {t}")
    assert float(stim.t_off) == 40.0


def test_overlapping_sequences_share_the_reversed_elements():
    s = np.asarray(sequences_jit(jr.key(0), 400, 5, 0.5))
    shared = (s[1] == s[0][::-1]).mean()
    assert 0.68 < shared < 0.82  # 0.5 copied + half of the fresh half by chance
    s1 = np.asarray(sequences_jit(jr.key(0), 400, 5, 1.0))
    np.testing.assert_array_equal(s1[1], s1[0][::-1])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="K >= 2"):
        sequence_recall(jnp.eye(4), jnp.ones((1, 1, 4)))
    with pytest.raises(ValueError, match="dwell"):
        SequenceInput(jnp.ones((2, 3)), 1.0, 0.0, dwell=0.0)
    with pytest.raises(ValueError, match="repeats"):
        SequenceInput(jnp.ones((2, 3)), 1.0, 0.0, dwell=1.0, repeats=0)
    with pytest.raises(ValueError, match=r"\(K, n\)"):
        SequenceInput(jnp.ones(3), 1.0, 0.0, dwell=1.0)


def test_adaptive_rate_network_matches_numpy_and_reduces_to_rate_network():
    """AdaptiveRateNetwork (the N3 adaptation variant of docs/sleep.md):
    τ dx = −x + W tanh x − a + b, τ_a da = −a + g(t) tanh x, with g from a
    StageSchedule (0 in wake, 3 in N3); at g = 0, a = 0 it is RateNetwork."""
    rng = np.random.default_rng(2)
    n = 7
    W, b = rng.normal(size=(n, n)), rng.normal(size=n)
    x, a = rng.normal(size=n), rng.normal(size=n)
    hyp = from_table([("N3", 10.0)], t0=5.0)
    net = AdaptiveRateNetwork(
        n, StageSchedule(hyp, {"N3": 3.0}, 0.0), tau_a=4.0, tau=2.0
    )
    state = AdaptationState(x=jnp.asarray(x), a=jnp.asarray(a))
    drift = jax.jit(lambda t: net.drift(t, state, jnp.asarray(W), jnp.asarray(b)))
    for t, g in ((1.0, 0.0), (7.0, 3.0)):
        d = drift(t)
        np.testing.assert_allclose(d.x, (-x + W @ np.tanh(x) - a + b) / 2.0, rtol=1e-5)
        np.testing.assert_allclose(
            d.a, (-a + g * np.tanh(x)) / 4.0, rtol=1e-5, atol=1e-6
        )
    plain = AdaptiveRateNetwork(n, tau_a=4.0)
    rest = AdaptationState(x=jnp.asarray(x), a=jnp.zeros(n))
    d = plain.drift(0.0, rest, jnp.asarray(W), jnp.asarray(b))
    want = RateNetwork(n=n).drift(0.0, jnp.asarray(x), jnp.asarray(W), jnp.asarray(b))
    np.testing.assert_array_equal(d.x, want)
    np.testing.assert_array_equal(d.a, np.zeros(n))
    np.testing.assert_array_equal(plain.activity(rest).phi, jnp.tanh(rest.x))
    with pytest.raises(ValueError, match="tau_a"):
        AdaptiveRateNetwork(n, 1.0, tau_a=0.0)
    with pytest.raises(ValueError, match="positive int"):
        AdaptiveRateNetwork(0)


BASE = {
    "model": {"name": "sleep_stages", "n": 16, "eta": 0.1},
    "protocol": {"name": "forgetting", "sleep_time": 40.0, "repeats": 2},
}


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("overlap", 1.5, r"\[protocol\] overlap must be in \[0, 1\]"),
        ("n3_stdp", -0.75, r"\[protocol\] n3_stdp"),
        ("length", 1, r"\[protocol\] length"),
        ("overlapp", 0.5, r"did you mean 'overlap'"),
    ],
)
def test_bad_config_is_refused_and_the_cli_writes_nothing(
    tmp_path, capsys, key, value, match
):
    assert_setting_refused(BASE, "protocol", key, value, match, tmp_path, capsys)


def test_example_is_valid():
    plan = validate_sweep(load(ROOT / "examples" / "sleep_forgetting.toml"))
    assert plan.n_networks == 16


# ----------------------------------------------------------------- slow: effect
def _run(n3_stdp, seeds=8):
    opts, p = SleepOptions(n=64), SleepParams(eta=0.1)

    def one(k):
        kb, kr = jr.split(k)
        e = forgetting(opts, p, kb, n3_stdp=n3_stdp)
        ys = e.run(kr).ys
        return ys["margin"], ys["recall"], ys["w_norm"]

    keys = jax.vmap(lambda i: jr.fold_in(jr.key(7), i))(jnp.arange(seeds))
    e = forgetting(opts, p, jr.key(0))
    t = np.asarray(e.save_ts)
    t2, t_sleep = layout(6, 5.0, 10.0, 10, 20.0)[1:]
    idx = [int(np.searchsorted(t, m - 1e-9)) for m in (t2, t_sleep, t_sleep + 400.0)]
    out = jax.jit(jax.vmap(one))(keys)
    return [np.asarray(o)[:, idx] for o in out]


@pytest.fixture(scope="module")
def runs():
    return {g: _run(g) for g in (0.75, 0.0)}


@pytest.mark.slow
def test_s2_degrades_s1_and_is_learned(runs):
    margin, recall, _ = runs[0.75]
    s1 = margin[..., 0]
    assert (s1[:, 1] < s1[:, 0]).sum() >= 7  # S2 degrades S1 (measured: 8/8)
    chance = 1.0 / 11.0  # 12 elements, the cue excluded
    assert np.median(recall[:, 1, 1]) > chance  # S2 learned (median 0.8)
    assert np.all(recall[:, 0, 1] == 0.0)  # S2 unknown after S1 alone


@pytest.mark.slow
def test_control_night_without_plasticity_leaves_recall_unchanged(runs):
    margin, recall, w = runs[0.0]
    np.testing.assert_array_equal(recall[:, 2], recall[:, 1])
    np.testing.assert_array_equal(w[:, 2], w[:, 1])  # gain 0: W bitwise kept


@pytest.mark.slow
def test_n3_night_lowers_both_margins_as_measured(runs):
    """What the reduced model does (measured, 8/8 seeds): spontaneous
    activity settles in self-sustained states, net-potentiating STDP at
    0.75 reinforces them, ‖W‖ grows and both sequences' margins fall."""
    margin, _, w = runs[0.75]
    assert (margin[:, 2, 0] < margin[:, 1, 0]).sum() >= 7
    assert (margin[:, 2, 1] < margin[:, 1, 1]).sum() >= 7
    assert np.all(w[:, 2] > 1.5 * w[:, 1])


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="NOT REPRODUCED: in the reduced rate model the N3 night with STDP "
    "gain 0.75 lowers S1's recall margin in 8/8 seeds instead of restoring it "
    "(González et al. 2020 report restoration in a spiking thalamocortical "
    "network); weight bounds, incoming-norm normalisation and balanced night "
    "STDP do not restore it either, nor do N3 spike-frequency adaptation or "
    "up/down slow oscillations: the trained network does not replay S1 in "
    "order (one dominant mode of the trained W holds it); nor does a spiking "
    "line network after the authors' code; see docs/sleep.md",
)
def test_sleep_restores_s1_sign_test(runs):
    from scipy.stats import binomtest

    margin, recall, _ = runs[0.75]
    up = int((margin[:, 2, 0] > margin[:, 1, 0]).sum())
    assert binomtest(up, len(margin), 0.5, alternative="greater").pvalue < 0.05
    assert np.median(recall[:, 2, 1]) > 1.0 / 11.0
