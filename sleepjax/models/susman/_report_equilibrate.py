"""Figure and table of the equilibration protocol: the spectrum of W relaxing
from the random start to a stationary state, and when it got there by the
criterion of `_equilibrate` (every number read from the store or the run's
configuration)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...analysis import window_drift
from ...plot import TIME, StoreView, band, spread
from ._equilibrate import STAT_NAMES, stationarity

_LABELS = {
    "re_mean": "mean Re λ (tr W/N)",
    "re_max": "largest Re λ",
    "re_min": "smallest Re λ",
    "im_max": "largest |Im λ|",
    "bulk_radius": "bulk radius √N·std(W_ij, i≠j)",
}


def _criterion(view: StoreView):
    """Per network: stationary flags per save, equilibration time, and the
    largest window drift over the statistics relative to the radius."""
    t = view.time
    window = float(view.setting("protocol", "window"))
    tol = float(view.setting("protocol", "tol"))
    stats = np.stack([view.var(s) for s in STAT_NAMES], axis=-1)  # (net, t, s)
    radius = view.var("radius")
    m = max(1, round(window / float(t[1] - t[0])))
    flags, t_eq, drift = [], [], []
    for i in range(len(radius)):
        ok, te = stationarity(t, stats[i], radius[i], window, tol)
        flags.append(ok)
        t_eq.append(te)
        d = np.asarray(window_drift(stats[i], m))
        drift.append(np.max(np.abs(d), axis=1) / np.abs(radius[i]))
    return np.array(flags), np.array(t_eq), np.array(drift), window, tol


def equilibrate_report(view: StoreView):
    """Spectrum statistics over time, the criterion, and the final spectra."""
    t = view.time
    ok = view.ok
    flags, t_eq, drift, window, tol = _criterion(view)
    n = int(view.setting("model", "n"))
    rule = view.setting("model", "rule").replace("_", " ")
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3))
    ax = axes[0]
    for k, s in enumerate(STAT_NAMES):
        band(ax, t, view.var(s)[ok], f"C{k}", _LABELS[s])
    med = np.nanmedian(t_eq[ok]) if np.isfinite(t_eq[ok]).any() else np.nan
    if np.isfinite(med):
        ax.axvline(med, color="k", ls="--", lw=1, label=f"stationary (median) {med:g}")
    ax.set_xlabel(TIME)
    ax.set_ylabel("eigenvalue statistic (1/τ)")
    ax.legend(fontsize=6)
    ax.set_title("the spectrum of W from the random start", fontsize=9)
    ax = axes[1]
    defined = np.all(np.isfinite(drift[ok]), axis=0)  # from two windows on
    band(
        ax,
        t[defined],
        drift[ok][:, defined],
        "C0",
        "largest |Δ window mean| / spectral radius",
    )
    ax.axhline(tol, color="C3", ls=":", lw=1.2, label=f"tolerance {tol:g}")
    ax.set_yscale("log")
    ax.set_xlabel(TIME)
    ax.set_ylabel("drift between two windows (relative)")
    ax.set_title(
        f"stationarity: two consecutive windows of {window:g} τ agree", fontsize=9
    )
    ax.legend(fontsize=7)
    ax = axes[2]
    re, im = view.var("eig_re"), view.var("eig_im")
    idx = np.flatnonzero(ok)
    ax.scatter(re[idx, 0].ravel(), im[idx, 0].ravel(), s=2, c="0.7", label="start")
    ax.scatter(re[idx, -1].ravel(), im[idx, -1].ravel(), s=2, c="C0", label="end")
    ax.set_xlabel("Re λ")
    ax.set_ylabel("Im λ")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=7, markerscale=4)
    ax.set_title(f"eigenvalues of W at t = {t[0]:g} and t = {t[-1]:g}", fontsize=9)
    n_ok = int(ok.sum())
    n_eq = int(np.isfinite(t_eq[ok]).sum())
    if n_eq:
        when = f"median at t = {med:g}"
    else:
        last = np.median(drift[ok, -1]) if n_ok else np.nan
        when = f"at t = {t[-1]:g} the drift is still {last:.3f} > {tol:g}"
    fig.suptitle(
        f"Equilibration ({rule}, weight noise, no input; N = {n}): the spectrum is "
        f"stationary in {n_eq} of {n_ok} networks; {when}",
        fontsize=10,
    )
    fig.tight_layout()
    end = {s: view.var(s)[ok, -1] for s in (*STAT_NAMES, "radius")}
    rows = [
        {
            "networks": n_ok,
            "stationary by the end": f"{n_eq} ({n_eq / max(n_ok, 1):.0%})",
            "stationary at the last save": f"{int(flags[ok, -1].sum())}",
            "equilibration time": spread(t_eq[ok]),
            **{f"final {s}": spread(end[s]) for s in (*STAT_NAMES, "radius")},
        }
    ]
    return fig, rows


def equilibrate_notes(view: StoreView) -> str:
    window = float(view.setting("protocol", "window"))
    tol = float(view.setting("protocol", "tol"))
    return (
        "stationary at t: each of mean Re λ, largest and smallest Re λ, largest "
        f"|Im λ| and the bulk radius has means over (t − {window:g}, t] and "
        f"(t − {2 * window:g}, t − {window:g}] that differ by less than {tol:g} × "
        "the spectral radius at t. equilibration time: the first such save "
        "(median, min-max over networks)."
    )
