"""Figures and tables of the memory-reorganisation task and of the rate
lattice's travelling waves, drawn from a results store."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

from ...analysis import chain_wave, classify_updown, onsets, sheet_wave
from ...plot import StoreView, band
from ._report_util import mean_sem

# up/down thresholds of a site's E rate and the largest neighbour delay (ms)
UP, DOWN, MAX_LAG = 0.5, 0.2, 100.0


def _nanmean(x) -> float:
    """Mean of the finite values (NaN, without a warning, when none)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


# -------------------------------------------------------------------- task
def task_report(view: StoreView):
    """Both sets' weights across the run, the readouts before and after sleep."""
    ok = view.ok
    t = view.time / 1000.0
    wg, wl, wo = (view.var(k)[ok] for k in ("w_global", "w_local", "w_other"))
    eg, el = view.var("events_global")[ok], view.var("events_local")[ok]
    pre, post = view.var("readout_pre")[ok, -1], view.var("readout_post")[ok, -1]
    t_wake = float(view.setting("protocol", "t_wake")) / 1000.0
    t_sleep = float(view.setting("protocol", "t_sleep")) / 1000.0
    t_on = float(view.setting("protocol", "t_on")) / 1000.0
    fig, axes = plt.subplots(
        1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [2, 1.2, 1]}
    )
    ax = axes[0]
    band(ax, t, wg, "C3", "global-up set")
    band(ax, t, wl, "C4", "local-up set")
    band(ax, t, wo, "0.5", "never reactivated")
    for x, lab in (
        (t_wake, "sleep"),
        (t_wake + t_on, "plasticity on"),
        (t_wake + t_sleep, "wake test"),
    ):
        ax.axvline(x, color="k", lw=0.7, ls=":")
        ax.text(x, ax.get_ylim()[1], f" {lab}", fontsize=7, va="top")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mean weight onto E cell 0 (mV)")
    ax.set_title("Weights of the two reactivated sets", fontsize=10)
    ax.legend(fontsize=7, loc="lower left")
    ax = axes[1]
    band(ax, t, eg, "C3", "global-up set")
    band(ax, t, el, "C4", "local-up set")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("reactivations given (cumulative)")
    ax.set_title("Reactivations in sleep", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[2]
    for i, vals in enumerate((pre, post)):
        m, s, _ = mean_sem(vals)
        ax.bar(i, m, yerr=s, color=("0.6", "C2")[i], capsize=3)
        ax.plot(
            np.full(vals.size, i) + np.linspace(-0.2, 0.2, vals.size), vals, "k.", ms=3
        )
    ax.set_xticks([0, 1], ["before sleep", "after sleep"])
    ax.set_ylabel("E cell 0 rate in the wake test (Hz)")
    ax.set_title("Readout: both sets at the wake rate", fontsize=10)
    dg = 100 * (wg[:, -1] - wg[:, 0]) / wg[:, 0]
    dl = 100 * (wl[:, -1] - wl[:, 0]) / wl[:, 0]
    both = int(np.sum((dg > 0) & (dl < 0)))
    fig.suptitle(
        f"Memory reorganisation ({view.setting('protocol', 'condition')}): the "
        f"global-up set changes by {np.mean(dg):+.1f} %, the local-up set by "
        f"{np.mean(dl):+.1f} % (means over {len(dg)} networks; global gains and "
        f"local loses in {both})"
    )
    fig.tight_layout()
    rows = []
    for name, w, d, e in (("global-up set", wg, dg, eg), ("local-up set", wl, dl, el)):
        m, s, n = mean_sem(d)
        rows.append(
            {
                "inputs": name,
                "w start (mV)": f"{np.mean(w[:, 0]):.4f}",
                "w end (mV)": f"{np.mean(w[:, -1]):.4f}",
                "change (%)": f"{m:+.2f} ± {s:.2f}",
                "networks gaining": f"{int(np.sum(d > 0))}/{n}",
                "reactivations": f"{np.mean(e[:, -1]):.0f}",
            }
        )
    for name, vals in (("readout before sleep", pre), ("readout after sleep", post)):
        m, s, _ = mean_sem(vals)
        rows.append({"inputs": name, "w end (mV)": f"{m:.2f} ± {s:.2f} Hz"})
    return fig, rows


def task_notes(view: StoreView) -> str:
    return (
        "change: 100 (w_end - w_start)/w_start of each set's mean weight, mean ± "
        "sem over networks. SPEC Y4: inputs reactivated in global up states "
        "mostly potentiate (consolidation), those reactivated in local up states "
        "mostly depress."
    )


# ------------------------------------------------------------------- waves
def wave_stats(rE: np.ndarray, dt: float) -> dict[str, np.ndarray]:
    """Per network: wave delay, speed (sites/s), direction, coherence and the
    up-onset frequency per site (Hz) of E rates `(networks, T, sites...)`."""
    lag = int(round(MAX_LAG / dt))
    x = jnp.asarray(rE)

    def one(r):
        on = onsets(classify_updown(r, UP, DOWN))
        stats = (
            chain_wave(on, dt, 1.0, lag)
            if r.ndim == 2
            else sheet_wave(on, dt, 1.0, lag)
        )
        stats = dict(stats)
        stats["frequency"] = 1000.0 * jnp.mean(on) / dt
        stats["speed"] = 1000.0 * stats["speed"]  # sites per s
        return stats

    return {k: np.asarray(v) for k, v in jax.vmap(one)(x).items()}


def _swept(view: StoreView) -> list[str]:
    return [c for c in view.store.coord_names if c != "seed"]


def waves_report(view: StoreView):
    """A sweep: heatmaps of wave measures; otherwise space-time plots."""
    ok = view.ok
    dt = float(view.time[1] - view.time[0])
    rE = view.var("rE")
    st = wave_stats(rE, dt)
    coords = _swept(view)
    numeric = [c for c in coords if c.startswith("model.")]
    if len(numeric) == 2:
        return _heatmaps(view, st, numeric, ok)
    return _spacetime(view, rE, st, coords, ok, dt)


def _heatmaps(view, st, coords, ok):
    cx, cy = coords
    xs, ys = view.label(cx).astype(float), view.label(cy).astype(float)
    ux, uy = np.unique(xs), np.unique(ys)
    names = (
        ("coherence", "coherence: onsets matched by a neighbour"),
        ("direction", "direction (mean sign of the delays)"),
        ("speed", "speed (sites/s)"),
        ("frequency", "up onsets per site (Hz)"),
    )
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.3))
    rows = []
    grids = {}
    for key, _ in names:
        G = np.full((uy.size, ux.size), np.nan)
        for i, yv in enumerate(uy):
            for j, xv in enumerate(ux):
                sel = ok & (xs == xv) & (ys == yv)
                G[i, j] = _nanmean(st[key][sel]) if sel.any() else np.nan
        grids[key] = G
    for ax, (key, title) in zip(axes, names, strict=True):
        G = grids[key]
        kw = {"cmap": "RdBu_r", "vmin": -1, "vmax": 1} if key == "direction" else {}
        im = ax.imshow(G, origin="lower", aspect="auto", **kw)
        ax.set_xticks(range(ux.size), [f"{v:g}" for v in ux], fontsize=7)
        ax.set_yticks(range(uy.size), [f"{v:g}" for v in uy], fontsize=7)
        ax.set_xlabel(cx.partition(".")[2])
        ax.set_ylabel(cy.partition(".")[2])
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8)
        for i in range(uy.size):
            for j in range(ux.size):
                if np.isfinite(G[i, j]):
                    ax.text(
                        j, i, f"{G[i, j]:.2g}", ha="center", va="center", fontsize=6
                    )
    for i, yv in enumerate(uy):
        for j, xv in enumerate(ux):
            rows.append(
                {
                    cx.partition(".")[2]: f"{xv:g}",
                    cy.partition(".")[2]: f"{yv:g}",
                    **{k: f"{grids[k][i, j]:.3g}" for k, _ in names},
                }
            )
    fig.suptitle(
        "Where travelling waves appear in the E–I rate lattice "
        f"({view.setting('model', 'n_x')} × {view.setting('model', 'n_y')} sites, "
        f"drive gradient {view.setting('model', 'wave_gradient')}): coherent, "
        "one-directional waves need coupling, and noise breaks them up "
        "(mean over seeds)"
    )
    fig.tight_layout()
    return fig, rows


