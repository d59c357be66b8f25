"""Protocol-specific figures and summary tables for the Susman et al. model.

Every number shown is read from a results store written by `sleepjax run` /
`sleepjax demo` (never hard-coded).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..analysis import limit_cycle_stats  # noqa: E402


class StoreView:
    """Read-only helper over a `ResultStore`: per-network labels and variables."""

    def __init__(self, store):
        self.store = store
        self.config = store.attrs.get("config", {})
        self.time = np.asarray(store.read("time")) if store.has_time else None
        self.status = np.asarray(store.read("status"))

    def label(self, name: str, default):
        """Per-network value of a coordinate, or the config's value for all."""
        if name in self.store.coord_names:
            return np.asarray(self.store.read(name))
        section, _, key = name.partition(".")
        value = self.config.get(section, {}).get(key, default)
        return np.full(self.store.n_networks, value, dtype=object)

    def var(self, name: str) -> np.ndarray:
        return np.asarray(self.store.read(name), dtype=float)

    @property
    def ok(self) -> np.ndarray:
        return self.status == 0


def _band(ax, t, Y, color, label):
    """Median line and interquartile band over the rows of Y."""
    Y = Y[np.all(np.isfinite(Y), axis=1)]
    if len(Y) == 0:
        return
    q25, q50, q75 = np.percentile(Y, [25, 50, 75], axis=0)
    ax.plot(t, q50, color=color, label=f"{label} (n={len(Y)})")
    ax.fill_between(t, q25, q75, color=color, alpha=0.25, lw=0)


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


def erosion_report(view: StoreView):
    """Memory eigenvalue vs time per rule and code; lifetime table."""
    t = view.time
    rule = view.label("model.rule", "dissipation").astype(str)
    code = view.label("protocol.code", "imaginary").astype(str)
    t_ins = float(view.config.get("protocol", {}).get("t_insert", 3000.0))
    strength = memory_strength(view, code)
    # the bulk edge: circular-law radius sqrt(N var W) measured just before insertion
    n = int(view.config.get("model", {}).get("n", 128))
    w_std = view.var("w_std")
    pre = np.searchsorted(t, t_ins) - 1
    bulk = np.nanmedian(np.sqrt(n) * w_std[:, max(pre, 0)])
    threshold = max(1.0, 1.5 * bulk)
    alive = memory_alive(view, code, threshold)
    after = t > t_ins
    rules = [
        r for r in ("dissipation", "rate_control", "decorrelation") if r in set(rule)
    ]
    fig, axes = plt.subplots(
        1, len(rules), figsize=(4.2 * len(rules), 3.4), squeeze=False
    )
    rows = []
    for ax, r in zip(axes[0], rules, strict=True):
        life = {}
        for c, color in (("imaginary", "C0"), ("real", "C3")):
            sel = (rule == r) & (code == c) & view.ok
            if not sel.any():
                continue
            _band(ax, t[after], strength[sel][:, after], color, c)
            # lifetime: time after insertion until the memory is last seen alive
            al = alive[sel][:, after]
            ta = t[after] - t_ins
            lt = np.array([ta[a].max() if a.any() else 0.0 for a in al])
            life[c] = (np.median(lt), np.mean(al[:, -1]), int(sel.sum()))
        ax.axhline(threshold, color="gray", ls=":", lw=1, label="bulk edge ×1.5")
        ax.set_title(r.replace("_", " "))
        ax.set_xlabel("time (τ)")
        ax.set_yscale("log")
        ax.legend(fontsize=7)
        if "imaginary" in life and "real" in life:
            li, lr = life["imaginary"], life["real"]
            outlived = li[0] > 1.2 * lr[0] or (li[1] > 0.5 and lr[1] < 0.5)
            rows.append(
                {
                    "rule": r,
                    "imag lifetime (median)": f"{li[0]:.0f}",
                    "real lifetime (median)": f"{lr[0]:.0f}",
                    "imag alive at end": f"{li[1]:.0%}",
                    "real alive at end": f"{lr[1]:.0%}",
                    "imaginary outlived real": "yes" if outlived else "no",
                }
            )
    axes[0, 0].set_ylabel("memory eigenvalue (|Im λ| imag., Re λ real)")
    fig.suptitle("Erosion: memory eigenvalue after insertion (median, IQR over seeds)")
    fig.tight_layout()
    return fig, rows


def learning_report(view: StoreView):
    """|Im λ| and eigenplane overlap over time; fraction of seeds that learn (V5)."""
    t = view.time
    im = np.abs(view.var("mem_im")[..., 0])
    ov = view.var("plane_overlap")[..., 0]
    ok = view.ok
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    _band(axes[0], t, im[ok], "C0", "|Im λ| memory")
    _band(axes[1], t, ov[ok], "C2", "overlap(eigenplane, (u,v))")
    for ax, lab in zip(axes, ("|Im λ|", "plane overlap"), strict=True):
        ax.set_xlabel("time (τ)")
        ax.set_ylabel(lab)
        ax.legend(fontsize=7)
    fig.suptitle("Learning: an imaginary pair forms in the stimulated plane")
    fig.tight_layout()
    formed = (im[:, -1] > 1.0) & (ov[:, -1] > 0.5) & ok
    rows = [
        {
            "networks": int(ok.sum()),
            "formed and kept (|Im λ|>1, overlap>0.5 at end)": f"{formed.sum()} "
            f"({formed.sum() / max(ok.sum(), 1):.0%})",
            "median final |Im λ|": f"{np.nanmedian(im[ok, -1]):.2f}",
            "median final overlap": f"{np.nanmedian(ov[ok, -1]):.2f}",
        }
    ]
    return fig, rows


