r"""The gradient workload of `benchmarks/peers.py`, for the in-process peers.

One gradient of L = mean(W_T²) + mean(x_T²) with respect to the
decorrelation constant b, through `_peers_common.GRAD_STEPS` (10³)
Euler–Maruyama steps of the workload with weight noise, B networks of N
neurons from a non-chaotic start (W0 scale `GRAD_W_SCALE`), the noise held
fixed. Each answer: the gradient, a central finite difference
(b ± `GRAD_FD_H`, same noise), the median time of `jit(value_and_grad)`
after a warm-up, and the time of the forward solve alone.

- sleepjax: `jax.value_and_grad` through `sleepjax.simulate` (defaults:
  `FoldInBrownianPath`, `RecursiveCheckpointAdjoint`), vmapped;
- sleepjax, every step stored: the same with
  `RecursiveCheckpointAdjoint(checkpoints=steps)` (no recomputation);
- diffrax: `diffeqsolve(MultiTerm(ODETerm, ControlTerm(g, VirtualBrownianTree)),
  Euler())` with diffrax's default `RecursiveCheckpointAdjoint`, vmapped.
"""

from __future__ import annotations

import time

import diffrax
import jax
import jax.numpy as jnp
import lineax
import numpy as np

from benchmarks import _baselines as bl
from benchmarks import _peers_common as pc


def _params(b):
    return bl.Params(b=b, w_scale=pc.GRAD_W_SCALE)


def _init(n, batch, seed):
    x0, y0, xb0, w0 = pc.initial_state(n, batch, seed, False, pc.GRAD_W_SCALE)
    return tuple(jnp.asarray(a) for a in (x0, y0, xb0, w0))


def sleepjax_loss(n, batch, seed, adjoint=None):
    import sleepjax as sj
    from benchmarks.throughput import workload_model

    x0, y0, xb0, w0 = _init(n, batch, seed)
    states = sj.NetworkState(neurons=x0, W=w0, rules=(y0, xb0), stimulus=None)
    keys = jax.random.split(jax.random.key(seed), batch)
    t1 = pc.GRAD_STEPS * pc.DT

    def loss(b):
        model = workload_model(n, _params(b))

        def one(state, key):
            sim = sj.simulate(
                model, state, t0=0.0, t1=t1, dt=pc.DT, key=key, adjoint=adjoint
            )
            return sim.final.neurons, sim.final.W

        x, w = jax.vmap(one)(states, keys)
        return jnp.mean(w**2) + jnp.mean(x**2)

    return loss


def diffrax_loss(n, batch, seed):
    y0 = _init(n, batch, seed)
    keys = jax.random.split(jax.random.key(seed), batch)
    t1 = pc.GRAD_STEPS * pc.DT
    c = pc.ETA * pc.sigma(n)
    w_struct = jax.ShapeDtypeStruct((n, n), jnp.float32)

    def loss(b):
        p = _params(b)

        def drift(t, s, args):
            return bl._drift(s, p)

        def diffusion(t, s, args):
            zero = jnp.zeros_like(s[0])
            return lineax.FunctionLinearOperator(
                lambda db: (zero, zero, zero, c * db), w_struct
            )

        def one(state, key):
            bm = diffrax.VirtualBrownianTree(
                0.0, t1, tol=pc.DT / 2, shape=w_struct, key=key
            )
            terms = diffrax.MultiTerm(
                diffrax.ODETerm(drift), diffrax.ControlTerm(diffusion, bm)
            )
            sol = diffrax.diffeqsolve(
                terms,
                diffrax.Euler(),
                t0=0.0,
                t1=t1,
                dt0=pc.DT,
                y0=state,
                saveat=diffrax.SaveAt(t1=True),
                max_steps=pc.GRAD_STEPS + 16,
            )
            return sol.ys[0][-1], sol.ys[3][-1]

        x, w = jax.vmap(one)(y0, keys)
        return jnp.mean(w**2) + jnp.mean(x**2)

    return loss


def measure(make_loss, n, batch, seed, repeats=3, method="") -> dict:
    loss = make_loss(n, batch, seed)
    b0 = jnp.float32(pc.B_DECOR)
    vg = jax.jit(jax.value_and_grad(loss))
    f = jax.jit(loss)
    t0 = time.perf_counter()
    jax.block_until_ready(vg(b0))
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        val, g = jax.block_until_ready(vg(b0))
        times.append(time.perf_counter() - t0)
    h = pc.GRAD_FD_H
    lp, lm = float(f(b0 + h)), float(f(b0 - h))
    t0 = time.perf_counter()
    jax.block_until_ready(f(b0))
    fwd = time.perf_counter() - t0
    return {
        "loss": float(val),
        "grad": float(g),
        "fd": (lp - lm) / (2 * h),
        "seconds": float(np.median(times)),
        "forward_seconds": fwd,
        "compile_s": compile_s,
        "method": method,
    }


def sleepjax_grad(n, batch, seed, repeats=3):
    return measure(
        sleepjax_loss, n, batch, seed, repeats, "jax.value_and_grad of simulate"
    )


def sleepjax_store_all_grad(n, batch, seed, repeats=3):
    """As `sleepjax_grad` with every step stored for the backward pass
    (`RecursiveCheckpointAdjoint(checkpoints=steps)`: memory ∝ steps, no
    recomputation), what BrainPy's and torchsde's backpropagation do."""
    adj = diffrax.RecursiveCheckpointAdjoint(checkpoints=pc.GRAD_STEPS)
    return measure(
        lambda n, b, s: sleepjax_loss(n, b, s, adj),
        n,
        batch,
        seed,
        repeats,
        "jax.value_and_grad of simulate, adjoint checkpoints = steps",
    )


def diffrax_grad(n, batch, seed, repeats=3):
    return measure(
        diffrax_loss,
        n,
        batch,
        seed,
        repeats,
        "jax.value_and_grad of diffeqsolve (VirtualBrownianTree)",
    )
