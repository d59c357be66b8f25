"""Figures and summary tables of the Susman et al. protocols (erosion,
learning), drawn from a results store. Every number shown is read from the
store or computed from the run's configuration; none is hard-coded."""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np

from ...plot import StoreView, band, plain_log
from ._report_capacity import capacity_notes, capacity_report
from ._report_cycles import (
    life_cycle_notes,
    life_cycle_report,
    limit_cycle_notes,
    limit_cycle_report,
)
from ._report_equilibrate import equilibrate_notes, equilibrate_report
from ._report_hopf import hopf_notes, hopf_report
from ._report_learning import learning_notes, learning_report


def memory_strength(view: StoreView, code: np.ndarray) -> np.ndarray:
    """|Im λ| for imaginary-coded, Re λ for real-coded networks: (network, time)."""
    re = view.var("mem_re")[..., 0]
    im = view.var("mem_im")[..., 0]
    return np.where((code == "real")[:, None], re, np.abs(im))


def memory_alive(view: StoreView, code: np.ndarray, threshold: float) -> np.ndarray:
    """Memory present: its eigenvector lies in the plane (projection > 0.5) and
    its eigenvalue stands out of the bulk (strength > threshold)."""
    proj = view.var("mem_proj")[..., 0]
    return (proj > 0.5) & (memory_strength(view, code) > threshold)


def _decay_rate(t, strength, alive) -> float:
    """-d log(strength)/dt fitted over the saves where the memory is alive
    (NaN with fewer than 3)."""
    if alive.sum() < 3:
        return float("nan")
    return -float(np.polyfit(t[alive], np.log(strength[alive]), 1)[0])


def _median_lifetime(lifetimes, alive_at_end) -> float:
    """Median lifetime over seeds, a seed alive at the end counting as +inf
    (censored): inf when the median seed outlives the run."""
    return float(np.median(np.where(alive_at_end, np.inf, lifetimes)))


MAX_PANELS = 6


def _others(view: StoreView) -> list[str]:
    """Swept coordinates other than the rule, the code and the seed."""
    skip = ("model.rule", "protocol.code", "seed")
    return [c for c in view.store.coord_names if c not in skip]


def _alive_until_lost(alive: np.ndarray) -> np.ndarray:
    """True up to (and including) each network's last save with the memory
    alive: the saves at which it is still tracked."""
    last = np.where(
        alive.any(axis=1), alive.shape[1] - 1 - np.argmax(alive[:, ::-1], axis=1), -1
    )
    return np.arange(alive.shape[1])[None, :] <= last[:, None]


def _tracked_band(ax, t, Y, keep, color, label):
    """Median and IQR over the networks that still hold the memory, drawn
    while at least half of them do (a lost memory is not followed into the
    bulk)."""
    Y = np.where(keep, Y, np.nan)
    held = np.mean(keep, axis=0) >= 0.5
    if not held.any() or len(Y) == 0:
        ax.plot([], [], color=color, lw=1.6, label=f"{label}: lost by {t[0]:.3g} τ")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        q25, q50, q75 = np.nanpercentile(
            np.where(held, Y, np.nan), [25, 50, 75], axis=0
        )
    ax.plot(t, q50, color=color, lw=1.6, label=f"{label} (median, n={len(Y)})")
    ax.fill_between(t, q25, q75, color=color, alpha=0.3, lw=0)


