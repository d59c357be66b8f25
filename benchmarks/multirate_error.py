r"""Error of multirate stepping against single-rate Euler–Maruyama.

`MultirateEuler(k)` (default `slow="noise"`) is single-rate Euler for
everything deterministic, and draws the N² weight noise once per block of k
fine steps (spread evenly over the block). `MultirateEuler(k, slow="weights")`
also freezes W over the block and steps it with the block-averaged drive. This
script measures what each costs in accuracy on the Susman et al. (2019)
protocols at the demo size (N = 64), against `simulate`'s default single-rate
Euler with the same fine step h = 0.1, over `--seeds` networks (vmapped).

The rate network is chaotic: solves that differ by one rounding error
decorrelate within tens of time units, so per-network trajectories cannot be
compared (not even Euler with itself at another summation order). Everything
is compared as **ensemble statistics over seeds**, with standard errors:

``noise on``
    multirate with its own Brownian path (one draw of variance k·h per block,
    what a user gets) vs single-rate Euler, independent ensembles.
``noise off``
    weight noise σ = 0 (the OU input noise of the learning protocols stays).
    `slow="noise"` then *is* single-rate Euler (checked to rounding on a short
    horizon, `identity_check`); `slow="weights"` is not.
``Euler h/2``
    single-rate Euler at h/2 vs h: the discretisation error of the reference
    itself, for scale.

Observables (saved along the run by the protocol, see
`sleepjax.models.susman.SusmanObservables`): the memory eigenvalue (real and
imaginary parts, `mem_re`, `mem_im`), its eigenvector's projection onto the
memory plane (`mem_proj`), the overlap of the learned eigenplane with the
input plane (`plane_overlap`, learning), and the statistics of W (`w_mean`,
`w_std`).

Error measure, per observable X: the difference of ensemble means
e(t) = ⟨X_k(t)⟩ − ⟨X_1(t)⟩, averaged over the save times after the memory is
inserted (erosion) or the input starts (learning), relative to a scale s
(for the eigenvalue parts, max_t |⟨λ⟩|, the modulus of the mean memory
eigenvalue; for `w_mean`, ⟨w_std⟩; otherwise max_t |⟨X_1⟩|):

    rel = |mean_t e(t)| / s,   se = SE over seeds of the per-seed difference
                                    of the time means,
    max = max_t |e(t)| / s      (for information: noisier).

Network i has the same initial state and memory plane in both solves (the
same init key); only the noise realisation differs, so the differences are
paired by network, which removes the network-to-network spread of the initial
conditions from the SE (the unpaired SE is kept as `se_independent`).

A difference is *detected* when rel > 3 se (marked *; with paired networks
the SE can be small enough to detect a 0.1 % bias). The summary gives, per
scheme and k, the worst z = rel/se over all observables and protocols and the
95 % upper bounds (rel + 2 se) on the error of the W statistics and of the
memory observables. A k is *accepted* when every observable of every protocol
is within 1 % at 95 % confidence.

Speed: the wall time of each (compiled) ensemble solve in this process; the
precise speed-ups are measured by `benchmarks/throughput.py`.

Usage::

    python benchmarks/multirate_error.py                 # full (~1 h on 2 cores)
    python benchmarks/multirate_error.py --quick         # one protocol, ~2 min
    python benchmarks/multirate_error.py --json out.json --plot out.png
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sleepjax as sj  # noqa: E402
from sleepjax.models import susman  # noqa: E402

OBSERVABLES = ("mem_re", "mem_im", "mem_proj", "plane_overlap", "w_mean", "w_std")
MEMORY = ("mem_re", "mem_im", "mem_proj", "plane_overlap")
THRESHOLD = 0.01
DETECT_Z = 3.0


@dataclass(frozen=True)
class Case:
    """One protocol configuration."""

    name: str
    protocol: str  # "erosion" | "learning"
    opts: susman.SusmanOptions
    params: susman.SusmanParams
    kwargs: dict = field(default_factory=dict)
    t_from: float = 0.0  # compare save times t > t_from

    def build(self, params, key, dt=None):
        fn = susman.erosion if self.protocol == "erosion" else susman.learning
        opts = self.opts if dt is None else replace(self.opts, dt=dt)
        return fn(opts, params, key, **self.kwargs)


def cases(quick: bool, n: int, xbar: str = "code") -> list[Case]:
    """The demo's erosion sweep (3 rules x 2 codes; decorrelation with the
    demo's `xbar`) and the two SPEC learning protocols."""
    p = susman.SusmanParams()
    out = []
    horizon = dict(t_insert=1000.0, t_end=3000.0, save_every=50.0)  # the demo's
    if quick:
        horizon = dict(t_insert=500.0, t_end=1500.0, save_every=50.0)
    rules = ("decorrelation",) if quick else susman.RULES
    codes = ("imaginary",) if quick else susman.CODES
    for rule in rules:
        for code in codes:
            tag = f"{rule}[xbar={xbar}]" if rule == "decorrelation" else rule
            out.append(
                Case(
                    f"erosion/{tag}/{code}",
                    "erosion",
                    susman.SusmanOptions(n=n, rule=rule, xbar=xbar),
                    p,
                    dict(code=code, **horizon),
                    t_from=horizon["t_insert"],
                )
            )
    if not quick:
        # SPEC §1 defaults: rate-control learning and decorrelation learning.
        out.append(
            Case(
                "learning/rate_control",
                "learning",
                susman.SusmanOptions(n=n, rule="rate_control"),
                p,
                dict(window=(500.0, 600.0), t_end=3000.0, save_every=25.0),
                t_from=500.0,
            )
        )
        out.append(
            Case(
                "learning/decorrelation",
                "learning",
                susman.SusmanOptions(n=n, rule="decorrelation"),
                susman.SusmanParams(amplitude=25.0, tau_y=50.0),
                dict(window=(200.0, 300.0), t_end=1200.0, save_every=25.0),
                t_from=200.0,
            )
        )
    return out


