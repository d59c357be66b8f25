"""Figures and summary tables of the Susman et al. limit-cycle and life-cycle
protocols, drawn from a results store."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from ...analysis import limit_cycle_stats, reduced_limit_cycle_rhs
from ...plot import TIME, StoreView, band, spread
from ._report_life import cue_outcomes, outcome_counts


def reduced_cycles(rho, gamma, t_end: float = 200.0, h: float = 0.01):
    """Radius and |ω| of the reduced 2-D system (SPEC V4) for each (ρ, γ),
    started from (A, B) = (1, 0), classical RK4 of step h (one jitted scan,
    vectorised over the pairs), statistics over the last 40 % of [0, t_end]."""
    import jax
    import jax.numpy as jnp

    rho = jnp.asarray(rho, dtype=float)
    gamma = jnp.asarray(gamma, dtype=float)
    every = 10
    n_out = round(t_end / h) // every

    def f(y):
        return jnp.stack(reduced_limit_cycle_rhs(y[0], y[1], rho, gamma))

    def rk4(y, _):
        k1 = f(y)
        k2 = f(y + 0.5 * h * k1)
        k3 = f(y + 0.5 * h * k2)
        k4 = f(y + h * k3)
        return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None

    def block(y, _):
        y, _ = jax.lax.scan(rk4, y, None, length=every)
        return y, y

    y0 = jnp.stack([jnp.ones_like(rho), jnp.zeros_like(rho)])
    _, ys = jax.jit(lambda y: jax.lax.scan(block, y, None, length=n_out))(y0)
    ys = np.asarray(ys)  # (time, 2, pairs)
    ts = h * every * np.arange(1, n_out + 1)
    out = []
    for i in range(ys.shape[2]):
        r, w = limit_cycle_stats(ys[:, 0, i], ys[:, 1, i], ts, tail_fraction=0.4)
        out.append((float(r), abs(float(w))))
    return out


def limit_cycle_report(view: StoreView):
    """Trajectory in the cued plane; radius and frequency vs the 2-D reduction."""
    t = view.time
    pu, pv = view.var("p_u"), view.var("p_v")
    k = int(view.setting("protocol", "cue_plane"))
    t_cue = float(view.setting("protocol", "t_cue"))
    rho = view.label("protocol.rho").astype(float)
    gamma = view.label("protocol.gamma").astype(float)
    tail = t >= t[-1] / 2
    radius = np.hypot(pu, pv)
    others = [j for j in range(pu.shape[2]) if j != k]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    rows = []
    pairs = sorted({(rho[i], gamma[i]) for i in np.flatnonzero(view.ok)})
    reduced = dict(zip(pairs, reduced_cycles(*np.array(pairs).T), strict=True))
    for i in np.flatnonzero(view.ok):
        r, w = limit_cycle_stats(pu[i, tail, k], pv[i, tail, k], t[tail])
        r, w = float(r), abs(float(w))
        r2, w2 = reduced[(rho[i], gamma[i])]
        cycle = r2 > 0.05
        row = {
            "network": int(i),
            "rho": f"{rho[i]:g}",
            "gamma": f"{gamma[i]:g}",
            "radius": f"{r:.3f}",
            "|omega|": f"{w:.3f}" if r > 0.05 else "-",
            "radius (2-D)": f"{r2:.3f}",
            "|omega| (2-D)": f"{w2:.3f}" if cycle else "-",
            "outcome": "cycle" if r > 0.05 else "decays",
        }
        if others:
            row["other planes (max radius)"] = f"{radius[i, tail][:, others].max():.1e}"
        rows.append(row)
        color = f"C{len(rows) - 1}"
        axes[0].plot(pu[i, :, k], pv[i, :, k], lw=0.8, color=color)
        floor = 1e-8  # log axis: a radius of exactly 0 is drawn at the floor
        axes[1].plot(
            t,
            np.maximum(radius[i, :, k], floor),
            lw=0.9,
            color=color,
            label=f"ρ={rho[i]:g}, γ={gamma[i]:g}",
        )
        if others:
            other = np.maximum(radius[i, :, others].max(axis=0), floor)
            axes[1].plot(t, other, lw=0.8, color=color, ls=":")
    if others:
        axes[1].plot([], [], "k:", lw=0.8, label="largest radius, non-cued planes")
    axes[1].axvline(t_cue, color="gray", lw=0.8)
    axes[0].set_xlabel("p_u (cued plane)")
    axes[0].set_ylabel("p_v (cued plane)")
    axes[0].set_aspect("equal")
    axes[1].set_xlabel(TIME)
    axes[1].set_ylabel("radius √(p_u² + p_v²) in plane")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=7, loc="lower right", ncol=2)
    fig.suptitle(
        f"Associative retrieval: a cue along u of plane {k} at t = {t_cue:g} evokes "
        "a limit cycle in that plane when γ > 1"
    )
    fig.tight_layout()
    return fig, rows


def limit_cycle_notes(view: StoreView) -> str:
    return (
        "radius, |omega|: time-averaged radius and phase velocity in the cued plane "
        "over the second half of the run (whole turns); (2-D): the reduced system "
        "of SPEC V4 integrated by RK4 (h = 0.01) for the same ρ, γ. A cycle has "
        "radius > 0.05."
    )


def cue_responses(t, pu, pv, t_on: float, window: float):
    """Response of one plane to a cue at `t_on`, from saved reduced coordinates.

    `pu`, `pv`: (network, time). The baseline is the mean over the saves in
    [t_on − 1, t_on); the response is Δp = p − baseline over (t_on,
    t_on + window]. Returns (τ, |Δp_u|, |Δp_v|, recall), with τ the time since
    the onset and recall = max|Δp_v| / max|Δp_u| per network: how strongly a
    cue along u brings up the partner pattern v. A learned plane, whose block
    of W rotates u into v (ρ ≠ 0), recalls v; a novel plane does not. NaN where
    fewer than 3 saves fall in the window (save finer around the cues:
    `cue_save_every`).
    """
    pre = (t >= t_on - 1.0) & (t < t_on)
    post = (t > t_on) & (t <= t_on + window)
    n = pu.shape[0]
    if pre.sum() < 1 or post.sum() < 3:
        nan = np.full(n, np.nan)
        return t[post] - t_on, np.zeros((n, 0)), np.zeros((n, 0)), nan
    du = np.abs(pu[:, post] - pu[:, pre].mean(axis=1, keepdims=True))
    dv = np.abs(pv[:, post] - pv[:, pre].mean(axis=1, keepdims=True))
    recall = dv.max(axis=1) / np.maximum(du.max(axis=1), 1e-12)
    return t[post] - t_on, du, dv, recall


def _sign_test(a, b) -> str:
    """'k/n (p = ...)': networks with a > b, and the one-sided sign-test p-value
    P(K >= k) for K ~ Binomial(n, 1/2) (no difference between a and b)."""
    keep = np.isfinite(a) & np.isfinite(b)
    n, k = int(keep.sum()), int((a[keep] > b[keep]).sum())
    if n == 0:
        return "-"
    p = sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n
    return f"{k}/{n} (p = {p:.2g})"


def life_cycle_report(view: StoreView):
    """Responses to partial cues of each learned plane and to a novel pattern."""
    t = view.time
    ok = view.ok
    pu, pv = view.var("p_u")[ok], view.var("p_v")[ok]
    t_ret = float(view.setting("protocol", "t_retain"))
    gap = float(view.setting("protocol", "cue_gap"))
    window = float(view.setting("protocol", "cue_window"))
    windows = view.setting("protocol", "windows")
    n_planes = pu.shape[2]
    names = [f"memory {j + 1}" for j in range(n_planes - 1)] + ["novel"]
    has_block = "plane_rho" in view.store.variables
    rho = np.abs(view.var("plane_rho")[ok]) if has_block else None
    gamma = view.var("plane_gamma")[ok] if has_block else None

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    recalls = []
    for j in range(n_planes):
        t_on = t_ret + j * gap
        tau, du, dv, rec = cue_responses(t, pu[:, :, j], pv[:, :, j], t_on, window)
        recalls.append(rec)
        if du.shape[1]:
            scale = np.maximum(du.max(axis=1, keepdims=True), 1e-12)
            band(axes[0], tau, dv / scale, f"C{j}", f"cue {names[j]}: |Δp_v|")
    axes[0].axvspan(
        0,
        float(view.setting("protocol", "cue_duration")),
        color="gray",
        alpha=0.2,
        lw=0,
        label="cue on",
    )
    axes[0].set_xlabel("time since the cue onset (τ)")
    axes[0].set_ylabel("|Δp_v| / max |Δp_u| in the cued plane")
    axes[0].set_title("Partner recall: a cue along u brings up v", fontsize=10)
    axes[0].legend(fontsize=7)
    if has_block:
        for j in range(n_planes):
            band(axes[1], t, rho[:, :, j], f"C{j}", names[j])
        for j, w in enumerate(windows):
            axes[1].axvspan(*w, color=f"C{j}", alpha=0.2, lw=0)
        axes[1].axvline(t_ret, color="k", ls="--", lw=0.8, label="first cue")
        axes[1].set_xlabel(TIME)
        axes[1].set_ylabel("|ρ| = |uᵀWv − vᵀWu| / 2")
        axes[1].set_title("Rotation stored in each plane (windows shaded)", fontsize=10)
        axes[1].legend(fontsize=7)
        for j in range(n_planes):
            i_on = min(np.searchsorted(t, t_ret + j * gap), len(t) - 1)
            axes[2].scatter(
                rho[:, i_on, j], recalls[j], color=f"C{j}", s=18, label=names[j]
            )
        axes[2].set_xlabel("|ρ| of the cued plane at its cue")
        axes[2].set_ylabel("partner recall max|Δp_v| / max|Δp_u|")
        axes[2].set_title(
            "Recall follows the stored rotation (one dot a network)", fontsize=10
        )
        axes[2].legend(fontsize=7)
    else:
        for ax in axes[1:]:
            ax.set_axis_off()
    fig.suptitle(
        "Life cycle: learn two planes (shaded), retain with homeostasis and noise, "
        "then cue each with half of u, and a novel pattern last"
    )
    fig.tight_layout()

    rows = []
    nov = recalls[-1]
    im = np.abs(view.var("mem_im")[ok])
    duration = float(view.setting("protocol", "cue_duration"))
    for j in range(n_planes):
        t_on = t_ret + j * gap
        i_on = min(np.searchsorted(t, t_on), len(t) - 1)
        row = {"cue": names[j], "partner recall": spread(recalls[j])}
        outcome, keep, turns = cue_outcomes(
            t, pu[:, :, j], pv[:, :, j], t_on, duration, window
        )
        row["after the cue"] = outcome_counts(outcome)
        row["radius kept (end / start)"] = spread(keep)
        row["turns"] = spread(turns)
        row["recall > novel's (same network)"] = (
            _sign_test(recalls[j], nov) if j < n_planes - 1 else "-"
        )
        if has_block:
            row["|rho| at cue"] = spread(rho[:, i_on, j])
            row["gamma at cue"] = spread(gamma[:, i_on, j])
        if j < n_planes - 1:
            row["|Im λ| at cue"] = spread(im[:, i_on, j])
        rows.append(row)
    return fig, rows


def life_cycle_notes(view: StoreView) -> str:
    window = float(view.setting("protocol", "cue_window"))
    return (
        "partner recall: max |Δp_v| / max |Δp_u| in the cued plane over the "
        f"{window:g} time units after the cue onset (Δ: change from the mean over "
        "the time unit before it), median (min-max) over networks. A cue along u "
        "of a learned plane, whose block of W rotates u into v (|rho| > 0), brings "
        "up v; for a novel plane the ratio is the bulk's chance coupling. "
        "recall > novel's: networks whose recall of that memory beats their own "
        "novel plane's, with the one-sided sign-test p-value. rho, "
        "gamma: the plane's 2x2 block of W (SPEC V4: linearised eigenvalues "
        "(gamma - 1) +- i rho; a sustained limit cycle needs gamma > 1). after "
        "the cue: per network, sustained (the radius in the plane over the last "
        "quarter of the cue window keeps >= half its value when the cue ends, "
        "and the phase turns >= once), damped rotation (otherwise, phase "
        ">= a quarter turn) or no rotation; ongoing activity when the plane "
        "already fluctuated before the cue by >= 0.2 x the radius at the "
        "cue's end (a spontaneously active network); radius kept and turns: median "
        "(min-max) of those two measures."
    )
