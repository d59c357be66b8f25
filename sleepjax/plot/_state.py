"""`sleepjax plot --kind spectrum | raster`: figures of saved states.

- **spectrum**: the eigenvalues of a saved square matrix (a `snapshot_<leaf>`
  variable, e.g. the connectivity W) in the complex plane, one panel per
  chosen snapshot time, every selected network's eigenvalues overlaid. The
  observables that a model declares as eigenvalues of that matrix (its
  `eigenvalue_marks`, e.g. the memory eigenvalue) are marked at the nearest
  save time.
- **raster**: one network's saved activity over time: a variable whose
  first dimension is `time` or `snapshot_time` and whose second is the
  neurons, drawn as a heatmap (neuron × time), or as a raster when its values
  are 0 and 1 only (spikes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._errors import suggest
from ..sweep import ResultStore
from ._sweep import _matches, _parse_assign, _resolve, open_results, save_figure

TIME_DIMS = ("time", "snapshot_time")
MAX_PANELS = 6


def _check_out(out) -> Path:
    out = Path(out)
    if out.suffix.lower() not in (".png", ".pdf", ".svg", ".jpg", ".jpeg"):
        raise ValueError(f"--out must end in .png, .pdf or .svg, got {out.name!r}.")
    return out


def _variable(store: ResultStore, var: str):
    if var not in store.variables:
        names = sorted(store.variables)
        raise ValueError(
            f"no variable {var!r}{suggest(var, names)}; this store holds "
            f"{', '.join(names)}."
        )
    return store.variables[var]


def _selected(store: ResultStore, sel) -> np.ndarray:
    """Indices of the finished networks that match every `--sel` filter."""
    keep = np.asarray(store.read("status")) == 0
    for item in sel or []:
        name, text = _parse_assign(item, "--sel")
        name = _resolve(store, name, "--sel")
        keep &= _matches(np.asarray(store.read(name)), text)
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        raise ValueError("no finished network matches the --sel filters.")
    return idx


def _rows(store: ResultStore, var: str, idx: np.ndarray) -> np.ndarray:
    """`var` of networks `idx` only (read chunk by chunk)."""
    out = []
    cs = store.chunk_size
    for c in np.unique(idx // cs):
        part = idx[idx // cs == c]
        out.append(np.asarray(store.read(var, chunk=int(c)))[part - c * cs])
    return np.concatenate(out)


def _times(spec_time: str, times: np.ndarray) -> list[int]:
    """Indices of the chosen times ('last', 'all' or a comma-separated list)."""
    text = str(spec_time).strip().lower()
    if text == "last":
        return [len(times) - 1]
    if text == "all":
        k = np.unique(np.linspace(0, len(times) - 1, min(len(times), MAX_PANELS)))
        return [int(round(v)) for v in k]
    out = []
    for part in text.split(","):
        try:
            t = float(part)
        except ValueError:
            raise ValueError(
                f"--time must be 'last', 'all' or times separated by commas, got "
                f"{spec_time!r}."
            ) from None
        if not times[0] - 1e-9 <= t <= times[-1] + 1e-9:
            raise ValueError(
                f"--time {t:g} is outside the saved times [{times[0]:g}, "
                f"{times[-1]:g}]."
            )
        out.append(int(np.argmin(np.abs(times - t))))
    if len(out) > MAX_PANELS:
        raise ValueError(f"--time: at most {MAX_PANELS} times, got {len(out)}.")
    return out


def _units(store: ResultStore, name: str) -> str:
    try:
        return str(store.variable_attrs(name).get("units", ""))
    except ValueError:
        return ""


def plot_spectrum(
    results: str | Path, *, var: str, out: str | Path, time="last", sel=()
) -> Path:
    """Eigenvalues of the saved square matrix `var` at the chosen times.

    **Arguments:** `var` (a variable with dimensions `(snapshot_time, n, n)`
    or `(time, n, n)` after `network`), `time` ('last', 'all' or times
    separated by commas), `sel` (`PARAM=VALUE` filters), `out` (figure file).
    **Returns:** the figure's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    store = open_results(results)
    out = _check_out(out)
    spec = _variable(store, var)
    if (
        len(spec.dims) != 3
        or spec.dims[0] not in TIME_DIMS
        or spec.shape[1] != spec.shape[2]
    ):
        raise ValueError(
            f"--kind spectrum needs a square matrix saved over time, e.g. "
            f"snapshot_W (dimensions (snapshot_time, n, n)); {var} has dimensions "
            f"{spec.dims} of sizes {spec.shape}. Save the state with [run] "
            "snapshot_times and snapshot_leaves."
        )
    idx = _selected(store, sel)
    times = np.asarray(store.read(spec.dims[0]))
    picks = _times(time, times)
    data = _rows(store, var, idx)  # (k, T, n, n)
    marks = dict(store.attrs.get("eigenvalue_marks") or {})
    save_t = np.asarray(store.read("time")) if marks else None
    mark_vals = {
        lab: [_rows(store, n, idx) for n in pair] for lab, pair in marks.items()
    }
    tunit = _units(store, spec.dims[0])
    long = store.variable_attrs(var).get("long_name", var).removesuffix(" (snapshots)")
    unit = store.variable_attrs(var).get("units", "")

    fig, axes = plt.subplots(
        1, len(picks), figsize=(3.6 * len(picks) + 0.6, 3.9), squeeze=False
    )
    evs = [np.linalg.eigvals(data[:, k].astype(np.float64)) for k in picks]
    lim = 1.08 * max(float(np.nanmax(np.abs(ev))) for ev in evs)
    for ax, k, ev in zip(axes[0], picks, evs, strict=True):
        n_net = f"{len(idx)} network{'s' if len(idx) > 1 else ''}"
        ax.scatter(
            ev.real.ravel(),
            ev.imag.ravel(),
            s=5,
            alpha=0.45,
            color="0.3",
            lw=0,
            label=f"eigenvalues of {long} ({n_net})",
        )
        for j, (lab, (re, im)) in enumerate(mark_vals.items()):
            ks = int(np.argmin(np.abs(save_t - times[k])))
            r = re[:, ks].reshape(len(idx), -1)
            i = im[:, ks].reshape(len(idx), -1)
            good = np.isfinite(r) & np.isfinite(i)
            if not good.any():
                continue
            pair = " ± i·".join(marks[lab])
            for sign in (1, -1):
                ax.scatter(
                    r[good],
                    sign * i[good],
                    marker="o",
                    s=70,
                    facecolor="none",
                    edgecolor=f"C{j + 3}",
                    lw=1.4,
                    zorder=3,
                    label=f"{lab} eigenvalue ({pair})" if sign == 1 else None,
                )
        ax.axhline(0, color="0.8", lw=0.6, zorder=0)
        ax.axvline(0, color="0.8", lw=0.6, zorder=0)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect(1.0)
        ax.set_title(f"t = {times[k]:g}", fontsize=9)
        ax.set_xlabel("Re λ" + (f" ({unit})" if unit not in ("", "1") else ""))
    axes[0, 0].set_ylabel("Im λ" + (f" ({unit})" if unit not in ("", "1") else ""))
    handles, labels = [], []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=min(3, len(labels)),
        fontsize=7,
        frameon=False,
    )
    title = f"eigenvalues of {long}"
    if sel:
        title += " with " + ", ".join(sel)
    if tunit:
        title += f"; time in {tunit}"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 0.96))
    return save_figure(fig, out)


