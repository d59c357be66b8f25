r"""Sleep against catastrophic forgetting with assemblies: an investigation
script (not a timing) for example 4 of the sleep issue.

The `forgetting` protocol reduces González et al. (2020) to dense ±1 patterns
and does not replay S1 in order during N3 (benchmarks/RESULTS.md). This script
is the prototype of the `forgetting_assemblies` protocol, kept because it
varies what the protocol fixes (all-to-all or sparse synapses, bias spread,
learning rate; hard clipping of W, white noise on x, rest state x = 0). It
keeps the paper's structure: five groups A–E of `m` neurons; S1 =
ABCDE; S1* = EDCBA on the same neurons (the paper's interference case), each
trained for the same time; then an N3 night of noise-driven activity with
STDP at gain 0.75, against the same night without plasticity (paired seeds).

Network (Euler–Maruyama, step dt, time in τ):

    dx = [−x + W r − w_I mean(r) + b + I(t)] dt + σ dB,   r = max(0, tanh x)

Rate STDP with equal potentiation and depression (a_P = 1, a_D = −1), trace
time τ_S, hard bounds 0 ≤ W ≤ w_max (the paper bounds weights), no
autapses:

    dW_ij = η [r_i y_j − y_i r_j] dt,    τ_S dy = (r − y) dt

Read-outs per network:
- group weights: forward (S1) = mean over k of the mean weight from group k
  to k+1; reverse (S1*) = the same from k+1 to k;
- recall score: cue the first element (drive for `cue` τ), run 30 τ without
  noise or plasticity; the fraction of the 4 consecutive pairs whose group
  activity peaks (> 0.2) come in the sequence's order;
- replay during the night: every 0.5 τ the most active group (> 0.2);
  transitions between episodes counted as S1-forward (k → k+1), S1*-forward
  (k+1 → k) or other (chance for each direction 4 of 20 ordered pairs).

    python benchmarks/forgetting_assemblies.py            # the table
    python benchmarks/forgetting_assemblies.py --night 400
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from sleepjax.analysis import replay_transitions


def build(a):
    G, m = 5, a.m
    N = G * m
    onehot = (jnp.repeat(jnp.arange(G), m)[None, :] == jnp.arange(G)[:, None]).astype(
        jnp.float32
    )
    off = 1.0 - jnp.eye(N)

    def step(c, inp, eta, sig, key, mask, b):
        x, W, y = c
        r = jnp.clip(jnp.tanh(x), 0.0, None)
        dx = -x + W @ r - a.w_inh * jnp.mean(r) + b + inp
        x = x + a.dt * dx + jnp.sqrt(a.dt) * sig * jr.normal(key, x.shape)
        dW = jnp.outer(r, y) - jnp.outer(y, r)
        W = jnp.clip(W + a.dt * eta * dW * mask, 0.0, a.w_max)
        y = y + a.dt * (r - y) / a.tau_s
        return (x, W, y)

    def run(c, inputs, eta, sig, key, mask, b):
        keys = jr.split(key, inputs.shape[0])

        def f(c, ik):
            c = step(c, ik[0], eta, sig, ik[1], mask, b)
            return c, onehot @ jnp.clip(jnp.tanh(c[0]), 0.0, None) / m

        return jax.lax.scan(f, c, (inputs, keys))

    def block(order):
        dw, gp, rs = (int(round(v / a.dt)) for v in (a.dwell, a.gap, a.rest))
        one = [jnp.repeat(a.drive * onehot[g][None], dw, 0) for g in order]
        one.append(jnp.zeros((gp, N)))
        rep = jnp.tile(jnp.concatenate(one, 0), (a.repeats, 1))
        return jnp.concatenate([rep, jnp.zeros((rs, N))], 0)

    s1, s1s = list(range(G)), list(range(G))[::-1]
    in1, in2 = block(s1), block(s1s)
    n_test, n_cue = int(round(30.0 / a.dt)), int(round(a.cue / a.dt))
    n_night = int(round(a.night / a.dt))

    def score(W, order, mask, b):
        o = jnp.array(order)
        inp = jnp.zeros((n_test, N)).at[:n_cue].set(a.drive * onehot[o[0]])
        z = jnp.zeros(N)
        _, gm = run((z, W, z), inp, 0.0, 0.0, jr.key(0), mask, b)
        pk, mx = jnp.argmax(gm, 0), jnp.max(gm, 0)
        ok = (pk[o[1:]] > pk[o[:-1]]) & (mx[o[1:]] > 0.2) & (mx[o[:-1]] > 0.2)
        return ok.mean()

    def weights(W):
        Wg = onehot @ W @ onehot.T / m / m
        k = jnp.arange(G - 1)
        far = jnp.abs(jnp.arange(G)[:, None] - jnp.arange(G)[None, :]) >= 2
        return jnp.stack(
            [Wg[k + 1, k].mean(), Wg[k, k + 1].mean(), (Wg * far).sum() / far.sum()]
        )

    def one(key):
        kw, k1, k2, k3, km, kb = jr.split(key, 6)
        z = jnp.zeros(N)
        mask = off * (jr.uniform(km, (N, N)) < a.p_conn)
        b = a.bias + a.bias_sd * jr.normal(kb, (N,))
        W0 = a.w0 * jr.uniform(kw, (N, N)) * mask
        c1, _ = run((z, W0, z), in1, a.eta, 0.0, k1, mask, b)
        c2, _ = run(c1, in2, a.eta, 0.0, k2, mask, b)
        night = jnp.zeros((n_night, N))
        cs, gm = run(c2, night, a.eta * a.gain, a.sigma, k3, mask, b)
        cc, _ = run(c2, night, 0.0, a.sigma, k3, mask, b)
        Ws = (c1[1], c2[1], cs[1], cc[1])  # after S1, after S1*, sleep, control
        return (
            jnp.stack([weights(W) for W in Ws]),
            jnp.array([[score(W, o, mask, b) for o in (s1, s1s)] for W in Ws]),
            gm[:: int(round(0.5 / a.dt))],
        )

    return jax.jit(jax.vmap(one))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add = p.add_argument
    add("--seeds", type=int, default=8)
    add("--m", type=int, default=10, help="neurons per group")
    add("--dt", type=float, default=0.1)
    add("--drive", type=float, default=2.0)
    add("--dwell", type=float, default=5.0)
    add("--gap", type=float, default=10.0)
    add("--rest", type=float, default=20.0)
    add("--repeats", type=int, default=10, help="presentations of each sequence")
    add("--bias", type=float, default=-0.3)
    add("--bias-sd", type=float, default=0.0, help="per-neuron bias spread")
    add("--p-conn", type=float, default=1.0, help="connection probability")
    add("--w-inh", type=float, default=3.0, help="global inhibition w_I")
    add("--w0", type=float, default=0.02, help="initial W ~ U(0, w0)")
    add("--w-max", type=float, default=0.6)
    add("--eta", type=float, default=0.03)
    add("--tau-s", type=float, default=2.0, help="STDP trace time τ_S")
    add("--sigma", type=float, default=0.6, help="N3 noise σ")
    add("--gain", type=float, default=0.75, help="STDP gain in N3")
    add("--night", type=float, default=1400.0, help="N3 length (τ)")
    add("--cue", type=float, default=2.0)
    a = p.parse_args()
    t0 = time.perf_counter()
    w, s, gm = build(a)(jr.split(jr.key(0), a.seeds))
    w, s, gm = np.asarray(w), np.asarray(s), np.asarray(gm)
    wall = time.perf_counter() - t0
    print(vars(a))
    names = ("after S1", "after S1*", "N3 STDP", "N3 control")
    print("| state | S1 weight | S1* weight | other | S1 recall | S1* recall |")
    print("|---|---|---|---|---|---|")

    def cell(v, f):
        return f"{np.median(v):{f}} ({v.min():{f}}-{v.max():{f}})"

    for i, nm in enumerate(names):
        cells = [cell(w[:, i, j], ".3f") for j in (0, 1, 2)]
        cells += [cell(s[:, i, j], ".2f") for j in (0, 1)]
        print(f"| {nm} | " + " | ".join(cells) + " |")
    for j, nm in enumerate(("S1", "S1*")):
        d = w[:, 2, j] - w[:, 3, j]
        ds = s[:, 2, j] - s[:, 3, j]
        print(
            f"{nm}: N3 STDP − control weight {np.median(d):+.4f} "
            f"({d.min():+.4f} to {d.max():+.4f}), up {int((d > 0).sum())}/{len(d)}; "
            f"recall up {int((ds > 0).sum())}, down {int((ds < 0).sum())}"
        )
    orders = jnp.array([list(range(5)), list(range(5))[::-1]])
    tr = np.array(jax.vmap(lambda g: replay_transitions(g, orders))(jnp.asarray(gm)))
    tr[:, 2] -= tr[:, 0] + tr[:, 1]  # total → other
    print(
        "night replay transitions per network (median): S1-forward "
        f"{np.median(tr[:, 0]):.0f}, S1*-forward {np.median(tr[:, 1]):.0f}, other "
        f"{np.median(tr[:, 2]):.0f}; S1-forward fraction "
        f"{np.median(tr[:, 0] / tr.sum(1)):.2f} (chance 0.20)"
    )
    print(f"wall {wall:.1f} s (including compilation)")


if __name__ == "__main__":
    main()
