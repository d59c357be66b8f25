r"""Slow-wave network throughput: sleepjax (1 and 64 vmapped trials) against a
plain NumPy loop of the same maths, measured in one process, interleaved.

The workload is the `up_down` protocol of `sleepjax.models.slow_wave` at the
paper's size: 4 populations × (200 E + 50 I) = 1000 stochastic spike-response
cells, dt = 1 ms, per step

- $v_E \leftarrow v_E e^{-1/25} + W_{EE} y_E + W_{EI} y_I - a$,
  $v_I \leftarrow v_I e^{-1/5} + W_{IE} y_E$ (recurrent spikes of the last
  step; within a population all-to-all, between populations random
  p = 0.05 / 0.3),
- $\rho = g(u) R(s)$, $y = [U < \rho]$ with one uniform per cell,
- $a \leftarrow a e^{-1/1500} + 0.0077 y_E$, spike ages,
- each population's mean E potential → up/down with hysteresis,
  population 1's global/local code, and per-state tallies of its E rate.

NumPy: the authors' formulation (slowwavemodel.py): dense float64 matrices
`W @ y`, `Generator.random` uniforms; BLAS limited to one thread (faster for
800 × 800 matrix-vector products on this shared 2-core machine; pass
`--blas-threads 0` to keep the default). sleepjax: the registered protocol,
float32, `jax.jit(jax.vmap(...))` over trials, each trial its own random
connectivity (block and bit-packed projections) and spikes.

    .venv/bin/python benchmarks/slow_wave.py            # ~1-2 minutes
    .venv/bin/python benchmarks/slow_wave.py --rounds 5 --steps 2000

Prints trial-seconds simulated per wall second (all trials of a call
together), the median over rounds (and the range), each trial's own speed,
and the throughput ratio to NumPy measured in the same round (the NumPy loop
runs one trial at a time: its throughput is its speed).
"""

from __future__ import annotations

import argparse
import os
import sys


def _blas_threads() -> None:
    if "--blas-threads" in sys.argv:
        n = sys.argv[sys.argv.index("--blas-threads") + 1]
    else:
        n = "1"
    if n != "0":
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = n


_blas_threads()

import time  # noqa: E402

import jax  # noqa: E402
import jax.random as jr  # noqa: E402
import numpy as np  # noqa: E402

from sleepjax.models import slow_wave as sw  # noqa: E402

P, N_EXC, N_INH = 4, 200, 50


# ------------------------------------------------------------------- NumPy
def numpy_network(seed: int = 0):
    """Dense matrices W[post, pre] as in the authors' code."""
    rng = np.random.default_rng(seed)
    nE, nI = P * N_EXC, P * N_INH
    gE, gI = np.repeat(np.arange(P), N_EXC), np.repeat(np.arange(P), N_INH)
    same_ee = gE[:, None] == gE[None, :]
    same_ie = gI[:, None] == gE[None, :]
    Wee = np.where(same_ee, 0.16, np.where(rng.random((nE, nE)) < 0.05, 0.16, 0.0))
    np.fill_diagonal(Wee, 0.0)
    Wie = np.where(same_ie, 0.66, np.where(rng.random((nI, nE)) < 0.3, 0.66, 0.0))
    Wei = np.where(same_ie.T, -0.14, 0.0)
    return rng, Wee, Wie, Wei


def numpy_run(steps: int, net) -> float:
    """`steps` steps of the network; returns the wall time."""
    rng, Wee, Wie, Wei = net
    nE, nI = Wee.shape[0], Wie.shape[0]
    vE, vI, a = np.zeros(nE), np.zeros(nI), np.zeros(nE)
    yE, yI = np.zeros(nE), np.zeros(nI)
    sE, sI = np.full(nE, 1e4), np.full(nI, 1e4)
    up = np.zeros(P, bool)
    t_state, n_state = np.zeros(4), np.zeros(4)
    dE, dI, da = np.exp(-1 / 25), np.exp(-1 / 5), np.exp(-1 / 1500)
    t0 = time.perf_counter()
    for _ in range(steps):
        vE, vI = vE * dE + Wee @ yE + Wei @ yI - a, vI * dI + Wie @ yE
        sE += 1.0
        sI += 1.0
        uE, uI = -70.0 + vE, -70.0 + vI
        rE = 0.0015 * np.log1p(np.exp((uE + 69.4) / 0.5)) * sE**4 / (30**4 + sE**4)
        rI = 0.006 * np.log1p(np.exp((uI + 62.5) / 0.5)) * sI**4 / (30**4 + sI**4)
        U = rng.random(nE + nI)
        yE = (U[:nE] < rE).astype(float)
        yI = (U[nE:] < rI).astype(float)
        a = a * da + 0.0077 * yE
        sE[yE > 0] = 0.0
        sI[yI > 0] = 0.0
        m = uE.reshape(P, -1).mean(axis=1)
        up = np.where(up, m >= -69.75, m > -68.25)
        code = 2 * int(up[0]) + int(np.sum(up == up[0]) < 3)
        t_state[code] += 1.0
        n_state[code] += yE[:N_EXC].mean()
    return time.perf_counter() - t0


# ----------------------------------------------------------------- sleepjax
def jax_runner(trials: int, steps: int):
    """A compiled call running `trials` networks for `steps` ms."""
    opts, p = sw.SlowWaveOptions(), sw.SlowWaveParams()

    def one(key):
        exp = sw.up_down(opts, p, key, t_end=float(steps), count_from=0.0,
                         save_every=float(steps))  # fmt: skip
        return exp.run(jr.fold_in(key, 1)).ys["rate_state"][-1]

    f = jax.jit(jax.vmap(one))
    keys = jr.split(jr.key(0), trials)
    jax.block_until_ready(f(keys))  # compile

    def run() -> float:
        t0 = time.perf_counter()
        jax.block_until_ready(f(keys))
        return time.perf_counter() - t0

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=2000, help="ms per timed call")
    ap.add_argument("--numpy-steps", type=int, default=2000)
    ap.add_argument("--blas-threads", default="1")
    args = ap.parse_args()
    steps = args.steps
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, "
          f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    net = numpy_network()
    runners = {1: jax_runner(1, steps), 64: jax_runner(64, steps)}
    res = {"numpy": [], 1: [], 64: []}
    for r in range(args.rounds):
        t_np = numpy_run(args.numpy_steps, net)
        res["numpy"].append(args.numpy_steps / 1000.0 / t_np)
        for b, run in runners.items():
            res[b].append(b * steps / 1000.0 / run())
        print(f"round {r + 1}: numpy {res['numpy'][-1]:.2f}, "
              f"jax x1 {res[1][-1]:.2f}, jax x64 {res[64][-1]:.2f} "
              "trial-s/s", flush=True)  # fmt: skip
    print()
    print(
        "| implementation | trials | trial-s simulated per wall s (all trials) "
        "| each trial's own sim-s per wall s | throughput × NumPy (same round) |"
    )
    print("|---|---|---|---|---|")
    base = np.array(res["numpy"])
    for name, b in (
        ("NumPy loop (float64, dense W)", "numpy"),
        ("sleepjax (float32)", 1),
        ("sleepjax (float32)", 64),
    ):
        v = np.array(res[b])
        trials = 1 if b == "numpy" else b
        ratio = v / base
        print(
            f"| {name} | {trials} | {np.median(v):.2f} ({v.min():.2f}-{v.max():.2f}) "
            f"| {np.median(v) / trials:.2f} | {np.median(ratio):.1f} "
            f"({ratio.min():.1f}-{ratio.max():.1f}) |"
        )


if __name__ == "__main__":
    main()
