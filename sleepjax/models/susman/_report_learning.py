"""Figure and table of the Susman learning protocol: does an imaginary pair
form in the stimulated plane, and is it kept to the end; per value of any
swept setting (e.g. `protocol.start`, random against equilibrated), with the
fraction of seeds and its Wilson interval. Every number is read from the
store or the run's configuration."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from ...plot import TIME, StoreView, spread
from ..hopfield._report_load import other_groups, wilson

#: a pair is present when |Im λ| exceeds this and its eigenplane overlaps
#: span(u, v) by more than `OVERLAP`
IM_MIN, OVERLAP = 1.0, 0.5


def pair_present(view: StoreView) -> np.ndarray:
    """(network, time) bool: the memory eigenvalue has |Im λ| > 1 and its
    eigenvector's plane overlaps span(u, v) by > 0.5."""
    im = np.abs(view.var("mem_im")[..., 0])
    ov = view.var("plane_overlap")[..., 0]
    return (im > IM_MIN) & (ov > OVERLAP)


def formed_kept(view: StoreView):
    """Per network: formed (a pair present at some save after the input
    window opens) and kept (present at the last save)."""
    t = view.time
    t_on = float(view.setting("protocol", "window")[0])
    present = pair_present(view)
    formed = present[:, t > t_on].any(axis=1)
    return formed, present[:, -1]


def learning_report(view: StoreView):
    """|Im λ| and eigenplane overlap over time, coloured by group; the
    fractions that form and keep a pair per group (V5)."""
    t = view.time
    im = np.abs(view.var("mem_im")[..., 0])
    ov = view.var("plane_overlap")[..., 0]
    ok = view.ok
    window = view.setting("protocol", "window")
    formed, kept = formed_kept(view)
    groups = [(g or "all seeds", m & ok) for g, m in other_groups(view, ())]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    rows, handles = [], []
    for j, (label, sel) in enumerate(groups):
        color = f"C{j}"
        for ax, y in zip(axes[:2], (im, ov), strict=True):
            if sel.any():
                ax.plot(t, y[sel & kept].T, color=color, lw=0.9, alpha=0.9)
                ax.plot(t, y[sel & ~kept].T, color=color, lw=0.5, alpha=0.25)
                ax.plot([], [], color=color, label=f"{label}: kept {kept[sel].sum()}")
        n = int(sel.sum())
        fractions = []
        for k, flag in enumerate((formed, kept)):
            hits = int((flag & sel).sum())
            lo, hi = wilson(hits, max(n, 1))
            f = hits / max(n, 1)
            fractions.append(f"{hits}/{n} ({f:.0%})")
            x = k + (j - (len(groups) - 1) / 2) * 0.3
            axes[2].bar(x, f, width=0.28, color=color, alpha=0.8 if k else 0.45)
            axes[2].errorbar(x, f, yerr=[[f - lo], [hi - f]], color="k", capsize=3)
        handles.append(Patch(color=color, label=label))
        rows.append(
            {
                "group": label,
                "networks": n,
                "formed a pair": fractions[0],
                "kept it to the end": fractions[1],
                "final |Im λ| (median, min-max)": spread(im[sel, -1]),
                "final overlap (median, min-max)": spread(ov[sel, -1]),
            }
        )
    for ax, lab, thr in zip(
        axes[:2],
        ("|Im λ| of the memory eigenvalue", "overlap(eigenplane, span(u, v))"),
        (IM_MIN, OVERLAP),
        strict=True,
    ):
        ax.axvspan(*window, color="orange", alpha=0.25, lw=0, label="input window")
        ax.axhline(thr, color="gray", ls=":", lw=1)
        ax.set_xlabel(TIME)
        ax.set_ylabel(lab)
        ax.legend(fontsize=7)
    axes[0].set_title("one line per seed (faint: not kept)", fontsize=9)
    axes[1].set_ylim(0, 1.02)
    axes[2].set_xticks([0, 1], ["formed (after the window opens)", "kept (at the end)"])
    axes[2].set_ylim(0, 1.02)
    axes[2].set_ylabel("fraction of seeds (Wilson 95 %)")
    axes[2].set_title(
        f"pair: |Im λ| > {IM_MIN:g} and overlap > {OVERLAP:g}", fontsize=9
    )
    axes[2].legend(handles=handles, fontsize=7)
    summary = "; ".join(f"{r['group']}: kept {r['kept it to the end']}" for r in rows)
    fig.suptitle(
        f"Learning ({view.setting('model', 'rule').replace('_', ' ')}): an "
        f"imaginary pair in the stimulated plane\n{summary}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig, rows


def learning_notes(view: StoreView) -> str:
    return (
        f"pair present: |Im λ| of the memory eigenvalue > {IM_MIN:g} and the "
        "overlap of its eigenvector's plane with span(u, v) > "
        f"{OVERLAP:g}. formed: present at some save after the input window "
        "opens; kept: present at the last save (the V5 criterion). Fractions "
        "over the seeds of each group, with Wilson 95 % intervals in the figure."
    )
