"""Figures and tables of the Hopfield capacity and basins protocols: the
fraction of networks that retrieve the cued memory against the load M/N or
against the initial corruption, with the 50 % crossing marked. Every number
is read from the store or the run's configuration."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from ...plot import StoreView

#: Amit, Gutfreund & Sompolinsky (1985): N → ∞ critical load of the classical
#: network (retrieval states with overlap ≈ 0.97 vanish above it).
ALPHA_C = 0.138


def crossing(x, y, level: float = 0.5) -> float:
    """First x where y falls through `level` (y[i] ≥ level > y[i+1]), by linear
    interpolation between the two points; NaN if it never does. `x` sorted."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    for i in range(len(x) - 1):
        if y[i] >= level > y[i + 1]:
            return float(x[i] + (y[i] - level) * (x[i + 1] - x[i]) / (y[i] - y[i + 1]))
    return float("nan")


def wilson(k: np.ndarray, n: np.ndarray, z: float = 1.96):
    """Wilson score interval (95 %) of a binomial fraction k/n."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return mid - half, mid + half


def retrieval_curve(x, success):
    """Per distinct x (sorted): (x, fraction successful, count, Wilson low,
    Wilson high), over the networks with that x."""
    x = np.asarray(x, float)
    success = np.asarray(success, bool)
    xs = np.unique(x)
    n = np.array([np.sum(x == v) for v in xs])
    k = np.array([np.sum(success[x == v]) for v in xs])
    lo, hi = wilson(k, n)
    return xs, k / n, n, lo, hi


def other_groups(view: StoreView, skip: tuple[str, ...]):
    """(label, mask) per combination of swept coordinates other than `skip`
    and the seed, with the model's symbols; one group "" when there are none."""
    return view.groups(skip, label=lambda c, v: pretty(f"{SYMBOLS.get(c, c)} = {v}"))


def _finals(view: StoreView):
    ok = view.ok
    return (
        ok,
        view.var("retrieved")[:, -1] > 0.5,
        view.var("overlap")[:, -1],
        view.var("max_other")[:, -1],
    )


def threshold_text(view: StoreView) -> str:
    if "protocol.threshold" in view.store.coord_names:
        return "threshold (swept)"
    return f"{float(view.setting('protocol', 'threshold')):g}"


#: how swept option names are written in labels
SYMBOLS = {"n": "N", "n_patterns": "M"}

PRETTY = {
    "binary_async": "binary (asynchronous)",
    "binary_sync": "binary (synchronous)",
    "model_a": "model A",
    "model_b": "model B",
}


def pretty(text: str) -> str:
    """Network names as people write them."""
    for k, v in PRETTY.items():
        text = text.replace(k, v)
    return text


def _network(view: StoreView) -> str:
    names = np.unique(view.label("model.network").astype(str))
    return ", ".join(pretty(str(s)) for s in names)


# ------------------------------------------------------------------ capacity
def _loads(view: StoreView):
    m = view.label("model.n_patterns").astype(float)
    n = view.label("model.n").astype(float)
    return m / n, n


def capacity_report(view: StoreView):
    """Fraction of networks that stay at a stored memory against the load."""
    alpha, n = _loads(view)
    ok, success, overlap, other = _finals(view)
    groups = [
        (label, mask & ok) for label, mask in other_groups(view, ("model.n_patterns",))
    ]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    rows, found = [], []
    for j, (label, sel) in enumerate(groups):
        if not sel.any():
            continue
        color = f"C{j}"
        sizes = np.unique(n[sel])
        name = label or f"N = {', '.join(f'{s:g}' for s in sizes)}"
        xs, frac, cnt, lo, hi = retrieval_curve(alpha[sel], success[sel])
        a50 = crossing(xs, frac)
        found.append((name, a50))
        axes[0].errorbar(
            xs,
            frac,
            yerr=[frac - lo, hi - frac],
            color=color,
            marker="o",
            ms=4,
            capsize=2,
            label=f"{name}: 50 % at α = {a50:.3f}",
        )
        if math.isfinite(a50):
            axes[0].axvline(a50, color=color, ls="--", lw=1)
        jitter = (np.random.default_rng(0).random(sel.sum()) - 0.5) * 0.004
        axes[1].scatter(alpha[sel] + jitter, overlap[sel], s=6, color=color, alpha=0.4)
        med = [np.median(overlap[sel][alpha[sel] == v]) for v in xs]
        axes[1].plot(xs, med, color=color, lw=1.5, label=f"{name}: median")
        for v, f, c, ov in zip(xs, frac, cnt, med, strict=True):
            at = sel & (alpha == v)
            rows.append(
                {
                    "group": name,
                    "M": int(round(v * np.median(n[at]))),
                    "alpha = M/N": f"{v:.3f}",
                    "networks": int(c),
                    "retrieved": f"{int(round(f * c))}/{c} ({f:.0%})",
                    "final overlap (median)": f"{ov:.3f}",
                    "max other overlap (median)": f"{np.median(other[at]):.3f}",
                }
            )
    for ax in axes:
        ax.axvline(ALPHA_C, color="k", ls=":", lw=1, label=f"α_c = {ALPHA_C} (N → ∞)")
        ax.set_xlabel("load α = M / N (stored memories per neuron)")
    axes[0].axhline(0.5, color="gray", lw=0.8)
    axes[0].set_ylim(-0.02, 1.02)
    axes[0].set_ylabel(f"fraction retrieved (final overlap ≥ {threshold_text(view)})")
    axes[0].set_title("Retrieval against load, Wilson 95 % intervals", fontsize=10)
    axes[0].legend(fontsize=7, loc="lower left")
    axes[1].set_ylabel("final overlap with the memory (one dot per network)")
    axes[1].set_title("Above capacity the memory is lost (overlap ≪ 1)", fontsize=10)
    axes[1].legend(fontsize=7, loc="lower left")
    where = ", ".join(f"α₅₀ = {a:.3f} at {name}" for name, a in found)
    fig.suptitle(
        f"Capacity of the {_network(view)} network started at a stored memory\n"
        f"half the networks keep it up to {where} (N → ∞: α_c = {ALPHA_C})"
    )
    fig.tight_layout()
    return fig, rows


