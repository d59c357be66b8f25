"""`sleepjax plot`: an observable of a sweep against one or two swept parameters.

One parameter: a line of the mean over seeds (and over nothing else) with a
band of ± one standard deviation and the seeds as dots; other swept
parameters, if any, give one line each. Two parameters: a heatmap of the mean
over seeds. Random draws (many distinct values): a scatter plot instead.
Failed networks (status ≠ 0) are left out and counted in the title.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .._errors import suggest
from ..sweep import ResultStore

MAX_LINES = 10
MAX_CATEGORIES = 40


def open_results(path: str | Path) -> ResultStore:
    """The store in an output folder (or the store path itself)."""
    path = Path(path)
    if (path / "results.zarr").is_dir():
        path = path / "results.zarr"
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}")
    return ResultStore.open(path)


def _resolve(store: ResultStore, name: str, what: str) -> str:
    coords = list(store.coord_names)
    if name in coords:
        return name
    hits = [c for c in coords if c.rpartition(".")[2] == name]
    if len(hits) == 1:
        return hits[0]
    valid = [c for c in coords]
    raise ValueError(
        f"{what} {name!r} is not a swept parameter of this sweep"
        f"{suggest(name, valid)}; it has {', '.join(valid)}."
    )


def _parse_assign(text: str, flag: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name or not value:
        raise ValueError(f"{flag} expects NAME=VALUE, got {text!r}.")
    return name.strip(), value.strip()


def _matches(values: np.ndarray, text: str) -> np.ndarray:
    if values.dtype.kind in "fiu":
        try:
            v = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        return np.isclose(values.astype(float), v, rtol=1e-9, atol=0.0)
    if values.dtype.kind == "b":
        return values == (text.lower() in ("1", "true", "yes"))
    return values.astype(str) == text


def _time_index(times: np.ndarray, spec: str) -> int:
    if str(spec).lower() == "last":
        return len(times) - 1
    try:
        t = float(spec)
    except ValueError:
        raise ValueError(f"--time must be a number or 'last', got {spec!r}") from None
    if not times[0] - 1e-9 <= t <= times[-1] + 1e-9:
        raise ValueError(
            f"--time {t:g} is outside the saved times [{times[0]:g}, {times[-1]:g}]."
        )
    return int(np.argmin(np.abs(times - t)))


def _values(store: ResultStore, var: str, time, isel) -> tuple[np.ndarray, str]:
    if var not in store.variables:
        names = sorted(store.variables)
        raise ValueError(
            f"no observable {var!r}{suggest(var, names)}; this sweep saved "
            f"{', '.join(names)}."
        )
    spec = store.variables[var]
    data = np.asarray(store.read(var), dtype=float)
    label = var
    index: dict[str, int] = {}
    for item in isel or []:
        dim, k = _parse_assign(item, "--isel")
        if dim not in spec.dims or dim == "time":
            raise ValueError(f"{var} has no dimension {dim!r} (it has {spec.dims}).")
        index[dim] = int(k)
    for axis, dim in enumerate(spec.dims, start=1):
        if dim == "time":
            times = np.asarray(store.read("time"))
            k = _time_index(times, time)
            label += f" (t={times[k]:g})"
        else:
            k = index.get(dim, 0)
            if not 0 <= k < spec.shape[axis - 1]:
                raise ValueError(f"--isel {dim}={k} is out of range.")
            if spec.shape[axis - 1] > 1:
                label += f" [{dim} {k}]"
        index[dim] = k
    for dim in reversed(spec.dims):
        data = np.take(data, index[dim], axis=1 + spec.dims.index(dim))
    return data, label


def _fmt(v) -> str:
    if isinstance(v, float | np.floating):
        return f"{v:.3g}"
    return str(v)


def _axis_label(store: ResultStore, coord: str) -> str:
    """A swept parameter's name and unit (from the run's resolved settings)."""
    section, _, name = coord.partition(".")
    unit = (store.attrs.get("resolved") or {}).get("units", {}).get(name, "")
    return f"{name or coord} ({unit})" if unit else (name or coord)


def _var_label(store: ResultStore, var: str, label: str, absolute: bool) -> str:
    """An observable's long name and unit (from its stored attributes), with
    the selection (time, index) that `label` adds to its name."""
    try:
        attrs = store.variable_attrs(var)
    except ValueError:
        attrs = {}
    long = attrs.get("long_name") or var
    unit = attrs.get("units", "")
    extra = label[len(var) :] if label.startswith(var) else ""
    if absolute:
        long = f"|{long}|"
    return f"{long}{extra}" + (f" ({unit})" if unit not in ("", "1") else "")


def describe_variables(results: str | Path) -> str:
    """The observables of a results store with their meaning and unit."""
    store = open_results(results)
    lines = []
    for name in sorted(store.variables):
        a = store.variable_attrs(name)
        unit = a.get("units", "")
        lines.append(
            f"{name}: {a.get('long_name', name)}"
            + (f" [{unit}]" if unit else "")
            + (f" — {a['description']}" if a.get("description") else "")
        )
    coords = ", ".join(c for c in store.coord_names)
    lines.append(f"swept parameters (for --x, --y, --sel): {coords}")
    return "\n".join(lines)


def _log_scale(u: np.ndarray) -> bool:
    return u.dtype.kind == "f" and len(u) > 2 and u.min() > 0 and u.max() / u.min() > 20


def plot_results(
    results: str | Path,
    *,
    x: str,
    var: str,
    out: str | Path,
    y: str | None = None,
    time="last",
    isel=(),
    sel=(),
    absolute: bool = False,
) -> Path:
    """Draw `var` against swept parameter `x` (line) or `x` and `y` (heatmap).

    **Arguments:** see `sleepjax plot --help`. **Returns:** the figure's path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    store = open_results(results)
    xname = _resolve(store, x, "--x")
    yname = _resolve(store, y, "--y") if y else None
    if yname == xname:
        raise ValueError("--x and --y must be different parameters.")
    out = Path(out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg", ".jpg", ".jpeg"):
        raise ValueError(f"--out must end in .png, .pdf or .svg, got {out.name!r}.")
    value, label = _values(store, var, time, isel)
    ylabel = _var_label(store, var, label, absolute)
    if absolute:
        value, label = np.abs(value), f"|{label}|"
    status = np.asarray(store.read("status"))
    keep = np.ones(store.n_networks, bool)
    for item in sel or []:
        name, text = _parse_assign(item, "--sel")
        name = _resolve(store, name, "--sel")
        keep &= _matches(np.asarray(store.read(name)), text)
    if not keep.any():
        raise ValueError("no network matches the --sel filters.")
    if (status[keep] == -1).any():
        n_pending = int((status[keep] == -1).sum())
        note_pending = f", {n_pending} not computed yet"
    else:
        note_pending = ""
    ok = keep & (status == 0)
    n_failed = int((keep & (status > 0)).sum())
    xv = np.asarray(store.read(xname))
    others = [
        c
        for c in store.coord_names
        if c not in (xname, yname, "seed")
        and len(np.unique(np.asarray(store.read(c))[keep])) > 1
    ]
    title = f"{label}; {int(ok.sum())} networks"
    if sel:
        title += " with " + ", ".join(sel)
    if n_failed:
        title += f", {n_failed} failed (left out)"
    title += note_pending

    fig, ax = plt.subplots(figsize=(6, 4.2))
    if yname is None:
        _line(ax, store, xv, value, ok, others, keep)
        ax.set_xlabel(_axis_label(store, xname))
        ax.set_ylabel(ylabel)
    else:
        if others:
            raise ValueError(
                f"{', '.join(others)} also vary in this sweep: pick values with "
                f"--sel {others[0]}=VALUE (a heatmap averages over seeds only)."
            )
        yv = np.asarray(store.read(yname))
        _heatmap(fig, ax, xv, yv, value, ok, ylabel)
        ax.set_xlabel(_axis_label(store, xname))
        ax.set_ylabel(_axis_label(store, yname))
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out)


