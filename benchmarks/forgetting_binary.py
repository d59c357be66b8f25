"""Sleep against catastrophic forgetting with binary units (issue 12, example 4).

A third reduction of González et al. (2020), after the dense ±1 network and
the rate assemblies (`forgetting_assemblies.py`): binary threshold units
with a refractory period, so every neuron fires at its own time step and
STDP acts on single pairs of neurons, not on whole groups.

- Five groups A-E of 10 neurons on a line (A = neurons 0-9, ...), synapses
  with probability 0.5 (no self-synapses), initial weights U(0, 0.05).
- Dynamics (one step ~ one synaptic delay): x_i(t+1) = 1 if
  sum_j W_ij x_j(t) - g n_active / 10 + b + sigma xi_i(t) > 1 and neuron i
  did not fire in the last R = 2 steps.
- STDP on consecutive steps: dW = eta (x(t+1) x(t)^T - a_minus x(t) x(t+1)^T)
  on existing synapses, clipped to [0, w_max = 0.4].
- Wake training: S1 = ABCDE presented `--reps1` times (each neuron of the
  stimulated group responds with probability 0.7), then S1* = EDCBA on the
  same neurons `--reps2` times. Recall: cue a sequence's first group, run
  8 steps without plasticity (wake noise 0.1), and score the fraction of
  the 4 next groups that become active (>= half of their neurons) at their
  step in order; mean over 20 cued trials.
- N3 night, with STDP at gain 0.75 against the same night without
  plasticity (same key):
  `--night noise`: spontaneous activity from noise (sigma `--sigma`, bias
  `--bias`, inhibition 0.3);
  `--night ignition`: up states every 8 steps, each started by a random
  window of 8 neighbouring neurons on the line (slow-wave onsets at random
  sites, as in the paper's thalamocortical chain), bias `--bias`,
  inhibition 0.2, noise 0.05.

Printed per seed: recall (S1, S1*) after S1, after S1*, after the night;
the mean weight along S1 and along S1*; the background (pairs of groups
that are neighbours in neither sequence); the mean of w_ab + w_ba over
reciprocal pairs between neighbouring groups (balanced STDP conserves it
away from the bounds); and the group-to-group transitions during the
night. Run: `python benchmarks/forgetting_binary.py --night ignition --bias 0.2`.
"""

from __future__ import annotations

import argparse

import numpy as np

G, SIZE = 5, 10
N = G * SIZE
GROUPS = np.repeat(np.arange(G), SIZE)
S1 = list(range(G))
S1_STAR = S1[::-1]
REFRACTORY = 2
THETA = 1.0


def network(rng, p=0.5, w0=0.05):
    mask = (rng.random((N, N)) < p).astype(float)
    np.fill_diagonal(mask, 0.0)
    return w0 * rng.random((N, N)) * mask, mask


def stdp(W, mask, before, after, eta, w_max, a_minus=1.0):
    dW = np.outer(after, before) - a_minus * np.outer(before, after)
    return np.clip(W + eta * dW * mask, 0.0, w_max)


def train(W, mask, rng, order, reps, eta, w_max, p_resp=0.7, gap=3):
    for _ in range(reps):
        prev = np.zeros(N)
        for g in [*order, *([None] * gap)]:
            x = np.zeros(N) if g is None else (GROUPS == g) & (rng.random(N) < p_resp)
            W = stdp(W, mask, prev, x.astype(float), eta, w_max)
            prev = x.astype(float)
    return W


def update(W, x, refr, rng, bias, sigma, inhibition):
    h = W @ x - inhibition * x.sum() / SIZE + bias + sigma * rng.standard_normal(N)
    new = ((h > THETA) & (refr == 0)).astype(float)
    return new, np.where(new > 0, REFRACTORY, np.maximum(refr - 1, 0))


def recall(W, order, rng, trials=20, steps=8, sigma=0.1, inhibition=0.1):
    scores = []
    for _ in range(trials):
        x = (GROUPS == order[0]).astype(float)
        refr = np.where(x > 0, REFRACTORY, 0)
        first = {order[0]: 0}
        for t in range(1, steps):
            x, refr = update(W, x, refr, rng, 0.0, sigma, inhibition)
            for g in range(G):
                if g not in first and x[GROUPS == g].mean() >= 0.5:
                    first[g] = t
        k = 0
        while k < G - 1 and first.get(order[k + 1]) == k + 1:
            k += 1
        scores.append(k / (G - 1))
    return float(np.mean(scores))