def capacity_notes(view: StoreView) -> str:
    alpha, n = _loads(view)
    ok, success, *_ = _finals(view)
    parts = []
    for label, mask in other_groups(view, ("model.n_patterns",)):
        sel = mask & ok
        if sel.any():
            xs, frac, *_ = retrieval_curve(alpha[sel], success[sel])
            a50 = crossing(xs, frac)
            parts.append(f"{label or 'all'}: alpha_50 = {a50:.3f}")
    return (
        "retrieved: the final overlap with the memory the network started from is "
        f">= the threshold ({threshold_text(view)}). alpha_50: load at which the "
        "retrieved fraction falls through 50 % (linear interpolation between "
        f"loads): {'; '.join(parts)}. The N -> infinity critical load of the "
        f"classical network is {ALPHA_C} (Amit, Gutfreund & Sompolinsky 1985); at "
        "finite N the crossing lies higher and approaches it slowly."
    )


# -------------------------------------------------------------------- basins
def basins_report(view: StoreView):
    """Final overlap and retrieval fraction against the initial corruption."""
    c = view.label("protocol.corruption").astype(float)
    ok, success, overlap, other = _finals(view)
    groups = other_groups(view, ("protocol.corruption",))
    alpha, _ = _loads(view)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    rows, found = [], []
    for j, (label, mask) in enumerate(groups):
        sel = mask & ok
        if not sel.any():
            continue
        color = f"C{j}"
        loads = f"α = {', '.join(f'{a:.3g}' for a in np.unique(alpha[sel]))}"
        name = f"{label} ({loads})" if label else loads
        xs, frac, cnt, lo, hi = retrieval_curve(c[sel], success[sel])
        c50 = crossing(xs, frac)
        found.append((name, c50))
        q = np.array(
            [np.percentile(overlap[sel][c[sel] == v], [25, 50, 75]) for v in xs]
        )
        axes[0].plot(xs, q[:, 1], color=color, marker="o", ms=3, label=name)
        axes[0].fill_between(xs, q[:, 0], q[:, 2], color=color, alpha=0.25, lw=0)
        axes[1].errorbar(
            xs,
            frac,
            yerr=[frac - lo, hi - frac],
            color=color,
            marker="o",
            ms=4,
            capsize=2,
            label=f"{name}: radius {c50:.3f}",
        )
        if math.isfinite(c50):
            axes[1].axvline(c50, color=color, ls="--", lw=1)
        for v, f, k in zip(xs, frac, cnt, strict=True):
            at = sel & (c == v)
            rows.append(
                {
                    "group": name,
                    "corruption": f"{v:.3f}",
                    "initial overlap": f"{1 - 2 * v:.3f}",
                    "networks": int(k),
                    "final overlap (median, min-max)": _spread3(overlap[at]),
                    "retrieved": f"{int(round(f * k))}/{k} ({f:.0%})",
                    "max other overlap (median)": f"{np.median(other[at]):.3f}",
                }
            )
    xs = np.unique(c)
    axes[0].plot(xs, 1 - 2 * xs, color="gray", ls=":", lw=1, label="initial overlap")
    axes[0].set_ylabel("final overlap with the cued memory (median, IQR)")
    axes[0].set_title("Where the cue ends up", fontsize=10)
    axes[1].axhline(0.5, color="gray", lw=0.8)
    axes[1].set_ylim(-0.02, 1.02)
    axes[1].set_ylabel(f"fraction retrieved (final overlap ≥ {threshold_text(view)})")
    axes[1].set_title(
        "Basin radius: corruption at which half the cues are retrieved", fontsize=10
    )
    for ax in axes:
        ax.set_xlabel("initial corruption (fraction of the memory's entries flipped)")
        ax.legend(fontsize=7, loc="lower left")
    radii = "; ".join(f"{name}: {r:.3f}" for name, r in found)
    fig.suptitle(
        f"Basins of attraction of the {_network(view)} network: half the cues are "
        f"retrieved up to this fraction flipped\n{radii}"
    )
    fig.tight_layout()
    return fig, rows


def _spread3(x) -> str:
    x = np.asarray(x)
    return f"{np.median(x):.3f} ({x.min():.3f}-{x.max():.3f})"


def basins_notes(view: StoreView) -> str:
    return (
        "corruption: the fraction of the cued memory's entries flipped in the "
        "initial state (initial overlap 1 - 2 x corruption); retrieved: final "
        "overlap within 1 - threshold of 1 (threshold "
        f"{threshold_text(view)}); radius: "
        "the corruption at which the retrieved fraction falls through 50 % "
        "(linear interpolation). Beyond 0.5 a cue is closer to the inverted "
        "memory -xi, which is also a fixed point of the binary network."
    )
