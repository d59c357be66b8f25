"""Figures and summary tables of the Susman et al. protocols (erosion,
learning), drawn from a results store. Every number shown is read from the
store or computed from the run's configuration; none is hard-coded."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...plot import TIME, StoreView, band, plain_log, spread
from ._options import RULES
from ._report_cycles import (
    life_cycle_notes,
    life_cycle_report,
    limit_cycle_notes,
    limit_cycle_report,
)


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


def erosion_report(view: StoreView):
    """Memory eigenvalue after insertion per rule and code; lifetime table."""
    t = view.time
    rule = view.label("model.rule").astype(str)
    code = view.label("protocol.code").astype(str)
    t_ins = float(view.setting("protocol", "t_insert"))
    n = int(view.setting("model", "n"))
    eta = view.label("model.eta").astype(float)
    beta = view.label("model.beta").astype(float)
    strength = memory_strength(view, code)
    # the bulk edge of each rule: circular-law radius sqrt(N var W) at the last
    # save before insertion (median over that rule's networks)
    w_std = view.var("w_std")
    pre = max(int(np.searchsorted(t, t_ins)) - 1, 0)
    threshold = {
        r: max(
            1.0, 1.5 * float(np.median(np.sqrt(n) * w_std[(rule == r) & view.ok, pre]))
        )
        for r in set(rule[view.ok])
    }
    per_net = np.array([threshold.get(r, np.inf) for r in rule])
    alive = memory_alive(view, code, per_net[:, None])
    after = t > t_ins  # a save at exactly t_insert sees the state before it
    ta = t[after] - t_ins
    horizon = float(t[-1] - t_ins)
    rules = [r for r in RULES if r in set(rule)]
    fig, axes = plt.subplots(
        1, len(rules), figsize=(4.6 * len(rules), 3.8), squeeze=False
    )
    rows = []
    for ax, r in zip(axes[0], rules, strict=True):
        stats = {}
        for c, color in (("imaginary", "C0"), ("real", "C3")):
            sel = (rule == r) & (code == c) & view.ok
            if not sel.any():
                continue
            name = "imaginary code |Im λ|" if c == "imaginary" else "real code Re λ"
            # below `floor` (deep in the bulk, or |Im λ| = 0 for a real
            # eigenvalue) the tracked eigenvalue is noise: clip for the log axis
            floor = 0.1 * threshold[r]
            band(ax, ta, np.maximum(strength[sel][:, after], floor), color, name)
            al = alive[sel][:, after]
            # lifetime: time after insertion until the memory is last seen alive
            lt = np.array([ta[a].max() if a.any() else 0.0 for a in al])
            rates = [
                _decay_rate(ta, s, a)
                for s, a in zip(strength[sel][:, after], al, strict=True)
            ]
            rate = np.median(rates) if np.isfinite(rates).all() else np.nan
            stats[c] = dict(
                lt=_median_lifetime(lt, al[:, -1]),
                end=np.mean(al[:, -1]),
                rate=rate,
            )
            if r == "dissipation":
                # theory: λ0 exp(−ηβ (t − t_insert)) from the first save after insertion
                lam0 = np.median(strength[sel][:, after][:, 0])
                rate_th = float(np.median(eta[sel] * beta[sel]))
                ax.plot(
                    ta,
                    lam0 * np.exp(-rate_th * (ta - ta[0])),
                    color="k",
                    ls="--",
                    lw=0.8,
                    label=f"λ0·exp(−ηβt), ηβ = {rate_th:.1e}" if c == "real" else None,
                )
        ax.axhline(
            threshold[r],
            color="gray",
            ls=":",
            lw=1,
            label=f"alive above {threshold[r]:.2g} (max(1, 1.5 × bulk radius))",
        )
        ax.set_title(r.replace("_", " "))
        ax.set_xlabel("time after insertion (τ)")
        plain_log(ax)
        ax.set_ylim(bottom=0.1 * threshold[r])
        ax.legend(fontsize=7)
        if "imaginary" in stats and "real" in stats:
            si, sr = stats["imaginary"], stats["real"]
            outlived = si["lt"] > 1.2 * sr["lt"] or (
                si["end"] > 0.5 and sr["end"] < 0.5
            )

            def fmt_rate(x):
                return "-" if not np.isfinite(x) else f"{x:.1e}"

            def fmt_life(x):
                if np.isinf(x):
                    return f">= {horizon:.0f}"
                # 0: not alive at the first save after insertion
                return f"< {ta[0]:g}" if x == 0 else f"{x:.0f}"

            rows.append(
                {
                    "rule": r,
                    "imag lifetime": fmt_life(si["lt"]),
                    "real lifetime": fmt_life(sr["lt"]),
                    "imag alive at end": f"{si['end']:.0%}",
                    "real alive at end": f"{sr['end']:.0%}",
                    "imag decay rate": fmt_rate(si["rate"]),
                    "real decay rate": fmt_rate(sr["rate"]),
                    "imaginary outlived real": "yes" if outlived else "no",
                }
            )
    axes[0, 0].set_ylabel("memory eigenvalue")
    fig.suptitle(
        f"Erosion (memory inserted at t = {t_ins:g}): median, IQR (dark) and range "
        f"(light) over seeds; N = {n}"
    )
    fig.tight_layout()
    return fig, rows


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


def learning_report(view: StoreView):
    """|Im λ| and eigenplane overlap over time per seed; fraction that learn (V5)."""
    t = view.time
    im = np.abs(view.var("mem_im")[..., 0])
    ov = view.var("plane_overlap")[..., 0]
    ok = view.ok
    window = view.setting("protocol", "window")
    formed = (im[:, -1] > 1.0) & (ov[:, -1] > 0.5) & ok
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, y, lab in zip(
        axes,
        (im, ov),
        ("|Im λ| of the memory eigenvalue", "overlap(eigenplane, span(u, v))"),
        strict=True,
    ):
        for sel, color, name in ((formed, "C0", "formed"), (ok & ~formed, "C7", "not")):
            if sel.any():
                ax.plot(t, y[sel].T, color=color, lw=0.7, alpha=0.8)
                ax.plot(
                    [],
                    [],
                    color=color,
                    label=f"{name} ({sel.sum()} of {ok.sum()} seeds)",
                )
        ax.axvspan(*window, color="orange", alpha=0.25, lw=0, label="input window")
        ax.set_xlabel(TIME)
        ax.set_ylabel(lab)
        ax.legend(fontsize=7)
    axes[0].axhline(1.0, color="gray", ls=":", lw=1)
    axes[1].axhline(0.5, color="gray", ls=":", lw=1)
    axes[1].set_ylim(0, 1.02)
    fig.suptitle(
        f"Learning ({view.setting('model', 'rule').replace('_', ' ')}): an imaginary "
        f"pair forms in the stimulated plane in {formed.sum()} of {ok.sum()} seeds"
    )
    fig.tight_layout()
    rows = [
        {
            "networks": int(ok.sum()),
            "formed and kept": f"{formed.sum()} ({np.mean(formed[ok]):.0%})",
            "final |Im λ| (median, min-max)": spread(im[ok, -1]),
            "final overlap (median, min-max)": spread(ov[ok, -1]),
        }
    ]
    return fig, rows


def learning_notes(view: StoreView) -> str:
    return (
        "formed and kept: at the end of the run |Im λ| > 1 and the overlap of the "
        "memory eigenvector's plane with span(u, v) > 0.5."
    )


REPORTS = {
    "erosion": (erosion_report, erosion_notes),
    "learning": (learning_report, learning_notes),
    "limit_cycle": (limit_cycle_report, limit_cycle_notes),
    "life_cycle": (life_cycle_report, life_cycle_notes),
}