def save_figure(fig, out: Path) -> Path:
    """Write `fig` to `out` (its folder created) and close it."""
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _line(ax, store, xv, value, ok, others, keep) -> None:
    if others:
        combos = {}
        cols = {c: np.asarray(store.read(c)) for c in others}
        for i in np.flatnonzero(keep):
            combos.setdefault(tuple(_fmt(cols[c][i]) for c in others), []).append(i)
        if len(combos) > MAX_LINES:
            raise ValueError(
                f"{', '.join(others)} also vary ({len(combos)} combinations): pick "
                f"values with --sel {others[0]}=VALUE or plot a heatmap with --y."
            )
        lines = []
        for combo, idx in combos.items():
            m = np.zeros(len(xv), bool)
            m[idx] = True
            name = ", ".join(
                f"{c.rpartition('.')[2]}={v}"
                for c, v in zip(others, combo, strict=True)
            )
            lines.append((name, m))
    else:
        lines = [(None, np.ones(len(xv), bool))]
    ux = np.unique(xv[keep])
    categorical = xv.dtype.kind not in "fiu"
    many = not categorical and len(ux) > MAX_CATEGORIES
    pos = {v: k for k, v in enumerate(ux)} if categorical else None
    for j, (name, m) in enumerate(lines):
        color = f"C{j}"
        sel = m & ok
        if many:
            ax.scatter(xv[sel], value[sel], s=6, alpha=0.5, color=color, label=name)
            _binned(ax, xv[sel], value[sel], color)
            continue
        xs, mean, sd = [], [], []
        for v in ux:
            at = sel & (xv == v)
            if not at.any():
                continue
            xp = pos[v] if categorical else v
            vals = value[at]
            vals = vals[np.isfinite(vals)]
            if len(vals) == 0:
                continue
            xs.append(xp)
            mean.append(vals.mean())
            sd.append(vals.std())
            ax.scatter(
                np.full(len(vals), xp, dtype=float), vals, s=8, alpha=0.35, color=color
            )
        xs, mean, sd = map(np.asarray, (xs, mean, sd))
        if len(xs) and categorical:  # categories: points with error bars
            ax.errorbar(
                xs + 0.08 * j,
                mean,
                yerr=sd,
                fmt="o",
                color=color,
                ms=5,
                capsize=3,
                label=name,
            )
        elif len(xs):
            ax.plot(xs, mean, "-o", color=color, ms=3, label=name)
            ax.fill_between(xs, mean - sd, mean + sd, color=color, alpha=0.2, lw=0)
    if categorical:
        ax.set_xticks(range(len(ux)), [str(v) for v in ux])
    elif _log_scale(ux):
        ax.set_xscale("log")
    if others:
        ax.legend(fontsize=7)


