"""Figures and tables of the wake–sleep night (Fig. 3) and of robustness before
vs after sleep. Every number is read from the store or the run's
configuration."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...analysis import crossing
from ...plot import StoreView
from ._observables import STRENGTH_BINS
from ._report_load import groups, num


def _wake(view: StoreView) -> int:
    return int(view.setting("protocol", "wake_epochs"))


def _at(t, epoch) -> int:
    """Index of the save at `epoch` (the nearest)."""
    return int(np.argmin(np.abs(np.asarray(t) - epoch)))


def _med(y, sel):
    return np.nanmedian(y[sel], axis=0)


# -------------------------------------------------------------------- night
def night_report(view: StoreView):
    """Density, SNRs, factor correlations, pruning by strength and per-memory
    gains along the night."""
    t, ok, wake = view.time, view.ok, _wake(view)
    i0 = _at(t, wake)
    tt = np.where(t > 0, t, np.nan)
    names = ("density", "kappa", "synaptic_snr", "neural_snr", "within", "across")
    v = {k: view.var(k) for k in (*names, "recalled", "replayed")}
    pbs = view.var("pruned_by_strength")
    fig, ax = plt.subplots(2, 3, figsize=(16.5, 8.8))
    ax = ax.ravel()
    rows = []
    for j, (label, mask) in enumerate(groups(view, ())):
        sel, c = mask & ok, f"C{j}"
        if not sel.any():
            continue
        name = label or f"α = {np.median(num(view, 'model.alpha')[sel]):g}"
        ax[0].plot(tt, _med(v["density"], sel), color=c, label=name)
        for key, ls, what in (
            ("neural_snr", "-", "neural"),
            ("synaptic_snr", "--", "synaptic"),
        ):
            rel = v[key][sel] / v[key][sel][:, i0 : i0 + 1]
            ax[1].plot(
                tt[i0:],
                np.nanmedian(rel, axis=0)[i0:],
                color=c,
                ls=ls,
                label=f"{name}: {what} SNR",
            )
        ax[2].plot(
            tt, _med(v["within"], sel), color=c, label=f"{name}: within a synapse"
        )
        ax[2].plot(
            tt,
            _med(v["across"], sel),
            color=c,
            ls="--",
            label=f"{name}: across synapses",
        )
        gains = view.var("gain_by_margin")[sel, -1]  # (networks, quintile)
        slope = float(np.nanmedian(view.var("gain_slope")[sel, -1]))
        q = np.arange(1, STRENGTH_BINS + 1) + (j - 0.5) * 0.3
        ax[4].bar(
            q,
            np.nanmedian(gains, axis=0),
            0.3,
            color=c,
            label=f"{name}: slope {slope:.2f}",
        )
        ax[5].plot(tt, _med(v["kappa"], sel), color=c, label=f"{name}: κ")
        if j == 0:
            cmap = plt.get_cmap("viridis")
            for b in range(STRENGTH_BINS):
                tag = {0: " (weakest)", STRENGTH_BINS - 1: " (strongest)"}.get(b, "")
                ax[3].plot(
                    tt[i0 + 1 :],
                    _med(pbs[:, :, b], sel)[i0 + 1 :],
                    color=cmap(b / (STRENGTH_BINS - 1)),
                    label=f"quintile {b + 1}{tag}",
                )
            ax[3].set_title(f"Pruned by sleep-start strength ({name})", fontsize=10)

        def med(y, sel=sel):
            return np.nanmedian(y[sel], axis=0)

        def arrow(m, d=3, i0=i0):
            return f"{m[i0]:.{d}f} -> {m[-1]:.{d}f}"

        def ratio(y, sel=sel, i0=i0):
            return np.nanmedian(y[sel, -1] / y[sel, i0])

        rows.append(
            {
                "group": name,
                "networks": int(sel.sum()),
                "replayed (attractors after wake)": f"{med(v['replayed'])[i0]:.3f}",
                "density wake->sleep end": arrow(med(v["density"])),
                "kappa": arrow(med(v["kappa"])),
                "neural SNR x": f"{ratio(v['neural_snr']):.2f}",
                "synaptic SNR x": f"{ratio(v['synaptic_snr']):.2f}",
                "within corr": arrow(med(v["within"]), 2),
                "across corr (end)": f"{np.median(v['across'][sel, -1]):.3f}",
                "gain vs initial margin (slope)": f"{slope:.2f}",
            }
        )
    for a in (ax[0], ax[1], ax[2], ax[3], ax[5]):
        a.set_xscale("log")
        if np.nanmin(tt) < wake:
            a.axvspan(np.nanmin(tt), wake, color="moccasin", alpha=0.4, lw=0)
            a.set_xlabel("epoch (shaded: wake)")
        else:  # the first save is the end of wake
            a.set_xlabel(f"epoch (sleep starts after {wake:g} wake epochs)")
        a.legend(fontsize=7)
    ax[0].set_yscale("log")
    ax[0].set_ylabel("connection density (w > 1e-10)")
    ax[0].set_title("Sleep prunes connections", fontsize=10)
    ax[1].set_ylabel("SNR relative to the start of sleep")
    ax[1].set_title("Neural and synaptic SNR rise", fontsize=10)
    ax[2].set_ylabel("factor correlation over neurons")
    ax[2].set_title("Factors of one synapse become alike", fontsize=10)
    ax[3].set_ylabel("fraction pruned")
    ax[4].axhline(0, color="gray", lw=0.8)
    ax[4].set_xticks(
        range(1, STRENGTH_BINS + 1), ["weakest\n1", "2", "3", "4", "strongest\n5"]
    )
    ax[4].set_xlabel("quintile of the memory's margin at the start of sleep")
    ax[4].set_ylabel("gain of the memory margin over sleep (median)")
    ax[4].set_title(
        "Margin gain over sleep by initial margin (slope < 0: weaker gain more)",
        fontsize=10,
    )
    ax[4].legend(fontsize=7)
    ax[5].set_ylabel("L2 margin κ (replayed memories)")
    ax[5].set_title("Margin of the stored memories", fontsize=10)
    n, z = int(np.median(num(view, "model.n"))), int(np.median(num(view, "model.z")))
    f = float(np.median(num(view, "model.f")))
    fig.suptitle(
        f"A night of two-factor consolidation (N = {n}, f = {f:g}, z = {z}): wake "
        "encodes with a Hebbian rule, sleep replays the attractors, prunes weak "
        "synapses first and raises the SNR"
    )
    fig.tight_layout()
    return fig, rows


def night_notes(view: StoreView) -> str:
    return (
        f"Wake: {_wake(view)} epochs of one-shot Hebbian encoding with k-WTA; sleep "
        "starts at the first save after them. Values 'a -> b' "
        "are medians over networks at the start and at the end of sleep. SNR: "
        "neural = kappa/sqrt(f(1-f)), synaptic = margin over the field's std under "
        "noise <u> on factor 1. Pruned by strength: among synapses alive at the "
        "start of sleep, binned by their weight then. Slope: linear fit of each "
        "replayed memory's margin gain (min over neurons of y(w.x - theta)/|w|) "
        "against its margin at the start of sleep (negative: the weakest gain most)."
    )


# --------------------------------------------------------------- robustness
def _levels(view: StoreView, which: str) -> np.ndarray:
    top = float(view.setting("protocol", f"{which}_max"))
    return np.linspace(0.0, top, int(view.setting("protocol", "levels")))


def two(d, key) -> str:
    return f"{d[(key, 0)]:.3g} -> {d[(key, 1)]:.3g}"


def robustness_report(view: StoreView):
    """Recall against neural and synaptic noise, before and after sleep."""
    ok = view.ok
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.8))
    rows, bars = [], []
    for j, (label, mask) in enumerate(groups(view, ())):
        sel, c = mask & ok, f"C{j}"
        if not sel.any():
            continue
        name = label or f"α = {np.median(num(view, 'model.alpha')[sel]):g}"
        tol = {}
        for k, which in enumerate(("neural", "synaptic")):
            lv = _levels(view, which)
            y = view.var(f"{which}_recall")[sel]
            for s, when, ls in ((0, "before sleep", "--"), (1, "after sleep", "-")):
                m = np.median(y[:, s], axis=0)
                tol[(which, s)] = crossing(lv, m)
                ax[k].plot(
                    lv,
                    m,
                    color=c,
                    ls=ls,
                    marker="o",
                    ms=3,
                    label=f"{name}, {when}: 50 % at {tol[(which, s)]:.3g}",
                )
        bars.append((name, tol))
        dens = {(None, s): np.median(view.var("density")[sel, s]) for s in (0, 1)}
        rows.append(
            {
                "group": name,
                "networks": int(sel.sum()),
                "replayed": f"{np.median(view.var('replayed')[sel, 0]):.3f}",
                "neural tolerance before -> after": two(tol, "neural"),
                "synaptic tolerance before -> after": two(tol, "synaptic"),
                "density before -> after": two(dens, None),
            }
        )
    ax[0].set_xlabel("neural noise f_noise / f (balanced bit flips)")
    ax[1].set_xlabel("synaptic noise σ / ⟨u⟩ on factor 1")
    for a, what in zip(ax[:2], ("Neural noise", "Synaptic noise"), strict=True):
        a.axhline(0.5, color="gray", lw=0.8)
        a.set_ylim(-0.02, 1.02)
        a.set_ylabel("fraction of memories recalled (50 steps)")
        a.set_title(f"{what}: dashed before sleep, solid after", fontsize=10)
        a.legend(fontsize=7)
    w = 0.8 / max(len(bars), 1)
    for j, (name, tol) in enumerate(bars):
        xs = np.arange(4) + (j - (len(bars) - 1) / 2) * w
        vals = [
            tol[("neural", 0)],
            tol[("neural", 1)],
            tol[("synaptic", 0)],
            tol[("synaptic", 1)],
        ]
        ax[2].bar(xs, vals, w, color=f"C{j}", label=name)
    ax[2].set_xticks(
        range(4),
        ["neural\nbefore", "neural\nafter", "synaptic\nbefore", "synaptic\nafter"],
    )
    ax[2].set_ylabel("tolerance: noise level at 50 % recall")
    ax[2].set_title("Sleep raises the noise tolerance", fontsize=10)
    ax[2].legend(fontsize=7)
    n = int(np.median(num(view, "model.n")))
    fig.suptitle(
        f"Recall robustness before vs after sleep (N = {n}): consolidated "
        "memories survive more neural and synaptic noise"
    )
    fig.tight_layout()
    return fig, rows


def robustness_notes(view: StoreView) -> str:
    return (
        "Recall: the fraction of replayed memories (attractors after wake) with "
        "at most "
        "0.2 N f wrong units after 50 synchronous steps without k-WTA, over "
        f"{view.setting('protocol', 'tests')} noise draws; neural noise flips active "
        "units off with probability level/2 and inactive ones on to balance; synaptic "
        "noise adds N(0, (level <u>)^2) to factor 1 of live synapses after scaling the "
        "mean live factor <u> to 0.1. Tolerance: the level at 50 % recall (linear "
        "interpolation of the median curve)."
    )
