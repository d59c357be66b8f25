"""Sleep against catastrophic forgetting: a pair-biased N3 night (issue 12, example 4).

Tests whether an N3 night can decide each reciprocal pair's direction by
that pair's own training bias, as in González et al. (2020), where sleep
gives separate subsets of synapses to S1 = ABCDE and S1* = EDCBA. Wake,
network and read-outs are those of `forgetting_binary.py` (imported as
`fb`): five groups A-E of 10 binary units, synapses with probability 0.5,
W[post, pre] in [0, 0.4], a 2-step refractory period, pair STDP on
consecutive steps dW = eta (x(t+1) x(t)^T - a_minus x(t) x(t+1)^T);
S1 x `--reps1`, then S1* x `--reps2` on the same neurons (response
probability `--p-resp`); recall = fraction of the 4 next groups active in
order after a cue (20 trials, wake noise 0.1).

The night (`--night glauber`): sparse, asynchronous spontaneous activity
of stochastic (kinetic-Ising / Glauber) units,

    P(x_i(t+1) = 1) = sigmoid((sum_j W_ij x_j(t) - g n_active / 10 - theta_s) / T)

unless i fired in the last 2 steps, with theta_s = T log((1 - r0) / r0),
so that the base rate is r0 per neuron and step (`--rate`), temperature T
(`--temp`) and global inhibition g (`--inh`). A spike of a raises b's
firing probability at the next step by an amount that grows with w_ab,
so for a reciprocal pair E[dw_ab] ~ P(b after a) - P(a after b) grows with
w_ab - w_ba: rich-get-richer per pair. STDP at gain 0.75 (0.75 times
`--night-eta`, by default the wake rate `--eta`; a_minus `--a-minus`) is
compared with the same night without plasticity (same random key).
`--night noise` runs fb's noise night (sigma `--sigma`, bias `--bias`)
through the same read-outs, as a reference.

Defaults. Wake: reps2 = 14, chosen by wake criteria only (`--wake-scan
10,11,12,13,14`: the only value with S1* recalled, median 0.45, while S1
is lost, 0.00, and 19 % of the reciprocal pairs still favour S1; at 10-13
S1* recall is 0.02-0.26; a response probability of 0.5 does not learn S1).
Night: r0 = 0.02, T = 0.1, g = 2, 40000 steps, chosen as sparse (0.7
units active per step, no step with a group half active; without
inhibition the plastic night runs away into group-wide activity).

Printed per seed and as medians: recall of S1 / S1* after S1, after S1*,
after the control night, after the plastic night; the mean weight along
S1, S1* and the background (groups neighbours in neither sequence); for
the reciprocal pairs (a in g, b in g + 1): the fraction whose S1 direction
is the stronger (w_ab > w_ba), at sleep onset and after the night, the
persistence of sign(w_ab - w_ba) over the night (fraction agreeing and the
correlation of the signs), and the fraction that became unidirectional
(weaker weight < 10 % of the stronger); the night's activity (mean units
active per step, fraction of steps with a group >= half active). Then the
sign test: networks where the plastic night is above / below the control.

`--wake-scan 10,12,14` prints only the wake read-outs for those reps2.
Run: `python benchmarks/forgetting_pairs.py`.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import forgetting_binary as fb  # noqa: E402

W_MAX = 0.4


def pairs(mask):
    """Indices (a, b), a in group g, b in group g + 1, with both synapses."""
    a_idx, b_idx = [], []
    for g in range(fb.G - 1):
        for a in np.flatnonzero(fb.GROUPS == g):
            for b in np.flatnonzero(fb.GROUPS == g + 1):
                if mask[b, a] > 0 and mask[a, b] > 0:
                    a_idx.append(a)
                    b_idx.append(b)
    return np.array(a_idx), np.array(b_idx)


def pair_stats(W0, W1, mask):
    """(S1-direction fraction before, after, sign agreement, sign corr,
    unidirectional fraction after, unidirectional fraction before, and the
    S1 weight on three sets of synapses before / after, see below)."""
    a, b = pairs(mask)
    d0 = W0[b, a] - W0[a, b]
    d1 = W1[b, a] - W1[a, b]
    s0, s1 = np.sign(d0), np.sign(d1)
    ok = s0 != 0
    agree = float(np.mean(s0[ok] == s1[ok]))
    corr = float(np.corrcoef(s0[ok], s1[ok])[0, 1]) if s1[ok].std() > 0 else np.nan

    def uni(W):
        hi = np.maximum(W[b, a], W[a, b])
        lo = np.minimum(W[b, a], W[a, b])
        return float(np.mean(lo < 0.1 * np.maximum(hi, 1e-12)))

    # S1 weight (w_ab) on S1-biased and on S1*-biased reciprocal pairs, and on
    # the non-reciprocal S1 synapses, at sleep onset and after the night
    fwd = d0 > 0
    na, nb = nonreciprocal(mask)
    split = [
        W[b, a][sel].mean() if sel.any() else np.nan
        for sel in (fwd, ~fwd)
        for W in (W0, W1)
    ] + [W0[nb, na].mean(), W1[nb, na].mean()]
    return np.array(
        [np.mean(d0 > 0), np.mean(d1 > 0), agree, corr, uni(W1), uni(W0), *split]
    )


def nonreciprocal(mask):
    """Indices (a, b), a in group g, b in group g + 1, synapse a -> b only."""
    a_idx, b_idx = [], []
    for g in range(fb.G - 1):
        for a in np.flatnonzero(fb.GROUPS == g):
            for b in np.flatnonzero(fb.GROUPS == g + 1):
                if mask[b, a] > 0 and mask[a, b] == 0:
                    a_idx.append(a)
                    b_idx.append(b)
    return np.array(a_idx), np.array(b_idx)


def glauber_night(W, mask, rng, args, eta):
    """Returns the weights and (mean active units per step, fraction of
    steps with some group >= half active)."""
    theta = args.temp * np.log((1 - args.rate) / args.rate)
    x, refr = np.zeros(fb.N), np.zeros(fb.N, int)
    active, ignited = 0.0, 0
    for _ in range(args.steps):
        h = W @ x - args.inh * x.sum() / fb.SIZE - theta
        p = 1.0 / (1.0 + np.exp(-np.clip(h / args.temp, -50, 50)))
        new = ((rng.random(fb.N) < p) & (refr == 0)).astype(float)
        refr = np.where(new > 0, fb.REFRACTORY, np.maximum(refr - 1, 0))
        if eta > 0:
            W = fb.stdp(W, mask, x, new, eta, W_MAX, args.a_minus)
        active += new.sum()
        ignited += int((np.bincount(fb.GROUPS, new, fb.G) >= fb.SIZE // 2).any())
        x = new
    return W, np.array([active / args.steps, ignited / args.steps])


def night(W, mask, rng, args, eta):
    if args.night == "glauber":
        return glauber_night(W, mask, rng, args, eta)
    ns = SimpleNamespace(
        night="noise",
        sigma=args.sigma,
        bias=args.bias,
        a_minus=args.a_minus,
        steps=args.steps,
    )
    Wn, counts = fb.night(W, mask, rng, ns, eta)
    return Wn, np.array([np.nan, np.nan])


def wake(seed, args, reps2):
    rng = np.random.default_rng(seed)
    W, mask = fb.network(rng)
    W = train(W, mask, rng, fb.S1, args.reps1, args)
    after1 = [
        fb.recall(W, fb.S1, rng),
        fb.recall(W, fb.S1_STAR, rng),
        *fb.weights(W, mask)[:3],
    ]
    W = train(W, mask, rng, fb.S1_STAR, reps2, args)
    after2 = [
        fb.recall(W, fb.S1, rng),
        fb.recall(W, fb.S1_STAR, rng),
        *fb.weights(W, mask)[:3],
    ]
    return W, mask, rng, np.array([after1, after2])


def train(W, mask, rng, order, reps, args):
    return fb.train(W, mask, rng, order, reps, args.eta, W_MAX, p_resp=args.p_resp)


def run(seed, args):
    W, mask, rng, rows = wake(seed, args, args.reps2)
    out, extra = [], []
    for gain in (0.0, 0.75):  # control, then plastic; same key
        eta = gain * (args.eta if args.night_eta is None else args.night_eta)
        Wn, act = night(W.copy(), mask, np.random.default_rng(seed + 10_000), args, eta)
        out.append(
            [
                fb.recall(Wn, fb.S1, rng),
                fb.recall(Wn, fb.S1_STAR, rng),
                *fb.weights(Wn, mask)[:3],
            ]
        )
        ps = pair_stats(W, Wn, mask)
        extra.append(np.concatenate([ps[:6], act, ps[6:]]))
    return np.concatenate([rows, np.array(out)]), np.array(extra)


def wake_scan(args):
    print(
        "wake scan (median over seeds): recall S1, S1* | weights S1, S1*, bg | "
        "S1-direction pair fraction, sd of (w_ab - w_ba)"
    )
    for reps2 in [int(r) for r in args.wake_scan.split(",")]:
        res = []
        for seed in range(args.seeds):
            W, mask, _, rows = wake(seed, args, reps2)
            a, b = pairs(mask)
            d = W[b, a] - W[a, b]
            res.append([*rows[0], *rows[1], np.mean(d > 0), d.std()])
        r = np.median(np.array(res), 0)
        print(
            f"  reps2 {reps2:2d}: after S1 {np.round(r[:2], 2).tolist()} "
            f"{np.round(r[2:5], 3).tolist()} | "
            f"after S1* {np.round(r[5:7], 2).tolist()} "
            f"{np.round(r[7:10], 3).tolist()} | pairs {r[10]:.2f}, sd {r[11]:.3f}"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--night", choices=("glauber", "noise"), default="glauber")
    ap.add_argument(
        "--rate", type=float, default=0.02, help="base rate r0 per unit, step"
    )
    ap.add_argument("--temp", type=float, default=0.1, help="temperature T")
    ap.add_argument("--inh", type=float, default=2.0, help="global inhibition g")
    ap.add_argument("--sigma", type=float, default=0.5, help="noise night: sigma")
    ap.add_argument("--bias", type=float, default=0.2, help="noise night: bias")
    ap.add_argument("--a-minus", type=float, default=1.0, help="night STDP A-/A+")
    ap.add_argument("--eta", type=float, default=0.04)
    ap.add_argument(
        "--night-eta",
        type=float,
        default=None,
        help="night STDP rate before the gain (default: --eta)",
    )
    ap.add_argument("--p-resp", type=float, default=0.7)
    ap.add_argument("--reps1", type=int, default=20)
    ap.add_argument("--reps2", type=int, default=14)
    ap.add_argument("--steps", type=int, default=40000)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--wake-scan", default="", help="comma-separated reps2 values")
    args = ap.parse_args()
    if args.wake_scan:
        wake_scan(args)
        return
    names = ["after S1", "after S1*", "N3 control", "N3 STDP 0.75"]
    print("per seed: recall S1, S1* | weights S1, S1*, bg for " + " / ".join(names))
    print(
        "  pairs: S1-dir fraction onset -> night, sign agreement, sign corr, "
        "unidirectional onset -> night; activity: units/step, steps with a group "
        ">= 1/2"
    )
    allr, alle = [], []
    for seed in range(args.seeds):
        r, e = run(seed, args)
        allr.append(r)
        alle.append(e[1])
        cells = " / ".join(
            f"{r[i, 0]:.2f} {r[i, 1]:.2f} | {r[i, 2]:.3f} {r[i, 3]:.3f} {r[i, 4]:.3f}"
            for i in range(4)
        )
        p = e[1]
        print(f"seed {seed}: {cells}")
        print(
            f"  pairs {p[0]:.2f} -> {p[1]:.2f}, agree {p[2]:.2f}, corr {p[3]:.2f}, "
            f"uni {p[5]:.2f} -> {p[4]:.2f}; activity {p[6]:.2f}/step, "
            f"group {p[7]:.3f} (control {e[0][6]:.2f}, {e[0][7]:.3f})"
        )
        print(
            f"  S1 weight onset -> night: S1-biased pairs {p[8]:.3f} -> {p[9]:.3f}, "
            f"S1*-biased pairs {p[10]:.3f} -> {p[11]:.3f}, non-reciprocal "
            f"{p[12]:.3f} -> {p[13]:.3f}"
        )
    allr, alle = np.array(allr), np.array(alle)
    print(
        f"median over {args.seeds} seeds (recall S1, S1*, weight S1, S1*, background):"
    )
    for i, name in enumerate(names):
        print(f"  {name:13s}", np.round(np.median(allr[:, i], 0), 3).tolist())
    with warnings.catch_warnings():  # the noise night has no activity read-out
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmedian(alle, 0)
    print(
        f"  pairs: S1-dir {m[0]:.2f} -> {m[1]:.2f}, sign agreement {m[2]:.2f}, "
        f"sign corr {m[3]:.2f}, unidirectional {m[5]:.2f} -> {m[4]:.2f}; "
        f"activity {m[6]:.2f}/step, group >= 1/2 in {m[7]:.3f} of steps"
    )
    print(
        f"  S1 weight onset -> night: S1-biased pairs {m[8]:.3f} -> {m[9]:.3f}, "
        f"S1*-biased pairs {m[10]:.3f} -> {m[11]:.3f}, non-reciprocal "
        f"{m[12]:.3f} -> {m[13]:.3f}"
    )
    d = allr[:, 3] - allr[:, 2]
    for j, name in enumerate(
        ["S1 recall", "S1* recall", "S1 weight", "S1* weight", "background"]
    ):
        print(
            f"  STDP night vs control, {name}: up {(d[:, j] > 1e-9).sum()}, "
            f"down {(d[:, j] < -1e-9).sum()}, median diff {np.median(d[:, j]):+.3f}"
        )


if __name__ == "__main__":
    main()
