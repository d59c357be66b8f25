"""Protocol-specific figures and summary tables for the Susman et al. model.

Every number shown is read from a results store written by `sleepjax run` /
`sleepjax demo`, or computed from the run's configuration (a setting the
config leaves out is the default of `SusmanOptions`, `SusmanParams` or the
protocol function); none is hard-coded.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter  # noqa: E402

from ..analysis import limit_cycle_stats, reduced_limit_cycle_rhs  # noqa: E402
from ..models import susman  # noqa: E402

TIME = "time (units of the neuronal time constant τ)"


class StoreView:
    """Read-only helper over a `ResultStore`: per-network labels and variables."""

    def __init__(self, store):
        self.store = store
        self.config = store.attrs.get("config", {})
        self.time = np.asarray(store.read("time")) if store.has_time else None
        self.status = np.asarray(store.read("status"))

    def setting(self, section: str, key: str):
        """A run-wide setting: the config's value, else the model's or the
        protocol function's default."""
        value = self.config.get(section, {}).get(key)
        if value is not None:
            return value
        if section == "model":
            for cls in (susman.SusmanOptions, susman.SusmanParams):
                fields = {f.name: f.default for f in dataclasses.fields(cls)}
                if key in fields:
                    return fields[key]
        if section == "protocol":
            fn = getattr(susman, self.config.get("protocol", {}).get("name", ""))
            param = inspect.signature(fn).parameters.get(key)
            if param is not None and param.default is not inspect.Parameter.empty:
                return param.default
        raise KeyError(f"no setting [{section}] {key}")

    def label(self, name: str) -> np.ndarray:
        """Per-network value of a swept coordinate, or the run-wide setting."""
        if name in self.store.coord_names:
            return np.asarray(self.store.read(name))
        section, _, key = name.partition(".")
        return np.full(self.store.n_networks, self.setting(section, key), dtype=object)

    def var(self, name: str) -> np.ndarray:
        return np.asarray(self.store.read(name), dtype=float)

    @property
    def ok(self) -> np.ndarray:
        return self.status == 0


def _band(ax, t, Y, color, label):
    """Median line with an interquartile band (and the range, lighter) over the
    rows of Y."""
    Y = Y[np.all(np.isfinite(Y), axis=1)]
    if len(Y) == 0:
        return
    q0, q25, q50, q75, q100 = np.percentile(Y, [0, 25, 50, 75, 100], axis=0)
    ax.plot(t, q50, color=color, lw=1.6, label=f"{label} (median, n={len(Y)})")
    ax.fill_between(t, q25, q75, color=color, alpha=0.3, lw=0)
    if len(Y) > 2:
        ax.fill_between(t, q0, q100, color=color, alpha=0.12, lw=0)


