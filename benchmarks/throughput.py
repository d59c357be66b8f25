r"""Throughput of sleepjax against what a user would otherwise write.

Workload (SPEC §1, `benchmarks/_baselines.py`): decorrelation learning with
antisymmetric STDP and weight noise σ² = 1/N, no input, float32, Euler–Maruyama
with dt = 0.1, B independent networks of N neurons, vmapped. Side by side, in
one process, on the same initial state (`_baselines.initial_state`):

``sleepjax``
    `sleepjax.simulate` with its defaults: diffrax `Euler`, the fast
    `FoldInBrownianPath`, `RecursiveCheckpointAdjoint`, only the final state
    saved; `jax.vmap` over networks.
``sleepjax_multirate``
    the same with `solver=MultirateEuler(k)` (default k = 10: the weight noise
    drawn once per k steps; error measured by `benchmarks/multirate_error.py`).
``floor``
    hand-written `lax.scan` Euler–Maruyama, vmapped, same math, same PRNG
    (threefry, `normal(fold_in(key_b, k))`).
``diffrax_vbt`` / ``diffrax_ubp``
    naive diffrax: `ControlTerm` with a diagonal `lineax` operator over the
    whole state, `VirtualBrownianTree(tol = dt/2)` / `UnsafeBrownianPath`
    (`DirectAdjoint`).
``numpy``
    a batched NumPy loop (float32, in place).

Reported per (N, B): network-steps per second (B × steps / wall time, median
of interleaved repeats after a warm-up call) and the ratios to the floor and to
NumPy, three ways: wall-clock median, best-of (the least disturbed repeat) and
CPU time (`time.process_time`, the work done). Also: the cost per network-step
against N (fitted exponent, pooled over B), against B, and XLA's compiled
peak-memory estimate (`memory_analysis`) against B. A same-work check runs
first: sleepjax and the floor agree to round-off without noise, and their
noise statistics agree within sampling error.

On a shared machine only ratios measured in the same process, interleaved,
are meaningful; absolute rates, and wall-clock ratios between programs that
use threads differently, vary with the load (see docs/performance.md).

Usage::

    python benchmarks/throughput.py --quick                   # ~5 min, 2 cores
    python benchmarks/throughput.py --json t.json --plot t.png  # the full grid
    python benchmarks/throughput.py --n 128 --batch 64 --impl sleepjax floor numpy
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

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
from sleepjax.plasticity import AntisymmetricSTDP, Decorrelation, SumRule  # noqa: E402

IMPLS = (
    "sleepjax",
    "sleepjax_multirate",
    "floor",
    "diffrax_vbt",
    "diffrax_ubp",
    "numpy",
)
FULL_N = (64, 128, 256)
FULL_B = (1, 16, 64, 256, 1024)
QUICK_CELLS = ((64, 64), (128, 64))
HEADLINE = (128, 64)
# Largest B·N² (numbers per step) each slow implementation is run at.
LIMITS = {"diffrax_vbt": 2**20, "diffrax_ubp": 2**24, "numpy": 2**26}


# ----------------------------------------------------------------- sleepjax
PARAMS = bl.Params()


def workload_model(n: int, params: bl.Params = PARAMS, noise: bool = True):
    """The `_baselines` workload as a sleepjax Model (rule state: (y, x̄))."""
    return sj.Model(
        sj.dynamics.RateNetwork(n=n),
        SumRule(
            AntisymmetricSTDP(tau_y=params.tau_y),
            Decorrelation(b=params.b, xbar="lowpass", tau_x=params.tau_x),
        ),
        eta=params.eta,
        weight_noise=sj.WeightNoise(params.sigma(n)) if noise else None,
    )


def workload_states(n, batch, seed, params=PARAMS, same_init=False):
    """The shared initial condition as a batched `NetworkState`."""
    x, y, xbar, w = (
        jnp.asarray(a) for a in bl.initial_state(n, batch, seed, params, same_init)
    )
    return sj.NetworkState(neurons=x, W=w, rules=(y, xbar), stimulus=None)


def sleepjax_baseline(
    n: int,
    batch: int,
    n_steps: int,
    seed: int,
    *,
    solver=None,
    impl: str = "threefry2x32",
    noise: bool = True,
    params: bl.Params = PARAMS,
    same_init: bool = False,
    name: str = "sleepjax",
) -> bl.Baseline:
    """`sleepjax.simulate` of the workload, vmapped and compiled; keys as the
    floor's (`split(key(seed, impl), B)`)."""
    model = workload_model(n, params, noise)
    states = workload_states(n, batch, seed, params, same_init)
    keys = jr.split(jr.key(seed, impl=impl), batch)
    t1 = n_steps * params.dt

    def one(state, key):
        sim = sj.simulate(
            model, state, t0=0.0, t1=t1, dt=params.dt, key=key, solver=solver
        )
        return sim.final.neurons, sim.final.W

    t0 = time.perf_counter()
    compiled = jax.jit(jax.vmap(one)).lower(states, keys).compile()
    compile_s = time.perf_counter() - t0

    def run():
        return jax.block_until_ready(compiled(states, keys))

    return bl.Baseline(
        name=name,
        n=n,
        batch=batch,
        n_steps=n_steps,
        run=run,
        compile_s=compile_s,
        compiled=compiled,
        info={"impl": impl, "solver": repr(solver) if solver else "Euler()"},
    )


