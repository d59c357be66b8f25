"""Figure of a fit: target vs fitted observables, loss curves, parameter traces."""

from __future__ import annotations

import math

import numpy as np


def _curves(a, k: int = 4):
    """(draws, T, ...) → (T, ≤k) for plotting: the first draw, the first `k`
    components (e.g. the first entry along a plane axis; the entries of a
    small matrix)."""
    a = np.asarray(a)[0]
    a = a.reshape(a.shape[0], -1)
    return a[:, : min(k, a.shape[1])]


def plot_fit(result, *, restart: int | None = None, max_panels: int = 8):
    """Matplotlib figure of a `FitResult`.

    One panel per observable (target data, the start and the fit of `restart`,
    default the best; first draw and first memory plane), then the loss curves
    of all restarts and the parameters' traces relative to their true values
    (or to their start values when the truth is unknown).

    **Returns:** the `matplotlib.figure.Figure` (not shown).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    r = result.best if restart is None else restart
    labels = dict(getattr(result, "labels", None) or {})
    obs = list(result.target)[:max_panels]
    n = len(obs) + 2
    rows = math.ceil(n / 4)
    cols = math.ceil(n / rows)  # 5 panels: 2 x 3, not 2 x 4 with 3 empty
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 2.8 * rows), squeeze=False
    )
    axes = axes.ravel()
    ts = result.ts
    for ax, nm in zip(axes, obs, strict=False):
        tgt = _curves(result.target[nm])
        ini = _curves(result.initial[nm][r])
        fit = _curves(result.fitted[nm][r])
        one = tgt.shape[1] == 1
        for c in range(tgt.shape[1]):
            col = "k" if one else f"C{c}"
            # The target is a wide translucent band under the dashed fit, so
            # both stay visible where they coincide.
            ax.plot(ts, tgt[:, c], "-", color=col, lw=4, alpha=0.3)
            ax.plot(ts, ini[:, c], ":", color="0.5", lw=1)
            ax.plot(ts, fit[:, c], "--", color="C3" if one else col, lw=1.5)
        title = labels.get(nm, nm)
        if not one:
            handles = [
                Line2D([], [], color=f"C{c}", lw=2, label=f"component {c}")
                for c in range(tgt.shape[1])
            ]
            ax.legend(handles=handles, fontsize=7, ncol=2, loc="best")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("t")
    styles = [
        Line2D([], [], color="0.3", lw=4, alpha=0.3, label="target (data)"),
        Line2D([], [], color="0.5", ls=":", label="start"),
        Line2D([], [], color="0.3", ls="--", lw=1.5, label=f"fitted (restart {r})"),
    ]
    fig.legend(
        handles=styles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.955),
        fontsize=8,
        ncol=3,
        frameon=False,
    )
    ax = axes[len(obs)]
    ax.semilogy(result.loss, color="0.6", lw=0.8)
    ax.semilogy(result.loss[:, r], "C3", lw=1.5)
    ax.set_title(f"loss (all restarts; restart {r} red)", fontsize=10)
    ax.set_xlabel("step")
    ax = axes[len(obs) + 1]
    ref = result.true_values if result.true_values is not None else result.init_values
    for i, nm in enumerate(result.names):
        tr = result.trace[nm][:, r].reshape(result.trace[nm].shape[0], -1)[:, 0]
        den = (
            np.asarray(ref[nm]).reshape(-1)[0]
            if result.true_values is not None
            else (np.asarray(ref[nm][r]).reshape(-1)[0])
        )
        ax.plot(tr / den, color=f"C{i}", label=nm)
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_title(
        ("value / true value" if result.true_values is not None else "value / start")
        + f" (restart {r})",
        fontsize=10,
    )
    ax.set_xlabel("step")
    ax.legend(fontsize=8)
    for ax in axes[n:]:
        ax.set_visible(False)
    title = ", ".join(
        f"{nm}={float(np.asarray(result.values[nm][r]).reshape(-1)[0]):.4g}"
        + (
            f" (true {float(np.asarray(result.true_values[nm]).reshape(-1)[0]):.4g})"
            if result.true_values is not None
            else ""
        )
        for nm in result.names
    )
    fig.suptitle(title, fontsize=9, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    return fig