def plot_activity(
    results: str | Path, *, var: str, out: str | Path, network: int = 0, isel=()
) -> Path:
    """One network's activity over time: `var` with dimensions `(time or
    snapshot_time, neuron, ...)` as a heatmap, or a raster for 0/1 values.

    **Arguments:** `var`, `network` (its index in the store), `isel`
    (`DIM=K` for any further dimension), `out`. **Returns:** the figure's
    path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    store = open_results(results)
    out = _check_out(out)
    spec = _variable(store, var)
    if len(spec.dims) < 2 or spec.dims[0] not in TIME_DIMS:
        raise ValueError(
            f"--kind raster needs a variable over time and neurons, e.g. "
            f"snapshot_neurons (dimensions (snapshot_time, neuron)); {var} has "
            f"dimensions {spec.dims}. Save the state with [run] snapshot_times "
            "and snapshot_leaves."
        )
    if not 0 <= network < store.n_networks:
        raise ValueError(
            f"--network {network} is out of range (the store has "
            f"{store.n_networks} networks)."
        )
    status = int(np.asarray(store.read("status"))[network])
    a = _rows(store, var, np.asarray([network]))[0].astype(np.float64)
    index = {}
    for item in isel or []:
        dim, k = _parse_assign(item, "--isel")
        if dim not in spec.dims[2:]:
            raise ValueError(f"{var} has no further dimension {dim!r} ({spec.dims}).")
        index[dim] = int(k)
    for dim in reversed(spec.dims[2:]):
        a = np.take(a, index.get(dim, 0), axis=spec.dims.index(dim))
    times = np.asarray(store.read(spec.dims[0]))
    attrs = store.variable_attrs(var)
    long = attrs.get("long_name", var).removesuffix(" (snapshots)")
    unit = attrs.get("units", "")
    tunit = _units(store, spec.dims[0])
    finite = a[np.isfinite(a)]
    spikes = finite.size > 0 and np.all((finite == 0) | (finite == 1))

    fig, ax = plt.subplots(figsize=(7, 4))
    if spikes:
        ts, ns = np.nonzero(a > 0.5)
        ax.scatter(times[ts], ns, s=2, marker="|", color="k")
        ax.set_ylim(-0.5, a.shape[1] - 0.5)
    else:
        dt = np.diff(times).min() if len(times) > 1 else 1.0
        signed = finite.size > 0 and finite.min() < 0 < finite.max()
        top = float(np.abs(finite).max()) if finite.size else 1.0
        im = ax.imshow(
            a.T,
            aspect="auto",
            origin="lower",
            interpolation="nearest",
            extent=(times[0] - dt / 2, times[-1] + dt / 2, -0.5, a.shape[1] - 0.5),
            cmap="RdBu_r" if signed else "magma",
            vmin=-top if signed else None,
            vmax=top if signed else None,
        )
        fig.colorbar(
            im, ax=ax, label=long + (f" ({unit})" if unit not in ("", "1") else "")
        )
    ax.set_xlabel("time" + (f" in {tunit}" if tunit else ""))
    ax.set_ylabel(spec.dims[1])
    coords = []
    for c in store.coord_names:
        v = np.asarray(store.read(c))[network]
        coords.append(
            f"{c.rpartition('.')[2]}={v:.3g}"
            if isinstance(v, float | np.floating)
            else f"{c.rpartition('.')[2]}={v}"
        )
    title = f"{'spikes' if spikes else long} of network {network} ({', '.join(coords)})"
    if status != 0:
        title += f"; status {status}: failed"
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return save_figure(fig, out)