def _binned(ax, x, y, color) -> None:
    good = np.isfinite(y)
    x, y = x[good], y[good]
    if len(x) < 4:
        return
    log = x.min() > 0 and x.max() / x.min() > 20
    edges = (
        np.geomspace(x.min(), x.max(), 13) if log else np.linspace(x.min(), x.max(), 13)
    )
    k = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    mids, med = [], []
    for b in range(len(edges) - 1):
        if np.any(k == b):
            mids.append(
                math.sqrt(edges[b] * edges[b + 1]) if log else edges[b : b + 2].mean()
            )
            med.append(np.median(y[k == b]))
    ax.plot(mids, med, "-", color=color, lw=2)
    if log:
        ax.set_xscale("log")


def _heatmap(fig, ax, xv, yv, value, ok, label) -> None:
    ux, uy = np.unique(xv[ok]), np.unique(yv[ok])
    if (
        xv.dtype.kind in "fiu"
        and yv.dtype.kind in "fiu"
        and max(len(ux), len(uy)) > MAX_CATEGORIES
    ):
        sc = ax.scatter(xv[ok], yv[ok], c=value[ok], s=10, cmap="viridis")
        fig.colorbar(sc, ax=ax, label=label)
        if _log_scale(ux):
            ax.set_xscale("log")
        if _log_scale(uy):
            ax.set_yscale("log")
        return
    grid = np.full((len(uy), len(ux)), np.nan)
    for i, a in enumerate(uy):
        for j, b in enumerate(ux):
            at = ok & (yv == a) & (xv == b)
            vals = value[at]
            vals = vals[np.isfinite(vals)]
            if len(vals):
                grid[i, j] = vals.mean()
    im = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    fig.colorbar(im, ax=ax, label=f"mean {label}")
    ax.set_xticks(range(len(ux)), [_fmt(v) for v in ux])
    ax.set_yticks(range(len(uy)), [_fmt(v) for v in uy])
    if grid.size <= 100:
        for i in range(len(uy)):
            for j in range(len(ux)):
                if np.isfinite(grid[i, j]):
                    ax.text(
                        j,
                        i,
                        f"{grid[i, j]:.3g}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="w",
                    )
