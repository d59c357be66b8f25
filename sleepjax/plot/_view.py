"""Reading a results store for figures and tables: `StoreView`, shared
drawing helpers, and `report`, which draws a run's figure and summary."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter  # noqa: E402

from .._registry import get_model  # noqa: E402
from .._spec import default_value  # noqa: E402

TIME = "time (units of the neuronal time constant τ)"


class StoreView:
    """Read-only helper over a `ResultStore`: per-network labels and variables."""

    def __init__(self, store):
        self.store = store
        self.config = store.attrs.get("config", {})
        self.time = np.asarray(store.read("time")) if store.has_time else None
        self.status = np.asarray(store.read("status"))

    @property
    def spec(self):
        """The `ModelSpec` of the run's model (from the registry)."""
        return get_model(self.config.get("model", {}).get("name"))

    @property
    def protocol(self) -> str:
        return self.config.get("protocol", {}).get("name", "")

    def setting(self, section: str, key: str):
        """A run-wide setting: the config's value, else the model's or the
        protocol's declared default."""
        value = self.config.get(section, {}).get(key)
        if value is not None:
            return value
        return self._default(section, key)

    def changed_settings(self) -> list[str]:
        """`"section.key = value"` for each run-wide `[model]` / `[protocol]`
        setting that the config gives a value other than its declared
        default (swept ones excluded: they vary by network). Settings
        without a declared default are listed when they are plain scalars."""
        out = []
        swept = set(self.store.coord_names)
        for section in ("model", "protocol"):
            for key, value in self.config.get(section, {}).items():
                if key == "name" or f"{section}.{key}" in swept:
                    continue
                if not isinstance(value, (str, int, float, bool)):
                    continue
                try:
                    default = self._default(section, key)
                except (KeyError, TypeError, ValueError):  # none, or not a scalar
                    default = None
                if default is None or value != default:
                    out.append(f"{section}.{key} = {value}")
        return out

    def _default(self, section: str, key: str):
        """The declared default of a model or protocol setting (`KeyError`
        if there is none)."""
        spec = self.spec
        if section == "model":
            fields = {**spec.option_fields, **spec.param_fields}
            if key in fields:
                return default_value(fields[key])
        if section == "protocol":
            kwargs = spec.protocol(self.protocol).kwargs
            if key in kwargs:
                return kwargs[key]
        raise KeyError(f"no setting [{section}] {key}")

    def label(self, name: str) -> np.ndarray:
        """Per-network value of a swept coordinate, or the run-wide setting."""
        if name in self.store.coord_names:
            return np.asarray(self.store.read(name))
        section, _, key = name.partition(".")
        return np.full(self.store.n_networks, self.setting(section, key), dtype=object)

    def var(self, name: str) -> np.ndarray:
        return np.asarray(self.store.read(name), dtype=float)

    def groups(
        self, skip: tuple[str, ...] = (), *, whole: str = "", label=None
    ) -> list[tuple[str, np.ndarray]]:
        """`(label, mask)` per combination of the swept coordinates other than
        the seed and `skip`, in the order they first appear; one group
        labelled `whole` when there are none. `label(name, value)` writes one
        coordinate (`name`: its last dotted part); default `"name = value"`."""
        coords = [c for c in self.store.coord_names if c != "seed" and c not in skip]
        n = self.store.n_networks
        if not coords:
            return [(whole, np.ones(n, bool))]
        label = label or (lambda name, v: f"{name} = {v}")
        cols = [np.asarray(self.store.read(c)).astype(str) for c in coords]
        keys = list(zip(*cols, strict=True))
        out = []
        for key in dict.fromkeys(keys):
            mask = np.array([k == key for k in keys])
            text = ", ".join(
                label(c.rpartition(".")[2], v) for c, v in zip(coords, key, strict=True)
            )
            out.append((text, mask))
        return out

    @property
    def ok(self) -> np.ndarray:
        return self.status == 0


def band(ax, t, Y, color, label):
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


def plain_log(ax):
    """Log y axis with plain (not 10^k) labels on the major ticks only."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    fmt = ScalarFormatter()
    fmt.set_scientific(False)
    ax.yaxis.set_major_formatter(fmt)
    ax.yaxis.set_minor_formatter(NullFormatter())


def spread(x) -> str:
    x = np.asarray(x)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return "-"
    return f"{np.median(x):.2f} ({x.min():.2f}-{x.max():.2f})"


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
    protocol = protocol or view.protocol
    spec = view.spec
    rep = spec.reports.get(protocol)
    if rep is None:
        fig, rows = generic_report(view)
        notes = generic_notes
    else:
        fig, rows = rep.draw(view)
        notes = rep.notes
    out_dir = Path(out_dir)
    fig.savefig(out_dir / "figure.png", dpi=120)
    plt.close(fig)
    text = format_table(rows)
    if rows and notes is not None:
        text += "\n\n" + notes(view)
    changed = view.changed_settings()
    if rows and changed:
        text += "\n\nSettings other than the defaults: " + ", ".join(changed) + "."
    n_bad = int((view.status > 0).sum())
    if n_bad:
        text += f"\n{n_bad} network(s) failed (status > 0) and are excluded."
    (out_dir / "summary.txt").write_text(text + "\n")
    return text


MAX_PANELS = 6
MAX_GROUPS = 8


def _groups(view: StoreView) -> list[tuple[str, np.ndarray]]:
    """(label, mask) per swept-parameter group ("all networks" if none)."""
    return view.groups(whole="all networks", label=lambda c, v: f"{c}={v}")


def generic_report(view: StoreView):
    """For protocols without a report of their own: each observable (its
    first entry along any extra dimension) against time, median and
    interquartile band over the networks of each swept-parameter group; the
    table gives the final medians per group."""
    names = list(view.store.variables)[:MAX_PANELS]
    groups = _groups(view)
    pooled = len(groups) > MAX_GROUPS
    if pooled:
        groups = [("all networks (pooled)", np.ones(view.store.n_networks, bool))]
    t = view.time
    ncol = min(3, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(4.6 * ncol, 3.4 * nrow), squeeze=False
    )
    rows = [{"group": g, "networks": int((m & view.ok).sum())} for g, m in groups]
    for ax, name in zip(axes.flat, names, strict=False):
        y = view.var(name)
        while y.ndim > 2:
            y = y[..., 0]
        for j, (label, m) in enumerate(groups):
            sel = m & view.ok
            band(ax, t, y[sel], f"C{j % 10}", label)
            finals = y[sel, -1]
            finals = finals[np.isfinite(finals)]
            rows[j][f"{name} (final, median)"] = (
                f"{np.median(finals):.4g}" if finals.size else "-"
            )
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("time")
        if len(groups) <= 4:
            ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(names) :]:
        ax.set_axis_off()
    title = f"{view.spec.name}: {view.protocol} (median and IQR over networks)"
    if pooled:
        title += f"; {len(_groups(view))} parameter groups pooled: see sleepjax plot"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig, rows


def generic_notes(view: StoreView) -> str:
    return (
        "Each value is the median over the group's finished networks at the last "
        "save; observables with extra dimensions show their first entry. Plot any "
        "observable against swept parameters with `sleepjax plot`."
    )