def sleepjax_runner(n, batch, n_steps, seed=0, impl="threefry2x32", solver=None):
    """`(run, baseline)` for other benchmarks (prng.py, gpu.py)."""
    b = sleepjax_baseline(n, batch, n_steps, seed, impl=impl, solver=solver)
    return b.run, b


def build(
    name: str, n: int, batch: int, steps: int, k: int, seed: int = 0, quick=False
):
    if name == "sleepjax":
        return sleepjax_baseline(n, batch, steps, seed)
    if name == "sleepjax_multirate":
        return sleepjax_baseline(
            n, batch, steps, seed, solver=sj.MultirateEuler(k), name=name
        )
    if name == "numpy":
        return bl.numpy_loop(n, batch, steps, seed)
    if name == "diffrax_vbt" and quick:
        # The diagonal form over the whole state takes ~20 s to compile; W only
        # compiles in a third of that (and runs a little faster).
        return bl.make(name, n, batch, steps, seed, diffusion="w_only")
    return bl.make(name, n, batch, steps, seed)


# ------------------------------------------------------------------ checks
def check_same_work(log) -> dict:
    """sleepjax vs the floor on a small problem: noise off, they agree to
    round-off; noise on (all networks from one state), the across-network
    variance of W ("spread", ≈ η²σ²T) and the pooled moments agree within
    sampling error."""
    n, b, steps = 16, 32, 200
    out = {}
    f = bl.floor(n, b, steps, 0, noise=False)
    s = sleepjax_baseline(n, b, steps, 0, noise=False)
    (xf, wf), (xs, ws) = f.run(), s.run()
    out["max_abs_diff_noise_off"] = float(
        max(np.abs(np.asarray(xf) - xs).max(), np.abs(np.asarray(wf) - ws).max())
    )
    stats = {}
    for name, base in (
        ("floor", bl.floor(n, b, steps, 1, same_init=True)),
        ("sleepjax", sleepjax_baseline(n, b, steps, 1, same_init=True)),
    ):
        x, w = base.run()
        stats[name] = bl._stats(np.asarray(x), np.asarray(w))
    a, c = stats["floor"], stats["sleepjax"]
    z = {}
    for fld in ("w_spread", "w_var", "x_var"):
        se = np.hypot(getattr(a, fld + "_se"), getattr(c, fld + "_se"))
        z[fld] = float((getattr(c, fld) - getattr(a, fld)) / se)
    out["z_noise_on"] = z
    out["w_spread"] = {"floor": a.w_spread, "sleepjax": c.w_spread}
    out["ok"] = out["max_abs_diff_noise_off"] < 1e-4 and all(
        abs(v) < 4 for v in z.values()
    )
    log(
        f"same work: noise off max |sleepjax - floor| = "
        f"{out['max_abs_diff_noise_off']:.1e}; noise on z-scores "
        + ", ".join(f"{k} {v:+.1f}" for k, v in z.items())
        + f" -> {'ok' if out['ok'] else 'MISMATCH'}"
    )
    return out