def erosion_report(view: StoreView):
    """Memory eigenvalue around the insertion, per rule, code and any other
    swept parameter; lifetime table with one row per group."""
    t = view.time
    rule = view.label("model.rule").astype(str)
    code = view.label("protocol.code").astype(str)
    t_ins = float(view.setting("protocol", "t_insert"))
    n = int(view.setting("model", "n"))
    eta = view.label("model.eta").astype(float)
    beta = view.label("model.beta").astype(float)
    strength = memory_strength(view, code)
    # the bulk edge: circular-law radius sqrt(N var W), over time
    bulk = np.sqrt(n) * view.var("w_std")
    pre = max(int(np.searchsorted(t, t_ins)) - 1, 0)
    others = _others(view)
    cols = {c: view.label(c).astype(str) for c in others}
    key = np.array(
        [
            ", ".join([r] + [f"{c.rpartition('.')[2]}={cols[c][i]}" for c in others])
            for i, r in enumerate(rule)
        ]
    )
    groups = list(dict.fromkeys(key[view.ok].tolist()))
    # alive above max(1, 1.5 x the bulk radius before insertion), per group
    threshold = {
        g: max(1.0, 1.5 * float(np.median(bulk[(key == g) & view.ok, pre])))
        for g in groups
    }
    per_net = np.array([threshold.get(g, np.inf) for g in key])
    alive = memory_alive(view, code, per_net[:, None])
    after = t > t_ins  # a save at exactly t_insert sees the state before it
    ta = t[after] - t_ins
    horizon = float(t[-1] - t_ins)
    shown = groups[:MAX_PANELS]
    ncol = min(3, len(shown))
    nrow = -(-len(shown) // ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(5.2 * ncol, 4.0 * nrow), squeeze=False
    )
    rows = []
    for g in groups:
        stats = {}
        for c in ("imaginary", "real"):
            sel = (key == g) & (code == c) & view.ok
            if not sel.any():
                continue
            al = alive[sel][:, after]
            lt = np.array([ta[a].max() if a.any() else 0.0 for a in al])
            rates = [
                _decay_rate(ta, s, a)
                for s, a in zip(strength[sel][:, after], al, strict=True)
            ]
            rate = np.median(rates) if np.isfinite(rates).all() else np.nan
            stats[c] = dict(
                lt=_median_lifetime(lt, al[:, -1]), end=np.mean(al[:, -1]), rate=rate
            )
        row = {"group": g}
        for c, st in stats.items():
            short = "imag" if c == "imaginary" else "real"
            row[f"{short} lifetime"] = _fmt_life(st["lt"], ta, horizon)
            row[f"{short} alive at end"] = f"{st['end']:.0%}"
            row[f"{short} decay rate"] = _fmt_rate(st["rate"])
        if "imaginary" in stats and "real" in stats:
            si, sr = stats["imaginary"], stats["real"]
            outlived = si["lt"] > 1.2 * sr["lt"] or (
                si["end"] > 0.5 and sr["end"] < 0.5
            )
            row["imaginary outlived real"] = "yes" if outlived else "no"
        rows.append(row)
    for ax, g in zip(axes.flat, shown, strict=False):
        sel_g = (key == g) & view.ok
        # the bulk radius before and after the insertion: the baseline
        band(ax, t - t_ins, bulk[sel_g], "0.5", "bulk radius √N·std(W)")
        for c, color in (("imaginary", "C0"), ("real", "C3")):
            sel = sel_g & (code == c)
            if not sel.any():
                continue
            name = "imaginary code |Im λ|" if c == "imaginary" else "real code Re λ"
            keep = _alive_until_lost(alive[sel][:, after])
            _tracked_band(ax, ta, strength[sel][:, after], keep, color, name)
            if g.split(",")[0] == "dissipation":
                lam0 = np.nanmedian(strength[sel][:, after][:, 0])
                rate_th = float(np.median(eta[sel] * beta[sel]))
                ax.plot(
                    ta,
                    lam0 * np.exp(-rate_th * (ta - ta[0])),
                    color=color,
                    ls="--",
                    lw=0.8,
                    label=f"theory λ0·exp(−ηβt), ηβ = {rate_th:.1e}",
                )
        ax.axvline(0.0, color="k", lw=0.8)
        ax.axhline(
            threshold[g],
            color="gray",
            ls=":",
            lw=1,
            label=f"alive above {threshold[g]:.2g}",
        )
        ax.set_title(g.replace("_", " "), fontsize=9)
        ax.set_xlabel("time since the insertion (τ)")
        plain_log(ax)
        ax.set_ylim(bottom=0.1 * threshold[g])
        ax.legend(fontsize=6, loc="lower left")
    for ax in list(axes.flat)[len(shown) :]:
        ax.set_axis_off()
    axes[0, 0].set_ylabel("memory eigenvalue")
    title = (
        f"Erosion: a memory inserted at t = {t_ins:g} (black line), tracked while it "
        f"stands out of the bulk (N = {n}; median and IQR over seeds)"
    )
    if len(groups) > len(shown):
        title += (
            f"\n{len(groups) - len(shown)} more parameter groups in the table; "
            "plot any of them with `sleepjax plot`"
        )
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig, rows


def _fmt_rate(x) -> str:
    return "-" if not np.isfinite(x) else f"{x:.1e}"


def _fmt_life(x, ta, horizon) -> str:
    if np.isinf(x):
        return f">= {horizon:.0f}"
    # 0: not alive at the first save after insertion
    if x == 0:
        return f"< {ta[0]:.3g}"
    return f"{x:.3g}" if x < 10 else f"{x:.0f}"


def erosion_notes(view: StoreView) -> str:
    t_ins = float(view.setting("protocol", "t_insert"))
    return (
        f"lifetime: time after insertion (t = {t_ins:g}) until the memory is last "
        "seen alive (eigenvector projection onto its plane > 0.5 and eigenvalue "
        "above max(1, 1.5 × the bulk radius √N·std(W) of that rule before "
        "insertion)), median over "
        "seeds; '>= T' when the median seed keeps it to the end of the run.\n"
        "decay rate: −d log(memory eigenvalue)/dt fitted while alive, per τ "
        "(median over seeds; '-' if a seed is alive at fewer than 3 saves)."
    )


REPORTS = {
    "capacity": (capacity_report, capacity_notes),
    "equilibrate": (equilibrate_report, equilibrate_notes),
    "erosion": (erosion_report, erosion_notes),
    "hopf": (hopf_report, hopf_notes),
    "learning": (learning_report, learning_notes),
    "limit_cycle": (limit_cycle_report, limit_cycle_notes),
    "life_cycle": (life_cycle_report, life_cycle_notes),
}
