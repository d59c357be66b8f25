"""Batched hippocampal retrieval: queries per second against M and d.

`ModernHopfieldMemory.retrieve` (JAX, jitted; the model-B Euler step,
iterated per query until no element changes or 10 iterations) against a
plain NumPy implementation of the same batched loop (Spens & Burgess's
update X softmax(beta X^T xi / sqrt d) applied to all unconverged queries at
once), in one process, interleaved so both see the same load. Patterns and
queries are uniform in [-1, 1]; beta = 20. Both must give the same states
(checked to 1e-4).

    .venv/bin/python benchmarks/generative.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from _timing import interleaved

from sleepjax.dynamics import ModernHopfieldMemory


def numpy_retrieve(X, Q, beta, max_iter=10):
    """Batched NumPy retrieval: X (M, d), Q (n, d)."""
    d = X.shape[1]
    old = Q.copy()
    active = np.ones(len(Q), bool)
    for _ in range(max_iter):
        if not active.any():
            break
        z = beta * (old[active] @ X.T) / np.sqrt(d)
        z -= z.max(axis=1, keepdims=True)
        w = np.exp(z)
        w /= w.sum(axis=1, keepdims=True)
        new = w @ X
        done = np.count_nonzero(new != old[active], axis=1) <= 0.5
        idx = np.flatnonzero(active)
        old[idx] = new
        active[idx[done]] = False
    return old


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 512 if args.quick else 2048
    sizes = [(256, 768), (1024, 768), (1024, 3072), (4096, 3072)]
    if args.quick:
        sizes = sizes[:2]
    print(f"queries per call: {n}; beta = 20; devices: {jax.devices()}")
    print("| M | d | JAX q/s | NumPy q/s | ratio |")
    print("|---|---|---|---|---|")
    for m, d in sizes:
        X = np.asarray(jr.uniform(jr.key(0), (m, d), minval=-1.0, maxval=1.0))
        Q = np.asarray(jr.uniform(jr.key(1), (n, d), minval=-1.0, maxval=1.0))
        mem = ModernHopfieldMemory(jnp.asarray(X), 20.0)
        f = jax.jit(lambda q, mem=mem: mem.retrieve(q))
        qj = jnp.asarray(Q)
        got = np.asarray(f(qj))
        want = numpy_retrieve(X, Q, 20.0)
        assert np.abs(got - want).max() < 1e-4, np.abs(got - want).max()
        times, _ = interleaved(
            {
                "jax": lambda f=f, qj=qj: jax.block_until_ready(f(qj)),
                "numpy": lambda X=X, Q=Q: numpy_retrieve(X, Q, 20.0),
            },
            repeats=3,
        )
        tj, tn = statistics.median(times["jax"]), statistics.median(times["numpy"])
        print(f"| {m} | {d} | {n / tj:.0f} | {n / tn:.0f} | {tn / tj:.2f} |")


if __name__ == "__main__":
    main()
