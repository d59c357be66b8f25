"""Figure and table of the Susman capacity protocol: the fraction of networks
that retrieve the cued plane against the load, per N; the critical number
of planes M_c against N with a line through the origin; and the per-plane
load normalised by two (2 M_c / N, each plane holds two patterns) beside the
classical Hopfield network's critical load. Every number is read from the
store or the run's configuration (α_c = 0.138 is the published N → ∞ value,
imported from the Hopfield model)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from ...plot import StoreView, spread
from ..hopfield._report_load import ALPHA_C, crossing, other_groups, retrieval_curve

#: saves at the end over which the cued plane must hold (one period-4 cycle)
CYCLE = 4


def n_planes(load, n) -> np.ndarray:
    """M = max(1, round(load·N)), as the protocol stores them."""
    return np.maximum(1, np.round(np.asarray(load, float) * np.asarray(n, float)))


def retrieved_at_end(m_cue, threshold: float) -> np.ndarray:
    """(network,) bool: overlap with the cued plane ≥ `threshold` at each of
    the last `CYCLE` saves (the whole cycle)."""
    return np.all(np.asarray(m_cue)[:, -CYCLE:] >= threshold, axis=1)


def critical_planes(m, success) -> float:
    """Critical number of planes of one network (one seed, planes added in
    order, so the loads are nested): the midpoint between the first M that
    is not retrieved and the largest retrieved M below it; half the first M
    if the first fails; NaN if none fails (censored)."""
    m = np.asarray(m, float)
    success = np.asarray(success, bool)
    order = np.argsort(m)
    m, success = m[order], success[order]
    fail = np.flatnonzero(~success)
    if fail.size == 0:
        return float("nan")
    i = fail[0]
    below = m[i - 1] if i > 0 else 0.0
    return 0.5 * (below + m[i])


def line_fit(x, y):
    """Least squares y = a + b·x: (a, b, standard error of a, of b), and the
    slope c of y = c·x through the origin."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    A = np.stack([np.ones_like(x), x], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = max(len(x) - 2, 1)
    s2 = np.sum((y - A @ coef) ** 2) / dof
    cov = s2 * np.linalg.inv(A.T @ A)
    c = float(np.sum(x * y) / np.sum(x * x))
    return float(coef[0]), float(coef[1]), *np.sqrt(np.diag(cov)).tolist(), c


def capacity_table(view: StoreView):
    """Per network (ok only): group label (other swept settings, e.g. ρ), N,
    M, retrieved; and per (group, N, seed) the critical M, as rows
    (group index, N, critical M)."""
    ok = view.ok
    n = view.label("model.n").astype(float)[ok]
    load = view.label("protocol.load").astype(float)[ok]
    seed = (
        view.label("seed").astype(int)
        if "seed" in view.store.coord_names
        else np.zeros(view.store.n_networks, int)
    )[ok]
    threshold = float(view.setting("protocol", "threshold"))
    success = retrieved_at_end(view.var("m_cue")[ok], threshold)
    m = n_planes(load, n)
    labels, group = [], np.zeros(n.size, int)
    for g, (label, mask) in enumerate(other_groups(view, ("model.n", "protocol.load"))):
        labels.append(label)
        group[mask[ok]] = g
    crit = []
    for g in range(len(labels)):
        for size in np.unique(n[group == g]):
            for s in np.unique(seed[(group == g) & (n == size)]):
                at = (group == g) & (n == size) & (seed == s)
                crit.append((g, size, critical_planes(m[at], success[at])))
    return labels, group, n, m, success, np.array(crit, float).reshape(-1, 3)


def _fits(labels, crit):
    """Per group with ≥ 2 sizes: (label, a, b, se a, se b, c) of `line_fit`."""
    out = []
    for g, label in enumerate(labels):
        fin = crit[(crit[:, 0] == g) & np.isfinite(crit[:, 2])]
        if len(np.unique(fin[:, 1])) >= 2:
            out.append((label, *line_fit(fin[:, 1], fin[:, 2])))
    return out


