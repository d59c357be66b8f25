"""Figures and tables of supervised consolidation (Fig. 2) and capacity: margins,
density and norms against the load, the best-conserved exponent against z,
and the fraction of perceptrons solved against the load. Every number is read
from the store, the run's configuration or the Gardner theory."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...analysis import crossing, gardner_capacity, gardner_margin
from ...plot import StoreView
from ._observables import MARGIN_QS, QS


def groups(view: StoreView, skip: tuple[str, ...]):
    """(label, mask) per combination of swept coordinates other than `skip`
    and the seed (one group labelled "" when there are none)."""
    return view.groups(skip)


def num(view: StoreView, name: str) -> np.ndarray:
    return view.label(name).astype(float)


def _load(view):
    f, alpha = num(view, "model.f"), num(view, "model.alpha")
    return alpha, alpha / np.asarray(gardner_capacity(f)), f


def _fmt(x) -> str:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if not x.size:
        return "-"
    return f"{np.median(x):.3g}" + (
        f" ({x.min():.3g}-{x.max():.3g})" if x.size > 1 else ""
    )


# ------------------------------------------------------------ consolidation
def consolidation_report(view: StoreView):
    """Margin, density vs load per z; best-conserved exponent and q-margins
    vs z."""
    ok = view.ok
    z = num(view, "model.z").astype(int)
    alpha, load, f = _load(view)
    kappa, dens = view.var("kappa")[:, -1], view.var("density")[:, -1]
    qsum, qmarg = view.var("qsum"), view.var("qmargin")[:, -1]
    fig, ax = plt.subplots(2, 3, figsize=(16, 8.6))
    ax = ax.ravel()
    zs = sorted(set(z[ok]))
    err_all = np.max(np.abs(qsum / qsum[:, :1] - 1.0), axis=1)  # (networks, Q)
    best_all = QS[np.argmin(np.nan_to_num(err_all, nan=np.inf), axis=1)]
    rows, best = [], {}
    for j, zz in enumerate(zs):
        c = f"C{j}"
        sel = ok & (z == zz)
        loads = np.unique(load[sel])

        def med(v, s=sel, loads=loads):
            return [np.median(v[s & (load == x)]) for x in loads]

        ax[0].plot(loads, med(kappa), "o-", color=c, label=f"z = {zz}")
        ax[1].plot(loads, med(dens), "o-", color=c, label=f"z = {zz}")
        e = np.median(err_all[sel], axis=0)
        ax[2].plot(QS, e, color=c, label=f"z = {zz}: best q = {QS[np.argmin(e)]:.3f}")
        ax[2].axvline(2.0 / zz, color=c, ls=":", lw=1)
        best[zz] = best_all[sel]
        for x in loads:
            at = sel & (load == x)
            rows.append(
                {
                    "z": zz,
                    "alpha": f"{np.median(alpha[at]):.3g}",
                    "alpha/alpha_c": f"{x:.3g}",
                    "networks": int(at.sum()),
                    "solved": _fmt(view.var("solved")[at, -1]),
                    "kappa (L2 margin)": _fmt(kappa[at]),
                    "rho": _fmt(view.var("rho")[at, -1]),
                    "density": _fmt(dens[at]),
                    "best-conserved q": _fmt(best_all[at]),
                }
            )
    fs = np.unique(f[ok])
    xs = np.linspace(0.02, 0.98, 60)
    for fv in fs:
        ac = float(gardner_capacity(fv))
        th = np.asarray(gardner_margin(xs * ac, fv)) * np.sqrt(fv * (1 - fv))
        ax[0].plot(xs, th, "k--", lw=1, label=f"Gardner max-margin κ (f = {fv:g})")
    ax[0].set_ylabel("L2 margin κ = min y(w·x − θ)/‖w‖₂ (median over neurons)")
    ax[0].set_title("z = 1 reaches the L2 max margin; z > 1 trade it", fontsize=10)
    ax[1].axhline(0.5, color="k", ls="--", lw=1, label="z = 1 theory: 0.5")
    ax[1].set_ylabel("connection density (w > 1e-10)")
    ax[1].set_ylim(0, 1.02)
    ax[1].set_title("z ≥ 2 prunes: sparser at low load", fontsize=10)
    for a in ax[:2]:
        a.set_xlabel("load α / α_c")
        a.legend(fontsize=7)
    ax[2].set_xscale("log")
    ticks = [0.4, 0.5, 2 / 3, 1.0, 2.0, 4.0]
    ax[2].set_xticks(ticks, ["0.4", "1/2", "2/3", "1", "2", "4"])
    ax[2].minorticks_off()
    ax[2].set_yscale("log")
    ax[2].set_xlabel("exponent q of Σ_j w^q")
    ax[2].set_ylabel("max over the run of |S_q(t)/S_q(0) − 1|")
    ax[2].set_title("Which quasi-norm stays constant (dotted: 2/z)", fontsize=10)
    ax[2].legend(fontsize=7)
    zz = np.array(zs, float)
    for zv in zs:
        ax[3].scatter(np.full(best[zv].size, zv), best[zv], color="C0", alpha=0.5)
    zline = np.linspace(0.8, max(zs) + 0.2, 50)
    ax[3].plot(zline, 2 / zline, "k--", lw=1, label="q = 2/z")
    ax[3].set_xticks(zz)
    ax[3].set_xlabel("factors per synapse z")
    ax[3].set_ylabel("best-conserved exponent q (one dot per network)")
    ax[3].set_title("The conserved norm is Σ w^(2/z)", fontsize=10)
    ax[3].legend(fontsize=8)
    width = 0.8 / max(len(zs), 1)
    for j, zv in enumerate(zs):
        sel = ok & (z == zv)
        m = np.median(qmarg[sel], axis=0)
        ref = np.max([np.median(qmarg[ok & (z == v)], axis=0) for v in zs], axis=0)
        ax[4].bar(
            np.arange(len(MARGIN_QS)) + (j - (len(zs) - 1) / 2) * width,
            m / ref,
            width,
            color=f"C{j}",
            label=f"z = {zv}",
        )
    ax[4].set_xticks(range(len(MARGIN_QS)), [f"q = {q:.3g}" for q in MARGIN_QS])
    ax[4].set_ylabel("margin in the q-norm / best over z")
    ax[4].set_title("Each z maximises the margin in its own norm q = 2/z", fontsize=10)
    ax[4].legend(fontsize=7)
    t = view.time
    for j, zv in enumerate(zs):
        sel = ok & (z == zv)
        ax[5].plot(
            t,
            np.median(view.var("density")[sel], axis=0),
            color=f"C{j}",
            label=f"z = {zv} (median)",
        )
    ax[5].set_xlabel("epoch")
    ax[5].set_ylabel("connection density")
    ax[5].set_title("Pruning during consolidation", fontsize=10)
    ax[5].legend(fontsize=7)
    fig.suptitle(
        f"Supervised consolidation (N = {int(np.median(num(view, 'model.n')))}, "
        f"f = {', '.join(f'{v:g}' for v in fs)}): z = 1 keeps half its synapses "
        "at the L2 max margin; z ≥ 2 prunes and conserves Σ w^(2/z)"
    )
    fig.tight_layout()
    return fig, rows


def consolidation_notes(view: StoreView) -> str:
    return (
        "kappa: L2 margin at the last save (median over neurons), against the Gardner "
        "max-margin of the sign-constrained perceptron (N -> infinity; finite N lies "
        "slightly above). density: fraction of synapses with w > 1e-10. best-conserved "
        "q: the exponent of the power sum S_q = sum_j w^q (q = 2/zeta, "
        "zeta = 0.5 ... 6 "
        "by 0.05) that changes least over the run, max_t |S_q(t)/S_q(0) - 1|; the "
        "homeostatic budget sum u^2 = zL fixes S_(2/z) for balanced factors."
    )


# ----------------------------------------------------------------- capacity
def capacity_report(view: StoreView):
    """Fraction of perceptrons solved against the load, per coding level."""
    ok = view.ok
    alpha, _, f = _load(view)
    solved = view.var("solved")[:, -1]
    fig, ax = plt.subplots(1, 2, figsize=(13, 4.8))
    rows, found = [], []
    for j, fv in enumerate(np.unique(f[ok])):
        c = f"C{j}"
        sel = ok & (f == fv)
        xs = np.unique(alpha[sel])
        frac = np.array([np.mean(solved[sel & (alpha == x)]) for x in xs])
        ac = float(gardner_capacity(fv))
        a50 = crossing(xs, frac)
        found.append((fv, a50, ac))
        ax[0].plot(
            xs / ac,
            frac,
            "o-",
            color=c,
            label=f"f = {fv:g}: α₅₀ = {a50:.3g} (α_c = {ac:.3g})",
        )
        for x, fr in zip(xs, frac, strict=True):
            rows.append(
                {"f": fv, "alpha": f"{x:.3g}", "alpha/alpha_c": f"{x / ac:.3g}",
                 "networks": int(np.sum(sel & (alpha == x))),
                 "neurons solved": f"{fr:.3f}"}
            )  # fmt: skip
    ax[0].axvline(1.0, color="k", ls="--", lw=1)
    ax[0].axhline(0.5, color="gray", lw=0.8)
    ax[0].set_xlabel("load α / α_c(f)  (α_c: Gardner, sign-constrained)")
    ax[0].set_ylabel("fraction of neurons with every pattern right")
    ax[0].set_title("Each neuron is a sign-constrained perceptron", fontsize=10)
    ax[0].legend(fontsize=7)
    fl = np.geomspace(0.005, 0.5, 80)
    ax[1].plot(fl, np.asarray(gardner_capacity(fl)), "k-", label="theory α_c(f)")
    fa = np.array([(a, b) for a, b, _ in found])
    ax[1].plot(fa[:, 0], fa[:, 1], "o", color="C3", ms=7, label="simulation: α₅₀")
    ax[1].set_xscale("log")
    ax[1].set_yscale("log")
    ax[1].set_xlabel("coding level f")
    ax[1].set_ylabel("capacity α = M/N")
    ax[1].set_title("Sparser patterns: more memories per neuron", fontsize=10)
    ax[1].legend(fontsize=8)
    n = int(np.median(num(view, "model.n")))
    ratio = ", ".join(f"{b / c:.2f}" for _, b, c in found)
    fig.suptitle(
        f"Capacity vs coding level (N = {n}): the load at which half the neurons "
        f"learn every pattern tracks Gardner's α_c(f)\n(α₅₀/α_c = {ratio}: below 1 "
        "at finite N, more so for sparse patterns with few active inputs)"
    )
    fig.tight_layout()
    return fig, rows


def capacity_notes(view: StoreView) -> str:
    alpha, _, f = _load(view)
    solved = view.var("solved")[:, -1]
    parts = []
    for fv in np.unique(f[view.ok]):
        sel = view.ok & (f == fv)
        xs = np.unique(alpha[sel])
        frac = [np.mean(solved[sel & (alpha == x)]) for x in xs]
        parts.append(
            f"f = {fv:g}: alpha_50 = {crossing(xs, frac):.3f} vs alpha_c = "
            f"{float(gardner_capacity(fv)):.3f}"
        )
    return (
        "neurons solved: fraction of neurons right on every pattern at the last save "
        "(hard-min perceptron steps, then soft-min). alpha_50: the load where it "
        "falls through 1/2 (linear interpolation). " + "; ".join(parts) + ". At "
        "finite N the transition has a width ~ alpha_c/sqrt(N), and a finite number "
        "of epochs leaves some solvable neurons unsolved near alpha_c."
    )
