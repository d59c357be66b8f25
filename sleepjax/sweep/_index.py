"""The index space of a sweep: its axes, its groups, and every network's
values computed on demand.

Networks are numbered `0 .. n_networks - 1` in C order over the axes (see
`SweepPlan`) with the seed fastest. A plan keeps only the per-axis tables;
the values, seed, group, summary cell and key index of any networks come
from `np.unravel_index` of their indices alone. Nothing on a sweep's path
(plan, runner, store, summary) builds an array of one entry per network, so
a sweep of 10⁹ networks runs chunk by chunk in the memory of one chunk.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import equinox as eqx
import numpy as np

from ..config import RunConfig, RunSettings
from ._coords import CoordSource


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    return v


def _unique(values: np.ndarray) -> list:
    seen = {}
    for v in values.tolist():
        seen.setdefault(_hashable(v), v)
    return list(seen.values())


def _coord(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "O":  # tuples / lists: stored as their text
        return np.array([str(v) for v in values.tolist()], dtype=str)
    return values


def column(values: Sequence, numeric: bool) -> np.ndarray:
    """One path's values along its axis, typed as the store keeps them:
    float64 for numeric paths; str, bool, int64, float64, or objects (lists,
    stored as their text) for structural ones."""
    col = list(values)
    if numeric:
        return np.asarray(col, dtype=np.float64)
    if all(isinstance(v, str) for v in col):
        return np.asarray(col, dtype=str)
    if all(isinstance(v, bool) for v in col):
        return np.asarray(col, dtype=bool)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in col):
        return np.asarray(col, dtype=np.int64)
    if all(isinstance(v, float | int) for v in col):
        return np.asarray(col, dtype=np.float64)
    arr = np.empty(len(col), dtype=object)
    arr[:] = [_hashable(v) for v in col]
    return arr


@dataclasses.dataclass(frozen=True, eq=False)
class Axis:
    """One axis of a sweep's index space.

    **Fields:**

    - `kind`: `"grid"`, `"zip"` or `"random"`.
    - `columns`: `{path: 1-D array}`, each path's value at each level of the
      axis (several paths for a `zip` axis or random draws).
    """

    kind: str
    columns: dict[str, np.ndarray]

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self.columns)

    @property
    def size(self) -> int:
        return len(next(iter(self.columns.values())))


@dataclasses.dataclass(frozen=True)
class Group:
    """Networks that share one static structure (one compiled function).

    **Fields:**

    - `index`: position in `SweepPlan.groups`.
    - `static`: `{path: value}` of the structural (non-vmapped) swept paths.
    - `config`: the run config with those values applied (validated), or
      `None` for a Python sweep.
    - `make`: for a Python sweep, `(numeric, key) -> Experiment`.
    """

    index: int
    static: dict[str, Any]
    config: RunConfig | None
    make: Callable | None = None

    def label(self) -> str:
        if not self.static:
            return "all networks"
        return ", ".join(f"{k}={v}" for k, v in self.static.items())

    def experiment(self, numeric: Mapping[str, Any], key):
        """The `Experiment` of one network: `numeric` holds its values of the
        vmapped paths (`model.<param>`, `protocol.<setting>`)."""
        if self.make is not None:
            return self.make(numeric, key)
        cfg = self.config
        params = cfg.default_params()
        model = [p for p in numeric if p.startswith("model.")]
        if model:
            params = eqx.tree_at(
                lambda q: [getattr(q, m.partition(".")[2]) for m in model],
                params,
                [numeric[m] for m in model],
            )
        kw = {
            p.partition(".")[2]: v
            for p, v in numeric.items()
            if p.startswith("protocol.")
        }
        return cfg.build(params, key, protocol_kwargs=kw)

    def cache_key(self) -> str | None:
        """What the compiled call depends on besides the plan (`None`: do not
        reuse compiled calls across sweeps)."""
        if self.config is None:
            return None
        g = self.config
        return repr(
            (
                g.model,
                g.options,
                sorted(g.params.items()),
                g.protocol,
                sorted(g.protocol_kwargs.items()),
            )
        )


@dataclasses.dataclass(frozen=True, eq=False)
class SweepPlan:
    """Every network of a sweep, as an index space: its axes, seeds and groups.

    Networks are numbered `0 .. n_networks - 1` in a fixed order: the axes
    holding structural paths first, then the other `grid` axes in the order
    written, then the `zip` axis, then the `random` draws, and the seed last
    (fastest). A network's PRNG key is `fold_in(key(run.seed), i)` with `i` its
    global index (or its seed index with `paired = true`).

    The plan holds only the per-axis tables. Per-network values of any
    networks come on demand: `values_at(idx)`, `seed_at`, `group_at`,
    `cell_at`, `key_index_at`, `coords_at`. The whole-sweep arrays `values`,
    `seed`, `group`, `cell`, `key_index` and `coords()` are there for sweeps
    whose tables fit in the memory budget (they raise otherwise).

    **Fields:**

    - `config`: the validated `RunConfig` (`None` for a Python sweep).
    - `run`: how to run (seed, solver, PRNG, chunking, precision).
    - `store_config`: the JSON description stored with the results (its hash
      decides whether a store can be resumed).
    - `n_networks`, `seeds`, `paired`, `batch` (`None`: platform default).
    - `paths`: swept parameter paths (`"model.beta"`, `"protocol.code"`).
    - `kinds`: `{path: "grid" | "zip" | "random"}`.
    - `numeric`: the paths vmapped inside one compiled batch.
    - `static`: the structural paths (one compiled function per combination).
    - `axes`: the `Axis`es in network order (structural ones first, random
      draws last); the seed is the last, fastest axis.
    - `groups`: the `Group`s.
    - `group_lookup`: the group of each combination of the structural axes
      (in C order over them).
    """

    config: RunConfig | None
    run: RunSettings
    store_config: dict
    n_networks: int
    seeds: int
    paired: bool
    batch: int | None
    paths: tuple[str, ...]
    kinds: dict[str, str]
    numeric: tuple[str, ...]
    static: tuple[str, ...]
    axes: tuple[Axis, ...]
    groups: tuple[Group, ...]
    group_lookup: np.ndarray

    # ------------------------------------------------------------ structure
    @property
    def sizes(self) -> tuple[int, ...]:
        """Levels per axis, the seeds last."""
        return (*(a.size for a in self.axes), self.seeds)

    def _stride(self, k: int) -> int:
        """Networks per level of axis `k - 1` (per combination of axes < k)."""
        return math.prod(self.sizes[k:])

    @functools.cached_property
    def _static_stride(self) -> int:
        # structural axes come first: a network's combination of them is
        # its index divided by the networks per combination
        k = sum(1 for a in self.axes if any(p in self.static for p in a.paths))
        return self._stride(k)

    @functools.cached_property
    def _cell_stride(self) -> int:
        # grid/zip axes precede the random draws: same for the summary cells
        return self._stride(sum(1 for a in self.axes if a.kind != "random"))

    @property
    def n_cells(self) -> int:
        """Grid/zip combinations (rows of the summary)."""
        return self.n_networks // self._cell_stride

    def cell_start(self, cell: int) -> int:
        """The first network of summary cell `cell`."""
        return cell * self._cell_stride

    def group_ranges(self) -> Iterator[tuple[int, int, int]]:
        """`(group, start, stop)`: the networks `start .. stop - 1` of each
        combination of structural values, in order."""
        s = self._static_stride
        for c, g in enumerate(self.group_lookup.tolist()):
            yield g, c * s, (c + 1) * s

    @property
    def fits_in_memory(self) -> bool:
        """Whether the per-network tables (values, seed, group, cell, key)
        take at most half the memory budget. Such sweeps hash and write their
        store coordinates as before; larger ones from the axes, by chunk."""
        table = self.n_networks * 8 * (len(self.paths) + 4)
        return table <= self.run.memory_budget_mb * 2**20 / 2

    # ----------------------------------------------------- values on demand
    def _index(self, idx) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_networks):
            raise IndexError(
                f"network indices must lie in [0, {self.n_networks}), got "
                f"[{idx.min()}, {idx.max()}]"
            )
        return idx

    def values_at(self, idx, paths: Sequence[str] | None = None) -> dict:
        """`{path: array}`: the values of networks `idx` (an int array) of
        `paths` (default: every swept path)."""
        idx = self._index(idx)
        want = self.paths if paths is None else tuple(paths)
        levels = np.unravel_index(idx, self.sizes)
        out = {}
        for axis, lev in zip(self.axes, levels[:-1], strict=True):
            for p, col in axis.columns.items():
                if p in want:
                    out[p] = col[lev]
        return {p: out[p] for p in want}

    def seed_at(self, idx) -> np.ndarray:
        """The seed (replicate) index, `0 .. seeds - 1`, of networks `idx`."""
        return self._index(idx) % self.seeds

    def group_at(self, idx) -> np.ndarray:
        """The index into `groups` of networks `idx`."""
        return self.group_lookup[self._index(idx) // self._static_stride]

    def cell_at(self, idx) -> np.ndarray:
        """The grid/zip combination (summary row) of networks `idx`."""
        return self._index(idx) // self._cell_stride

    def key_index_at(self, idx) -> np.ndarray:
        """The index folded into the root key for networks `idx` (uint32)."""
        if self.paired:
            return self.seed_at(idx).astype(np.uint32)
        return self._index(idx).astype(np.uint32)

    def coords_at(self, idx) -> dict[str, np.ndarray]:
        """The store coordinates of networks `idx`: each path and `seed`."""
        out = {p: _coord(v) for p, v in self.values_at(idx).items()}
        out["seed"] = self.seed_at(idx)
        return out

    def coord_source(self) -> PlanCoords:
        """The store's coordinates, computed block by block."""
        return PlanCoords(self)

    # ------------------------------------------ whole arrays (small sweeps)
    def _all(self, what: str) -> np.ndarray:
        need = self.n_networks * 8 * (len(self.paths) + 4)
        budget = self.run.memory_budget_mb * 2**20
        if need > budget:
            raise ValueError(
                f"SweepPlan.{what} of all {self.n_networks} networks would need "
                f"{need / 2**30:.3g} GiB, more than the memory budget ([run] "
                f"memory_budget_mb = {self.run.memory_budget_mb:g} MiB); use "
                f"{what.partition('(')[0]}_at(indices) for a range of networks."
            )
        return np.arange(self.n_networks, dtype=np.int64)

    @property
    def values(self) -> dict[str, np.ndarray]:
        """`{path: array}`: every network's value of each swept path."""
        return self.values_at(self._all("values"))

    @property
    def seed(self) -> np.ndarray:
        """Every network's seed index."""
        return self.seed_at(self._all("seed"))

    @property
    def group(self) -> np.ndarray:
        """Every network's group."""
        return self.group_at(self._all("group"))

    @property
    def cell(self) -> np.ndarray:
        """Every network's grid/zip combination (summary row)."""
        return self.cell_at(self._all("cell"))

    @property
    def key_index(self) -> np.ndarray:
        """Per-network index folded into the root key."""
        return self.key_index_at(self._all("key_index"))

    def coords(self) -> dict[str, np.ndarray]:
        """Per-network coordinates for the results store: each path and `seed`."""
        return self.coords_at(self._all("coords"))

    def describe(self) -> str:
        """One line: how many networks, over what."""
        parts = []
        for axis in self.axes:
            for p, col in axis.columns.items():
                if axis.kind == "random":
                    parts.append(f"{p} (random)")
                else:
                    parts.append(f"{p} ({len(_unique(col))} values, {axis.kind})")
        parts.append(f"{self.seeds} seed(s)")
        groups = f"; {len(self.groups)} compiled group(s)" if self.static else ""
        nets = f"{self.n_networks} network{'s' if self.n_networks != 1 else ''}"
        return f"{nets}: " + " × ".join(parts) + groups


