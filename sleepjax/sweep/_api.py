"""`sweep(...)`: thousands of networks from a config or from a Python builder.

`sweep(build, table, params=...)` mirrors `sleepjax.fit.fit(build, ...)`:
`build(params, key) -> Experiment` fixes the structure, `table` gives each
swept parameter's value per row, and every row runs with `seeds` seeds. A
TOML config (`sweep(config, out)`) translates into the same plan and runs on
the same engine: chunked, sharded, resumable and bitwise independent of the
chunking and the devices.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import ConfigError
from .._paths import path_getter, set_leaves
from ..config import RunConfig, RunSettings
from ._index import Axis, Group, SweepPlan
from ._run import SweepResult, run_plan, sweep_config
from ._store import _jsonable


def _path_leaf(params, path: str):
    """The leaf at dotted `path` of `params` (ConfigError if there is none)."""
    try:
        leaf = path_getter(path)(params)
    except (ValueError, AttributeError, KeyError, IndexError, TypeError) as e:
        raise ConfigError(f"sweep: table column {path!r}: {e}") from None
    if np.ndim(leaf) != 0:
        raise ConfigError(
            f"sweep: table column {path!r} names a leaf of shape {np.shape(leaf)}; "
            "a swept parameter must be a scalar leaf."
        )
    return leaf


def plan_from_build(
    build: Callable,
    params,
    table: Mapping[str, Any] | None,
    *,
    seeds: int = 1,
    paired: bool = False,
    batch: int | None = None,
    run: RunSettings | None = None,
    name: str | None = None,
) -> SweepPlan:
    """Validate a Python sweep and lay out its networks (nothing compiled)."""
    if not callable(build):
        raise TypeError(f"sweep: `build` must be callable, got {build!r}.")
    run = RunSettings() if run is None else run
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"sweep: `seeds` must be an integer >= 1, got {seeds!r}.")
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        raise ConfigError(f"sweep: `batch` must be an integer >= 1, got {batch!r}.")
    table = dict(table or {})
    if table and params is None:
        raise ConfigError("sweep: a `table` needs the `params` pytree it applies to.")
    columns: dict[str, np.ndarray] = {}
    rows = None
    for path, col in table.items():
        _path_leaf(params, path)
        arr = np.asarray(col, dtype=np.float64)
        if arr.ndim != 1 or arr.size == 0:
            raise ConfigError(
                f"sweep: table column {path!r} must be a non-empty 1-D list of "
                f"numbers, got shape {arr.shape}."
            )
        if not np.all(np.isfinite(arr)):
            raise ConfigError(f"sweep: table column {path!r} holds NaN or Inf.")
        if rows is not None and arr.size != rows:
            raise ConfigError(
                f"sweep: table columns must have the same length; {path!r} has "
                f"{arr.size}, the others {rows}."
            )
        rows = arr.size
        columns[path] = arr
    rows = rows or 1
    n = rows * seeds
    if n > 2**31 - 1:
        raise ConfigError(f"sweep: {n} networks is more than {2**31 - 1}.")
    paths = tuple(columns)

    def make(numeric, key):
        p = params
        if paths:
            p = set_leaves(
                params,
                [path_getter(path) for path in paths],
                [numeric[path] for path in paths],
            )
        return build(p, key)

    label = name or getattr(build, "__qualname__", type(build).__name__)
    store_config = _jsonable(
        {
            "python_sweep": {
                "build": f"{getattr(build, '__module__', '?')}.{label}",
                "table": {p: c.tolist() for p, c in columns.items()},
                "seeds": seeds,
                "paired": paired,
            },
            "run": dataclasses.asdict(run),
        }
    )
    return SweepPlan(
        config=None,
        run=run,
        store_config=store_config,
        n_networks=n,
        seeds=seeds,
        paired=paired,
        batch=batch,
        paths=paths,
        kinds={p: "zip" for p in paths},
        numeric=paths,
        static=(),
        # one zip axis of the table's rows (none without a table), then seeds
        axes=(Axis("zip", columns),) if columns else (),
        groups=(Group(0, {}, None, make=make),),
        group_lookup=np.zeros(1, dtype=np.int64),
    )


def grid(**axes) -> dict[str, np.ndarray]:
    """A table with every combination of the given values (the first axis
    outermost): `grid(beta=[0.05, 0.1], eta=[0.01, 0.02])` has 4 rows."""
    names = list(axes)
    vals = [np.asarray(v, dtype=np.float64).ravel() for v in axes.values()]
    mesh = np.meshgrid(*vals, indexing="ij") if vals else []
    return {k: m.ravel() for k, m in zip(names, mesh, strict=True)}


def sweep(
    source,
    table_or_out=None,
    *,
    params=None,
    out: str | Path | None = None,
    seeds: int = 1,
    seed: int = 0,
    paired: bool = False,
    solver: str = "euler",
    substeps: int = 10,
    prng: str = "threefry2x32",
    float64: bool = False,
    chunk_size: int = 0,
    batch: int | None = None,
    memory_budget_mb: float = 2048.0,
    overwrite: bool = False,
    quiet: bool = False,
    devices=None,
    name: str | None = None,
    max_chunks: int | None = None,
) -> SweepResult:
    """Run a sweep: every network integrated (vmapped, chunked, sharded over
    `devices`), its observables stored, a per-network status kept.

    Two forms:

    - `sweep(config, out, *, overwrite, quiet, devices, max_chunks)`: a
      validated TOML config (`sleepjax.config.load`); its `[sweep]` section
      says which networks to run.
    - `sweep(build, table, *, params, out, seeds, ...)`: `build(params, key)
      -> Experiment` with `params` a parameter pytree (e.g. a model's
      params); `table` maps dotted parameter paths (`"beta"`,
      `"plasticity.beta"`) to 1-D arrays of equal length, one row per
      parameter combination (`grid(...)` makes a full grid). Each row runs
      with `seeds` seeds; network `i` (row-major, seed fastest) gets
      `fold_in(key(seed), i)` (with `paired`, its seed index), split into a
      structure key for `build` and a noise key for the run.

    **Arguments (Python form):** `solver` ("euler" | "multirate", with
    `substeps`), `prng`, `float64`, `chunk_size` (0: automatic), `batch`
    (networks per device per call), `memory_budget_mb`: as `[run]` in a
    config. `out`: a folder for `results.zarr` (resumable), or `None` to keep
    the results in memory. `name`: a label stored with the results (default:
    the builder's name); a store is resumed only by a sweep with the same
    label, table, seeds and run settings. `max_chunks`: compute at most this
    many pending chunks into `out`, then return (run again for the rest).

    **Returns:** a `SweepResult`.
    """
    if isinstance(source, RunConfig):
        if out is not None and table_or_out is not None:
            raise TypeError("sweep(config, out): give `out` once.")
        return sweep_config(
            source,
            table_or_out if table_or_out is not None else out,
            overwrite=overwrite,
            quiet=quiet,
            devices=devices,
            max_chunks=max_chunks,
        )
    run = RunSettings(
        seeds=seeds,
        seed=seed,
        solver=solver,
        substeps=substeps,
        prng=prng,
        chunk_size=chunk_size,
        memory_budget_mb=memory_budget_mb,
        float64=float64,
    )
    plan = plan_from_build(
        source,
        params,
        table_or_out,
        seeds=seeds,
        paired=paired,
        batch=batch,
        run=run,
        name=name,
    )
    return run_plan(
        plan,
        out,
        overwrite=overwrite,
        quiet=quiet,
        devices=devices,
        max_chunks=max_chunks,
    )