def _plain_log(ax):
    """Log y axis with plain (not 10^k) labels on the major ticks only."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    fmt = ScalarFormatter()
    fmt.set_scientific(False)
    ax.yaxis.set_major_formatter(fmt)
    ax.yaxis.set_minor_formatter(NullFormatter())


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
    rules = [r for r in susman.RULES if r in set(rule)]
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
            _band(ax, ta, np.maximum(strength[sel][:, after], floor), color, name)
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
        _plain_log(ax)
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
            "final |Im λ| (median, min-max)": _spread(im[ok, -1]),
            "final overlap (median, min-max)": _spread(ov[ok, -1]),
        }
    ]
    return fig, rows


def learning_notes(view: StoreView) -> str:
    return (
        "formed and kept: at the end of the run |Im λ| > 1 and the overlap of the "
        "memory eigenvector's plane with span(u, v) > 0.5."
    )


def _spread(x) -> str:
    x = np.asarray(x)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "-"
    return f"{np.median(x):.2f} ({x.min():.2f}-{x.max():.2f})"


def reduced_cycles(rho, gamma, t_end: float = 200.0, h: float = 0.01):
    """Radius and |ω| of the reduced 2-D system (SPEC V4) for each (ρ, γ),
    started from (A, B) = (1, 0), classical RK4 of step h (one jitted scan,
    vectorised over the pairs), statistics over the last 40 % of [0, t_end]."""
    import jax
    import jax.numpy as jnp

    rho = jnp.asarray(rho, dtype=float)
    gamma = jnp.asarray(gamma, dtype=float)
    every = 10
    n_out = round(t_end / h) // every

    def f(y):
        return jnp.stack(reduced_limit_cycle_rhs(y[0], y[1], rho, gamma))

    def rk4(y, _):
        k1 = f(y)
        k2 = f(y + 0.5 * h * k1)
        k3 = f(y + 0.5 * h * k2)
        k4 = f(y + h * k3)
        return y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), None

    def block(y, _):
        y, _ = jax.lax.scan(rk4, y, None, length=every)
        return y, y

    y0 = jnp.stack([jnp.ones_like(rho), jnp.zeros_like(rho)])
    _, ys = jax.jit(lambda y: jax.lax.scan(block, y, None, length=n_out))(y0)
    ys = np.asarray(ys)  # (time, 2, pairs)
    ts = h * every * np.arange(1, n_out + 1)
    out = []
    for i in range(ys.shape[2]):
        r, w = limit_cycle_stats(ys[:, 0, i], ys[:, 1, i], ts, tail_fraction=0.4)
        out.append((float(r), abs(float(w))))
    return out


def limit_cycle_report(view: StoreView):
    """Trajectory in the cued plane; radius and frequency vs the 2-D reduction."""
    t = view.time
    pu, pv = view.var("p_u"), view.var("p_v")
    k = int(view.setting("protocol", "cue_plane"))
    t_cue = float(view.setting("protocol", "t_cue"))
    rho = view.label("protocol.rho").astype(float)
    gamma = view.label("protocol.gamma").astype(float)
    tail = t >= t[-1] / 2
    radius = np.hypot(pu, pv)
    others = [j for j in range(pu.shape[2]) if j != k]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    rows = []
    pairs = sorted({(rho[i], gamma[i]) for i in np.flatnonzero(view.ok)})
    reduced = dict(zip(pairs, reduced_cycles(*np.array(pairs).T), strict=True))
    for i in np.flatnonzero(view.ok):
        r, w = limit_cycle_stats(pu[i, tail, k], pv[i, tail, k], t[tail])
        r, w = float(r), abs(float(w))
        r2, w2 = reduced[(rho[i], gamma[i])]
        cycle = r2 > 0.05
        row = {
            "network": int(i),
            "rho": f"{rho[i]:g}",
            "gamma": f"{gamma[i]:g}",
            "radius": f"{r:.3f}",
            "|omega|": f"{w:.3f}" if r > 0.05 else "-",
            "radius (2-D)": f"{r2:.3f}",
            "|omega| (2-D)": f"{w2:.3f}" if cycle else "-",
            "outcome": "cycle" if r > 0.05 else "decays",
        }
        if others:
            row["other planes (max radius)"] = f"{radius[i, tail][:, others].max():.1e}"
        rows.append(row)
        color = f"C{len(rows) - 1}"
        axes[0].plot(pu[i, :, k], pv[i, :, k], lw=0.8, color=color)
        floor = 1e-8  # log axis: a radius of exactly 0 is drawn at the floor
        axes[1].plot(
            t,
            np.maximum(radius[i, :, k], floor),
            lw=0.9,
            color=color,
            label=f"ρ={rho[i]:g}, γ={gamma[i]:g}",
        )
        if others:
            other = np.maximum(radius[i, :, others].max(axis=0), floor)
            axes[1].plot(t, other, lw=0.8, color=color, ls=":")
    if others:
        axes[1].plot([], [], "k:", lw=0.8, label="largest radius, non-cued planes")
    axes[1].axvline(t_cue, color="gray", lw=0.8)
    axes[0].set_xlabel("p_u (cued plane)")
    axes[0].set_ylabel("p_v (cued plane)")
    axes[0].set_aspect("equal")
    axes[1].set_xlabel(TIME)
    axes[1].set_ylabel("radius √(p_u² + p_v²) in plane")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=7, loc="lower right", ncol=2)
    fig.suptitle(
        f"Associative retrieval: a cue along u of plane {k} at t = {t_cue:g} evokes "
        "a limit cycle in that plane when γ > 1"
    )
    fig.tight_layout()
    return fig, rows


def limit_cycle_notes(view: StoreView) -> str:
    return (
        "radius, |omega|: time-averaged radius and phase velocity in the cued plane "
        "over the second half of the run (whole turns); (2-D): the reduced system "
        "of SPEC V4 integrated by RK4 (h = 0.01) for the same ρ, γ. A cycle has "
        "radius > 0.05."
    )


def cue_responses(t, pu, pv, t_on: float, window: float):
    """Response of one plane to a cue at `t_on`, from saved reduced coordinates.

    `pu`, `pv`: (network, time). The baseline is the mean over the saves in
    [t_on − 1, t_on); the response is Δp = p − baseline over (t_on,
    t_on + window]. Returns (τ, |Δp_u|, |Δp_v|, recall), with τ the time since
    the onset and recall = max|Δp_v| / max|Δp_u| per network: how strongly a
    cue along u brings up the partner pattern v. A learned plane, whose block
    of W rotates u into v (ρ ≠ 0), recalls v; a novel plane does not. NaN where
    fewer than 3 saves fall in the window (save finer around the cues:
    `cue_save_every`).
    """
    pre = (t >= t_on - 1.0) & (t < t_on)
    post = (t > t_on) & (t <= t_on + window)
    n = pu.shape[0]
    if pre.sum() < 1 or post.sum() < 3:
        nan = np.full(n, np.nan)
        return t[post] - t_on, np.zeros((n, 0)), np.zeros((n, 0)), nan
    du = np.abs(pu[:, post] - pu[:, pre].mean(axis=1, keepdims=True))
    dv = np.abs(pv[:, post] - pv[:, pre].mean(axis=1, keepdims=True))
    recall = dv.max(axis=1) / np.maximum(du.max(axis=1), 1e-12)
    return t[post] - t_on, du, dv, recall


def _sign_test(a, b) -> str:
    """'k/n (p = ...)': networks with a > b, and the one-sided sign-test p-value
    P(K >= k) for K ~ Binomial(n, 1/2) (no difference between a and b)."""
    keep = np.isfinite(a) & np.isfinite(b)
    n, k = int(keep.sum()), int((a[keep] > b[keep]).sum())
    if n == 0:
        return "-"
    p = sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n
    return f"{k}/{n} (p = {p:.2g})"


def life_cycle_report(view: StoreView):
    """Responses to partial cues of each learned plane and to a novel pattern."""
    t = view.time
    ok = view.ok
    pu, pv = view.var("p_u")[ok], view.var("p_v")[ok]
    t_ret = float(view.setting("protocol", "t_retain"))
    gap = float(view.setting("protocol", "cue_gap"))
    window = float(view.setting("protocol", "cue_window"))
    windows = view.setting("protocol", "windows")
    n_planes = pu.shape[2]
    names = [f"memory {j + 1}" for j in range(n_planes - 1)] + ["novel"]
    has_block = "plane_rho" in view.store.variables
    rho = np.abs(view.var("plane_rho")[ok]) if has_block else None
    gamma = view.var("plane_gamma")[ok] if has_block else None

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    recalls = []
    for j in range(n_planes):
        t_on = t_ret + j * gap
        tau, du, dv, rec = cue_responses(t, pu[:, :, j], pv[:, :, j], t_on, window)
        recalls.append(rec)
        if du.shape[1]:
            scale = np.maximum(du.max(axis=1, keepdims=True), 1e-12)
            _band(axes[0], tau, dv / scale, f"C{j}", f"cue {names[j]}: |Δp_v|")
    axes[0].axvspan(
        0,
        float(view.setting("protocol", "cue_duration")),
        color="gray",
        alpha=0.2,
        lw=0,
        label="cue on",
    )
    axes[0].set_xlabel("time since the cue onset (τ)")
    axes[0].set_ylabel("|Δp_v| / max |Δp_u| in the cued plane")
    axes[0].set_title("Partner recall: a cue along u brings up v", fontsize=10)
    axes[0].legend(fontsize=7)
    if has_block:
        for j in range(n_planes):
            _band(axes[1], t, rho[:, :, j], f"C{j}", names[j])
        for j, w in enumerate(windows):
            axes[1].axvspan(*w, color=f"C{j}", alpha=0.2, lw=0)
        axes[1].axvline(t_ret, color="k", ls="--", lw=0.8, label="first cue")
        axes[1].set_xlabel(TIME)
        axes[1].set_ylabel("|ρ| = |uᵀWv − vᵀWu| / 2")
        axes[1].set_title("Rotation stored in each plane (windows shaded)", fontsize=10)
        axes[1].legend(fontsize=7)
        for j in range(n_planes):
            i_on = min(np.searchsorted(t, t_ret + j * gap), len(t) - 1)
            axes[2].scatter(
                rho[:, i_on, j], recalls[j], color=f"C{j}", s=18, label=names[j]
            )
        axes[2].set_xlabel("|ρ| of the cued plane at its cue")
        axes[2].set_ylabel("partner recall max|Δp_v| / max|Δp_u|")
        axes[2].set_title(
            "Recall follows the stored rotation (one dot a network)", fontsize=10
        )
        axes[2].legend(fontsize=7)
    else:
        for ax in axes[1:]:
            ax.set_axis_off()
    fig.suptitle(
        "Life cycle: learn two planes (shaded), retain with homeostasis and noise, "
        "then cue each with half of u, and a novel pattern last"
    )
    fig.tight_layout()

    rows = []
    nov = recalls[-1]
    im = np.abs(view.var("mem_im")[ok])
    for j in range(n_planes):
        t_on = t_ret + j * gap
        i_on = min(np.searchsorted(t, t_on), len(t) - 1)
        row = {"cue": names[j], "partner recall": _spread(recalls[j])}
        row["recall > novel's (same network)"] = (
            _sign_test(recalls[j], nov) if j < n_planes - 1 else "-"
        )
        if has_block:
            row["|rho| at cue"] = _spread(rho[:, i_on, j])
            row["gamma at cue"] = _spread(gamma[:, i_on, j])
        if j < n_planes - 1:
            row["|Im λ| at cue"] = _spread(im[:, i_on, j])
        rows.append(row)
    return fig, rows


def life_cycle_notes(view: StoreView) -> str:
    window = float(view.setting("protocol", "cue_window"))
    return (
        "partner recall: max |Δp_v| / max |Δp_u| in the cued plane over the "
        f"{window:g} time units after the cue onset (Δ: change from the mean over "
        "the time unit before it), median (min-max) over networks. A cue along u "
        "of a learned plane, whose block of W rotates u into v (|rho| > 0), brings "
        "up v; for a novel plane the ratio is the bulk's chance coupling. "
        "recall > novel's: networks whose recall of that memory beats their own "
        "novel plane's, with the one-sided sign-test p-value. rho, "
        "gamma: the plane's 2x2 block of W (SPEC V4: linearised eigenvalues "
        "(gamma - 1) +- i rho; a sustained limit cycle needs gamma > 1)."
    )


REPORTS = {
    "erosion": erosion_report,
    "learning": learning_report,
    "limit_cycle": limit_cycle_report,
    "life_cycle": life_cycle_report,
}
NOTES = {
    "erosion": erosion_notes,
    "learning": learning_notes,
    "limit_cycle": limit_cycle_notes,
    "life_cycle": life_cycle_notes,
}


def format_table(rows: list[dict]) -> str:
    """A plain-text table."""
    if not rows:
        return "(no finished networks to summarise)"
    cols = list(dict.fromkeys(c for r in rows for c in r))
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
    if rows:
        text += "\n\n" + NOTES[protocol](view)
    n_bad = int((view.status > 0).sum())
    if n_bad:
        text += f"\n{n_bad} network(s) failed (status > 0) and are excluded."
    (out_dir / "summary.txt").write_text(text + "\n")
    return text
