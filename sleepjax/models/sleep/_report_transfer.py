"""Figure and table of the two-stage transfer protocol."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...plot import StoreView, band, draw_hypnogram, spread
from ._report import groups


def transfer_report(view: StoreView):
    """Generalisation and memorisation errors of the student against time,
    per swept group (e.g. teacher SNR), the stopped student dashed; the
    hypnogram of the first network under them."""
    t, ok = view.time, view.ok
    hours = t / 60.0
    gen, stop = view.var("gen_error"), view.var("gen_error_stopped")
    mem, stage = view.var("mem_error"), view.var("sleep_stage")
    gs = [(lab, mask & ok) for lab, mask in groups(view) if (mask & ok).any()]
    fig, axes = plt.subplots(
        2, 2, figsize=(13, 6.8), gridspec_kw={"height_ratios": [3, 1]}
    )
    rows = []
    for j, (label, sel) in enumerate(gs):
        name, c = label or "all networks", f"C{j}"
        band(axes[0, 0], hours, gen[sel], c, name)
        axes[0, 0].plot(hours, np.median(stop[sel], 0), color=c, ls="--", lw=1.2)
        band(axes[0, 1], hours, mem[sel], c, name)
        i_min = np.argmin(gen[sel], axis=1)
        rows.append(
            {
                "group": label or "all",
                "networks": int(sel.sum()),
                "min gen error": spread(gen[sel].min(axis=1)),
                "at (h)": spread(hours[i_min]),
                "final gen error": spread(gen[sel, -1]),
                "stopped gen error": spread(stop[sel, -1]),
                "final - min": spread(gen[sel, -1] - gen[sel].min(axis=1)),
                "final mem error": spread(mem[sel, -1]),
            }
        )
    axes[0, 0].plot([], [], color="k", ls="--", label="stopped at the lowest "
                    "validation error (median)")  # fmt: skip
    axes[0, 0].set_ylabel("generalisation error |w − w*|² / |w*|²")
    axes[0, 0].set_title("Student: error on new examples", fontsize=9)
    axes[0, 1].set_ylabel("memorisation error on the stored examples")
    axes[0, 1].set_title("Student: error on the notebook's examples", fontsize=9)
    first = np.flatnonzero(gs[0][1])[0]
    for c in (0, 1):
        axes[0, c].legend(fontsize=7)
        draw_hypnogram(axes[1, c], t, stage[first], t_unit=60.0)
        axes[1, c].sharex(axes[0, c])
        axes[1, c].set_xlabel("time (hours); replay in N2 and N3 only")
    fig.suptitle(
        "Two-stage transfer: a notebook replays a linear teacher's examples into "
        "a linear student during NREM"
    )
    fig.tight_layout()
    return fig, rows


def transfer_notes(view: StoreView) -> str:
    return (
        "median (min-max) over seeds. gen error: |w − w*|²/|w*|² (noise "
        "excluded); at (h): time of the minimum; stopped: the weights at the "
        "lowest error on the held-out examples; mem error: mean squared error "
        "on the replayed examples / their mean y²."
    )
