r"""Two-factor consolidation (Iatropoulos, Gerstner & Brea 2025): speed of the
sleep epoch against a plain NumPy loop of the same maths, in one process.

A sleep epoch of one network (N neurons, M replayed patterns, z = 2) is

    W = u1 u2;  H = W X − θ;  P = softmax_μ(−β|H|/H̄)·sign(H);  H̄ = mean|H|
    G = P Xᵀ;  m &= W > 1e-10;  u_k += η G ∘ u_other ∘ m
    u = max(u ∘ m, 1e-20), u_ii = 0;  u /= √(Σ u²/(zL));  θ −= η Σ_μ P

dominated by the two products H = W X and G = P Xᵀ (4 N² M flops). Side by
side, on the same float32 states:

``sleepjax``
    `WakeSleep.sleep_epoch` (the model's own step), `lax.fori_loop` over
    epochs, `jax.vmap` over networks, one `jit`.
``numpy``
    the same maths in NumPy (float32), a Python loop over networks and
    epochs.

Reported per (N, M, B): network-epochs per second of each, their ratio, and
the FLOP rate of the products (4 N² M per epoch) against a GEMM peak measured
in the same run (the best of NumPy's and XLA's N × N × M float32 product).
Repeats are interleaved (sleepjax, numpy, sleepjax, ...); medians.

``--sweep``: an α × z × seeds sweep of the night protocol through the sweep
machinery (`sleepjax.sweep.sweep` on a TOML config), networks per second.

``--convergence N``: the night at size N (α = `--alpha`) run to `--sleep`
epochs with and without the convergence check: wall times and the largest
relative difference of the saved curves.

``--fig3 ALPHA``: one Fig. 3 wake–sleep run at N = 1000 (f = 0.05, z = 2,
35 wake epochs, `--sleep` sleep epochs), unbatched and jitted, with the
convergence check of the night protocol (`--stop-every`, `--stop-tol`; 0:
none); prints the wall time, writes the saved observables to `--out` (npz).

Usage::

    python benchmarks/two_factor.py                  # throughput table
    python benchmarks/two_factor.py --sweep          # sweep machinery
    python benchmarks/two_factor.py --fig3 0.5 --sleep 100000 --stop-every 1000 \
        --out runs/fig3_a05.npz
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

from sleepjax.models import two_factor as tf
from sleepjax.plasticity import FactorisedSynapses


# --------------------------------------------------------------- the states
def states(n: int, m: int, b: int, seed: int = 0):
    """B networks (models and sleep states) with random factors, every
    pattern replayed; and the same as float32 NumPy arrays."""
    opts = tf.TwoFactorOptions(n=n, alpha=m / n, f=0.05, z=2)
    par = tf.TwoFactorParams()

    def one(key):
        k1, k2 = jr.split(key)
        net, _ = tf.wake_sleep(opts, par, k1, wake_epochs=0)
        syn = FactorisedSynapses.uniform(k2, 2, n, 0.3, 0.5).refresh().clip()
        y = net.init(syn)
        y = net.fall_asleep(eqx.tree_at(lambda s: s.replay, y, jnp.ones(m, bool)))
        return net, y

    nets, ys = jax.vmap(one)(jr.split(jr.key(seed), b))
    host = {
        "U": np.array(ys.syn.u, np.float32),
        "alive": np.array(ys.syn.alive),
        "theta": np.array(ys.theta, np.float32),
        "hbar": np.array(ys.hbar, np.float32),
        "X": np.array(nets.X, np.float32),
    }
    return nets, ys, host


def jax_runner(nets, ys, epochs: int, chunk: int | None = None):
    """A jitted call running `epochs` sleep epochs of every network: vmapped
    over `chunk` networks at a time (default: all), chunks one after the
    other (`lax.map`) so that a chunk's arrays stay in cache."""

    def one(net, y):
        return jax.lax.fori_loop(0, epochs, lambda k, c: net.sleep_epoch(c, k + 1.0), y)

    b = jax.tree_util.tree_leaves(ys)[0].shape[0]
    chunk = chunk or b
    if b % chunk:
        raise ValueError(f"chunk {chunk} must divide the batch {b}")

    def split(a):
        return a.reshape(b // chunk, chunk, *a.shape[1:])

    def run(nets, ys):
        if chunk == b:
            return jax.vmap(one)(nets, ys)
        dn, sn = eqx.partition(nets, eqx.is_array)
        parts = jax.tree_util.tree_map(split, (dn, ys))
        out = jax.lax.map(lambda p: jax.vmap(one)(eqx.combine(p[0], sn), p[1]), parts)
        return jax.tree_util.tree_map(lambda a: a.reshape(b, *a.shape[2:]), out)

    f = eqx.filter_jit(run)
    return lambda: f(nets, ys)


def numpy_sleep(h, epochs: int, L=70.0, beta=20.0, eta0=0.01, eta_max=0.4, tau=40.0):
    """The same epochs in NumPy (float32), a loop over networks and epochs."""
    U, alive = h["U"].copy(), h["alive"].copy()
    theta, hbar, X = h["theta"].copy(), h["hbar"].copy(), h["X"]
    n = U.shape[2]
    diag = np.arange(n)
    for b in range(U.shape[0]):
        u, m, th, hb, x = U[b], alive[b], theta[b], hbar[b], X[b]
        for t in range(1, epochs + 1):
            W = u[0] * u[1]
            H = W @ x
            H -= th[:, None]
            a = np.abs(H)
            logit = a * (-beta / hb[:, None])
            logit -= logit.max(1, keepdims=True)
            e = np.exp(logit)
            P = e * np.sign(H) / e.sum(1, keepdims=True)
            hb = a.mean(1)
            G = P @ x.T
            m &= W > 1e-10
            eta = np.float32(eta0 + (eta_max - eta0) * (1.0 - np.exp(-t / tau)))
            Gm = eta * G * m
            u0 = u[0] + Gm * u[1]
            u[1] += Gm * u[0]
            u[0] = u0
            u *= m
            np.maximum(u, np.float32(1e-20), out=u)
            u[:, diag, diag] = 0.0
            u /= np.sqrt((u * u).sum(axis=(0, 2)) / (2 * L))[None, :, None]
            th -= eta * P.sum(1)
        U[b], theta[b], hbar[b] = u, th, hb
    return U


def gemm_peak(n: int, m: int, repeats: int = 5) -> tuple[float, float]:
    """(NumPy, XLA) float32 GFLOP/s of an N × N times N × M product."""
    rng = np.random.default_rng(0)
    A = rng.random((n, n), np.float32)
    B = rng.random((n, m), np.float32)
    Aj, Bj = jnp.asarray(A), jnp.asarray(B)
    dot = jax.jit(jnp.dot)
    jax.block_until_ready(dot(Aj, Bj))
    flops = 2.0 * n * n * m
    tn, tj = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        A @ B
        tn.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        jax.block_until_ready(dot(Aj, Bj))
        tj.append(time.perf_counter() - t0)
    return flops / min(tn) / 1e9, flops / min(tj) / 1e9


def throughput(n, m, b, epochs, repeats=3, chunk=None):
    nets, ys, host = states(n, m, b)
    run = jax_runner(nets, ys, epochs, chunk)
    jax.block_until_ready(run())  # compile
    tj, tn = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(run())
        tj.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        numpy_sleep(host, epochs)
        tn.append(time.perf_counter() - t0)
    rj = b * epochs / statistics.median(tj)
    rn = b * epochs / statistics.median(tn)
    gflops = 4.0 * n * n * m * rj / 1e9
    return rj, rn, gflops


def same_work(n=60, m=12, epochs=5):
    """The two implementations agree (float32 round-off) on a small case."""
    nets, ys, host = states(n, m, 2, seed=1)
    uj = np.asarray(jax_runner(nets, ys, epochs)().syn.u)
    un = numpy_sleep(host, epochs)
    err = np.max(np.abs(uj - un)) / np.max(np.abs(un))
    assert err < 1e-4, err
    return err


# ------------------------------------------------------------------- sweep
SWEEP = """
[model]
name = "two_factor"
n = {n}
f = 0.05
eta_wake = {eta_wake}

[protocol]
name = "night"
wake_epochs = 35
sleep_epochs = {sleep}
save_every = 50

[sweep]
seeds = {seeds}
batch = {seeds}
grid = {{ "model.alpha" = [0.2, 0.5], "model.z" = [1, 2] }}
"""


def sweep_bench(n=100, sleep=500, seeds=8):
    from sleepjax.config import load
    from sleepjax.sweep import sweep

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.toml")
        with open(path, "w") as fh:
            fh.write(SWEEP.format(n=n, sleep=sleep, seeds=seeds, eta_wake=10.0 / n))
        t0 = time.perf_counter()
        res = sweep(load(path), None, quiet=True)
        wall = time.perf_counter() - t0
    ok = int(np.sum(np.asarray(res.to_xarray()["status"]) == 0))
    nets = 4 * seeds
    print(
        f"sweep alpha x z x seeds = 2 x 2 x {seeds} = {nets} networks, N = {n}, "
        f"35 wake + {sleep} sleep epochs: {wall:.1f} s incl. 4 compiles, "
        f"{nets / wall:.2f} networks/s, {ok}/{nets} ok"
    )


# -------------------------------------------------------------------- fig3
def fig3(alpha, sleep, stop_every, stop_tol, out, save_every=100):
    opts = tf.TwoFactorOptions(n=1000, alpha=alpha, f=0.05, z=2)
    exp = tf.night(
        opts, tf.TwoFactorParams(), jr.key(700), sleep_epochs=sleep,
        save_every=save_every, stop_every=stop_every, stop_tol=stop_tol,
    )  # fmt: skip
    run = eqx.filter_jit(lambda e, k: e.run(k))
    t0 = time.perf_counter()
    sim = run(exp, jr.key(1))
    jax.block_until_ready(sim.ys)
    wall = time.perf_counter() - t0
    frozen = bool(sim.final.frozen)
    print(
        f"fig3 alpha = {alpha}: N = 1000, 35 wake + {sleep} sleep epochs, "
        f"stop_every = {stop_every}, stop_tol = {stop_tol}: wall {wall:.0f} s "
        f"(incl. compile); frozen = {frozen}; final density "
        f"{float(sim.ys['density'][-1]):.4f}, kappa {float(sim.ys['kappa'][-1]):.4f}"
    )
    if out:
        np.savez(
            out, ts=np.asarray(sim.ts), wall=wall, frozen=frozen,
            **{k: np.asarray(v) for k, v in sim.ys.items()},
        )  # fmt: skip


def convergence(n, alpha, sleep, stop_every, stop_tol, save_every=100):
    """The same night with and without the convergence check (one network,
    unbatched, the check's epoch skipping active): wall times and the largest
    relative difference of every saved scalar curve (what the figure draws)."""
    opts = tf.TwoFactorOptions(n=n, alpha=alpha, f=0.05, z=2)
    par = tf.TwoFactorParams(eta_wake=10.0 / n)
    run = eqx.filter_jit(lambda e, k: e.run(k))
    out = {}
    for every in (0, stop_every):
        exp = tf.night(
            opts, par, jr.key(700), sleep_epochs=sleep, save_every=save_every,
            stop_every=every, stop_tol=stop_tol,
        )  # fmt: skip
        t0 = time.perf_counter()
        sim = run(exp, jr.key(1))
        jax.block_until_ready(sim.ys)
        out[every] = (time.perf_counter() - t0, sim)
    (t_full, full), (t_stop, stop) = out[0], out[stop_every]
    ts = np.asarray(full.ts)
    frozen_at = np.nan
    if bool(stop.final.frozen):  # the first save from which nothing changes
        scalars = [np.asarray(v) for v in stop.ys.values() if np.ndim(v) == 1]
        same = np.all([v == v[-1] for v in scalars], axis=0)
        moving = np.nonzero(~same)[0]
        frozen_at = ts[moving[-1] + 1 if moving.size else 0]
    print(
        f"convergence N = {n}, alpha = {alpha}, {sleep} sleep epochs, check every "
        f"{stop_every}, tol {stop_tol}: full {t_full:.0f} s, with the check "
        f"{t_stop:.0f} s (frozen from epoch {frozen_at:g})"
    )
    print("| observable | final (full) | final (stopped) | max relative difference |")
    print("|---|---|---|---|")
    for k, v in full.ys.items():
        a, b = np.asarray(v, float), np.asarray(stop.ys[k], float)
        scale = np.maximum(np.abs(a), 1e-12)
        d = np.nanmax(np.abs(a - b) / scale)
        fa, fb = a[-1].ravel()[0], b[-1].ravel()[0]
        print(f"| {k} | {fa:.4g} | {fb:.4g} | {d:.2e} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--fig3", type=float, default=None)
    ap.add_argument("--sleep", type=int, default=100000)
    ap.add_argument("--stop-every", type=int, default=0)
    ap.add_argument("--stop-tol", type=float, default=0.01)
    ap.add_argument("--out", default="")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--convergence", type=int, default=0, help="N of the check")
    ap.add_argument("--alpha", type=float, default=0.5)
    a = ap.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"jax {jax.__version__}, numpy {np.__version__}, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    if a.convergence:
        return convergence(a.convergence, a.alpha, a.sleep, a.stop_every, a.stop_tol)
    if a.fig3 is not None:
        return fig3(a.fig3, a.sleep, a.stop_every, a.stop_tol, a.out)
    if a.sweep:
        return sweep_bench()
    print(f"same work: max relative difference of the factors {same_work():.1e}")
    cases = [
        (1000, 500, 1, 5, None),
        (200, 100, 64, 10, 8),
        (200, 100, 64, 10, None),
        (100, 50, 128, 20, 16),
        (100, 50, 128, 20, 1),
    ]
    if a.quick:
        cases = [(200, 100, 16, 5, 8)]
    print(
        "| N | M | networks (vmapped per chunk) | sleepjax net-epochs/s | numpy "
        "net-epochs/s | ratio | sleepjax GFLOP/s | GEMM peak GFLOP/s (numpy, xla) "
        "| of peak |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n, m, b, ep, chunk in cases:
        pn, pj = gemm_peak(n, m)
        rj, rn, gf = throughput(n, m, b, ep, chunk=chunk)
        peak = max(pn, pj)
        print(
            f"| {n} | {m} | {b} ({chunk or b}) | {rj:.1f} | {rn:.1f} | {rj / rn:.2f} "
            f"| {gf:.1f} | {peak:.1f} ({pn:.1f}, {pj:.1f}) | {gf / peak:.2f} |"
        )


if __name__ == "__main__":
    main()
