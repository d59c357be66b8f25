"""Figures and tables of the catastrophic-forgetting protocols: recall of the
first and the second sequence after the first, after the second (before
sleep) and after the N3 night."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...plot import StoreView, draw_hypnogram, spread
from ._forgetting import layout
from ._report import groups


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
    return _report(
        view,
        curve="margin",
        labels=("S1", "S2"),
        ylabel="recall margin (> 0: next element recalled)",
        seqs=("S1", "S2"),
        title="Catastrophic forgetting and sleep: S1, then an overlapping S2, "
        "then an N3 night of spontaneous activity with STDP",
    )


def assemblies_report(view: StoreView):
    """As `forgetting_report` for `forgetting_assemblies`: top, the chain
    weights along S1, along S1* and between non-neighbouring groups against
    time; right, cued recall of S1 and S1* at the three moments."""
    return _report(
        view,
        curve="chain",
        labels=("S1: A→B→C…", "S1*: …C→B→A", "background"),
        ylabel="mean group-to-group weight",
        seqs=("S1", "S1*"),
        title="Catastrophic forgetting and sleep with assemblies: S1, then S1* "
        "(reversed, same neurons), then an N3 night with STDP",
    )


def _report(view: StoreView, *, curve, labels, ylabel, seqs, title):
    moments_ = (f"after {seqs[0]}", f"after {seqs[1]}", "after sleep")
    t, ok = view.time, view.ok
    y_all, stage = view.var(curve), view.var("sleep_stage")
    rec, mar = at_moments(view, "recall"), at_moments(view, curve)
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
        for s, name in enumerate(labels):
            y = y_all[sel, :, s]
            q25, q50, q75 = np.percentile(y, [25, 50, 75], axis=0)
            ax.plot(t, q50, color=f"C{s}", lw=1.5, label=f"{name} (median)")
            ax.fill_between(t, q25, q75, color=f"C{s}", alpha=0.3, lw=0)
            ax.fill_between(t, y.min(0), y.max(0), color=f"C{s}", alpha=0.1, lw=0)
        for m in marks:
            ax.axvline(m, color="k", lw=0.6, ls=":")
        ax.axhline(0.0, color="0.4", lw=0.6)
        ax.set_title(label or "all networks", fontsize=9)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7, loc="lower left")
        draw_hypnogram(hx, t, stage[np.flatnonzero(sel)[0]])
        hx.set_xlabel(f"time (τ): train {seqs[0]} | train {seqs[1]} | N3 night")
        hx.sharex(ax)
        for s, name in enumerate(seqs):
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
            for k, mom in enumerate(moments_):
                row[f"recall {mom}"] = spread(rec[sel, k, s])
            for k, mom in enumerate(moments_):
                row[f"{curve} {mom}"] = spread(mar[sel, k, s])
            d = mar[sel, 2, s] - mar[sel, 1, s]
            row[f"sleep − before, {curve}"] = spread(d)
            row["up / down"] = f"{int((d > 0).sum())} / {int((d < 0).sum())}"
            rows.append(row)
    ax = axes[0, -1]
    ax.set_xticks(
        list(range(3)) + list(range(4, 7)),
        [f"{q}\n{m}" for q in seqs for m in moments_],
        fontsize=7,
    )
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("recall: fraction of transitions correct")
    ax.set_title("Recall at the three moments (thick: median; thin: seeds)", fontsize=9)
    ax.legend(fontsize=7)
    axes[1, -1].axis("off")
    fig.suptitle(title)
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


def assemblies_notes(view: StoreView) -> str:
    return (
        "median (min-max) over seeds. recall: cue the sequence's first group, "
        "run 30 τ without noise or plasticity; the fraction of consecutive "
        "group pairs whose mean rates peak (> 0.2) in order. chain: the mean "
        "weight from each group to the next along the sequence. after S1 / "
        "S1*: at the end of S1's / S1*'s training; after sleep = at the end of "
        "the N3 night; up / down: seeds whose chain weight rose / fell over the "
        "night."
    )