def capacity_report(view: StoreView):
    """Retrieval against the load per N; critical M against N; 2 M_c / N."""
    labels, group, n, m, success, crit = capacity_table(view)
    rho = view.label("protocol.rho").astype(str)
    rho_text = ", ".join(np.unique(rho))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    rows, j = [], 0
    for g, label in enumerate(labels):
        prefix = f"{label}, " if label else ""
        for size in np.unique(n[group == g]):
            at = (group == g) & (n == size)
            color = f"C{j % 10}"
            j += 1
            xs, frac, cnt, lo, hi = retrieval_curve(m[at] / size, success[at])
            a50 = crossing(xs, frac)
            per_seed = crit[(crit[:, 0] == g) & (crit[:, 1] == size), 2]
            axes[0].errorbar(
                xs,
                frac,
                yerr=[frac - lo, hi - frac],
                color=color,
                marker="o",
                ms=3,
                capsize=2,
                label=f"{prefix}N = {size:g}: 50 % at M/N = {a50:.3f}",
            )
            if math.isfinite(a50):
                axes[0].axvline(a50, color=color, ls="--", lw=0.8)
            fin = per_seed[np.isfinite(per_seed)]
            jit = (np.random.default_rng(j).random(fin.size) - 0.5) * 0.04 * size
            axes[1].scatter(size + jit, fin, s=8, color=color, alpha=0.5)
            axes[2].scatter(size + jit, 2 * fin / size, s=8, color=color, alpha=0.5)
            if math.isfinite(a50):
                axes[2].plot(size, 2 * a50, "_", color=color, ms=16, mew=2.5)
            rows.append(
                {
                    **({"group": label} if label else {}),
                    "N": int(size),
                    "seeds": int(per_seed.size),
                    "loads M/N": f"{xs.min():.3f}-{xs.max():.3f} ({xs.size})",
                    "M/N at 50 % retrieved": f"{a50:.4f}",
                    "critical M per seed": spread(fin) if fin.size else "n/a",
                    "never failed": int(np.sum(~np.isfinite(per_seed))),
                    "2 M_c/N (50 %)": f"{2 * a50:.3f}",
                }
            )
    fits = _fits(labels, crit)
    xx = np.linspace(0, n.max() * 1.05, 50)
    for k, (label, a, b, sa, _sb, c) in enumerate(fits):
        prefix = f"{label}: " if label else ""
        ls = ("-", "--", "-.", ":")[k % 4]
        axes[1].plot(xx, c * xx, "k", ls=ls, lw=1.2, label=f"{prefix}M_c = {c:.4f} N")
        axes[1].plot([], [], " ", label=f"   free: ({a:.2f} ± {sa:.2f}) + {b:.4f} N")
        axes[2].axhline(
            2 * c, color="k", ls=ls, lw=1, label=f"{prefix}2c = {2 * c:.3f}"
        )
    fit_text = "; ".join(
        f"{label + ': ' if label else ''}M_c = {c:.4f} N, 2M_c/N = {2 * c:.3f}"
        for label, *_, c in fits
    )
    axes[0].axhline(0.5, color="gray", lw=0.8)
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].set_xlabel("load M / N (stored planes per neuron)")
    axes[0].set_ylabel(
        f"fraction retrieved (overlap ≥ {view.setting('protocol', 'threshold'):g} "
        f"over the last {CYCLE} steps)"
    )
    axes[0].set_title("Retrieval of the cued plane, Wilson 95 % intervals", fontsize=9)
    axes[0].legend(fontsize=7, loc="lower left")
    axes[1].set_xlim(0, n.max() * 1.1)
    axes[1].set_ylim(0, None)
    axes[1].set_xlabel("N (neurons)")
    axes[1].set_ylabel("critical number of planes M_c (one dot per seed)")
    axes[1].set_title(
        "M_c against N: fit through 0 (line) and free fit (± s.e.)", fontsize=9
    )
    if fits:
        axes[1].legend(fontsize=7, loc="upper left")
    axes[2].axhline(
        ALPHA_C, color="C3", ls="--", lw=1.2, label=f"Hopfield α_c = {ALPHA_C} (N → ∞)"
    )
    axes[2].plot([], [], "k_", ms=10, mew=2, label="50 % crossing")
    sizes = np.unique(n)
    axes[2].set_xscale("log", base=2)
    axes[2].set_xticks(sizes, [f"{s:g}" for s in sizes])
    axes[2].set_ylim(0, None)
    axes[2].set_xlabel("N (neurons)")
    axes[2].set_ylabel("2 M_c / N (patterns per neuron: each plane holds two)")
    axes[2].set_title("Per-plane load normalised by two, vs Hopfield", fontsize=9)
    axes[2].legend(fontsize=7, loc="lower right")
    fig.suptitle(
        f"Capacity of imaginary-coded planes, x(t+1) = W tanh x(t), "
        f"W = ρ Σ (u vᵀ − v uᵀ), ρ = {rho_text}\n{fit_text or 'one size: no fit'}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig, rows


def capacity_notes(view: StoreView) -> str:
    labels, *_, crit = capacity_table(view)
    fits = "".join(
        f" Fit over seeds{' (' + label + ')' if label else ''}: M_c = {c:.4f} N "
        f"through the origin; free line M_c = ({a:.3g} ± {sa:.2g}) + ({b:.4f} ± "
        f"{sb:.2g}) N (± standard errors from the spread over seeds)."
        for label, a, b, sa, sb, c in _fits(labels, crit)
    )
    return (
        "M = max(1, round(load N)) planes with independent binary u, v; "
        "retrieved: the overlap of tanh(x) with the cued plane is >= the "
        f"threshold at each of the last {CYCLE} steps (one period of the "
        "cycle). Seeds are paired across loads (the same planes, more of them "
        "at higher load), so each seed has a critical M: the midpoint between "
        "the first M not retrieved and the largest retrieved M below it. "
        "50 %: load where the retrieved fraction falls through one half (linear "
        "interpolation)." + fits + f" Hopfield's N -> infinity critical load is "
        f"{ALPHA_C}; compare 2 M_c / N (each plane stores two patterns)."
    )
