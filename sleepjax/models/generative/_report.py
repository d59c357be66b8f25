"""Figures and tables of the generative-memory runs, from the results store."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ...plot import spread

__all__ = ["REPORTS"]


def _grid(ax, images, titles):
    """Images `(e, panels, H, W, 3)` as one mosaic, one column per panel."""
    e, k = images.shape[:2]
    h, w = images.shape[2:4]
    canvas = np.ones((e * (h + 2), k * (w + 2), 3))
    for i in range(e):
        for j in range(k):
            canvas[i * (h + 2) : i * (h + 2) + h, j * (w + 2) : j * (w + 2) + w] = (
                images[i, j]
            )
    ax.imshow(np.clip(canvas, 0, 1), interpolation="nearest")
    ax.set_xticks([(w + 2) * (j + 0.5) for j in range(k)], titles, fontsize=7)
    ax.set_yticks([])


def consolidation_report(view):
    ok = view.ok
    t = view.time
    acc = view.var("decoding_accuracy")[ok]
    fig = plt.figure(figsize=(13, 7.5))
    ax = fig.add_subplot(2, 3, 1)
    for a in acc:
        ax.plot(t, a, "o-", ms=3, color="C0", alpha=0.8)
    ax.axhline(0.25, color="k", ls=":", lw=1, label="chance (4 shapes)")
    ax.set(xlabel="epoch of training on replays", ylabel="decoding accuracy (shape)")
    ax.set_ylim(0, 1)
    ax.set_title("semantic decoding of the VAE's latent means", fontsize=9)
    ax.legend(fontsize=7)
    ax = fig.add_subplot(2, 3, 2)
    for a in view.var("heldout_error")[ok]:
        ax.plot(t, a, "o-", ms=3, color="C1")
    ax.set(xlabel="epoch", ylabel="mean |x − x̂| (held-out images)")
    ax.set_title("reconstruction of new images", fontsize=9)
    ax = fig.add_subplot(2, 3, 3)
    names = [
        ("noisy_error_basic", "noisy, basic", "C2", "-"),
        ("noisy_error_extended", "noisy, extended", "C2", "--"),
        ("occluded_error_basic", "occluded, basic", "C3", "-"),
        ("occluded_error_extended", "occluded, extended", "C3", "--"),
    ]
    for name, label, c, ls in names:
        ax.plot(t, np.median(view.var(name)[ok], axis=0), ls, color=c, label=label)
    ax.set(xlabel="epoch", ylabel="mean |x − recall| per element")
    ax.set_title("recall of corrupted items: basic vs extended model", fontsize=9)
    ax.legend(fontsize=7)
    first = int(np.flatnonzero(ok)[0]) if ok.any() else 0
    ax = fig.add_subplot(2, 3, 4)
    _grid(
        ax,
        view.var("recall_grid")[first, -1],
        ["stored", "½ occluded cue", "retrieved", "noise", "replay"],
    )
    cov = view.var("replay_coverage")[first, -1]
    ax.set_title(
        f"hippocampus: one-shot recall and replay (coverage {cov:.0f})", fontsize=9
    )
    ax = fig.add_subplot(2, 3, (5, 6))
    _grid(
        ax,
        view.var("reconstruction_grid")[first, -1],
        ["original", "noisy", "basic", "extended", "occluded", "basic", "extended"],
    )
    ax.set_title(
        "after consolidation: basic (VAE) vs extended (VAE + stored detail)", fontsize=9
    )
    fig.tight_layout()
    rows = []
    v = {n: view.var(n)[:, -1] for n, *_ in names}
    for i in np.flatnonzero(ok):
        ob, oe = v["occluded_error_basic"][i], v["occluded_error_extended"][i]
        nb, ne = v["noisy_error_basic"][i], v["noisy_error_extended"][i]
        occl, noisy = f"{ob:.3f} / {oe:.3f}", f"{nb:.3f} / {ne:.3f}"
        rows.append(
            {
                "network": int(i),
                "decoding epoch 0": f"{view.var('decoding_accuracy')[i, 0]:.3f}",
                "decoding final": f"{view.var('decoding_accuracy')[i, -1]:.3f}",
                "epochs trained": int(view.var("epochs_trained")[i, -1]),
                "replay coverage": int(view.var("replay_coverage")[i, -1]),
                "occluded basic/extended": occl,
                "noisy basic/extended": noisy,
            }
        )
    return fig, rows


def consolidation_notes(view):
    return (
        "Decoding: logistic regression (JAX, C = 1) on standardised latent means, "
        "fitted on the first held-out items and tested on the rest; epoch 0 is the "
        "untrained VAE (the control). Spens & Burgess report 0.38 -> 0.83 over 50 "
        "epochs on Shapes3D with an RBF SVM; these are procedural shapes."
    )


def recall_report(view):
    ok = view.ok
    t = view.time
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for name, c, label in (
        ("cue_correct", "C0", "half-occluded cues that land on their own image"),
        ("noise_at_pattern", "C1", "noise queries that land on a stored image"),
        ("cue_cosine", "C2", "cosine of a cue's retrieval with its image"),
    ):
        a1.plot(
            t, np.median(view.var(name)[ok], axis=0), "o-", ms=3, color=c, label=label
        )
    a1.set(
        xlabel="retrieval iteration (model-B Euler steps)", ylabel="fraction / cosine"
    )
    a1.set_ylim(0, 1.02)
    a1.legend(fontsize=7)
    first = int(np.flatnonzero(ok)[0]) if ok.any() else 0
    _grid(
        a2,
        view.var("recall_grid")[first, -1],
        ["stored", "cue", "noise"],
    )
    a2.set_title(
        "after the last iteration: a stored image,\nthe retrieval from its "
        "½-occluded cue, a retrieval from noise",
        fontsize=8,
    )
    fig.suptitle(
        "Hippocampus (modern Hopfield network): one-shot storage, retrieval from "
        "partial cues and from noise (median over networks)",
        fontsize=10,
    )
    fig.tight_layout()
    rows = [
        {
            "network": int(i),
            "cues at own image": f"{view.var('cue_correct')[i, -1]:.3f}",
            "noise at a stored image": f"{view.var('noise_at_pattern')[i, -1]:.3f}",
            "replay coverage": int(view.var("replay_coverage")[i, -1]),
        }
        for i in np.flatnonzero(ok)
    ]
    return fig, rows


def dreaming_report(view):
    ok = view.ok
    keys = [view.label(f"model.{k}").astype(str) for k in ("wake", "nrem", "rem")]
    groups = {}
    for i in np.flatnonzero(ok):
        groups.setdefault(tuple(k[i] for k in keys), []).append(i)
    sep, occ = view.var("linear_separability"), view.var("occlusion_robustness")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    rows = []
    names = []
    for j, (g, idx) in enumerate(groups.items()):
        name = (
            "full"
            if all(v == "True" for v in g)
            else ", ".join(
                f"no {n}"
                for n, v in zip(("wake", "NREM", "REM"), g, strict=True)
                if v != "True"
            )
        )
        names.append(name)
        for ax, v in zip(axes, (sep, occ), strict=True):
            ax.bar(j, np.mean(v[idx, -1]), color=f"C{j}", alpha=0.7)
            ax.plot([j] * len(idx), v[idx, -1], "k.", ms=5)
        rows.append(
            {
                "condition": name,
                "seeds": len(idx),
                "linear separability": spread(sep[idx, -1]),
                "occlusion robustness": spread(occ[idx, -1]),
                "separability at epoch 0": spread(sep[idx, 0]),
            }
        )
    for ax, title in zip(
        axes,
        ("linear separability (clean)", "read-out of occluded images"),
        strict=True,
    ):
        ax.set_xticks(range(len(names)), names)
        ax.axhline(0.25, color="k", ls=":", lw=1)
        ax.set_ylim(0, 1)
        ax.set_title(title + " after training (dots: seeds)", fontsize=9)
    fig.tight_layout()
    return fig, rows


def dreaming_notes(view):
    return (
        "Median (range) over seeds of a logistic-regression read-out of the shape "
        "(chance 0.25). Deperrois et al.: removing REM lowers linear separability, "
        "removing NREM lowers robustness to occlusion."
    )


REPORTS = {
    "consolidation": (consolidation_report, consolidation_notes),
    "recall": (recall_report, None),
    "dreaming": (dreaming_report, dreaming_notes),
}
