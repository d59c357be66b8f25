r"""Error of multirate stepping against single-rate Euler–Maruyama.

`MultirateEuler(k)` (default `slow="noise"`) is single-rate Euler for
everything deterministic, and draws the N² weight noise once per block of k
fine steps (one Wiener increment of variance k·h, spread evenly over the
block). This script measures what that costs in accuracy on the Susman et
al. (2019) protocols at the demo size (N = 64), against `simulate`'s default
single-rate Euler with the same fine step h = 0.1.

**Coupled solves.** Both solvers are driven by *one* Brownian path:
`brownian="fold_in_nested"` gives the multirate solver, for each block, the
sum of the k single-step increments that single-rate Euler uses
(`FoldInBrownianPath(nested=True)`). The sum of k independent N(0, h)
increments has exactly the law of the single N(0, k·h) draw that the fast
default path makes, so the coupled multirate solution has *the same
distribution* as the one a user gets; only the pairing with the reference
is new. The per-network difference d_i(t) = X_k,i(t) − X_1,i(t) of an
observable then bounds the error in law at every save time:

    |E X_k(t) − E X_1(t)|  ≤  E |d(t)|,

and E|d(t)| is estimated over networks without the network-to-network spread
that makes ensemble comparisons of these chaotic networks need 10⁵ samples.
(The activity x is chaotic and decorrelates between the two solves; W, which
integrates it slowly, stays close: that is what this measures.)

``Euler h/2``  single-rate Euler at h/2 vs h on one path (the h path summing
               pairs of h/2 increments): the reference's own discretisation
               error, for scale.
``noise k``    `MultirateEuler(k)` vs Euler, coupled as above.
``weights k``  (`--weights`) the frozen-W design `slow="weights"`, coupled.
``noise off``  weight noise σ = 0: `slow="noise"` must equal Euler to
               rounding (checked, `identity_check`).

Observables (saved by the protocol, `sleepjax.models.susman.SusmanObservables`):
the memory eigenvalue (`mem_re`, `mem_im`), its eigenvector's projection onto
the memory plane (`mem_proj`), the learned eigenplane's overlap with the input
plane (`plane_overlap`, learning), and the statistics of W (`w_mean`,
`w_std`). Compared at the save times after the memory is inserted (erosion)
or the input starts (learning), relative to a scale s (for the eigenvalue
parts, max_t |⟨λ(t)⟩|, the modulus of the mean memory eigenvalue; for
`w_mean`, ⟨w_std⟩; otherwise max_t |⟨X_1(t)⟩|):

    bias95 = |mean_i dbar_i| + 2 SE   dbar_i: d_i averaged over the save times;
                                      95 % bound on the error of the ensemble
                                      mean of the time-averaged observable
    abs95  = max_t (mean_i |d_i(t)| + 2 SE_t)   95 % bound on E|d(t)|, which
                                      bounds the error at every t, without
                                      cancellation (for information)

The coupling makes the SE small (the networks' own spread cancels in d), so a
bias of a few tenths of a percent is resolved with 16 networks (Euler h/2 is
detected). What is left of d is chaos: ``rounding`` is `MultirateEuler(1)`,
single-rate Euler with its operations in another order, whose rounding
differences the chaotic activity amplifies; abs95 of a scheme is only
meaningful next to this floor. A k is *accepted* when bias95 < 1 % for every
observable of every protocol in a group (the demo's erosion sweep; learning).

Speed: each (compiled) ensemble solve is timed in this process, multirate with
the default (fast, non-nested) path against single-rate Euler; the precise
speed-ups are measured by `benchmarks/throughput.py`.

Usage::

    python benchmarks/multirate_error.py --json out.json --plot out.png
    python benchmarks/multirate_error.py --quick    # one protocol, short run
    python benchmarks/multirate_error.py --only erosion --k 10 20 50
"""

from __future__ import annotations

import argparse
import json
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


def make_runner(case: Case, solver, seeds: int, *, dt=None, brownian=None):
    """Compiled `(params) -> (observables, status, seconds)` for `seeds` networks
    (network i: key `fold_in(key(20190801), i)`, split into init and noise).

    `brownian`: None (default path), "fold_in_nested", or a float h': a nested
    `FoldInBrownianPath` on the grid h' (for coupling step sizes)."""

    def one(params, index):
        key = jr.fold_in(jr.key(20190801), index)
        k_init, k_noise = jr.split(key)
        exp = case.build(params, k_init, dt)
        path = brownian
        if isinstance(brownian, float):
            shape = exp.model.noise_shape(exp.state0)
            path = sj.FoldInBrownianPath(shape, k_noise, exp.t0, brownian, nested=True)
        sim = exp.run(k_noise, solver=solver, brownian=path)
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


def scales(ref: dict, t_mask) -> dict:
    """The scale s of each observable (see the module docstring)."""
    lam = np.hypot(ref["mem_re"].mean(0), ref["mem_im"].mean(0))[t_mask].max()
    out = {}
    for name, r in ref.items():
        if name in ("mem_re", "mem_im"):
            s = lam
        elif name == "w_mean":
            s = ref["w_std"][:, t_mask].mean()
        else:
            s = np.abs(r[:, t_mask].mean(0)).max()
        out[name] = max(float(s), 1e-12)
    return out


def compare(ref: dict, other: dict, t_mask, scale: dict) -> dict:
    """Coupled (per-network) differences of `other` from `ref` at the save
    times in `t_mask`: the weak-error bound and its 95 % upper bound (max over
    time of the mean |d| over networks), the strong (RMS) error, and the
    time-averaged mean difference with its SE (a signed bias, for
    information)."""
    res = {}
    for name, r in ref.items():
        d = (other[name][:, t_mask] - r[:, t_mask]) / scale[name]
        s = d.shape[0]
        a = np.abs(d)
        mean_abs = a.mean(0)
        se_abs = a.std(0, ddof=1) / np.sqrt(s)
        per_seed = d.mean(1)
        bias_se = per_seed.std(ddof=1) / np.sqrt(s)
        mean_d = d.mean(0)
        se_d = d.std(0, ddof=1) / np.sqrt(s)
        res[name] = {
            "weak": float(np.abs(mean_d).max()),
            "weak95": float((np.abs(mean_d) + 2 * se_d).max()),
            "err": float(mean_abs.max()),
            "b95": float((mean_abs + 2 * se_abs).max()),
            "rms": float(np.sqrt((d**2).mean())),
            "bias": float(per_seed.mean()),
            "bias_se": float(bias_se),
            "bias95": float(abs(per_seed.mean()) + 2 * bias_se),
            "mean_abs_t": mean_abs.tolist(),
            "mean_t": mean_d.tolist(),
            "se_t": se_d.tolist(),
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


def run_case(case: Case, ks, seeds: int, weights: bool, half: bool, log) -> dict:
    t0 = time.perf_counter()
    h = case.opts.dt
    save_ts = np.asarray(case.build(case.params, jr.key(0)).save_ts)
    t_mask = save_ts > case.t_from
    out: dict[str, Any] = {"case": case.name, "seeds": seeds, "ts": save_ts.tolist()}

    ref = make_runner(case, None, seeds)
    R, st, t_ref = ref(case.params)
    _, _, t_ref = ref(case.params)  # timed again: the first call pays for setup
    failed = int((st != 0).sum())
    sc = scales(R, t_mask)
    out["scale"] = sc
    out["ref_mean"] = {k: v.mean(0).tolist() for k, v in R.items()}
    out["time_euler_s"] = t_ref

    if half:
        # Euler at h and at h/2 on one path (grid h/2, nested sums at h)
        Rh, st1, _ = make_runner(case, None, seeds, brownian=h / 2)(case.params)
        H, st2, _ = make_runner(case, None, seeds, dt=h / 2, brownian=h / 2)(
            case.params
        )
        failed += int((st1 != 0).sum() + (st2 != 0).sum())
        out["euler_half"] = compare(Rh, H, t_mask, sc)
        log(_line(case.name, "Euler h/2", out["euler_half"]))

    # The rounding floor: MultirateEuler(1) is single-rate Euler with the
    # operations in another order; the chaotic activity turns that rounding
    # difference into an O(1) difference of x and a small one of W.
    F, st, _ = make_runner(case, sj.MultirateEuler(1), seeds)(case.params)
    failed += int((st != 0).sum())
    out["rounding"] = compare(R, F, t_mask, sc)
    log(_line(case.name, "rounding", out["rounding"]))

    out["noise"], out["weights"] = {}, {}
    schemes = [("noise", k) for k in ks] + ([("weights", 10)] if weights else [])
    for slow, k in schemes:
        solver = sj.MultirateEuler(k, slow=slow)
        M, st, _ = make_runner(case, solver, seeds, brownian="fold_in_nested")(
            case.params
        )
        failed += int((st != 0).sum())
        fast = make_runner(case, solver, seeds)
        fast(case.params)
        _, _, t_k = fast(case.params)
        rec = {
            "coupled": compare(R, M, t_mask, sc),
            "speedup": t_ref / t_k,
            "mean": {kk: v.mean(0).tolist() for kk, v in M.items()},
        }
        if slow == "noise" and k == ks[0]:
            rec["identity_max_abs_dW"] = identity_check(case, k)
        out[slow][str(k)] = rec
        log(_line(case.name, f"{slow} k={k}", rec["coupled"], rec["speedup"]))
    out["failed"] = failed
    out["wall_s"] = time.perf_counter() - t0
    return out


def _line(case: str, what: str, rec: dict, speedup=None) -> str:
    bias = max(v["bias95"] for v in rec.values())
    b95 = max(v["b95"] for v in rec.values())
    worst = max(rec, key=lambda o: rec[o]["bias95"])
    sp = f"  speed-up {speedup:5.1f}x" if speedup is not None else ""
    return (
        f"  {case:40s} {what:12s} bias <= {100 * bias:6.3f} % ({worst}); "
        f"E|d(t)| <= {100 * b95:6.3f} %{sp}"
    )


def _verdicts(results: list[dict], ks) -> tuple[list[str], dict]:
    """Per scheme and group of observables: the 95 % bounds on the weak error
    and on E|d|, the median speed-up, accepted; and the largest accepted k."""
    lines: list[str] = []
    summary: dict[str, Any] = {"schemes": {}}
    entries = []
    if all("euler_half" in r for r in results):
        entries.append(("Euler h/2", [r["euler_half"] for r in results], None))
    entries.append(("rounding", [r["rounding"] for r in results], None))
    for slow in ("noise", "weights"):
        for k in sorted({int(k) for r in results for k in r[slow]}):
            recs = [r[slow][str(k)] for r in results if str(k) in r[slow]]
            speed = float(np.median([x["speedup"] for x in recs]))
            entries.append((f"{slow} k={k}", [x["coupled"] for x in recs], speed))
    groups = {"W stats": ("w_mean", "w_std"), "memory": MEMORY}
    ok_k = []
    for label, recs, speed in entries:
        weak = {
            g: max(r[o]["bias95"] for r in recs for o in obs if o in r)
            for g, obs in groups.items()
        }
        b95 = {
            g: max(r[o]["b95"] for r in recs for o in obs if o in r)
            for g, obs in groups.items()
        }
        passed = max(weak.values()) < THRESHOLD
        summary["schemes"][label] = {
            "bias95": weak,
            "abs95": b95,
            "speedup_single_run": speed,
            "accepted": passed,
        }
        sp = "" if speed is None else f"; speed-up {speed:4.1f}x"
        verdict = "  -> accepted" if passed else ""
        lines.append(
            f"{label:12s}: bias (95 %) W stats {100 * weak['W stats']:5.3f} %, "
            f"memory {100 * weak['memory']:5.3f} %; E|d(t)| (95 %) W stats "
            f"{100 * b95['W stats']:5.3f} %, memory {100 * b95['memory']:5.3f} %"
            f"{sp}{verdict}"
        )
        if passed and label.startswith("noise k="):
            ok_k.append(int(label.split("=")[1]))
    chosen = max(ok_k) if ok_k else None
    summary["chosen_k"] = chosen
    lines.append(
        f"largest k (slow='noise') whose bias is < {100 * THRESHOLD:g} % at 95 % "
        f"confidence for every observable: {chosen}"
    )
    return lines, summary


def summarise(results: list[dict], ks) -> tuple[str, dict]:
    lines = [
        "coupled differences d = X_k - X_1 in % of the scale: 95 % bound on the "
        "bias of the time average / max over save times of the 95 % bound on E|d(t)|"
    ]
    hdr = f"{'case':40s} {'scheme':12s} " + " ".join(f"{o:>15s}" for o in OBSERVABLES)
    lines += [hdr, "-" * len(hdr)]

    def row(case, label, rec):
        cells = []
        for o in OBSERVABLES:
            v = rec.get(o)
            cells.append(
                f"{'':>15s}"
                if v is None
                else f"{100 * v['bias95']:6.3f}/{100 * v['b95']:6.3f}"
            )
        lines.append(f"{case:40s} {label:12s} " + " ".join(cells))

    for res in results:
        if "euler_half" in res:
            row(res["case"], "Euler h/2", res["euler_half"])
        row(res["case"], "rounding", res["rounding"])
        for slow in ("noise", "weights"):
            for k, rec in res[slow].items():
                row(res["case"], f"{slow} k={k}", rec["coupled"])
    summary: dict[str, Any] = {"groups": {}}
    erosion = [r for r in results if r["case"].startswith("erosion")]
    learning = [r for r in results if r["case"].startswith("learning")]
    subsets = [("erosion (the demo's sweep)", erosion), ("learning", learning)]
    if erosion and learning:
        subsets.append(("all protocols", results))
    for name, subset in subsets:
        if subset:
            text, summ = _verdicts(subset, ks)
            lines += ["", f"{name}:", *text]
            summary["groups"][name] = summ
    summary["chosen_k"] = list(summary["groups"].values())[-1]["chosen_k"]
    ident = [
        rec["identity_max_abs_dW"]
        for r in results
        for rec in r["noise"].values()
        if "identity_max_abs_dW" in rec
    ]
    if ident:
        summary["identity_max_abs_dW"] = max(ident)
        lines.append(
            f"noise off, t = 20: max |W_multirate - W_euler| = {max(ident):.1e} "
            "(slow='noise' is single-rate Euler when the weight noise is off)"
        )
    return "\n".join(lines), summary


def _weak_t(c: dict) -> np.ndarray:
    return np.abs(np.asarray(c["mean_t"])) + 2 * np.asarray(c["se_t"])


def plot(results: list[dict], ks, path: str) -> None:
    """Per case: the ensemble mean of the memory observable (Euler and each k)
    and the 95 % bound on the weak error against time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(results)
    fig, axes = plt.subplots(n, 2, figsize=(11, 2.5 * n), squeeze=False)
    for row, res in zip(axes, results, strict=True):
        ts = np.asarray(res["ts"])
        obs0 = "mem_re" if res["case"].endswith("/real") else "mem_im"
        ax = row[0]
        ax.plot(ts, res["ref_mean"][obs0], "k-", lw=2.5, label="Euler")
        for k, rec in res["noise"].items():
            ax.plot(ts, rec["mean"][obs0], lw=1, label=f"multirate k={k}")
        ax.set_title(f"{res['case']}: mean {obs0} over networks", fontsize=9)
        ax.set_xlabel("t (time units)")
        ax.legend(fontsize=7)
        ax = row[1]
        t_after = None
        for k, rec in res["noise"].items():
            c = rec["coupled"]
            t_after = ts[len(ts) - len(c[obs0]["mean_abs_t"]) :]
            worst = np.max([_weak_t(c[o]) for o in c], axis=0)
            ax.semilogy(t_after, 100 * np.maximum(worst, 1e-6), lw=1, label=f"k={k}")
        if "euler_half" in res and t_after is not None:
            c = res["euler_half"]
            worst = np.max([_weak_t(c[o]) for o in c], axis=0)
            ax.semilogy(
                t_after, 100 * np.maximum(worst, 1e-6), "k--", lw=1, label="Euler h/2"
            )
        ax.axhline(100 * THRESHOLD, color="r", lw=0.8)
        ax.set_title(
            "worst observable: 95 % bound on the weak error |mean d| + 2 se (%)",
            fontsize=9,
        )
        ax.set_xlabel("t (time units)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def eqx_replace(params, **kw):
    names = list(kw)
    return eqx.tree_at(
        lambda p: [getattr(p, n) for n in names],
        params,
        [jnp.asarray(kw[n], jnp.result_type(float)) for n in names],
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one protocol, short run")
    ap.add_argument("--n", type=int, default=64, help="neurons (demo: 64)")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--k", type=int, nargs="+", default=None, help="substeps to test")
    ap.add_argument(
        "--weights", action="store_true", help="also the frozen-W design (k = 10)"
    )
    ap.add_argument(
        "--no-half", action="store_true", help="skip the Euler h/2 reference"
    )
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
        table, summary = summarise(results, m["ks"])
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
            plot(results, m["ks"], args.plot)
        return 0
    seeds = args.seeds or (8 if args.quick else 16)
    ks = args.k or ([10] if args.quick else [10, 20, 50])
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
        "coupled": True,
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
        results.append(run_case(case, ks, seeds, args.weights, not args.no_half, log))
        save(results)  # partial results survive an interrupted run
    table, summary = summarise(results, ks)
    print()
    print(table)
    print(f"\nwall time {time.perf_counter() - t0:.0f} s")
    save(results, summary)
    if args.plot:
        plot(results, ks, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
