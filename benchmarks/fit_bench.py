r"""Cost of a `sleepjax.fit` optimisation step: time and memory.

Workloads (Susman et al. 2019 protocols, float32, R restarts vmapped):

- `stdp`: learning protocol with asymmetric rate STDP, input on throughout;
  trainable a_P, a_D, τ_P, τ_D; loss: trajectory matching of the weights in
  the memory plane and the W statistics (the example `fit_stdp.toml`).
- `beta`: erosion with dissipation; trainable β; loss: memory eigenvalue
  (`mem_re`, `mem_im`, one differentiable `eig` per save).

Reported:

1. time per optimisation step (Adam: `value_and_grad` of the loss through the
   noisy solve + the update, all restarts vmapped) against the forward solve
   of the same problem (loss only), median of interleaved repeats, wall and
   CPU time (all threads). The target is a ratio ≤ 5. Variants of the adjoint:
   diffrax's default `RecursiveCheckpointAdjoint()` (O(√steps) checkpoints:
   what `fit` uses), a fixed budget of 16 checkpoints, and one checkpoint per
   step (no recomputation, memory linear in steps). Then (unless
   `--no-lbfgs`) the time per step of a real `sf.fit` loop with L-BFGS and its
   zoom line search, as in `examples/fit_stdp.toml` (everything included:
   line-search evaluations, NaN checks, host transfers, progress), mean over
   the steps after the first (which compiles), against the same forward.
2. XLA's compiled memory estimate (`memory_analysis`: arguments + outputs +
   temporaries) of the loss-and-gradient evaluation (all of a step's memory:
   the Adam update is elementwise on a few scalars) against the number of solver steps
   (10³ … 10⁵, save times fixed at 20), with and without checkpointing, and
   the fitted exponent p of memory ∝ steps^p (sublinear: p < 1).

Usage::

    python benchmarks/fit_bench.py [--quick] [--workload stdp|beta] [--json F]
        [--memory-steps 1000 10000 100000] [--no-timing] [--no-memory]
        [--no-lbfgs]

On a shared CPU the ratios (step / forward, measured interleaved in one
process) are the meaningful numbers; absolute times move with the load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import diffrax
import equinox as eqx
import jax
import jax.random as jr
import optax

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sleepjax.fit as sf  # noqa: E402
from benchmarks import _timing as tm  # noqa: E402
from sleepjax.fit import _problem as P  # noqa: E402
from sleepjax.models import susman as S  # noqa: E402


def workload(name: str, n: int, steps: int, dt: float):
    """(build, true params, start params, trainables, loss) with `steps` solver
    steps and 20 save times."""
    t_end = steps * dt
    every = t_end / 20
    if name == "stdp":
        opts = S.SusmanOptions(n=n, stdp="asymmetric", dt=dt)

        def build(p):
            return S.learning(
                opts, p, jr.key(0), window=(0.0, t_end), t_end=t_end, save_every=every
            )

        true = S.SusmanParams(
            a_P=1.0, a_D=-1.2, tau_P=20.0, tau_D=40.0, w0_scale=0.5, zeta=0.1
        )
        start = S.SusmanParams(
            a_P=0.7, a_D=-0.9, tau_P=30.0, tau_D=25.0, w0_scale=0.5, zeta=0.1
        )
        params = {
            "a_P": "positive",
            "a_D": "negative",
            "tau_P": "positive",
            "tau_D": "positive",
        }
        return build, true, start, params, sf.Trajectory(("plane", "weights"))
    opts = S.SusmanOptions(n=n, rule="dissipation", dt=dt)
    t_ins = 0.05 * t_end

    def build(p):
        return S.erosion(
            opts, p, jr.key(0), t_insert=t_ins, t_end=t_end, save_every=every
        )

    return (
        build,
        S.SusmanParams(beta=0.1),
        S.SusmanParams(beta=0.05),
        {"beta": "positive"},
        sf.Trajectory("memory", t_min=t_ins),
    )


def problem(name, n, steps, dt, restarts, adjoint):
    """The inputs of `fit`'s compiled functions (`_value_grad_batch`: loss,
    gradient and observables; `_update_batch`: the optimiser)."""
    build, true, start, params, loss = workload(name, n, steps, dt)
    data = sf.simulate_data(build, true, key=1, observables=loss.observables)
    prob, raw0, noise, dys = P._setup(
        P._Request(
            build=build,
            params_in=start,
            data=data,
            params=params,
            loss=loss,
            constraints=None,
            restarts=restarts,
            spread=0.3,
            init=None,
            key=jr.key(0),
            solver=None,
            adjoint=adjoint,
            brownian=None,
        )
    )
    opt = optax.with_extra_args_support(optax.adam(0.05))
    state = jax.vmap(opt.init)(raw0)
    return prob, opt, raw0, state, noise, dys


ADJOINTS = {
    "default (O(sqrt n) checkpoints)": lambda steps: None,
    "16 checkpoints": lambda steps: diffrax.RecursiveCheckpointAdjoint(16),
    "no recomputation (n checkpoints)": lambda steps: (
        diffrax.RecursiveCheckpointAdjoint(steps)
    ),
}


@eqx.filter_jit
def forward_batch(prob, raw, keys, dys):
    """The loss of every restart, forward only (no gradient)."""
    return jax.vmap(lambda r, k: prob.objective(r, k, dys)[0])(raw, keys)


def time_step(name, n, steps, dt, restarts, repeats, log):
    fns = {}
    for label, mk in ADJOINTS.items():
        prob, opt, raw, state, noise, dys = problem(
            name, n, steps, dt, restarts, mk(steps)
        )

        def step(prob=prob, opt=opt, raw=raw, state=state, noise=noise, dys=dys):
            value, g, _ = P._value_grad_batch(prob, raw, noise, dys)
            return P._update_batch(prob, opt, raw, state, value, g, noise, dys)

        fns[(label, "forward")] = lambda a=(prob, raw, noise, dys): (
            jax.block_until_ready(forward_batch(*a))
        )
        fns[(label, "step")] = lambda f=step: jax.block_until_ready(f())
    times, cpu = tm.interleaved(fns, repeats)
    out = {}
    for label in ADJOINTS:
        tf = statistics.median(times[(label, "forward")])
        ts = statistics.median(times[(label, "step")])
        cf = statistics.median(cpu[(label, "forward")])
        cs = statistics.median(cpu[(label, "step")])
        out[label] = {
            "forward_s": tf,
            "step_s": ts,
            "ratio": ts / tf,
            "forward_cpu_s": cf,
            "step_cpu_s": cs,
            "ratio_cpu": cs / cf,
        }
        log(
            f"  {label:34s} forward {tf * 1e3:8.1f} ms   step {ts * 1e3:8.1f} ms   "
            f"ratio {ts / tf:5.2f}   (CPU: {cf * 1e3:8.1f} / {cs * 1e3:8.1f} ms, "
            f"ratio {cs / cf:5.2f})"
        )
    return out


def time_lbfgs_fit(name, n, steps, dt, restarts, fit_steps, repeats, log):
    """Time per step of a real `sf.fit` loop (L-BFGS with the zoom line search
    of the CLI's `optimizer = "lbfgs"`, default adjoint) against the forward
    solve of the same problem, measured in the same process right after."""
    build, true, start, params, loss = workload(name, n, steps, dt)
    data = sf.simulate_data(build, true, key=1, observables=loss.observables)
    opt = optax.lbfgs(
        linesearch=optax.scale_by_zoom_linesearch(10, initial_guess_strategy="one")
    )
    stamps = []

    def cb(i, value, vals):
        stamps.append((time.perf_counter(), time.process_time()))

    res = sf.fit(
        build,
        start,
        data,
        params,
        loss,
        optimizer=opt,
        steps=fit_steps,
        restarts=restarts,
        spread=0.3,
        progress=False,
        callback=cb,
    )
    k = len(stamps) - 1  # steps after the first (the first compiles)
    if k < 1:
        log("  lbfgs fit loop: stopped after one step, no timing")
        return None
    step_s = (stamps[-1][0] - stamps[0][0]) / k
    step_cpu = (stamps[-1][1] - stamps[0][1]) / k
    prob, _, raw, _, noise, dys = problem(name, n, steps, dt, restarts, None)
    fwd = lambda: jax.block_until_ready(forward_batch(prob, raw, noise, dys))  # noqa: E731
    fwd()
    tw, tc = [], []
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        fwd()
        tw.append(time.perf_counter() - t0)
        tc.append(time.process_time() - c0)
    tf, cf = statistics.median(tw), statistics.median(tc)
    log(
        f"  {'lbfgs fit loop (default adjoint)':34s} forward {tf * 1e3:8.1f} ms   "
        f"step {step_s * 1e3:8.1f} ms   ratio {step_s / tf:5.2f}   "
        f"(CPU: {cf * 1e3:8.1f} / {step_cpu * 1e3:8.1f} ms, ratio "
        f"{step_cpu / cf:5.2f}); mean of {k} steps, first-step compile "
        f"{res.compile_seconds:.0f} s, loss {float(res.loss[0].min()):.3g} -> "
        f"{float(res.loss[-1].min()):.3g}"
    )
    return {
        "forward_s": tf,
        "step_s": step_s,
        "ratio": step_s / tf,
        "forward_cpu_s": cf,
        "step_cpu_s": step_cpu,
        "ratio_cpu": step_cpu / cf,
        "steps_timed": k,
        "compile_s": res.compile_seconds,
    }


def memory_vs_steps(name, n, dt, restarts, steps_list, log):
    out = {}
    for label, mk in ADJOINTS.items():
        mem = {}
        for s in steps_list:
            if label.startswith("16") and s > 10**4:
                continue  # same O(1) memory, only slower
            prob, opt, raw, state, noise, dys = problem(name, n, s, dt, restarts, mk(s))
            lowered = P._value_grad_batch.lower(prob, raw, noise, dys)
            # equinox wraps jax's Compiled object in `.compiled`
            est = tm.compiled_memory(lowered.compile().compiled)
            if est is not None:
                mem[s] = est.total
        out[label] = tm.memory_curve(label, mem, log)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Default run: ~10-25 min on a busy 2-core CPU (mostly compilation).",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="500 solver steps, 3 repeats, memory at 10^3 and 10^4 steps only",
    )
    ap.add_argument(
        "--workload",
        choices=("stdp", "beta"),
        default="stdp",
        help="stdp: the example's fit (default); beta: memory-eigenvalue loss",
    )
    ap.add_argument("--n", type=int, default=32, help="neurons (default 32)")
    ap.add_argument("--dt", type=float, default=0.2, help="step (default 0.2)")
    ap.add_argument("--restarts", type=int, default=2, help="vmapped restarts")
    ap.add_argument(
        "--steps",
        type=int,
        default=None,
        help="solver steps of the timing problem (default 2000; quick 500)",
    )
    ap.add_argument(
        "--repeats", type=int, default=None, help="timing repeats (default 7)"
    )
    ap.add_argument(
        "--memory-steps",
        type=int,
        nargs="+",
        default=None,
        help="solver steps of the memory curve (default 1000 10000 100000)",
    )
    ap.add_argument("--fit-steps", type=int, default=12, help="L-BFGS steps timed")
    ap.add_argument("--no-timing", action="store_true", help="skip the timings")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory")
    ap.add_argument("--no-lbfgs", action="store_true", help="skip the fit loop")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args(argv)
    steps = args.steps or (500 if args.quick else 2000)
    repeats = args.repeats or (3 if args.quick else 7)
    log = lambda s: print(s, flush=True)  # noqa: E731
    dev = jax.devices()[0]
    log(
        f"fit step vs forward: workload {args.workload}, N = {args.n}, "
        f"R = {args.restarts} restarts, {steps} solver steps (dt = {args.dt}), "
        f"jax {jax.__version__}, {dev.platform}, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    log(f"load average {os.getloadavg()}")
    timing, lbfgs, memory = None, None, None
    t_all = time.perf_counter()
    if not args.no_timing:
        log("time per optimisation step (median of interleaved repeats):")
        timing = time_step(
            args.workload, args.n, steps, args.dt, args.restarts, repeats, log
        )
        if not args.no_lbfgs:
            lbfgs = time_lbfgs_fit(
                args.workload,
                args.n,
                steps,
                args.dt,
                args.restarts,
                args.fit_steps,
                repeats,
                log,
            )
    if not args.no_memory:
        log("compiled memory estimate of one optimisation step vs solver steps:")
        steps_list = args.memory_steps or (
            [1000, 10_000] if args.quick else [1000, 10_000, 100_000]
        )
        memory = memory_vs_steps(
            args.workload, args.n, args.dt, args.restarts, steps_list, log
        )
    log(
        f"total {time.perf_counter() - t_all:.0f} s wall, "
        f"{time.process_time():.0f} s CPU; load average {os.getloadavg()}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "meta": {
                        "workload": args.workload,
                        "n": args.n,
                        "dt": args.dt,
                        "restarts": args.restarts,
                        "steps": steps,
                        "repeats": repeats,
                        "jax": jax.__version__,
                        "device": f"{dev.platform} {dev.device_kind}",
                        "date": time.strftime("%Y-%m-%d"),
                        "loadavg": list(os.getloadavg()),
                    },
                    "timing": timing,
                    "lbfgs_fit_loop": lbfgs,
                    "memory": memory,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
