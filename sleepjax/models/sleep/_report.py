"""Figures and tables of the sleep protocols, drawn from a results store; the
hypnogram of each group's first network is drawn under its results."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...plot import StoreView, band, draw_hypnogram, spread
from ...sleep import STAGES, priority


def groups(view: StoreView) -> list[tuple[str, np.ndarray]]:
    """(label, mask) per combination of swept coordinates other than the seed."""
    return view.groups()


def _index(t, when) -> int:
    return int(np.clip(np.searchsorted(t, when - 1e-9), 0, len(t) - 1))


# ---------------------------------------------------------------------- night
def _night_times(view: StoreView):
    t_sleep = float(view.setting("protocol", "t_sleep"))
    morning = float(view.setting("protocol", "morning"))
    return t_sleep, float(view.time[-1]) - morning


def night_priority(view: StoreView, mask=None) -> np.ndarray:
    """The replay priority of each memory, recomputed from the run's settings
    (those of the networks in `mask` when the priority is swept) as the
    `night` protocol computes it."""
    s = np.asarray(view.setting("protocol", "strengths"), float)
    every = float(view.setting("protocol", "learn_every"))
    t_sleep, _ = _night_times(view)
    age = t_sleep - (np.arange(len(s)) + 1.0) * every
    eta, beta = (float(view.setting("model", k)) for k in ("eta", "beta"))
    held = s * np.exp(-eta * beta * age)
    return np.asarray(
        priority(
            str(
                np.atleast_1d(
                    view.label("model.priority")[mask if mask is not None else 0]
                )[0]
            ),
            strength=held,
            age=age,
            error=np.exp(-held),
            tau=float(view.setting("model", "tau_recency")),
            power=float(view.setting("model", "power")),
        )
    )


def per_stage_change(strength, stage) -> np.ndarray:
    """Per network: the summed change of the memories' strength over the save
    intervals ending in each stage, shape (networks, 5)."""
    d = np.diff(strength, axis=1).sum(axis=2)  # (N, T-1)
    st = np.asarray(stage)[:, 1:].round().astype(int)
    return np.stack([np.where(st == s, d, 0.0).sum(axis=1) for s in range(5)], 1)


def night_report(view: StoreView):
    """Each memory's strength through wake and the night (median and
    interquartile band over seeds), the night's hypnogram under it, and each
    memory's fate (retention) per group."""
    t, ok = view.time, view.ok
    strength, stage = view.var("strength"), view.var("sleep_stage")
    m = strength.shape[2]
    t_sleep, t_wake = _night_times(view)
    i0, i1 = _index(t, t_sleep), _index(t, t_wake)
    retention = strength[:, i1] / strength[:, i0]
    gs = [(lab, mask & ok) for lab, mask in groups(view) if (mask & ok).any()]
    fig, axes = plt.subplots(
        2,
        len(gs) + 1,
        figsize=(4.6 * (len(gs) + 1), 6.8),
        gridspec_kw={"height_ratios": [3, 1]},
        squeeze=False,
    )
    rows = []
    width = 0.8 / len(gs)
    for j, (label, sel) in enumerate(gs):
        ax, hx = axes[0, j], axes[1, j]
        prio = night_priority(view, sel)
        high = prio >= np.median(prio)
        for k in range(m):
            band(ax, t, strength[sel, :, k], f"C{k}", f"memory {k} (p={prio[k]:.2f})")
        ax.axvline(t_sleep, color="k", lw=0.6, ls=":")
        ax.axvline(t_wake, color="k", lw=0.6, ls=":")
        ax.set_title(label or "all networks", fontsize=9)
        ax.set_ylabel("memory strength ρ (rotation in its plane)")
        ax.legend(fontsize=6)
        draw_hypnogram(hx, t, stage[np.flatnonzero(sel)[0]])
        hx.set_xlabel("time (τ); hypnogram of the first seed")
        hx.sharex(ax)
        r = retention[sel]
        pos = np.arange(m) + (j - (len(gs) - 1) / 2) * width
        med = np.median(r, axis=0)
        lo, hi = np.percentile(r, 25, axis=0), np.percentile(r, 75, axis=0)
        axes[0, -1].bar(
            pos, med, width, color=f"C{j}", alpha=0.7, label=label or "all networks"
        )
        axes[0, -1].errorbar(pos, med, [med - lo, hi - med], fmt="none", color="k")
        lost = r < 0.5
        dstage = per_stage_change(strength[sel], stage[sel])
        row = {"group": label or "all", "networks": int(sel.sum())}
        for k in range(m):
            row[f"retention {k}"] = spread(r[:, k])
        row["lost (high p)"] = f"{lost[:, high].mean():.0%}"
        row["lost (low p)"] = f"{lost[:, ~high].mean():.0%}"
        row["high - low retention"] = spread(
            r[:, high].mean(axis=1) - r[:, ~high].mean(axis=1)
        )
        for s in (2, 3, 4):
            row[f"Δρ in {STAGES[s]}"] = spread(dstage[:, s])
        row["min in N3 / REM"] = (
            f"{np.median((stage[sel] == 3).sum(1)) * _dt(t):.0f} / "
            f"{np.median((stage[sel] == 4).sum(1)) * _dt(t):.0f}"
        )
        rows.append(row)
    bx = axes[0, -1]
    bx.axhline(1.0, color="k", lw=0.6)
    strengths = np.asarray(view.setting("protocol", "strengths"), float)
    bx.set_xticks(range(m), [f"mem {k}\nlearned {strengths[k]:g}" for k in range(m)])
    bx.set_ylabel("retention: strength after the night / at sleep onset")
    bx.set_title("Each memory's fate (median, IQR over seeds)", fontsize=9)
    bx.legend(fontsize=6)
    axes[1, -1].axis("off")
    pnames = "', '".join(dict.fromkeys(view.label("model.priority").astype(str)))
    fig.suptitle(
        f"A night of the Susman network: {m} memories (p: replay priority, "
        f"'{pnames}'); dotted: sleep onset and wake-up"
    )
    fig.tight_layout()
    return fig, rows


