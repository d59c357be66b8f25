"""Figures and tables of the generative-memory runs, from the results store."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ...data.shapes import SHAPES
from ...plot import draw_hypnogram

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
    ax.set_xticks(
        [(w + 2) * (j + 0.5) for j in range(k)],
        titles,
        fontsize=7,
        # long labels under narrow columns would touch
        rotation=25 if k > 5 or max(map(len, titles)) > 9 else 0,
    )
    ax.set_yticks([])


def _grid_blocks(ax, view, name: str, networks, titles, labels=None):
    """The image grid `name` after the last epoch: one network's rows, or, with
    `labels`, an equal block of rows from each of `networks`, each block
    labelled on the left."""
    grids = view.var(name)[:, -1]
    rows = max(1, grids.shape[1] // len(networks))
    _grid(ax, np.concatenate([grids[i, :rows] for i in networks]), titles)
    if labels is not None:
        h = grids.shape[3] + 2  # (networks, examples, panels, H, W, 3)
        ax.set_yticks(
            [h * rows * (j + 0.5) for j in range(len(networks))],
            labels,
            fontsize=7,
            rotation=90,
            va="center",
        )


def _share_text(view, name: str, i: int) -> str:
    """Shares of the shapes as percentages: "square 74, triangle 4, … %"."""
    parts = zip(SHAPES, view.var(name)[i, -1], strict=True)
    return ", ".join(f"{k} {100 * v:.0f}" for k, v in parts) + " %"


#: the hippocampus's similarity: its name and its line style
_SIMILARITY = {"dot": "dot product", "equal_norm": "equal-norm similarity"}
_SIMILARITY_STYLE = {"dot": "o-", "equal_norm": "^-."}


def _similarity_title(kind: str) -> str:
    return _SIMILARITY[kind] + (", a variant" if kind == "equal_norm" else "")


def _style(source, similarity) -> str:
    """Line style of a run: stored-image controls dashed, replays by the
    hippocampus's similarity."""
    return "s--" if source == "stored" else _SIMILARITY_STYLE[similarity]


#: swept settings that the consolidation figure draws as line styles
_STYLED = ("model.similarity", "protocol.train_on")


def _other_settings(view) -> tuple[np.ndarray, list[str]]:
    """Each network's group of the swept settings other than `_STYLED` and
    the seed (an index into the returned labels; one "" group if none)."""
    groups = view.groups(skip=_STYLED)
    which = np.zeros(view.store.n_networks, int)
    for g, (_, mask) in enumerate(groups):
        which[mask] = g
    return which, [text for text, _ in groups]


