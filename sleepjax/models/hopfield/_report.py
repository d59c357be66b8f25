"""Figures and tables of the Hopfield retrieval and energy protocols, drawn
from a results store (capacity and basins: `_report_load`). Every number shown
is read from the store or from the run's configuration."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...plot import StoreView, band, spread
from ._report_load import (
    basins_notes,
    basins_report,
    capacity_notes,
    capacity_report,
    other_groups,
    pretty,
    threshold_text,
)


def _time_label(view: StoreView) -> str:
    nets = set(view.label("model.network").astype(str))
    if nets <= {"binary_async", "binary_sync"}:
        return "time (sweeps: every neuron updated once per sweep)"
    if nets.isdisjoint({"binary_async", "binary_sync"}):
        return "time (units of τ_f)"
    return "time (sweeps for binary networks, τ_f for two-layer ones)"


def _name(label: str, view: StoreView) -> str:
    if label:
        return label.replace("network = ", "")
    return pretty(", ".join(sorted(set(view.label("model.network").astype(str)))))


def settle_time(t, y, tol: float = 1e-3) -> np.ndarray:
    """Per row of `y` (network, time): the first save time after which y stays
    within `tol` (relative to max(1, |final|)) of its final value."""
    fin = y[:, -1:]
    off = np.abs(y - fin) > tol * np.maximum(1.0, np.abs(fin))
    last = np.where(off.any(axis=1), off.shape[1] - np.argmax(off[:, ::-1], 1), 0)
    return t[np.minimum(last, len(t) - 1)]


# ------------------------------------------------------------------ retrieval
def retrieval_report(view: StoreView):
    """Overlap, bits wrong and energy along the run from a corrupted cue."""
    t = view.time
    ok = view.ok
    overlap, other = view.var("overlap"), view.var("max_other")
    wrong, energy = view.var("wrong"), view.var("energy")
    retrieved = view.var("retrieved")[:, -1] > 0.5
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    rows = []
    for j, (label, mask) in enumerate(other_groups(view, ())):
        sel = mask & ok
        if not sel.any():
            continue
        name, color = _name(label, view), f"C{j}"
        band(axes[0], t, overlap[sel], color, f"{name}: cued memory")
        axes[0].plot(
            t, np.median(other[sel], axis=0), color=color, ls="--", lw=1,
            label=f"{name}: largest other (median)",
        )  # fmt: skip
        band(axes[1], t, wrong[sel], color, name)
        band(axes[2], t, energy[sel], color, name)
        k = int(retrieved[sel].sum())
        rows.append(
            {
                "group": name,
                "networks": int(sel.sum()),
                "retrieved": f"{k}/{sel.sum()} ({k / sel.sum():.0%})",
                "final overlap": spread(overlap[sel, -1]),
                "largest other overlap": spread(other[sel, -1]),
                "bits wrong": spread(wrong[sel, -1]),
                "settled by (median)": f"{np.median(settle_time(t, overlap[sel])):g}",
            }
        )
    c = (
        float(view.setting("protocol", "corruption"))
        if ("protocol.corruption" not in view.store.coord_names)
        else None
    )
    axes[0].set_ylabel("overlap m = ξ·g / ξ·ξ")
    axes[0].set_title("Overlap with the cued memory and the others", fontsize=10)
    axes[1].set_ylabel("fraction of bits wrong")
    axes[1].set_title("Bits that differ from the cued memory", fontsize=10)
    axes[2].set_ylabel("energy E")
    axes[2].set_title("Energy along the run", fontsize=10)
    for ax in axes:
        ax.set_xlabel(_time_label(view))
        ax.legend(fontsize=7)
    what = f"{c:.0%} of its entries flipped" if c is not None else "corrupted cues"
    fig.suptitle(
        f"Retrieval: M = {view.setting('model', 'n_patterns')} memories, "
        f"N = {view.setting('model', 'n')}; the cue is memory 0 with {what}"
    )
    fig.tight_layout()
    return fig, rows


def retrieval_notes(view: StoreView) -> str:
    return (
        "median (min-max) over networks at the last save. overlap: m = xi.g / "
        "xi.xi with the cued memory (binary: xi.s/N); largest other: max |m| over "
        "the other memories; retrieved: |m - 1| <= 1 - threshold "
        f"({threshold_text(view)}); "
        "settled by: first save after which m stays within 1e-3 of its final value."
    )


# --------------------------------------------------------------------- energy
def largest_rise(energy: np.ndarray) -> np.ndarray:
    """Per network: the largest increase of E between consecutive saves,
    relative to the total descent |E(0) − E(end)| (0: never increases)."""
    rise = np.max(np.diff(energy, axis=1), axis=1)
    drop = np.abs(energy[:, 0] - energy[:, -1])
    return np.maximum(rise, 0.0) / np.maximum(drop, np.finfo(float).tiny)


def energy_report(view: StoreView):
    """Energy, overlap and |g| along trajectories of the two-layer models."""
    t = view.time
    ok = view.ok
    energy, overlap = view.var("energy"), view.var("overlap")
    norm = view.var("norm")
    retrieved = view.var("retrieved")[:, -1] > 0.5
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    rows, worst = [], 0.0
    for j, (label, mask) in enumerate(other_groups(view, ())):
        sel = mask & ok
        if not sel.any():
            continue
        name, color = _name(label, view), f"C{j}"
        for i, e in enumerate(energy[sel]):
            axes[0].plot(
                t, e, color=color, lw=0.6, alpha=0.5,
                label=f"{name} (one line per network)" if i == 0 else None,
            )  # fmt: skip
        band(axes[1], t, overlap[sel], color, name)
        band(axes[2], t, norm[sel], color, name)
        rise = largest_rise(energy[sel])
        worst = max(worst, float(rise.max()))
        k = int(retrieved[sel].sum())
        rows.append(
            {
                "network": name,
                "networks": int(sel.sum()),
                "E(0)": spread(energy[sel, 0]),
                "E(end)": spread(energy[sel, -1]),
                "largest rise / total drop": f"{rise.max():.1e}",
                "final overlap": spread(overlap[sel, -1]),
                "final |g|/|xi|": spread(norm[sel, -1]),
                "retrieved": f"{k}/{sel.sum()}",
            }
        )
    axes[0].set_ylabel("energy E(v, h)")
    axes[0].set_title("Energy along each trajectory", fontsize=10)
    axes[1].set_ylabel("overlap m = ξ·v with the cued memory")
    axes[1].set_title("Where the trajectory goes", fontsize=10)
    axes[2].set_ylabel("|v| / |ξ| (1 at a memory, 0 at the origin)")
    axes[2].set_title("Size of the feature state", fontsize=10)
    for ax in axes:
        ax.set_xlabel(_time_label(view))
        ax.legend(fontsize=7)
    c = view.setting("protocol", "corruption")
    ends = "; ".join(
        f"{r['network']} ends at overlap {r['final overlap'].split()[0]}, "
        f"|v|/|ξ| {r['final |g|/|xi|'].split()[0]}"
        for r in rows
    )
    fig.suptitle(
        f"Two-layer networks from memory 0 with {float(c):.0%} of its entries "
        f"flipped: the energy never rises by more than {worst:.1e} of its total "
        f"drop between saves\n{ends} (medians)"
    )
    fig.tight_layout()
    return fig, rows


def energy_notes(view: StoreView) -> str:
    return (
        "E(v, h) = [sum (v - I) g - L_v] + [sum h f - L_h] - sum f xi g (Krotov & "
        "Hopfield 2020) is non-increasing along the exact dynamics; a positive "
        "'largest rise' comes from the Euler step or float rounding. With linear "
        f"feature neurons (L_v = v^2/2), model A's F(x) = max(x,0)^n/n "
        f"(n = {view.setting('model', 'power')}) makes a unit-norm memory a "
        "saddle when n > 2 (along v = a xi: tau_f da/dt = a^(n-1) - a): a "
        "corrupted cue (a < 1) decays to v = 0 while the energy falls; model B "
        "(softmax memories, beta = "
        f"{view.setting('model', 'beta')}) settles on the memory."
    )


REPORTS = {
    "retrieval": (retrieval_report, retrieval_notes),
    "capacity": (capacity_report, capacity_notes),
    "basins": (basins_report, basins_notes),
    "energy": (energy_report, energy_notes),
}
