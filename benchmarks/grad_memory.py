r"""Reverse-mode gradients through a long noisy solve: time and memory.

Loss: a rate network with antisymmetric STDP, dissipation and weight noise
σ² = 1/N (float32, dt = 0.1; the throughput workload with dissipation in place
of decorrelation), B networks of N neurons from the throughput benchmark's
initial state, run for `steps` steps by `sleepjax.simulate`;
L(θ) = mean over networks of ⟨W_T²⟩ + ⟨tanh x_T⟩, θ = (η, β, noise), σ =
noise/√N. (With decorrelation, W's diagonal grows without bound under the
paper's low-pass x̄, and the authors' variant stays chaotic: over 10⁴ steps
the gradient overflows float32, a property of the dynamics, not of the
method; dissipation keeps it finite. The cost per step is the same.)

`jax.value_and_grad(L)` goes through diffrax's `RecursiveCheckpointAdjoint`
(simulate's default) with the noise held fixed by the keys (the
`FoldInBrownianPath` increments are recomputed, not stored).

Reported:

- time of `value_and_grad` relative to the forward solve at 10⁴ steps (same
  process, interleaved repeats, median): the default adjoint (diffrax picks
  O(√steps) checkpoints and recomputes each step about twice), a fixed budget
  of 16 checkpoints, single-rate Euler in blocks of k ≈ √steps steps with
  every block start checkpointed (`MultirateEuler(k, slow="none")`,
  `RecursiveCheckpointAdjoint(checkpoints=steps // k)`: one recomputation),
  and multirate stepping;
- XLA's compiled memory estimate (`memory_analysis`: arguments + outputs +
  temporaries) of `value_and_grad` against the number of steps, with the
  fitted exponent p of memory ∝ steps^p (sublinear: p < 1), next to a
  hand-written `lax.scan` whose reverse mode stores every step (p ≈ 1).

Usage::

    python benchmarks/grad_memory.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sleepjax as sj  # noqa: E402
from benchmarks import _baselines as bl  # noqa: E402
from benchmarks import _timing as tm  # noqa: E402
from benchmarks.throughput import workload_states  # noqa: E402
from sleepjax.plasticity import AntisymmetricSTDP, Dissipation, SumRule  # noqa: E402

P = bl.Params()
THETA = jnp.array([P.eta, 0.1, 1.0], jnp.float32)  # η, β, noise (σ = noise/√N)


def _model(theta, n):
    eta, beta, noise = theta[0], theta[1], theta[2]
    return sj.Model(
        sj.dynamics.RateNetwork(n=n),
        SumRule(AntisymmetricSTDP(tau_y=P.tau_y), Dissipation(beta=beta)),
        eta=eta,
        weight_noise=sj.WeightNoise(noise / np.sqrt(n)),
    )


def _states(n, batch, seed):
    s = workload_states(n, batch, seed)
    return sj.NetworkState(s.neurons, s.W, (s.rules[0], None), None)


def make_loss(n, batch, steps, *, adjoint=None, solver=None, seed=0):
    states = _states(n, batch, seed)
    keys = jr.split(jr.key(seed), batch)

    def loss(theta):
        model = _model(theta, n)

        def one(s, k):
            sim = sj.simulate(
                model,
                s,
                t0=0.0,
                t1=steps * P.dt,
                dt=P.dt,
                key=k,
                adjoint=adjoint,
                solver=solver,
            )
            f = sim.final
            return jnp.mean(f.W**2) + jnp.mean(jnp.tanh(f.neurons))

        return jnp.mean(jax.vmap(one)(states, keys))

    return loss


def make_scan_loss(n, batch, steps, seed=0):
    """Hand-written Euler–Maruyama `lax.scan` (no checkpointing): reverse mode
    stores the residuals of every step."""
    states = _states(n, batch, seed)
    keys = jr.split(jr.key(seed), batch)

    def loss(theta):
        model = _model(theta, n)

        def one(s, key):
            def step(y, k):
                d = model.drift(k * P.dt, y)
                z = jr.normal(jr.fold_in(key, k), (n, n))
                sc = theta[0] * theta[2] / np.sqrt(n) * np.sqrt(P.dt)
                y = jax.tree_util.tree_map(lambda a, b: a + P.dt * b, y, d)
                return sj.NetworkState(y.neurons, y.W + sc * z, y.rules, None), None

            f, _ = jax.lax.scan(step, s, jnp.arange(steps))
            return jnp.mean(f.W**2) + jnp.mean(jnp.tanh(f.neurons))

        return jnp.mean(jax.vmap(one)(states, keys))

    return loss


def block_size(steps: int) -> int:
    """The largest divisor of `steps` that is <= √steps."""
    return max(d for d in range(1, int(np.sqrt(steps)) + 1) if steps % d == 0)


def make_blocked_loss(n, batch, steps):
    """Single-rate Euler taken k ≈ √steps steps per solver step
    (`MultirateEuler(k, slow="none")`), every block start checkpointed: each
    block is recomputed once in the backward pass, memory ∝ steps/k + k."""
    k = block_size(steps)
    return make_loss(
        n,
        batch,
        steps,
        solver=sj.MultirateEuler(k, slow="none"),
        adjoint=diffrax.RecursiveCheckpointAdjoint(checkpoints=steps // k),
    )


def compile_pair(loss):
    fwd = jax.jit(loss).lower(THETA).compile()
    vg = jax.jit(jax.value_and_grad(loss)).lower(THETA).compile()
    return fwd, vg


def time_ratio(variants: dict, repeats: int, log) -> dict:
    fns = {}
    for name, loss in variants.items():
        fwd, vg = compile_pair(loss)
        fns[(name, "forward")] = lambda f=fwd: jax.block_until_ready(f(THETA))
        fns[(name, "value_and_grad")] = lambda f=vg: jax.block_until_ready(f(THETA))
    times, cpu = tm.interleaved(fns, repeats)
    out = {}
    med = lambda d, k: statistics.median(d[k])  # noqa: E731
    base, base_cpu = None, None
    if "default adjoint" in variants:
        base = med(times, ("default adjoint", "forward"))
        base_cpu = med(cpu, ("default adjoint", "forward"))
    for name in variants:
        tf, tg = med(times, (name, "forward")), med(times, (name, "value_and_grad"))
        cf, cg = med(cpu, (name, "forward")), med(cpu, (name, "value_and_grad"))
        r = {
            "forward_s": tf,
            "value_and_grad_s": tg,
            "ratio": tg / tf,
            "forward_cpu_s": cf,
            "value_and_grad_cpu_s": cg,
            "ratio_cpu": cg / cf,
        }
        if base:
            r["vs_default_forward"] = tg / base
            r["vs_default_forward_cpu"] = cg / base_cpu
        out[name] = r
        extra = (
            f"   / default forward {r['vs_default_forward']:5.2f} "
            f"(cpu {r['vs_default_forward_cpu']:5.2f})"
            if base
            else ""
        )
        log(
            f"  {name:22s} forward {tf:6.3f} s  value_and_grad {tg:6.3f} s  "
            f"ratio {tg / tf:5.2f} (cpu {cg / cf:5.2f}){extra}"
        )
    return out


def memory_vs_steps(n, batch, steps_list, log) -> dict:
    variants = {
        "sleepjax (default adjoint)": lambda s: make_loss(n, batch, s),
        "sleepjax (16 checkpoints)": lambda s: make_loss(
            n, batch, s, adjoint=diffrax.RecursiveCheckpointAdjoint(checkpoints=16)
        ),
        "sleepjax (blocked, k≈√steps)": lambda s: make_blocked_loss(n, batch, s),
        "lax.scan, no checkpointing": lambda s: make_scan_loss(n, batch, s),
    }
    out = {}
    for name, mk in variants.items():
        mem = {}
        for s in steps_list:
            if name.startswith("lax.scan") and s > 10**4:
                continue  # linear: 10⁵ steps of residuals is GBs
            fn = jax.jit(jax.value_and_grad(mk(s)))
            est = tm.compiled_memory(fn.lower(THETA).compile())
            if est is not None:
                mem[s] = est.total
        out[name] = tm.memory_curve(name, mem, log)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--k", type=int, default=10, help="multirate substeps")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    steps = args.steps or (2000 if args.quick else 10_000)
    repeats = args.repeats or (3 if args.quick else 5)
    log = lambda s: print(s, flush=True)  # noqa: E731
    dev = jax.devices()[0]
    log(
        f"value_and_grad through simulate: N = {args.n}, B = {args.batch}, "
        f"{steps} steps, jax {jax.__version__}, {dev.platform}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )
    n, b = args.n, args.batch
    variants = {
        "default adjoint": make_loss(n, b, steps),
        "16 checkpoints": make_loss(
            n, b, steps, adjoint=diffrax.RecursiveCheckpointAdjoint(checkpoints=16)
        ),
        f"blocked k={block_size(steps)}": make_blocked_loss(n, b, steps),
        f"multirate k={args.k}": make_loss(
            n, b, steps, solver=sj.MultirateEuler(args.k)
        ),
    }
    log("time (median of interleaved repeats):")
    timing = time_ratio(variants, repeats, log)
    g = jax.jit(jax.grad(variants["default adjoint"]))(THETA)
    log(f"  gradient d/d(eta, beta, noise) = {np.asarray(g)}")
    log("compiled memory estimate of value_and_grad vs steps:")
    steps_list = [100, 1000, 10_000] if args.quick else [100, 1000, 10_000, 100_000]
    memory = memory_vs_steps(n, b, steps_list, log)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "meta": {
                        "n": n,
                        "batch": b,
                        "steps": steps,
                        "repeats": repeats,
                        "jax": jax.__version__,
                        "device": f"{dev.platform} {dev.device_kind}",
                        "date": time.strftime("%Y-%m-%d"),
                    },
                    "timing": timing,
                    "gradient": np.asarray(g).tolist(),
                    "memory": memory,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