def _spacetime(view, rE, st, coords, ok, dt):
    idx = np.flatnonzero(ok)
    labels = [
        ", ".join(f"{c.partition('.')[2]}={view.label(c)[i]}" for c in coords)
        for i in range(len(ok))
    ]
    groups = list(dict.fromkeys(labels[i] for i in idx))[:3]
    fig, axes = plt.subplots(
        1, len(groups), figsize=(6 * len(groups), 4.6), squeeze=False
    )
    t = view.time / 1000.0
    show = t <= min(t[-1], 6.0)
    rows = []
    for ax, g in zip(axes[0], groups, strict=True):
        sel = np.array([labels[i] == g for i in range(len(ok))]) & ok
        i0 = int(np.flatnonzero(sel)[0])
        r = rE[i0]
        img = r if r.ndim == 2 else r[:, :, r.shape[2] // 2]
        ax.imshow(
            img[show].T,
            origin="lower",
            aspect="auto",
            cmap="magma",
            extent=(t[show][0], t[show][-1], -0.5, img.shape[1] - 0.5),
        )
        ax.set_xlabel("time (s)")
        ax.set_ylabel("site x")
        d = st["direction"][sel]
        ax.set_title(
            f"{g or 'all networks'}: E rate (bright = up)\ndirection "
            f"{_nanmean(d):+.2f}, speed {_nanmean(st['speed'][sel]):.0f} sites/s",
            fontsize=9,
        )
        delay = st["delay"] if "delay" in st else st["delay_x"]
        rows.append(
            {
                "group": g or "all networks",
                "networks": int(sel.sum()),
                "direction": f"{_nanmean(d):+.2f}",
                "speed (sites/s)": f"{_nanmean(st['speed'][sel]):.1f}",
                "delay per site (ms)": f"{_nanmean(delay[sel]):+.1f}",
                "coherence": f"{_nanmean(st['coherence'][sel]):.2f}",
                "up onsets per site (Hz)": f"{_nanmean(st['frequency'][sel]):.2f}",
            }
        )
    fig.suptitle(
        "Up states of the E–I rate lattice travel as waves (direction +1: "
        "towards increasing x, −1: towards decreasing x)"
    )
    fig.tight_layout()
    return fig, rows


def waves_notes(view: StoreView) -> str:
    return (
        f"A site is up from r_E > {UP} until r_E < {DOWN}; for each up onset the "
        f"delay to the nearest onset of the next site (within {MAX_LAG:g} ms) "
        "gives the direction (mean sign), the speed (1 / mean |delay|, sites per "
        "s) and the coherence (fraction of onsets so matched). Means over "
        "networks."
    )