def make_runner(case: Case, solver, seeds: int, dt=None):
    """Compiled `(params) -> (observables, status, seconds)` for `seeds` networks
    (network i: key `fold_in(key(20190801), i)`, split into init and noise)."""

    def one(params, index):
        key = jr.fold_in(jr.key(20190801), index)
        k_init, k_noise = jr.split(key)
        sim = case.build(params, k_init, dt).run(k_noise, solver=solver)
        return sim.ys, sim.status

    fn = jax.jit(jax.vmap(one, in_axes=(None, 0)))
    idx = jnp.arange(seeds)
    compiled = fn.lower(case.params, idx).compile()

    def run(params):
        t0 = time.perf_counter()
        ys, status = jax.block_until_ready(compiled(params, idx))
        sec = time.perf_counter() - t0
        return _first_plane(ys), np.asarray(status), sec

    return run


def _first_plane(ys: dict) -> dict:
    """Observables of the (first) memory plane, float64, shape (seeds, times)."""
    out = {}
    for name in OBSERVABLES:
        if name in ys:
            a = np.asarray(ys[name], np.float64)
            out[name] = a[..., 0] if a.ndim == 3 else a
    return out


def compare(ref: dict, other: dict, t_mask) -> dict:
    """Relative difference of ensemble means, time-averaged over `t_mask`, with
    its standard error over seeds.

    Network i starts from the same initial state and memory plane in both
    solves (same init key); only the noise realisation (and, the activity
    being chaotic, its trajectory) differs. The SE is that of the per-network
    differences of the time-averaged observable (`se`), which removes the
    network-to-network spread of the initial conditions; `se_independent`
    treats the two ensembles as unpaired, for comparison."""
    lam = np.hypot(ref["mem_re"].mean(0), ref["mem_im"].mean(0))[t_mask].max()
    res = {}
    for name, r in ref.items():
        o = other[name][:, t_mask]
        r = r[:, t_mask]
        s = r.shape[0]
        if name in ("mem_re", "mem_im"):
            scale = lam
        elif name == "w_mean":
            scale = ref["w_std"][:, t_mask].mean()
        else:
            scale = np.abs(r.mean(0)).max()
        scale = max(float(scale), 1e-12)
        ro, rr = o.mean(1), r.mean(1)  # per-seed time averages
        diff = ro - rr
        rel = abs(diff.mean()) / scale
        se = diff.std(ddof=1) / np.sqrt(s) / scale
        se_ind = np.sqrt(ro.var(ddof=1) / s + rr.var(ddof=1) / s) / scale
        res[name] = {
            "rel": float(rel),
            "se": float(se),
            "se_independent": float(se_ind),
            "z": float(rel / max(se, 1e-30)),
            "max": float(np.abs(o.mean(0) - r.mean(0)).max() / scale),
            "per_seed_diff": (diff / scale).tolist(),
        }
    return res