# ------------------------------------------------------------------ timing
def steps_for(n: int, batch: int, target: float, k: int) -> int:
    """Steps so that the floor does ~`target` normals (a multiple of k)."""
    s = int(target / (batch * n * n))
    s = max(k, min(5000, s))
    return max(k, (s // k) * k)


def run_cell(n, batch, impls, steps, repeats, k, log, quick=False) -> list[dict]:
    built: dict[str, bl.Baseline] = {}
    skipped = {}
    for name in impls:
        limit = LIMITS.get(name)
        if limit is not None and batch * n * n > limit:
            skipped[name] = f"skipped: B·N² > {limit} (too slow on this CPU)"
            continue
        s = steps
        if name == "diffrax_vbt":  # 20-70x slower: fewer steps
            s = max(k, (steps // 10 // k) * k)
        built[name] = build(name, n, batch, s, k, quick=quick)
        built[name].run()  # warm-up
    times = {name: [] for name in built}
    cpu = {name: [] for name in built}
    for _ in range(repeats):
        for name, b in built.items():
            t0, c0 = time.perf_counter(), time.process_time()
            b.run()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    rate, rate_cpu, rate_best = {}, {}, {}
    for name, b in built.items():
        work = batch * b.n_steps
        rate[name] = work / statistics.median(times[name])
        rate_best[name] = work / min(times[name])
        rate_cpu[name] = work / statistics.median(cpu[name])

    def ratio(r, name, ref):
        return r[name] / r[ref] if ref in r else None

    rows = []
    for name in impls:
        row: dict[str, Any] = {"n": n, "batch": batch, "impl": name}
        if name in skipped:
            row["skipped"] = skipped[name]
        else:
            b = built[name]
            row.update(
                steps=b.n_steps,
                seconds=statistics.median(times[name]),
                seconds_min=min(times[name]),
                cpu_seconds=statistics.median(cpu[name]),
                net_steps_per_s=rate[name],
                vs_floor=ratio(rate, name, "floor"),
                vs_numpy=ratio(rate, name, "numpy"),
                vs_floor_best=ratio(rate_best, name, "floor"),
                vs_numpy_best=ratio(rate_best, name, "numpy"),
                vs_floor_cpu=ratio(rate_cpu, name, "floor"),
                vs_numpy_cpu=ratio(rate_cpu, name, "numpy"),
                compile_s=b.compile_s,
                repeats=repeats,
            )
            if "diffusion" in b.info:
                row["diffusion"] = b.info["diffusion"]
        rows.append(row)
    log(_cell_text(rows))
    return rows


def _fmt(x, w=6):
    return f"{x:{w}.2f}" if x is not None else f"{'-':>{w}}"


def _cell_text(rows) -> str:
    out = []
    for r in rows:
        head = f"N={r['n']:4d} B={r['batch']:5d} {r['impl']:19s}"
        if "skipped" in r:
            out.append(f"{head} {r['skipped']}")
            continue
        out.append(
            f"{head} {r['net_steps_per_s']:11.0f} net-steps/s  x floor "
            f"{_fmt(r['vs_floor'])} (cpu {_fmt(r['vs_floor_cpu'], 5)})  x numpy "
            f"{_fmt(r['vs_numpy'])} (cpu {_fmt(r['vs_numpy_cpu'], 5)})  "
            f"[{r['steps']} steps, {r['seconds']:.3f} s, cpu/wall "
            f"{r['cpu_seconds'] / r['seconds']:.2f}]"
        )
    return "\n".join(out)


# ------------------------------------------------------------ derived fits
def fit_exponents(rows, batch: int | None = None) -> dict:
    """Cost per network-step ∝ N^p: least-squares p per implementation, at one
    B, or (`batch=None`) pooled over every B measured at two N or more (a
    common slope, one intercept per B)."""
    out = {}
    for impl in IMPLS:
        pts = [
            (r["batch"], np.log(r["n"]), -np.log(r["net_steps_per_s"]))
            for r in rows
            if r["impl"] == impl
            and "net_steps_per_s" in r
            and (batch is None or r["batch"] == batch)
        ]
        groups = sorted({b for b, _, _ in pts})
        groups = [g for g in groups if sum(1 for b, _, _ in pts if b == g) >= 2]
        pts = [p for p in pts if p[0] in groups]
        if not pts:
            continue
        x = np.array([[p[1]] + [float(p[0] == g) for g in groups] for p in pts])
        y = np.array([p[2] for p in pts])
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        out[impl] = float(coef[0])
    return out


def cost_vs_batch(rows, n: int) -> dict:
    """Microseconds per network-step against B at fixed N."""
    out: dict[str, dict] = {}
    for r in rows:
        if r["n"] == n and "net_steps_per_s" in r:
            out.setdefault(r["impl"], {})[r["batch"]] = 1e6 / r["net_steps_per_s"]
    return out


def memory_vs_batch(n, batches, k, log, multirate=True) -> dict:
    """XLA's compiled memory estimate (argument + output + temp) against B."""
    out: dict[str, dict] = {}
    for b in batches:
        for name, make in (
            ("sleepjax", lambda b=b: sleepjax_baseline(n, b, 100, 0)),
            (
                "sleepjax_multirate",
                lambda b=b: sleepjax_baseline(
                    n, b, 100, 0, solver=sj.MultirateEuler(k)
                ),
            ),
            ("floor", lambda b=b: bl.floor(n, b, 100, 0)),
        ):
            if name == "sleepjax_multirate" and not multirate:
                continue
            mem = tm.compiled_memory(make().compiled)
            if mem is None:
                continue
            out.setdefault(name, {})[b] = {
                **asdict(mem),
                "total_mb": mem.total_mb,
                "state_mb": b * (n * n + 3 * n) * 4 / 2**20,
            }
    for name, d in out.items():
        log(
            f"  {name:19s} "
            + "  ".join(
                f"B={b}: {v['total_mb']:.1f} MB "
                f"({v['total_mb'] / v['state_mb']:.1f}x state)"
                for b, v in d.items()
            )
        )
    return out


# -------------------------------------------------------------------- plot
def plot(rows, mem, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = sorted({r["n"] for r in rows})
    fig, axes = plt.subplots(1, len(ns) + 1, figsize=(4.2 * (len(ns) + 1), 3.6))
    styles = {
        "sleepjax": ("C0", "o-"),
        "sleepjax_multirate": ("C0", "s--"),
        "floor": ("k", "^-"),
        "diffrax_vbt": ("C3", "v:"),
        "diffrax_ubp": ("C1", "d-."),
        "numpy": ("C2", "x-"),
    }
    for ax, n in zip(axes, ns, strict=False):
        for impl in IMPLS:
            pts = sorted(
                (r["batch"], r["net_steps_per_s"])
                for r in rows
                if r["n"] == n and r["impl"] == impl and "net_steps_per_s" in r
            )
            if pts:
                c, s = styles[impl]
                ax.plot(*zip(*pts, strict=True), s, color=c, label=impl, ms=4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"N = {n}")
        ax.set_xlabel("networks B")
        ax.set_ylabel("network-steps / s")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    ax = axes[-1]
    for name, d in (mem or {}).items():
        bs = sorted(d)
        ax.plot(bs, [d[b]["total_mb"] for b in bs], "o-", label=name)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_title("compiled memory estimate")
    ax.set_xlabel("networks B")
    ax.set_ylabel("MB")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# -------------------------------------------------------------------- main
def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    dev = jax.devices()[0]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "jax": jax.__version__,
        "diffrax": __import__("diffrax").__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": f"{dev.platform} {dev.device_kind}",
        "cpus": os.cpu_count(),
        "loadavg_start": load,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="two cells, ~5 min")
    ap.add_argument("--n", type=int, nargs="+", default=None)
    ap.add_argument("--batch", type=int, nargs="+", default=None)
    ap.add_argument("--impl", nargs="+", default=None, choices=IMPLS)
    ap.add_argument("--k", type=int, default=10, help="multirate substeps")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--target", type=float, default=None, help="normals per run")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--plot", default=None)
    args = ap.parse_args(argv)
    log = lambda s: print(s, flush=True)  # noqa: E731
    t_start = time.perf_counter()
    meta = machine()
    log(
        f"sleepjax throughput: {meta['date']}, jax {meta['jax']}, diffrax "
        f"{meta['diffrax']}, {meta['device']}, {meta['cpus']} CPUs, load "
        f"{meta['loadavg_start']}"
    )
    impls = tuple(args.impl or IMPLS)
    if "floor" not in impls:
        impls = ("floor", *impls)
    if args.n or args.batch:
        cells = [(n, b) for n in (args.n or FULL_N) for b in (args.batch or FULL_B)]
    elif args.quick:
        cells = list(QUICK_CELLS)
    else:
        cells = [(n, b) for n in FULL_N for b in FULL_B]
    repeats = args.repeats or (5 if args.quick else 7)
    # Quick cells are as long as the full grid's (90 steps at N = 128, B = 64,
    # nine multirate blocks): at 2.5e7 (20 steps, two blocks) a run of the
    # multirate solver lasted ~0.1 s, short enough for one scheduler hiccup
    # on the shared machine to move the ratio.
    target = args.target or 1e8

    check = None if args.no_check else check_same_work(log)
    rows: list[dict] = []
    for n, b in cells:
        cell_impls = impls
        if args.quick and (n, b) != HEADLINE:
            cell_impls = tuple(i for i in impls if not i.startswith("diffrax"))
        steps = steps_for(n, b, target, args.k)
        rows += run_cell(n, b, cell_impls, steps, repeats, args.k, log, args.quick)

    # cost vs N (pooled over B, and per B) and vs B (fixed N)
    bs = sorted({b for _, b in cells})
    exps = fit_exponents(rows)
    exps_by_b = {b: fit_exponents(rows, b) for b in bs}
    exps_by_b = {b: v for b, v in exps_by_b.items() if v}
    n_b = HEADLINE[0] if any(n == HEADLINE[0] for n, _ in cells) else cells[0][0]
    per_b = cost_vs_batch(rows, n_b)
    mem = None
    if not args.no_memory:
        log(f"compiled memory estimate vs B (N = {n_b}, 100 steps):")
        mem_bs = (1, 64) if args.quick else (1, 16, 64, 256, 1024, 4096)
        mem = memory_vs_batch(n_b, mem_bs, args.k, log, multirate=not args.quick)

    # summary
    print()
    print("=" * 100)
    print(
        f"{'N':>4} {'B':>5} {'implementation':20s} {'net-steps/s':>12} "
        f"{'x floor':>8} {'x numpy':>8} | {'best-of':>7} {'x floor':>8} {'x numpy':>8}"
        f" | {'cpu':>3} {'x floor':>8} {'x numpy':>8}"
    )
    for r in rows:
        if "skipped" in r:
            continue
        print(
            f"{r['n']:4d} {r['batch']:5d} {r['impl']:20s} "
            f"{r['net_steps_per_s']:12.0f} {_fmt(r['vs_floor'], 8)} "
            f"{_fmt(r['vs_numpy'], 8)} | {'':>7} {_fmt(r['vs_floor_best'], 8)} "
            f"{_fmt(r['vs_numpy_best'], 8)} | {'':>3} "
            f"{_fmt(r['vs_floor_cpu'], 8)} {_fmt(r['vs_numpy_cpu'], 8)}"
        )
    skipped = [r for r in rows if "skipped" in r]
    if skipped:
        print(
            "skipped: "
            + "; ".join(f"{r['impl']} N={r['n']} B={r['batch']}" for r in skipped)
        )
    if exps:
        print(
            "\ncost per network-step ∝ N^p, pooled over B: "
            + ", ".join(f"{k} {v:.2f}" for k, v in exps.items())
        )
        for b, e in exps_by_b.items():
            print(
                f"  at B = {b:4d}: " + ", ".join(f"{k} {v:.2f}" for k, v in e.items())
            )
    print(f"\nµs per network-step vs B at N = {n_b}:")
    for impl, d in per_b.items():
        print(
            f"  {impl:19s} "
            + "  ".join(f"B={b}: {v:9.2f}" for b, v in sorted(d.items()))
        )
    head = [
        r for r in rows if (r["n"], r["batch"]) == HEADLINE and "net_steps_per_s" in r
    ]
    keys = (
        "vs_floor",
        "vs_numpy",
        "vs_floor_best",
        "vs_numpy_best",
        "vs_floor_cpu",
        "vs_numpy_cpu",
    )
    headline = {r["impl"]: {k: r[k] for k in keys} for r in head}
    if "sleepjax" in headline:
        sjx = headline["sleepjax"]
        mr = headline.get("sleepjax_multirate", {})
        print(
            f"\nheadline N = {HEADLINE[0]}, B = {HEADLINE[1]} (wall median / best-of / "
            f"cpu time): sleepjax vs floor {_fmt(sjx['vs_floor'], 4)} / "
            f"{_fmt(sjx['vs_floor_best'], 4)} / {_fmt(sjx['vs_floor_cpu'], 4)}; "
            f"vs numpy {_fmt(sjx['vs_numpy'], 4)} / {_fmt(sjx['vs_numpy_best'], 4)} / "
            f"{_fmt(sjx['vs_numpy_cpu'], 4)}"
        )
        if mr:
            print(
                f"multirate k={args.k} vs sleepjax: "
                f"{mr['vs_floor'] / sjx['vs_floor']:.2f}x (wall), "
                f"{mr['vs_floor_cpu'] / sjx['vs_floor_cpu']:.2f}x (cpu)"
            )
    meta["loadavg_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    meta["wall_s"] = time.perf_counter() - t_start
    print(
        f"wall time {meta['wall_s']:.0f} s; load average at end {meta['loadavg_end']}"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "meta": meta,
                    "settings": {"k": args.k, "repeats": repeats, "target": target},
                    "same_work": check,
                    "rows": rows,
                    "exponents": exps,
                    "exponents_by_batch": {str(b): v for b, v in exps_by_b.items()},
                    "cost_vs_batch_us": {
                        k: {str(b): v for b, v in d.items()} for k, d in per_b.items()
                    },
                    "memory_vs_batch": {
                        k: {str(b): v for b, v in d.items()}
                        for k, d in (mem or {}).items()
                    },
                    "headline": headline,
                },
                indent=1,
            )
        )
    if args.plot:
        plot(rows, mem, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
