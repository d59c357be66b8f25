"""What progress reports cost: runs with and without `progress=True`.

A vmapped batch of `B` noisy rate networks of `N` units (tanh coupling),
run for 2000 steps with 100 saves, once as a discrete map (`iterate`) and
once as an ODE (`simulate`, Euler dt = 0.01), each with and without progress
reports to a listener that does nothing. Calls alternate in one process, so
both see the same load; the ratio of medians is reported (1.0 = free).

    .venv/bin/python benchmarks/progress_overhead.py
"""

from __future__ import annotations

import statistics

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from _timing import interleaved

import sleepjax as sj


class _Map(sj.AbstractMap):
    W: jax.Array

    def step(self, t, y, key):
        u = jr.uniform(key, y.shape, y.dtype)
        return 0.7 * y + 0.5 * jnp.tanh(self.W @ y) + 0.1 * (u - 0.5)

    def check_state(self, y):
        pass


class _ODE(sj.AbstractSystem):
    W: jax.Array

    def drift(self, t, y):
        return -y + 0.5 * jnp.tanh(self.W @ y)

    def noise_shape(self, y):
        return None

    def diffusion(self, t, y, dt):
        return None


def _calls(n: int, b: int):
    W = 0.1 * jr.normal(jr.key(0), (n, n))
    keys = jax.vmap(jr.key)(jnp.arange(b))

    def map_run(k, progress):
        return sj.iterate(
            _Map(W),
            jr.normal(k, (n,)),  # a state per network, so the batch is real
            t0=0.0,
            t1=2000.0,
            dt=1.0,
            key=k,
            save_ts=np.linspace(0.0, 2000.0, 101),
            progress=progress,
        ).ys

    def ode_run(k, progress):
        return sj.simulate(
            _ODE(W),
            jr.normal(k, (n,)),
            t0=0.0,
            t1=20.0,
            dt=0.01,
            saveat=diffrax.SaveAt(ts=jnp.linspace(0.0, 20.0, 101)),
            progress=progress,
        ).ys

    out = {}
    for name, run in (("iterate", map_run), ("simulate", ode_run)):
        for p in (False, True):
            f = jax.jit(jax.vmap(lambda k, p=p, run=run: run(k, p)))
            out[(name, p)] = lambda f=f: jax.block_until_ready(f(keys))
    return out


def main():
    print("N, B: iterate on/off, simulate on/off (median wall ratio)")
    with sj.listen_progress(lambda f: None):
        for n, b in ((10, 8), (50, 256)):
            times, _ = interleaved(_calls(n, b), repeats=7)
            med = {k: statistics.median(v) for k, v in times.items()}
            it = med[("iterate", True)] / med[("iterate", False)]
            od = med[("simulate", True)] / med[("simulate", False)]
            print(
                f"N = {n:3d}, B = {b:3d}: iterate {it:.2f}x "
                f"({1e3 * med[('iterate', False)]:.1f} ms off), simulate {od:.2f}x "
                f"({1e3 * med[('simulate', False)]:.1f} ms off)"
            )


if __name__ == "__main__":
    main()