def limit_cycle_report(view: StoreView):
    """Trajectory in the cued plane; radius and frequency vs the 2-D reduction."""
    t = view.time
    pu, pv = view.var("p_u"), view.var("p_v")
    proto = view.config.get("protocol", {})
    k = int(proto.get("cue_plane", 0))
    rho = view.label("protocol.rho", 1.0).astype(float)
    gamma = view.label("protocol.gamma", 1.5).astype(float)
    tail = t >= t[-1] / 2
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    rows = []
    for i in range(pu.shape[0]):
        if not view.ok[i]:
            continue
        r, w = limit_cycle_stats(pu[i, tail, k], pv[i, tail, k], t[tail])
        r, w = float(r), abs(float(w))
        rows.append(
            {
                "network": i,
                "rho": f"{rho[i]:g}",
                "gamma": f"{gamma[i]:g}",
                "radius": f"{r:.3f}",
                "omega": f"{w:.3f}",
                "Hopf (γ>1)": "cycle" if r > 0.05 else "decays",
            }
        )
        if i < 6:
            axes[0].plot(
                pu[i, :, k], pv[i, :, k], lw=0.8, label=f"ρ={rho[i]:g}, γ={gamma[i]:g}"
            )
            axes[1].plot(t, np.hypot(pu[i, :, k], pv[i, :, k]), lw=0.8)
    for j in range(pu.shape[2]):
        if j != k and view.ok.any():
            axes[1].plot(
                t,
                np.hypot(pu[view.ok][0, :, j], pv[view.ok][0, :, j]),
                "k:",
                lw=0.8,
                label=f"plane {j} (not cued)",
            )
    axes[0].set_xlabel("p_u")
    axes[0].set_ylabel("p_v")
    axes[0].set_aspect("equal")
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("time (τ)")
    axes[1].set_ylabel("radius in plane")
    if axes[1].get_legend_handles_labels()[0]:
        axes[1].legend(fontsize=7)
    fig.suptitle("Associative retrieval: a cue evokes a limit cycle in its plane")
    fig.tight_layout()
    return fig, rows


def life_cycle_report(view: StoreView):
    """Responses to partial cues of each learned plane and to a novel pattern."""
    t = view.time
    pu, pv = view.var("p_u"), view.var("p_v")
    proto = view.config.get("protocol", {})
    t_ret = float(proto.get("t_retain", 3000.0))
    gap = float(proto.get("cue_gap", 100.0))
    n_planes = pu.shape[2]
    radius = np.hypot(pu, pv)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    names = [f"memory {j + 1}" for j in range(n_planes - 1)] + ["novel"]
    for j in range(n_planes):
        _band(axes[0], t, radius[view.ok][:, :, j], f"C{j}", names[j])
    axes[0].set_xlabel("time (τ)")
    axes[0].set_ylabel("radius in plane")
    axes[0].set_xlim(t_ret - 50, t[-1])
    axes[0].legend(fontsize=7)
    im = np.abs(view.var("mem_im"))
    for j in range(n_planes - 1):
        _band(axes[1], t, im[view.ok][:, :, j], f"C{j}", f"|Im λ| {names[j]}")
    axes[1].set_xlabel("time (τ)")
    axes[1].set_ylabel("|Im λ|")
    axes[1].legend(fontsize=7)
    fig.suptitle("Life cycle: learn two planes, retain, retrieve by partial cues")
    fig.tight_layout()
    rows = []
    for j in range(n_planes):
        t_on = t_ret + j * gap
        win = (t > t_on + 5) & (t <= t_on + gap)
        resp = radius[view.ok][:, win, j].mean(axis=1)
        rows.append(
            {
                "cue": names[j],
                "mean response radius (median over seeds)": f"{np.nanmedian(resp):.3f}",
                "responded (radius > 0.1)": f"{np.mean(resp > 0.1):.0%}",
            }
        )
    return fig, rows


REPORTS = {
    "erosion": erosion_report,
    "learning": learning_report,
    "limit_cycle": limit_cycle_report,
    "life_cycle": life_cycle_report,
}


def format_table(rows: list[dict]) -> str:
    """A plain-text table."""
    if not rows:
        return "(no finished networks to summarise)"
    cols = list(rows[0])
    width = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in cols}
    line = "  ".join(c.ljust(width[c]) for c in cols)
    out = [line, "  ".join("-" * width[c] for c in cols)]
    for r in rows:
        out.append("  ".join(str(r.get(c, "")).ljust(width[c]) for c in cols))
    return "\n".join(out)


def report(store, out_dir: str | Path, protocol: str | None = None) -> str:
    """Draw the protocol's figure to `out_dir/figure.png`, write
    `out_dir/summary.txt`, and return the summary table as text."""
    view = StoreView(store)
    protocol = protocol or view.config.get("protocol", {}).get("name")
    if protocol not in REPORTS:
        raise ValueError(f"no report for protocol {protocol!r}.")
    fig, rows = REPORTS[protocol](view)
    out_dir = Path(out_dir)
    fig.savefig(out_dir / "figure.png", dpi=120)
    plt.close(fig)
    text = format_table(rows)
    n_bad = int((view.status > 0).sum())
    if n_bad:
        text += f"\n{n_bad} network(s) failed (status > 0) and are excluded."
    (out_dir / "summary.txt").write_text(text + "\n")
    return text