def identity_check(case: Case, k: int) -> float:
    """max |W_multirate − W_euler| after 20 time units with weight noise off:
    `slow="noise"` reduces to single-rate Euler (rounding only)."""
    p = eqx_replace(case.params, noise=0.0)
    kw = dict(case.kwargs)
    short = (
        dict(kw, t_insert=10.0, t_end=20.0, save_every=10.0)
        if case.protocol == "erosion"
        else dict(kw, window=(5.0, 15.0), t_end=20.0, save_every=10.0)
    )
    c = replace(case, kwargs=short)
    exp = c.build(p, jr.key(1))
    a = exp.run(jr.key(2)).final.W
    b = exp.run(jr.key(2), solver=sj.MultirateEuler(k)).final.W
    return float(jnp.abs(a - b).max())


def run_case(case: Case, ks, seeds: int, weights_k: int, log) -> dict:
    t0 = time.perf_counter()
    off = eqx_replace(case.params, noise=0.0)
    save_ts = np.asarray(case.build(case.params, jr.key(0)).save_ts)
    t_mask = save_ts > case.t_from
    out: dict[str, Any] = {"case": case.name, "seeds": seeds, "ts": save_ts.tolist()}

    ref = make_runner(case, None, seeds)
    R, st, t_ref = ref(case.params)
    R_off, _, _ = ref(off)
    failed = int((st != 0).sum())
    out["ref_mean"] = {k: v.mean(0).tolist() for k, v in R.items()}
    out["time_euler_s"] = t_ref

    half = make_runner(case, None, seeds, dt=case.opts.dt / 2)
    H, st, _ = half(case.params)
    failed += int((st != 0).sum())
    out["euler_half"] = compare(R, H, t_mask)
    del half

    out["noise"], out["weights"] = {}, {}
    for k in ks:
        run = make_runner(case, sj.MultirateEuler(k), seeds)
        M, st, t_k = run(case.params)
        failed += int((st != 0).sum())
        rec = {
            "noise_on": compare(R, M, t_mask),
            "speedup": t_ref / t_k,
            "mean": {kk: v.mean(0).tolist() for kk, v in M.items()},
        }
        if k == weights_k:
            M_off, _, _ = run(off)
            rec["noise_off"] = compare(R_off, M_off, t_mask)
            rec["identity_max_abs_dW"] = identity_check(case, k)
        out["noise"][str(k)] = rec
        log(_line(case.name, f"noise k={k}", rec))
    run = make_runner(case, sj.MultirateEuler(weights_k, slow="weights"), seeds)
    M, st, t_k = run(case.params)
    M_off, st_off, _ = run(off)
    failed += int((st != 0).sum() + (st_off != 0).sum())
    rec = {
        "noise_on": compare(R, M, t_mask),
        "noise_off": compare(R_off, M_off, t_mask),
        "speedup": t_ref / t_k,
        "mean": {kk: v.mean(0).tolist() for kk, v in M.items()},
    }
    out["weights"][str(weights_k)] = rec
    log(_line(case.name, f"weights k={weights_k}", rec))
    log(_line(case.name, "Euler h/2", {"noise_on": out["euler_half"]}))
    out["failed"] = failed
    out["wall_s"] = time.perf_counter() - t0
    return out


def _worst(recs: list[dict]) -> tuple[float, float, float]:
    """(worst rel, worst z, worst 2·se) over a list of compare() results."""
    rel = max(v["rel"] for r in recs for v in r.values())
    z = max(v["z"] for r in recs for v in r.values())
    res = max(2 * v["se"] for r in recs for v in r.values())
    return rel, z, res


def _line(case: str, what: str, rec: dict) -> str:
    modes = [m for m in ("noise_on", "noise_off") if m in rec]
    rel, z, res = _worst([rec[m] for m in modes])
    sp = f"  speed-up {rec['speedup']:5.1f}x" if "speedup" in rec else ""
    return (
        f"  {case:44s} {what:14s} worst rel {100 * rel:6.2f} %  z {z:5.1f}  "
        f"(2 se {100 * res:5.2f} %){sp}"
    )


def eqx_replace(params, **kw):
    names = list(kw)
    return eqx.tree_at(
        lambda p: [getattr(p, n) for n in names],
        params,
        [jnp.asarray(kw[n], jnp.result_type(float)) for n in names],
    )