def night(W, mask, rng, args, eta):
    """N3: returns the weights and the (S1-forward, S1*-forward, other)
    transitions between groups (>= half active) on consecutive steps."""
    x, refr = np.zeros(N), np.zeros(N, int)
    counts = np.zeros(3, int)
    ignition = args.night == "ignition"
    for t in range(args.steps):
        if ignition and t % 8 == 0:
            start = rng.integers(0, N - 8 + 1)
            new = np.zeros(N)
            new[start : start + 8] = 1.0
            new *= refr == 0
            refr = np.where(new > 0, REFRACTORY, np.maximum(refr - 1, 0))
        else:
            sigma, inh = (0.05, 0.2) if ignition else (args.sigma, 0.3)
            new, refr = update(W, x, refr, rng, args.bias, sigma, inh)
        if eta > 0:
            W = stdp(W, mask, x, new, eta, 0.4, args.a_minus)
        a = np.bincount(GROUPS, x, G) >= SIZE // 2
        b = np.bincount(GROUPS, new, G) >= SIZE // 2
        for i in np.flatnonzero(a):
            for j in np.flatnonzero(b):
                if i != j:
                    counts[0 if j == i + 1 else 1 if j == i - 1 else 2] += 1
        x = new
    return W, counts


def weights(W, mask):
    """(S1 weight, S1* weight, background, reciprocal pair sum)."""
    fwd, bwd, pair = [], [], []
    for a, b in zip(S1[:-1], S1[1:], strict=True):
        ab = np.ix_(GROUPS == b, GROUPS == a)
        ba = np.ix_(GROUPS == a, GROUPS == b)
        fwd.append(W[ab][mask[ab] > 0].mean())
        bwd.append(W[ba][mask[ba] > 0].mean())
        both = (mask[ab] > 0) & (mask[ba].T > 0)
        pair.append((W[ab] + W[ba].T)[both].mean())
    gi, gj = np.meshgrid(GROUPS, GROUPS, indexing="ij")
    background = (np.abs(gi - gj) > 1) & (mask > 0)
    return np.array([np.mean(fwd), np.mean(bwd), W[background].mean(), np.mean(pair)])


def run(seed, args):
    rng = np.random.default_rng(seed)
    W, mask = network(rng)
    W = train(W, mask, rng, S1, args.reps1, args.eta, 0.4)
    rows = [(recall(W, S1, rng), recall(W, S1_STAR, rng), *weights(W, mask))]
    W = train(W, mask, rng, S1_STAR, args.reps2, args.eta, 0.4)
    rows.append((recall(W, S1, rng), recall(W, S1_STAR, rng), *weights(W, mask)))
    out = {}
    for name, gain in (("stdp", 0.75), ("control", 0.0)):
        Wn, counts = night(
            W.copy(), mask, np.random.default_rng(seed + 10_000), args, gain * args.eta
        )
        rows.append((recall(Wn, S1, rng), recall(Wn, S1_STAR, rng), *weights(Wn, mask)))
        out[name] = counts
    return np.array(rows), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--night", choices=("noise", "ignition"), default="ignition")
    ap.add_argument("--bias", type=float, default=0.2)
    ap.add_argument("--sigma", type=float, default=0.5, help="noise night: sigma")
    ap.add_argument("--a-minus", type=float, default=1.0, help="night STDP A-/A+")
    ap.add_argument("--eta", type=float, default=0.04)
    ap.add_argument("--reps1", type=int, default=20)
    ap.add_argument("--reps2", type=int, default=10)
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--seeds", type=int, default=8)
    args = ap.parse_args()
    rows = ["after S1", "after S1*", "N3 STDP 0.75", "N3 control"]
    cols = "S1 recall, S1* recall, S1 weight, S1* weight, background, pair sum"
    allr = []
    for seed in range(args.seeds):
        r, counts = run(seed, args)
        allr.append(r)
        print(
            f"seed {seed}: transitions S1/S1*/other stdp {counts['stdp'].tolist()} "
            f"control {counts['control'].tolist()}"
        )
    allr = np.array(allr)
    print(f"median over {args.seeds} seeds ({cols}):")
    for i, name in enumerate(rows):
        print(f"  {name:14s}", np.round(np.median(allr[:, i], 0), 3).tolist())
    d = allr[:, 2] - allr[:, 3]
    for j, name in enumerate(cols.split(", ")):
        print(
            f"  night vs control, {name}: up {(d[:, j] > 1e-9).sum()}, "
            f"down {(d[:, j] < -1e-9).sum()}"
        )


if __name__ == "__main__":
    main()