def _dt(t) -> float:
    minute = 1.0
    return float(np.median(np.diff(t))) / minute


def night_notes(view: StoreView) -> str:
    minute = float(view.setting("protocol", "minute"))
    return (
        "retention k: strength of memory k at wake-up / at sleep onset, median "
        "(min-max) over seeds. lost: retention < 0.5; high p / low p: memories "
        "with replay priority at or above / below the median priority. "
        "Δρ in STAGE: summed change of all memories' strength over the save "
        "intervals ending in that stage. min in N3 / REM: time in the stage, "
        f"in τ (median over seeds; {minute:g} τ per minute of the hypnogram)."
    )


# ------------------------------------------------------------------------ shy
def _shy_times(view: StoreView):
    t_day = float(view.setting("protocol", "t_day"))
    morning = float(view.setting("protocol", "morning"))
    return t_day, float(view.time[-1]) - morning


def _shy_label(name: str, value) -> str:
    return str(value) if name == "patterns" else f"{name} {value}"


def shy_report(view: StoreView):
    """Total weight through a day and a night (the first seed's hypnogram
    under it), each memory's retention over the night against its day's
    exposure, and per seed the retention of the strongest minus that of the
    weakest memory: sparing protects strong memories selectively where that
    difference is > 0 (without sparing every memory keeps 1 − δ)."""
    t, ok = view.time, view.ok
    strength, stage, w = (
        view.var("strength"),
        view.var("sleep_stage"),
        view.var("w_total"),
    )
    exposures = np.asarray(view.setting("protocol", "exposures"), float)
    strong = exposures == exposures.max()
    weak = exposures == exposures.min()
    t_day, t_wake = _shy_times(view)
    i_day, i_wake = _index(t, t_day), _index(t, t_wake)
    gs = [
        (lab, mask & ok)
        for lab, mask in view.groups(label=_shy_label)
        if (mask & ok).any()
    ]
    fig, axes = plt.subplots(
        2,
        3,
        figsize=(16, 7.4),
        gridspec_kw={"height_ratios": [3, 1], "width_ratios": [1.2, 1.2, 1]},
    )
    ax_w, ax_r, ax_d = axes[0]
    rows = []
    for j, (label, sel) in enumerate(gs):
        name = label or "all networks"
        band(ax_w, t, w[sel], f"C{j}", name)
        r = strength[sel, i_wake] / strength[sel, i_day]
        med = np.median(r, axis=0)
        lo, hi = np.percentile(r, 25, axis=0), np.percentile(r, 75, axis=0)
        ax_r.errorbar(
            exposures * (1 + 0.03 * (j - (len(gs) - 1) / 2)),
            med,
            [med - lo, hi - med],
            fmt="o-",
            lw=0.8,
            ms=4,
            color=f"C{j}",
            label=name,
            capsize=2,
        )
        rs, rw = r[:, strong].mean(axis=1), r[:, weak].mean(axis=1)
        d = rs - rw
        # |d| < 0.001 is float32 rounding (ratios of near-zero strengths)
        up, down = int((d > 1e-3).sum()), int((d < -1e-3).sum())
        x = j + np.linspace(-0.15, 0.15, len(d))
        ax_d.plot(x, d, "o", color=f"C{j}", ms=4, alpha=0.8)
        ax_d.plot([j - 0.3, j + 0.3], [np.median(d)] * 2, color="k", lw=1.5)
        ax_d.annotate(
            f"up {up}\ndown {down}",
            (j, 1.0),
            xycoords=("data", "axes fraction"),
            ha="center",
            va="top",
            fontsize=6,
        )
        rows.append(
            {
                "group": label or "all",
                "networks": int(sel.sum()),
                "w_total start": spread(w[sel, 0]),
                "after day": spread(w[sel, i_day]),
                "after night": spread(w[sel, i_wake]),
                "night/start": spread(w[sel, i_wake] / w[sel, 0]),
                "strength strongest": spread(strength[sel, i_day][:, strong].mean(1)),
                "weakest": spread(strength[sel, i_day][:, weak].mean(1)),
                "retention strongest": spread(rs),
                "retention weakest": spread(rw),
                "strongest − weakest": spread(d),
                "up / down": f"{up} / {down}",
            }
        )
    first = np.flatnonzero(gs[0][1])[0]
    draw_hypnogram(axes[1, 0], t, stage[first])
    axes[1, 0].set_xlabel("time (τ); hypnogram of the first seed")
    axes[1, 0].sharex(ax_w)
    handles, labels = ax_r.get_legend_handles_labels()
    axes[1, 1].legend(
        handles,
        labels,
        fontsize=7,
        loc="center",
        ncol=2,
        title="groups (one colour in every panel; bands: IQR and range)",
        title_fontsize=7,
    )
    axes[1, 1].axis("off")
    axes[1, 2].axis("off")
    ax_w.axvline(t_day, color="k", lw=0.6, ls=":")
    ax_w.axvline(t_wake, color="k", lw=0.6, ls=":")
    ax_w.set_ylabel("total weight Σ|W| / N")
    ax_w.set_title("Wake potentiates, NREM downscales", fontsize=9)
    delta = float(_setting_or(view, "delta", 0.18))
    ax_r.axhline(1 - delta, color="k", lw=0.6, ls="--", label="1 − δ (no sparing)")
    ax_r.set_xscale("log")
    ax_r.set_xticks(np.unique(exposures), [f"{e:g}" for e in np.unique(exposures)])
    ax_r.minorticks_off()
    ax_r.set_xlabel("exposure during the day (τ, log scale)")
    ax_r.set_ylabel("retention: strength after / before the night")
    ax_r.set_title("Each memory's retention (median, IQR over seeds)", fontsize=9)
    ax_d.axhline(0.0, color="k", lw=0.6)
    ax_d.margins(y=0.15)  # room for the counts above the highest seed
    ax_d.set_xticks(
        range(len(gs)), [(lab or "all").replace(", ", "\n") for lab, _ in gs]
    )
    ax_d.tick_params(axis="x", labelsize=6)
    ax_d.set_xlim(-0.6, len(gs) - 0.4)
    ax_d.set_ylabel("retention of the strongest − of the weakest memory")
    ax_d.set_title(
        "Does sparing protect strong memories selectively?\n(dots: seeds, bar: "
        "median; up: > 0.001, down: < −0.001)",
        fontsize=9,
    )
    fig.suptitle(
        "Synaptic homeostasis: Hebbian potentiation in wake, downscaling by 1 − δ "
        "in N2/N3 sparing the largest |W|; dotted: sleep onset and wake-up"
    )
    fig.tight_layout()
    return fig, rows


def _setting_or(view: StoreView, key: str, default):
    if f"protocol.{key}" in view.store.coord_names:
        return default
    return view.setting("protocol", key)


def shy_notes(view: StoreView) -> str:
    return (
        "median (min-max) over seeds. w_total = Σ|W_ij|/N at the start, at sleep "
        "onset (after day) and at wake-up (after night). strength: ξᵀWξ/|ξ|² at "
        "sleep onset; retention: strength at wake-up / at sleep onset; "
        "strongest / weakest: the memories with the longest / shortest exposure "
        "(the mean of tied ones). strongest − weakest: per seed; without sparing "
        "every memory keeps exactly 1 − δ, so this is also the selective gain "
        "of sparing against the unspared night; up / down: seeds where it is "
        "above 0.001 / below −0.001 (smaller is float32 rounding)."
    )


REPORTS = {"night": (night_report, night_notes), "shy": (shy_report, shy_notes)}


def _transfer():
    from ._report_transfer import transfer_notes, transfer_report

    return transfer_report, transfer_notes


REPORTS["transfer"] = _transfer()
