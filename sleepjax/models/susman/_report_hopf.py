r"""The Hopf bifurcation of a stored plane as a figure (paper Fig. 4, SPEC V4):
the limit cycle's radius and frequency against γ at fixed ρ, for the full
network (the `hopf` protocol: the `limit_cycle` experiment swept over γ) and
for the reduced 2-D system, with the onset at γ = 1.

Near the onset the reduced system, averaged over a turn, is the normal form
$\dot r = (\gamma - 1) r - \tfrac{\gamma}{2} r^3$ (tanh z ≈ z − z³/3; the
angular terms average out), so $r^* = \sqrt{2(\gamma-1)/\gamma}$ and the
frequency tends to ρ: the bifurcation is supercritical. The network is
integrated by Euler steps of dt, whose per-step gain on a rotation,
|1 + dt(γ − 1 ± iρ)|, adds ≈ ρ²dt/2 to γ − 1: its onset lies at
γ ≈ 1 − ρ²dt/2 and its radius near the onset exceeds the reduced
system's (integrated by RK4). Every number shown
is read from the store, computed from the reduced system, or this formula.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...analysis import limit_cycle_stats
from ...plot import StoreView
from ._report_cycles import reduced_cycles

#: a cycle: time-averaged radius above this over the second half of the run
MIN_RADIUS = 0.05


def normal_form_radius(gamma):
    """r* = √(2(γ − 1)/γ) for γ > 1, else 0 (module docs)."""
    g = np.asarray(gamma, float)
    return np.sqrt(np.clip(2 * (g - 1) / g, 0.0, None))


def _full(view: StoreView):
    """Per ok network: ρ, γ, and radius and |ω| over the second half."""
    t = view.time
    k = int(view.setting("protocol", "cue_plane"))
    pu, pv = view.var("p_u")[..., k], view.var("p_v")[..., k]
    rho = view.label("protocol.rho").astype(float)
    gamma = view.label("protocol.gamma").astype(float)
    tail = t >= t[-1] / 2
    out = []
    for i in np.flatnonzero(view.ok):
        r, w = limit_cycle_stats(pu[i, tail], pv[i, tail], t[tail])
        r = float(r)
        out.append((rho[i], gamma[i], r, abs(float(w)) if r > MIN_RADIUS else np.nan))
    return np.array(out, float).reshape(-1, 4)


def hopf_report(view: StoreView):
    """Radius and frequency against γ per ρ: network dots, reduced lines."""
    full = _full(view)
    t_end = float(view.time[-1])
    dt = float(view.setting("model", "dt"))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    rows = []
    for j, rho in enumerate(np.unique(full[:, 0])):
        color = f"C{j}"
        at = full[:, 0] == rho
        g = full[at, 1]
        lo, hi = min(g.min(), 0.9), g.max()
        fine = np.union1d(np.linspace(lo, hi, 60), g)
        red = np.array(reduced_cycles(np.full(fine.size, rho), fine, t_end=t_end))
        red_w = np.where(red[:, 0] > MIN_RADIUS, red[:, 1], np.nan)
        axes[0].plot(fine, red[:, 0], color=color, lw=1.2, label=f"ρ = {rho:g}: 2-D")
        axes[0].plot(
            g, full[at, 2], "o", color=color, ms=5, mfc="none", label="network"
        )
        g_euler = 1 - rho**2 * dt / 2
        for ax in axes:
            ax.axvline(g_euler, color=color, ls=":", lw=1)
        axes[1].plot(fine, red_w, color=color, lw=1.2, label=f"ρ = {rho:g}: 2-D")
        axes[1].plot(g, full[at, 3], "o", color=color, ms=5, mfc="none")
        axes[1].axhline(rho, color=color, ls=":", lw=0.8)
        red_at = dict(zip(fine, red, strict=True))
        for gi, r, w in zip(g, full[at, 2], full[at, 3], strict=True):
            r2, w2 = red_at[gi]
            rows.append(
                {
                    "rho": f"{rho:g}",
                    "gamma": f"{gi:g}",
                    "radius": f"{r:.4f}",
                    "radius (2-D)": f"{r2:.4f}",
                    "radius (normal form)": f"{float(normal_form_radius(gi)):.4f}",
                    "|omega|": "-" if np.isnan(w) else f"{w:.4f}",
                    "|omega| (2-D)": f"{w2:.4f}" if r2 > MIN_RADIUS else "-",
                    "outcome": "cycle" if r > MIN_RADIUS else "decays",
                }
            )
    grid = np.linspace(1.0, min(1.3, full[:, 1].max()), 50)
    axes[0].plot(
        grid,
        normal_form_radius(grid),
        "k:",
        lw=1,
        label="normal form √(2(γ−1)/γ) (near onset)",
    )
    axes[0].plot([], [], "k:", lw=1, label=f"Euler onset 1 − ρ²dt/2 (dt = {dt:g})")
    for ax in axes:
        ax.axvline(1.0, color="gray", ls="--", lw=1, label="onset γ = 1")
        ax.set_xlabel("γ (self-coupling of the plane)")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("limit-cycle radius √(p_u² + p_v²)")
    axes[0].set_title("radius grows from 0 at γ = 1 (supercritical)", fontsize=9)
    axes[1].set_ylabel("frequency |ω| (rad / τ)")
    axes[1].set_title("frequency starts at ρ (dotted) and falls with γ", fontsize=9)
    fig.suptitle(
        "Hopf bifurcation of a stored plane, W = ρ(uvᵀ − vuᵀ) + γ(uuᵀ + vvᵀ): "
        "linearised eigenvalues (γ − 1) ± iρ\nnetwork (circles, second half of "
        f"a {t_end:g}-τ run after the cue) and reduced 2-D system (lines)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig, rows


def hopf_notes(view: StoreView) -> str:
    return (
        "radius, |omega|: time-averaged radius and phase velocity in the cued "
        "plane over the second half of the run; (2-D): the reduced system of "
        "SPEC V4 (RK4, h = 0.01, from (1, 0), same duration); normal form: "
        "r* = sqrt(2(gamma - 1)/gamma), the turn-averaged cubic truncation, "
        f"valid near the onset. A cycle has radius > {MIN_RADIUS}. Close to "
        "gamma = 1 the approach to the cycle is slow (rate ~2|gamma - 1|), so "
        "the radius there depends on the run's length. The network's Euler "
        "steps add about rho^2 dt / 2 to gamma - 1 (onset at 1 - rho^2 dt/2, "
        "dotted), which matters only within a few rho^2 dt of the onset."
    )
