"""Figure and table of the catastrophic-forgetting protocol: recall of S1
and S2 after S1, after S2 (before sleep) and after the N3 night."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...plot import StoreView, spread
from ._forgetting import layout
from ._report import draw_hypnogram, groups

MOMENTS = ("after S1", "after S2", "after sleep")


def moments(view: StoreView) -> tuple[float, float, float]:
    """The times (τ) of the three measurements: the end of S1's block (S2
    onset), sleep onset, and the end of the night, from the run's settings."""
    s = {
        k: view.setting("protocol", k)
        for k in ("length", "dwell", "gap", "repeats", "rest", "sleep_time")
    }
    _, t2, t_sleep = layout(
        int(s["length"]),
        float(s["dwell"]),
        float(s["gap"]),
        int(s["repeats"]),
        float(s["rest"]),
    )
    return t2, t_sleep, t_sleep + float(s["sleep_time"])


def at_moments(view: StoreView, name: str) -> np.ndarray:
    """`name` (per sequence) at the three moments: shape (networks, 3, S)."""
    t = view.time
    idx = [
        int(np.clip(np.searchsorted(t, m - 1e-9), 0, len(t) - 1)) for m in moments(view)
    ]
    return view.var(name)[:, idx]


def forgetting_report(view: StoreView):
    """Top: recall margin of S1 and S2 against time per group (median, bands
    over seeds), the three moments marked; right: recall (fraction of
    transitions) at the three moments, each seed a thin line. Bottom: the
    hypnogram of the first network."""
    t, ok = view.time, view.ok
    margin, stage = view.var("margin"), view.var("sleep_stage")
    rec, mar = at_moments(view, "recall"), at_moments(view, "margin")
    gs = [(lab, mask & ok) for lab, mask in groups(view) if (mask & ok).any()]
    fig, axes = plt.subplots(
        2,
        len(gs) + 1,
        figsize=(4.8 * (len(gs) + 1), 6.8),
        gridspec_kw={"height_ratios": [3, 1]},
        squeeze=False,
    )
    rows = []
    marks = moments(view)
    for j, (label, sel) in enumerate(gs):
        ax, hx = axes[0, j], axes[1, j]
        for s, name in enumerate(("S1", "S2")):
            y = margin[sel, :, s]
            q25, q50, q75 = np.percentile(y, [25, 50, 75], axis=0)
            ax.plot(t, q50, color=f"C{s}", lw=1.5, label=f"{name} (median)")
            ax.fill_between(t, q25, q75, color=f"C{s}", alpha=0.3, lw=0)
            ax.fill_between(t, y.min(0), y.max(0), color=f"C{s}", alpha=0.1, lw=0)
        for m in marks:
            ax.axvline(m, color="k", lw=0.6, ls=":")
        ax.axhline(0.0, color="0.4", lw=0.6)
        ax.set_title(label or "all networks", fontsize=9)
        ax.set_ylabel("recall margin (> 0: next element recalled)")
        ax.legend(fontsize=7, loc="lower left")
        draw_hypnogram(hx, t, stage[np.flatnonzero(sel)[0]])
        hx.set_xlabel("time (τ): train S1 | train S2 | N3 night")
        hx.sharex(ax)
        for s, name in enumerate(("S1", "S2")):
            x = np.arange(3) + 0.06 * (2 * j - len(gs) + 1) + 4 * s
            axes[0, -1].plot(x, rec[sel, :, s].T, color=f"C{j + 2}", lw=0.5, alpha=0.4)
            axes[0, -1].plot(
                x,
                np.median(rec[sel, :, s], 0),
                color=f"C{j + 2}",
                lw=2,
                marker="o",
                label=(label or "all networks") if s == 0 else None,
            )
            row = {
                "group": label or "all",
                "sequence": name,
                "networks": int(sel.sum()),
            }
            for k, mom in enumerate(MOMENTS):
                row[f"recall {mom}"] = spread(rec[sel, k, s])
            for k, mom in enumerate(MOMENTS):
                row[f"margin {mom}"] = spread(mar[sel, k, s])
            d = mar[sel, 2, s] - mar[sel, 1, s]
            row["sleep − before, margin"] = spread(d)
            row["up / down"] = f"{int((d > 0).sum())} / {int((d < 0).sum())}"
            rows.append(row)
    ax = axes[0, -1]
    ax.set_xticks(
        list(range(3)) + list(range(4, 7)),
        [f"S1\n{m}" for m in MOMENTS] + [f"S2\n{m}" for m in MOMENTS],
        fontsize=7,
    )
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("recall: fraction of transitions correct")
    ax.set_title("Recall at the three moments (thick: median; thin: seeds)", fontsize=9)
    ax.legend(fontsize=7)
    axes[1, -1].axis("off")
    fig.suptitle(
        "Catastrophic forgetting and sleep: S1, then an overlapping S2, then an "
        "N3 night of spontaneous activity with STDP"
    )
    fig.tight_layout()
    return fig, rows


def forgetting_notes(view: StoreView) -> str:
    return (
        "median (min-max) over seeds. recall: fraction of a sequence's "
        "transitions k → k+1 recalled in one step of W tanh(p_k) (closest of "
        "all elements of both sequences); margin: cos with the next element − "
        "the largest cos with any other; after sleep = at the end of the N3 "
        "night; up / down: seeds whose margin rose / fell over the night."
    )