def consolidation_report(view):
    ok = view.ok
    t = view.time
    fig = plt.figure(figsize=(13, 7.5))
    ax = fig.add_subplot(2, 3, 1)
    group, settings = _other_settings(view)
    several = len(settings) > 1
    # read-outs by colour; with other swept settings, settings by colour and
    # the RBF read-out paler
    readouts = (
        ("decoding_accuracy", "logistic (linear)", "C0", 0.9),
        ("decoding_accuracy_rbf", "RBF kernel SVM (nonlinear)", "C4", 0.35),
    )
    source = view.label("protocol.train_on")
    similarity = view.label("model.similarity")
    style = [_style(a, b) for a, b in zip(source, similarity, strict=True)]
    mixed = len(set(similarity[ok & (source == "replays")])) > 1
    for name, label, color, alpha in readouts:
        for j, i in enumerate(np.flatnonzero(ok)):
            a = view.var(name)[i]
            ax.plot(
                t,
                a,
                style[i],
                ms=3,
                color=f"C{group[i]}" if several else color,
                alpha=alpha if several else 0.8,
                label=None if j or several else label,
            )
            ax.plot(t[0], a[0], "ks", ms=6, mfc="none")
    if several:
        for g, text in enumerate(settings):
            ax.plot([], [], "-", color=f"C{g}", label=text)
        for _, label, _, alpha in readouts:
            ax.plot([], [], "-", color="0.2", alpha=alpha, label=label)
    ax.plot([], [], "ks", ms=6, mfc="none", label="epoch 0: untrained VAE (control)")
    if "stored" in set(source[ok]):
        ax.plot([], [], "s--", color="0.3", ms=3, label="trained on the stored images")
    if mixed:
        style_eq = _SIMILARITY_STYLE["equal_norm"]
        ax.plot([], [], style_eq, color="0.3", ms=3, label="equal-norm hippocampus")
    ax.axhline(0.25, color="k", ls=":", lw=1, label="chance (4 shapes)")
    for y in (0.38, 0.83):
        ax.axhline(y, color="0.6", ls="--", lw=1)
    ax.plot([], [], "--", color="0.6", label="Spens & Burgess (Shapes3D): 0.38 → 0.83")
    on = "replays" if set(source[ok]) == {"replays"} else "replays or stored images"
    ax.set(xlabel=f"epoch of training on {on}", ylabel="decoding accuracy (shape)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, 1)
    ax.set_title("semantic decoding of the VAE's latent means", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    ax = fig.add_subplot(2, 3, 2)
    seen = set()
    for i in np.flatnonzero(ok):
        kind = (
            "trained on the stored images"
            if source[i] == "stored"
            else f"replays, {_SIMILARITY[similarity[i]]}"
        )
        if several:
            kind = f"{kind}; {settings[group[i]]}"
        ax.plot(
            t,
            view.var("heldout_error")[i],
            style[i],
            ms=3,
            color=f"C{group[i]}" if several else "C1",
            label=None if kind in seen else kind,
        )
        seen.add(kind)
    if len(seen) > 1:
        ax.legend(fontsize=7)
    ax.set(xlabel="epoch", ylabel="mean |x − x̂| (held-out images)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("reconstruction of new images", fontsize=9)
    ax = fig.add_subplot(2, 3, 3)
    names = [
        ("noisy_error_basic", "noisy, basic", "C2", "-"),
        ("noisy_error_extended", "noisy, extended", "C2", "--"),
        ("occluded_error_basic", "occluded, basic", "C3", "-"),
        ("occluded_error_extended", "occluded, extended", "C3", "--"),
    ]
    # the median over the networks trained on replays (all, if none is), of
    # the first group of other swept settings with a finished network
    g0 = group[np.flatnonzero(ok)[0]] if ok.any() else 0
    shown = ok & (group == g0)
    if (shown & (source == "replays")).any():
        shown &= source == "replays"
    for name, label, c, ls in names:
        ax.plot(t, np.median(view.var(name)[shown], axis=0), ls, color=c, label=label)
    ax.set(xlabel="epoch", ylabel="mean |x − recall| per element")
    ax.set_ylim(0, 1.45 * ax.get_ylim()[1])  # room for the legend above the curves
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    which = []
    if shown.sum() > 1:
        which.append(
            "median of the VAEs trained on replays"
            if shown.sum() < (ok & (group == g0)).sum()
            else f"median of {shown.sum()} networks"
        )
    if several:
        which.append(settings[g0])
    which = f"\n({'; '.join(which)})" if which else ""
    ax.set_title(
        f"recall of corrupted items: basic vs extended model{which}", fontsize=9
    )
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    first = int(np.flatnonzero(ok)[0]) if ok.any() else 0
    ax = fig.add_subplot(2, 3, 4)
    # with other swept settings, a block of rows from each setting's first
    # finished network, so every setting's images are seen
    firsts = [int(np.flatnonzero(ok & (group == g))[0]) for g in np.unique(group[ok])]
    blocks = firsts if several else [first]
    _grid_blocks(
        ax,
        view,
        "recall_grid",
        blocks,
        ["stored", "cue", "retrieved", "noise", "replay"],
        [settings[group[i]] for i in blocks] if several else None,
    )
    cov = view.var("replay_coverage")[first, -1]
    m = view.setting("model", "n_stored")
    which_first = settings[group[first]] if several else ""
    also = f", {which_first}" if several else ""
    ax.set_title(
        f"hippocampus ({_similarity_title(similarity[first])}):\n"
        "cue = stored image, right half unknown (grey);\n"
        f"replay = retrieval from noise (reaches {cov:.0f} of {m} stored{also})",
        fontsize=9,
    )
    ax.set_xlabel(
        f"replays by shape{f' ({which_first})' if several else ''}: "
        f"{_share_text(view, 'replay_shapes', first)}\n"
        f"(stored: {_share_text(view, 'stored_shapes', first)})",
        fontsize=8,
    )
    ax = fig.add_subplot(2, 3, (5, 6))
    _grid_blocks(
        ax,
        view,
        "reconstruction_grid",
        blocks,
        ["original", "noisy", "basic", "extended", "occluded", "basic", "extended"],
        [settings[group[i]] for i in blocks] if several else None,
    )
    ax.set_title(
        "after consolidation: noisy = some elements dropped, occluded = right half "
        "hidden;\nbasic = VAE reconstruction, extended = VAE + detail stored in "
        "the hippocampus",
        fontsize=9,
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
                "trained on": str(source[i]),
                "hippocampus": str(similarity[i]),
                **({"setting": settings[group[i]]} if several else {}),
                "decoding epoch 0": f"{view.var('decoding_accuracy')[i, 0]:.3f}",
                "decoding final": f"{view.var('decoding_accuracy')[i, -1]:.3f}",
                "RBF epoch 0": f"{view.var('decoding_accuracy_rbf')[i, 0]:.3f}",
                "RBF final": f"{view.var('decoding_accuracy_rbf')[i, -1]:.3f}",
                "epochs trained": int(view.var("epochs_trained")[i, -1]),
                "replay coverage": int(view.var("replay_coverage")[i, -1]),
                "replays by shape": _share_text(view, "replay_shapes", i),
                "occluded basic/extended": occl,
                "noisy basic/extended": noisy,
            }
        )
    return fig, rows


def consolidation_notes(view):
    return (
        "Decoding: logistic regression (C = 1) and, as RBF, an RBF support "
        "vector machine (one-vs-one, C = 1, gamma = 1/(F var), the read-out of "
        "Spens & Burgess) on standardised latent means, fitted on the first "
        "held-out items and tested on the rest; epoch 0 is the untrained VAE "
        "(the control). Spens & Burgess report 0.38 -> 0.83 over 50 epochs on "
        "Shapes3D; these are procedural shapes."
    )


def recall_report(view):
    ok = view.ok
    t = view.time
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    similarity = view.label("model.similarity")
    kinds = list(dict.fromkeys(similarity[ok]))
    measures = (
        ("cue_correct", "C0", "half-occluded cues that land on their own image"),
        ("noise_at_pattern", "C1", "noise queries that land on a stored image"),
        ("cue_cosine", "C2", "cosine of a cue's retrieval with its image"),
    )
    for kind in kinds:
        sel = ok & (similarity == kind)
        for name, c, label in measures:
            a1.plot(
                t,
                np.median(view.var(name)[sel], axis=0),
                _SIMILARITY_STYLE[kind],
                ms=3,
                color=c,
                label=label if kind == kinds[0] else None,
            )
    if len(kinds) > 1:  # line styles name the hippocampi
        for kind in kinds:
            a1.plot(
                [],
                [],
                _SIMILARITY_STYLE[kind],
                ms=3,
                color="0.3",
                label=_similarity_title(kind),
            )
    a1.set(xlabel="retrieval iteration", ylabel="fraction / cosine")
    a1.set_ylim(0, 1.02)
    a1.legend(fontsize=7)
    first = int(np.flatnonzero(ok)[0]) if ok.any() else 0
    _grid(
        a2,
        view.var("recall_grid")[first, -1],
        ["stored", "from cue", "from noise"],
    )
    shown = f" ({_similarity_title(similarity[first])})" if len(kinds) > 1 else ""
    a2.set_title(
        f"after the last iteration{shown}: a stored image,\nthe retrieval from "
        "its ½-occluded cue, a retrieval from noise",
        fontsize=8,
    )
    which = _similarity_title(kinds[0]) if len(kinds) == 1 else "two similarities"
    fig.suptitle(
        f"Hippocampus (modern Hopfield network, {which}): one-shot storage, "
        "retrieval from partial cues and from noise (median over networks)",
        fontsize=10,
    )
    fig.tight_layout()
    rows = [
        {
            "network": int(i),
            "hippocampus": str(similarity[i]),
            "cues at own image": f"{view.var('cue_correct')[i, -1]:.3f}",
            "noise at a stored image": f"{view.var('noise_at_pattern')[i, -1]:.3f}",
            "replay coverage": int(view.var("replay_coverage")[i, -1]),
        }
        for i in np.flatnonzero(ok)
    ]
    return fig, rows


def _mean_sd(x) -> str:
    """`mean ± sd (n)` of the finite values (sample standard deviation)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "-"
    sd = np.std(x, ddof=1) if x.size > 1 else 0.0
    return f"{np.mean(x):.3f} ± {sd:.3f}"


def _condition(g) -> str:
    """The condition's name: "full", "wake only", or the phases that are off
    ("no NREM", …)."""
    if all(v == "True" for v in g):
        return "full"
    if [v == "True" for v in g] == [True, False, False]:
        return "wake only"
    off = [n for n, v in zip(("wake", "NREM", "REM"), g, strict=True) if v != "True"]
    return ", ".join(f"no {n}" for n in off)


_PHASES = ("model.wake", "model.nrem", "model.rem")


def _dream_conditions(view) -> list[tuple[str, str, np.ndarray]]:
    """`(phases, others, indices)` of the finished networks per condition:
    the phases that are off ("full" when none), the other swept settings
    ("" when none)."""
    keys = [view.label(k).astype(str) for k in _PHASES]
    out = []
    for text, mask in view.groups(skip=_PHASES):
        conds: dict[tuple, list[int]] = {}
        for i in np.flatnonzero(mask & view.ok):
            conds.setdefault(tuple(k[i] for k in keys), []).append(i)
        for g, idx in conds.items():
            out.append((_condition(g), text, np.asarray(idx)))
    return out


def _dream_groups(view) -> list[tuple[str, np.ndarray]]:
    """`(name, indices)` per condition (`_dream_conditions`, one name)."""
    return [
        (f"{phases}, {text}" if text else phases, idx)
        for phases, text, idx in _dream_conditions(view)
    ]


def _paired_against_full(view) -> list[str]:
    """With paired seeds, each condition against the full model with the same
    other settings, seed by seed: the mean difference (condition − full) of
    each final read-out, and in how many seeds it is higher and lower."""
    if not view.config.get("sweep", {}).get("paired"):
        return []
    seed = view.label("seed")
    sep, occ = view.var("linear_separability"), view.var("occlusion_robustness")
    what = {
        "separability": sep[:, -1],
        "occluded read-out": occ[:, -1],
        "clean − occluded": sep[:, -1] - occ[:, -1],
        "occluded / between distance": view.var("occlusion_distance")[:, -1],
    }
    conds = _dream_conditions(view)
    full = {text: idx for phases, text, idx in conds if phases == "full"}
    lines = []
    for phases, text, idx in conds:
        if phases == "full" or text not in full:
            continue
        ref = {seed[i]: i for i in full[text]}
        pairs = [(i, ref[seed[i]]) for i in idx if seed[i] in ref]
        if not pairs:
            continue
        parts = []
        for name, v in what.items():
            d = np.array([v[i] - v[j] for i, j in pairs])
            mean = f"{np.mean(d):+.3f}".replace("-", "−")
            parts.append(
                f"{name} {mean} (higher in {np.sum(d > 0)}, lower in {np.sum(d < 0)})"
            )
        name = f"{phases}, {text}" if text else phases
        lines.append(f"{name} − full, {len(pairs)} paired seeds: " + "; ".join(parts))
    return lines


def _hypnograms(fig, cell, t, stages, names):
    """Each condition's hypnogram over training (its first network): every
    mini-batch in its stage, in training order (`sleepjax.plot.
    draw_hypnogram`), one row per condition on a shared time axis."""
    rows = cell.subgridspec(len(stages), 1, hspace=0.15)
    axes = []
    for row, (code, name) in enumerate(zip(stages, names, strict=True)):
        ax = fig.add_subplot(rows[row], sharex=axes[0] if axes else None)
        code = np.asarray(code)[:-1]  # (epochs, batches); the last save starts none
        nb = code.shape[1]
        x = (t[:-1, None] + np.arange(nb) / nb * np.diff(t)[:, None]).ravel()
        seq = code.ravel()
        draw_hypnogram(ax, np.r_[x, t[-1]], np.r_[seq, seq[-1]])
        ax.tick_params(axis="y", labelsize=6)
        ax.set_ylabel(name, fontsize=7, rotation=0, ha="right", va="center")
        ax.label_outer()
        axes.append(ax)
    axes[0].set_xlim(t[0], t[-1])
    axes[-1].set_xlabel("training epoch")
    axes[0].set_title(
        "stages over training (first network of each condition; each "
        "mini-batch in its stage, in training order)",
        fontsize=9,
        loc="left",
    )


def _bars(ax, v, groups, names, ylabel, chance=None):
    """Per condition: the mean after training (bar), each seed (dots) and
    the mean before training (dashes)."""
    for j, (_, idx) in enumerate(groups):
        ax.bar(j, np.mean(v[idx, -1]), color=f"C{j}", alpha=0.7)
        ax.plot([j] * len(idx), v[idx, -1], "k.", ms=6)
        ax.plot([j - 0.4, j + 0.4], [np.mean(v[idx, 0])] * 2, "k--", lw=1)
    long = max(map(len, names), default=0) > 12
    ax.set_xticks(
        range(len(names)),
        names,
        rotation=15 if long else 0,
        ha="right" if long else "center",
        fontsize=8 if long else None,
    )
    if chance is not None:
        ax.axhline(chance, color="k", ls=":", lw=1)
        ax.set_ylim(0, 1)
    ax.set_ylabel(ylabel)


def _curves(ax, t, v, groups, names):
    """Per condition: each seed (thin) and the mean (dots) over training."""
    for j, ((_, idx), name) in enumerate(zip(groups, names, strict=True)):
        for i in idx:
            ax.plot(t, v[i], "-", color=f"C{j}", lw=0.8, alpha=0.5)
        ax.plot(t, np.mean(v[idx], axis=0), "o-", ms=3, color=f"C{j}", label=name)
    ax.set_xlabel("training epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def dreaming_report(view):
    t = view.time
    groups = _dream_groups(view)
    names = [name for name, _ in groups]
    sep, occ = view.var("linear_separability"), view.var("occlusion_robustness")
    cls, occd = view.var("class_distance"), view.var("occlusion_distance")
    nights = "stages" in view.store.variables
    strip = 0.4 + 1.1 * len(groups)  # inches of hypnograms, with nights
    fig = plt.figure(figsize=(15, 9.2 + strip * nights))
    grid = fig.add_gridspec(2 + nights, 3, height_ratios=(4.3, 4.3) + (strip,) * nights)
    ax = [[fig.add_subplot(grid[r, c]) for c in range(3)] for r in range(2)]
    rows = []
    for name, idx in groups:
        rows.append(
            {
                "condition": name,
                "seeds": len(idx),
                "linear separability": _mean_sd(sep[idx, -1]),
                "occlusion robustness": _mean_sd(occ[idx, -1]),
                "clean − occluded": _mean_sd(sep[idx, -1] - occ[idx, -1]),
                "within / between class distance": _mean_sd(cls[idx, -1]),
                "occluded / between class distance": _mean_sd(occd[idx, -1]),
                "separability, untrained": _mean_sd(sep[idx, 0]),
                "occlusion, untrained": _mean_sd(occ[idx, 0]),
                "occluded distance, untrained": _mean_sd(occd[idx, 0]),
            }
        )
    if nights:
        codes = view.var("stages")
        _hypnograms(fig, grid[2, :], t, [codes[idx[0]] for _, idx in groups], names)
    epochs = int(round(t[-1])) if t is not None and len(t) else 0
    after = f"after {epochs} epochs\nbars: mean; dots: seeds; dashes: untrained"
    # top row: what a linear read-out gets from the latents
    _curves(ax[0][0], t, sep, groups, names)
    ax[0][0].axhline(0.25, color="k", ls=":", lw=1, label="chance (4 shapes)")
    ax[0][0].set(ylabel="linear read-out accuracy (shape)", ylim=(0, 1))
    ax[0][0].set_title("linear separability of the latents during training", fontsize=9)
    ax[0][0].legend(fontsize=7)
    _bars(ax[0][1], sep, groups, names, "accuracy after training (shape)", 0.25)
    ax[0][1].set_title(
        f"linear separability (clean images) {after}; dotted: chance", fontsize=9
    )
    _bars(ax[0][2], occ, groups, names, "accuracy after training (shape)", 0.25)
    ax[0][2].set_title(
        f"read-out of tile-occluded images {after}; dotted: chance", fontsize=9
    )
    # bottom row: the latents' geometry (lower is better)
    _curves(ax[1][0], t, occd, groups, names)
    ax[1][0].set(ylabel="clean–occluded / between-class distance", ylim=(0, None))
    ax[1][0].set_title(
        "how far occlusion moves a latent, during training (lower: more robust)",
        fontsize=9,
    )
    ax[1][0].legend(fontsize=7)
    _bars(ax[1][1], cls, groups, names, "within / between-class distance")
    ax[1][1].set_title(f"shape clusters (lower: tighter) {after}", fontsize=9)
    _bars(ax[1][2], occd, groups, names, "clean–occluded / between-class distance")
    ax[1][2].set_title(f"occlusion shift (lower: more robust) {after}", fontsize=9)
    fig.suptitle(
        "Perturbed and adversarial dreaming (Deperrois et al. 2022): expected, "
        "no REM lowers separability (and loosens the shape clusters); no NREM "
        "lowers the occluded read-out (and occlusion moves latents further)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig, rows


def dreaming_notes(view):
    text = (
        "Mean ± standard deviation over seeds of a logistic-regression read-out "
        "of the shape from the encoder's latents (chance 0.25), after the last "
        "epoch and before training (untrained). Occlusion robustness: the same "
        "read-out, fitted on clean latents, tested on tile-occluded images; "
        "clean − occluded: what occlusion costs the read-out (per network). "
        "Distances are mean squared distances between latents of held-out "
        "images: within / between class: same shape against different shapes "
        "(Deperrois et al. Fig. 6e); occluded / between class: an image and "
        "its occluded version against different shapes (Fig. 6f); lower is "
        "better for both. Deperrois et al.: removing REM lowers linear "
        "separability, removing NREM lowers robustness to occlusion."
    )
    paired = _paired_against_full(view)
    if paired:
        text += "\n\nPaired seeds (the same initial networks, data and noise):\n"
        text += "\n".join(f"- {line}" for line in paired)
    return text


REPORTS = {
    "consolidation": (consolidation_report, consolidation_notes),
    "recall": (recall_report, None),
    "dreaming": (dreaming_report, dreaming_notes),
}