class PlanCoords(CoordSource):
    """A plan's store coordinates (each swept path, then `seed`), computed for
    any range of networks. A sweep whose tables fit in memory hashes their
    values and writes them when its store is created (as before lazy plans);
    a larger one hashes its axes and writes each chunk's coordinates with its
    results."""

    def __init__(self, plan: SweepPlan):
        self.plan = plan
        self.n_networks = plan.n_networks
        self.names = (*plan.paths, "seed")
        self.by_chunk = not plan.fits_in_memory

    def block(self, start: int, stop: int) -> dict[str, np.ndarray]:
        return self.plan.coords_at(np.arange(start, stop, dtype=np.int64))

    def hashes(self) -> dict[str, dict[str, str]]:
        if not self.by_chunk:
            return super().hashes()
        plan, sizes = self.plan, list(self.plan.sizes)
        out = {}
        kinds = self.dtypes()
        for k, axis in enumerate(plan.axes):
            for p, col in axis.columns.items():
                values = _coord(col)
                payload = (
                    [str(v) for v in values.tolist()]
                    if values.dtype.kind in "US"
                    else hashlib.sha256(
                        np.ascontiguousarray(values).tobytes()
                    ).hexdigest()
                )
                out[p] = _axis_hash(kinds[p].kind, sizes, k, payload)
        out["seed"] = _axis_hash(kinds["seed"].kind, sizes, len(plan.axes), None)
        return {name: out[name] for name in self.names}


def _axis_hash(kind: str, sizes: list[int], axis: int, values) -> dict[str, str]:
    """A coordinate described by its place in the index space: the sizes of
    all axes, its axis and the values along it."""
    text = json.dumps(
        {"index_space": 1, "sizes": sizes, "axis": axis, "values": values},
        sort_keys=True,
        separators=(",", ":"),
    )
    return {"dtype": kind, "sha256": hashlib.sha256(text.encode()).hexdigest()}