def _verdicts(results: list[dict], ks, weights_k) -> tuple[list[str], dict]:
    """Per scheme: worst z, 95 % bounds, speed-up, accepted; and the chosen k."""
    lines: list[str] = []
    summary: dict[str, Any] = {"schemes": {}}
    entries = [("Euler h/2", [r["euler_half"] for r in results], None)]
    for k in ks:
        recs = [r["noise"][str(k)] for r in results]
        entries.append(
            (
                f"noise k={k}",
                [x["noise_on"] for x in recs]
                + [x["noise_off"] for x in recs if "noise_off" in x],
                statistics.median(x["speedup"] for x in recs),
            )
        )
    recs = [r["weights"][str(weights_k)] for r in results]
    entries.append(
        (
            f"weights k={weights_k}",
            [x["noise_on"] for x in recs] + [x["noise_off"] for x in recs],
            statistics.median(x["speedup"] for x in recs),
        )
    )
    ok_k = []
    groups = {"W stats": ("w_mean", "w_std"), "memory": MEMORY}
    for label, recs, speed in entries:
        rel, z, res = _worst(recs)
        bound = {
            g: max(r[o]["rel"] + 2 * r[o]["se"] for r in recs for o in obs if o in r)
            for g, obs in groups.items()
        }
        worst_mem = max(r[o]["rel"] for r in recs for o in MEMORY if o in r)
        # Accepted: every observable's error within 1 % at 95 % confidence.
        passed = max(bound.values()) < THRESHOLD
        summary["schemes"][label] = {
            "worst_rel": rel,
            "worst_rel_memory": worst_mem,
            "worst_z": z,
            "resolution_2se": res,
            "bound95": bound,
            "speedup_single_run": speed,
            "accepted": passed,
        }
        sp = "" if speed is None else f"; speed-up (single runs) {speed:4.1f}x"
        w_b, m_b = 100 * bound["W stats"], 100 * bound["memory"]
        verdict = "  -> accepted" if passed else ""
        lines.append(
            f"{label:14s}: worst z {z:4.1f}; W stats <= {w_b:4.2f} % (95 %); "
            f"memory {100 * worst_mem:4.2f} % (95 % bound {m_b:4.2f} %){sp}{verdict}"
        )
        if passed and label.startswith("noise k="):
            ok_k.append(int(label.split("=")[1]))
    chosen = max(ok_k) if ok_k else None
    summary["chosen_k"] = chosen
    lines.append(
        f"largest k (slow='noise') whose error is < {100 * THRESHOLD:g} % at 95 % "
        f"confidence for every observable: {chosen}"
    )
    return lines, summary


def summarise(results: list[dict], ks, weights_k) -> tuple[str, dict]:
    lines = ["relative difference of ensemble means, time-averaged: rel% ± se%"]
    hdr = f"{'case':44s} {'scheme':16s} " + " ".join(f"{o:>15s}" for o in OBSERVABLES)
    lines += [hdr, "-" * len(hdr)]

    def row(case, label, rec):
        cells = []
        for o in OBSERVABLES:
            v = rec.get(o)
            cells.append(
                f"{'':>15s}"
                if v is None
                else f"{100 * v['rel']:6.2f} ±{100 * v['se']:5.2f}"
                + ("*" if v["z"] > DETECT_Z else " ")
            )
        lines.append(f"{case:44s} {label:16s} " + " ".join(cells))

    for res in results:
        row(res["case"], "Euler h/2", res["euler_half"])
        for k in ks:
            row(res["case"], f"noise k={k}", res["noise"][str(k)]["noise_on"])
            if "noise_off" in res["noise"][str(k)]:
                row(res["case"], "  (noise off)", res["noise"][str(k)]["noise_off"])
        w = res["weights"][str(weights_k)]
        row(res["case"], f"weights k={weights_k}", w["noise_on"])
        row(res["case"], "  (noise off)", w["noise_off"])
    lines.append("* = difference detected (rel > 3 se)")
    summary: dict[str, Any] = {"groups": {}}
    erosion = [r for r in results if r["case"].startswith("erosion")]
    learning = [r for r in results if r["case"].startswith("learning")]
    subsets = [("erosion (the demo's sweep)", erosion), ("learning", learning)]
    if erosion and learning:
        subsets.append(("all protocols", results))
    for name, subset in subsets:
        if subset:
            text, summ = _verdicts(subset, ks, weights_k)
            lines += ["", f"{name}:", *text]
            summary["groups"][name] = summ
    summary["chosen_k"] = list(summary["groups"].values())[-1]["chosen_k"]
    ident = [
        r["noise"][str(k)].get("identity_max_abs_dW")
        for r in results
        for k in ks
        if "identity_max_abs_dW" in r["noise"][str(k)]
    ]
    if ident:
        summary["identity_max_abs_dW"] = max(ident)
        lines.append(
            f"noise off, t = 20: max |W_multirate - W_euler| = {max(ident):.1e} "
            "(slow='noise' is single-rate Euler when the weight noise is off)"
        )
    return "\n".join(lines), summary


