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

    One panel per observable (its first entry, first draw): the target data
    (a wide grey band), the given start (dotted) and the fit of `restart`
    (default: the best; dashed, in that restart's colour). Then the loss of
    every restart and each parameter's trace relative to its true value (or
    to the given start when the truth is unknown). Each restart has one
    colour in every panel; a dot marks where each restart started.

    **Returns:** the `matplotlib.figure.Figure` (not shown).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    r = result.best if restart is None else restart
    labels = dict(getattr(result, "labels", None) or {})
    unit = getattr(result, "time_units", "") or "time units"
    obs = list(result.target)[:max_panels]
    n_restarts = result.loss.shape[1]
    color = [f"C{k % 10}" for k in range(n_restarts)]
    names = list(result.names)
    n = len(obs) + 1 + len(names)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.8 * cols, 3.0 * rows), squeeze=False
    )
    axes = axes.ravel()
    ts = result.ts
    for ax, nm in zip(axes, obs, strict=False):
        tgt = _curves(result.target[nm], 1)[:, 0]
        ini = _curves(result.initial[nm][0], 1)[:, 0]
        fit = _curves(result.fitted[nm][r], 1)[:, 0]
        ax.plot(ts, tgt, "-", color="0.3", lw=5, alpha=0.3)
        ax.plot(ts, ini, ":", color="0.4", lw=1.2)
        ax.plot(ts, fit, "--", color=color[r], lw=1.5)
        title = labels.get(nm, nm)
        if np.asarray(result.target[nm]).ndim > 2:
            title += " [first entry]"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(f"time ({unit})", fontsize=8)
    styles = [
        Line2D([], [], color="0.3", lw=5, alpha=0.3, label="target (data)"),
        Line2D([], [], color="0.4", ls=":", label="given start (restart 0)"),
        Line2D([], [], color=color[r], ls="--", lw=1.5, label=f"fit (restart {r})"),
    ]
    fig.legend(
        handles=styles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.95),
        fontsize=8,
        ncol=3,
        frameon=False,
    )
    ax = axes[len(obs)]
    for k in range(n_restarts):
        ax.semilogy(
            result.loss[:, k], color=color[k], lw=1.5 if k == r else 0.8, label=f"{k}"
        )
        ax.plot(0, result.loss[0, k], "o", color=color[k], ms=4)
    ax.set_title("loss per restart (colour = restart)", fontsize=9)
    ax.set_xlabel("step", fontsize=8)
    if n_restarts > 1:
        ax.legend(fontsize=7, title="restart", title_fontsize=7, ncol=2)
    truth = result.true_values
    for ax, nm in zip(axes[len(obs) + 1 :], names, strict=False):
        if truth is not None:
            ref = float(np.asarray(truth[nm]).reshape(-1)[0])
        else:
            ref = float(np.asarray(result.init_values[nm][0]).reshape(-1)[0])
        for k in range(n_restarts):
            tr = result.trace[nm][:, k].reshape(result.trace[nm].shape[0], -1)[:, 0]
            ax.plot(tr / ref, color=color[k], lw=1.5 if k == r else 0.8)
            ax.plot(0, tr[0] / ref, "o", color=color[k], ms=4)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_title(
            f"{nm} / {'true value' if truth is not None else 'given start'}",
            fontsize=9,
        )
        ax.set_xlabel("step", fontsize=8)
    for ax in axes[n:]:
        ax.set_visible(False)
    title = ", ".join(
        f"{nm} = {float(np.asarray(result.values[nm][r]).reshape(-1)[0]):.4g}"
        + (
            f" (true {float(np.asarray(truth[nm]).reshape(-1)[0]):.4g})"
            if truth is not None
            else ""
        )
        for nm in names
    )
    fig.suptitle(f"Fit, best restart {r}: {title}", fontsize=9, y=0.995)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig
