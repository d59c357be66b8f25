"""Figure and table of the slow-wave network protocol: up/down states of the
four populations, and population 1's rates, time fractions and up-onset rate
per global/local state, drawn from a results store."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from ...analysis import STATE_NAMES
from ...plot import StoreView
from ._report_util import mean_sem

STATE_COLORS = ("#3b4cc0", "#8db0fe", "#f4987a", "#b40426")
WINDOW = 10000.0  # ms of traces shown


def _shade(ax, t, code):
    """Background colour per population-1 state along the trace."""
    for c in range(4):
        on = code == c
        if on.any():
            ax.fill_between(
                t,
                0,
                1,
                where=on,
                color=STATE_COLORS[c],
                alpha=0.18,
                lw=0,
                transform=ax.get_xaxis_transform(),
            )


def network_report(view: StoreView):
    """Traces of one network and per-state statistics over all."""
    ok = view.ok
    t = view.time
    t0 = float(view.setting("protocol", "count_from"))
    win = (t >= t0) & (t <= t0 + WINDOW)
    i0 = int(np.flatnonzero(ok)[0]) if ok.any() else 0
    u = view.var("u_pop")[i0][win]
    rate = view.var("rate_pop")[i0][win]
    code = view.var("code")[i0][win]
    ts = t[win] / 1000.0
    fig = plt.figure(figsize=(14, 7.5))
    gs = fig.add_gridspec(2, 3, height_ratios=[1, 1])
    ax_u = fig.add_subplot(gs[0, :2])
    ax_r = fig.add_subplot(gs[1, :2], sharex=ax_u)
    ax_b = fig.add_subplot(gs[0, 2])
    ax_f = fig.add_subplot(gs[1, 2])
    P = u.shape[1]
    for k in range(P):
        ax_u.plot(
            ts,
            u[:, k],
            lw=0.8 if k else 1.4,
            color=f"C{k}",
            label=f"population {k + 1}",
        )
        ax_r.plot(ts, rate[:, k], lw=0.8 if k else 1.4, color=f"C{k}")
    up, down = (
        view.setting("model", "up_threshold"),
        view.setting("model", "down_threshold"),
    )
    ax_u.axhline(float(up), color="k", ls="--", lw=0.8, label=f"up > {up} mV")
    ax_u.axhline(float(down), color="k", ls=":", lw=0.8, label=f"down < {down} mV")
    _shade(ax_u, ts, code)
    _shade(ax_r, ts, code)
    ax_u.set_ylabel("mean E potential (mV)")
    ax_u.set_title(
        "One network, 10 s: mean E potential per population (shading: "
        "population 1's state)",
        fontsize=9,
    )
    patches = [
        Patch(color=c, alpha=0.35, label=n)
        for c, n in zip(STATE_COLORS, STATE_NAMES, strict=True)
    ]
    ax_r.legend(handles=patches, fontsize=7, ncol=4, loc="upper right")
    ax_u.legend(fontsize=7, ncol=3, loc="upper right")
    ax_r.set_ylabel("E rate, 20 ms low-pass (Hz)")
    ax_r.set_xlabel("time (s)")
    rs = view.var("rate_state")[ok, -1]
    cs = view.var("cell_rate_state")[ok, -1]
    fr = view.var("fraction")[ok, -1]
    onset = view.var("onset_rate")[ok, -1]
    stats = np.array([mean_sem(rs[:, c])[:2] for c in range(4)])
    x = np.arange(4)
    ax_b.bar(x, stats[:, 0], yerr=stats[:, 1], color=STATE_COLORS, capsize=3)
    ax_b.set_xticks(x, [n.replace(" ", "\n") for n in STATE_NAMES], fontsize=8)
    ax_b.set_ylabel("population 1 E rate (Hz)")
    ax_b.set_title("Rate per state (mean ± sem over networks)", fontsize=9)
    fstats = np.array([mean_sem(fr[:, c])[:2] for c in range(4)])
    ax_f.bar(x, fstats[:, 0], yerr=fstats[:, 1], color=STATE_COLORS, capsize=3)
    ax_f.set_xticks(x, [n.replace(" ", "\n") for n in STATE_NAMES], fontsize=8)
    ax_f.set_ylabel("fraction of time")
    om, osem, _ = mean_sem(onset)
    ax_f.set_title(f"Time per state; up onsets {om:.2f} ± {osem:.2f} /s", fontsize=9)
    order = np.all(rs[:, 0] < rs[:, 1]) and np.all(rs[:, 2] < rs[:, 3])
    fig.suptitle(
        f"Slow-wave network: {P} populations × ({view.setting('model', 'n_exc')} E"
        f" + {view.setting('model', 'n_inh')} I), {len(rs)} networks, statistics "
        f"from {t0 / 1000:g} to {t[-1] / 1000:g} s; global down < local down and "
        f"global up < local up in {'every' if order else 'not every'} network"
    )
    fig.tight_layout()
    rows = []
    for c, name in enumerate(STATE_NAMES):
        m, s, n = mean_sem(rs[:, c])
        mc, sc, _ = mean_sem(cs[:, c])
        mf, sf, _ = mean_sem(fr[:, c])
        rows.append(
            {
                "population 1 state": name,
                "E rate (Hz)": f"{m:.2f} ± {s:.2f}",
                "E cell 0 rate (Hz)": f"{mc:.2f} ± {sc:.2f}",
                "time fraction": f"{mf:.3f} ± {sf:.3f}",
                "networks": n,
            }
        )
    rows.append(
        {
            "population 1 state": "up onsets (/s)",
            "E rate (Hz)": f"{om:.3f} ± {osem:.3f}",
        }
    )
    return fig, rows


def network_notes(view: StoreView) -> str:
    return (
        "mean ± sem over networks. A population is up from the step its E "
        "cells' mean potential exceeds the up threshold until it falls below the "
        "down threshold; population 1 is in a global state when at least 3 of "
        "the 4 populations share its state, else local. SPEC Y3: population 1's "
        "E rate is lowest in global down states and local up > global up."
    )