def plot(results: list[dict], ks, weights_k, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    fig, axes = plt.subplots(n, 2, figsize=(10, 2.4 * n), squeeze=False)
    for row, res in zip(axes, results, strict=True):
        ts = np.asarray(res["ts"])
        obs0 = "mem_re" if res["case"].endswith("/real") else "mem_im"
        for ax, obs in zip(row, (obs0, "w_std"), strict=True):
            ax.plot(ts, res["ref_mean"][obs], "k-", lw=2.5, label="Euler")
            for k in ks:
                ax.plot(
                    ts, res["noise"][str(k)]["mean"][obs], lw=1, label=f"noise k={k}"
                )
            ax.plot(
                ts,
                res["weights"][str(weights_k)]["mean"][obs],
                "r--",
                lw=1,
                label=f"weights k={weights_k}",
            )
            ax.set_title(f"{res['case']}: ensemble mean {obs}", fontsize=9)
            ax.set_xlabel("t")
        row[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one protocol, short run")
    ap.add_argument("--n", type=int, default=64, help="neurons (demo: 64)")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--k", type=int, nargs="+", default=None, help="substeps to test")
    ap.add_argument("--weights-k", type=int, default=10, help="k for slow='weights'")
    ap.add_argument(
        "--only", nargs="+", default=None, help="run cases whose name contains one"
    )
    ap.add_argument(
        "--xbar",
        default="code",
        choices=("code", "lowpass"),
        help="decorrelation x-bar in the erosion cases (the demo uses 'code')",
    )
    ap.add_argument("--json", default=None)
    ap.add_argument("--plot", default=None)
    ap.add_argument(
        "--merge",
        nargs="+",
        default=None,
        metavar="JSON",
        help="summarise earlier runs' JSON files (same k) instead of running",
    )
    args = ap.parse_args(argv)
    if args.merge:
        runs = [json.loads(Path(f).read_text()) for f in args.merge]
        results = [r for run in runs for r in run["results"]]
        m = runs[0]["meta"]
        table, summary = summarise(results, m["ks"], m["weights_k"])
        print(table)
        if args.json:
            Path(args.json).write_text(
                json.dumps(
                    {
                        "meta": [r["meta"] for r in runs],
                        "summary": summary,
                        "results": results,
                    },
                    indent=1,
                )
            )
        if args.plot:
            plot(results, m["ks"], m["weights_k"], args.plot)
        return 0
    seeds = args.seeds or (16 if args.quick else 32)
    ks = args.k or ([10] if args.quick else [10, 20, 50])
    if args.weights_k not in ks:
        ks = sorted({*ks, args.weights_k})
    log = lambda s: print(s, flush=True)  # noqa: E731
    log(
        f"multirate error: N = {args.n}, {seeds} seeds, k = {ks}, "
        f"jax {jax.__version__}, "
        f"{jax.devices()[0].platform}, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    t0 = time.perf_counter()
    results = []
    meta = {
        "n": args.n,
        "seeds": seeds,
        "ks": ks,
        "weights_k": args.weights_k,
        "xbar": args.xbar,
        "jax": jax.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }

    def save(results, summary=None):
        if args.json:
            meta["failed_networks"] = sum(r["failed"] for r in results)
            Path(args.json).write_text(
                json.dumps(
                    {"meta": meta, "summary": summary, "results": results}, indent=1
                )
            )

    for case in cases(args.quick, args.n, args.xbar):
        if args.only and not any(o in case.name for o in args.only):
            continue
        results.append(run_case(case, ks, seeds, args.weights_k, log))
        save(results)  # partial results survive an interrupted run
    table, summary = summarise(results, ks, args.weights_k)
    print()
    print(table)
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")
    save(results, summary)
    if args.plot:
        plot(results, ks, args.weights_k, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
