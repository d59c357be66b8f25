"""The `[sweep]` section: parse and validate it eagerly into a `SweepPlan`.

Nothing here compiles or writes anything: `validate_sweep` only reads the
config, checks every swept value against the config layer's own rules
(`sleepjax.config.check_param_value`, `parse_protocol`, `parse`) and lays the
networks out in a deterministic flat order.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import numpy as np

from .._errors import ConfigError, suggest
from ..config import RunConfig, RunSettings, check_used, parse
from ._store import _jsonable as jsonable

SWEEP_KEYS = ("seeds", "grid", "zip", "random", "paired", "batch")
DISTRIBUTIONS = ("uniform", "loguniform")
_DIST_KEYS = ("dist", "low", "high")
_MAX_NETWORKS = 2**31 - 1
_RANDOM_SALT = 0x5EED5  # separates the draws' stream from any other use of seed


def _err(msg: str) -> ConfigError:
    return ConfigError(f"[sweep] {msg}")


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
    """Every network of a sweep: its parameter values, seed and group.

    Networks are numbered `0 .. n_networks - 1` in a fixed order: the axes
    holding structural paths first, then the other `grid` axes in the order
    written, then the `zip` axis, then the `random` draws, and the seed last
    (fastest). A network's PRNG key is `fold_in(key(run.seed), i)` with `i` its
    global index (or its seed index with `paired = true`).

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
    - `values`: `{path: array}` per-network value (float for numeric paths).
    - `seed`: per-network seed (replicate) index, `0 .. seeds - 1`.
    - `group`: per-network index into `groups`.
    - `groups`: the `Group`s.
    - `cell`: per-network index of its grid/zip combination (summary rows).
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
    values: dict[str, np.ndarray]
    seed: np.ndarray
    group: np.ndarray
    groups: tuple[Group, ...]
    cell: np.ndarray

    @property
    def key_index(self) -> np.ndarray:
        """Per-network index folded into the root key."""
        if self.paired:
            return self.seed.astype(np.uint32)
        return np.arange(self.n_networks, dtype=np.uint32)

    def coords(self) -> dict[str, np.ndarray]:
        """Per-network coordinates for the results store: each path and `seed`."""
        out = {p: _coord(self.values[p]) for p in self.paths}
        out["seed"] = self.seed.astype(np.int64)
        return out

    def describe(self) -> str:
        """One line: how many networks, over what."""
        parts = []
        for p in self.paths:
            k = self.kinds[p]
            if k == "random":
                parts.append(f"{p} (random)")
            else:
                parts.append(f"{p} ({len(_unique(self.values[p]))} values, {k})")
        parts.append(f"{self.seeds} seed(s)")
        groups = f"; {len(self.groups)} compiled group(s)" if self.static else ""
        nets = f"{self.n_networks} network{'s' if self.n_networks != 1 else ''}"
        return f"{nets}: " + " × ".join(parts) + groups


def _unique(values: np.ndarray) -> list:
    seen = {}
    for v in values.tolist():
        seen.setdefault(_hashable(v), v)
    return list(seen.values())


def _hashable(v):
    if isinstance(v, list):
        return tuple(_hashable(x) for x in v)
    return v


def _coord(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "O":  # tuples / lists: stored as their text
        return np.array([str(v) for v in values.tolist()], dtype=str)
    return values


# ------------------------------------------------------------------- parsing
def _valid_paths(cfg: RunConfig) -> tuple[list[str], set[str]]:
    """All sweepable paths and the numeric (vmappable) subset."""
    proto = cfg.protocol_spec
    model = [f"model.{f}" for f in cfg.spec.param_fields]
    options = [f"model.{f}" for f in cfg.spec.option_fields]
    kwargs = [f"protocol.{k}" for k in proto.kwargs]
    numeric = set(model) | {f"protocol.{k}" for k in proto.numeric}
    return model + options + kwargs, numeric


def _flatten(table: Mapping[str, Any], where: str, *, leaf) -> dict[str, Any]:
    """Accept both `{"model.beta" = [...]}` and `[sweep.grid.model] beta = [...]`."""
    out: dict[str, Any] = {}

    def walk(prefix: str, t: Mapping[str, Any]):
        for k, v in t.items():
            path = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, Mapping) and not leaf(v):
                walk(path, v)
            else:
                out[path] = v

    walk("", table)
    return out


def _check_path(path: str, where: str, valid: list[str]) -> None:
    if path not in valid:
        if path in ("model.name", "protocol.name"):
            raise _err(
                f"{where}: {path!r} cannot be swept (one model and protocol per "
                "sweep); run one sweep per protocol."
            )
        raise _err(
            f"{where}: unknown parameter path {path!r}{suggest(path, valid)}. "
            "Paths are 'model.<field>' or 'protocol.<keyword>'; valid: "
            f"{', '.join(valid)}."
        )


def _check_count(name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _err(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return value


def _override(raw: Mapping[str, Any], static: Mapping[str, Any]) -> dict[str, Any]:
    new = copy.deepcopy(dict(raw))
    for path, value in static.items():
        section, _, key = path.partition(".")
        sec = dict(new.get(section, {}))
        sec[key] = value
        new[section] = sec
    return new


class _Checker:
    """Validates swept values with the config layer's own rules."""

    def __init__(self, cfg: RunConfig, numeric: set[str]):
        self.cfg = cfg
        self.numeric = numeric
        self._seen: set = set()

    def value(self, path: str, value, where: str):
        """Check one value of `path`; returns it (floats for numeric paths)."""
        section, _, key = path.partition(".")
        if path in self.numeric:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _err(f"{where} {path!r}: values must be numbers, got {value!r}.")
            value = float(value)
        if (path, repr(value)) in self._seen:
            return value
        try:
            if section == "model" and key in self.cfg.spec.param_fields:
                self.cfg.spec.check_param(key, value, where="[model]")
            else:  # a protocol setting or a structural model option
                parse(_override(self.cfg.raw, {path: value}))
        except ConfigError as e:
            raise _err(f"{where} {path!r}: value {value!r} is refused: {e}") from None
        self._seen.add((path, repr(value)))
        return value

    def group(self, static: Mapping[str, Any]) -> RunConfig:
        """The config of one combination of structural values (validated)."""
        try:
            return parse(_override(self.cfg.raw, static))
        except ConfigError as e:
            combo = ", ".join(f"{k}={v!r}" for k, v in static.items())
            raise _err(f"the combination {combo} is refused: {e}") from None


def _as_list(where: str, path: str, values) -> list:
    if not isinstance(values, list | tuple):
        raise _err(
            f"{where} {path!r} must be a list of values, got {values!r} "
            f"(write {path!r} = [{values!r}] for a single value)."
        )
    if len(values) == 0:
        raise _err(f"{where} {path!r} is an empty list: give at least one value.")
    return list(values)


def _parse_random(table, valid, numeric, checker, seed: int, budget: float):
    if not isinstance(table, Mapping):
        raise _err(f"random must be a table, got {table!r}.")
    table = dict(table)
    if "n" not in table:
        raise _err("random needs n = <number of draws>.")
    n = _check_count("random.n", table.pop("n"))
    rseed = _check_count("random.seed", table.pop("seed", seed), minimum=0)
    specs = _flatten(table, "random", leaf=lambda v: "dist" in v)
    if not specs:
        raise _err(
            "random has no parameter to draw: add e.g. "
            '"model.noise" = { dist = "loguniform", low = 0.1, high = 10 }.'
        )
    if n * 8 * (len(specs) + 4) > budget / 2:
        raise _err(
            f"random.n = {n} draws need {n * 8 * (len(specs) + 4) / 2**30:.3g} GiB "
            "of host memory for their tables, more than half the memory budget "
            "([run] memory_budget_mb); split the sweep into several runs."
        )
    rng = np.random.default_rng([rseed, _RANDOM_SALT])
    columns = {}
    for path, spec in specs.items():
        _check_path(path, "random", valid)
        if path not in numeric:
            raise _err(
                f"random {path!r} is structural (changing it recompiles); sweep it "
                "with grid or zip instead of random draws."
            )
        if not isinstance(spec, Mapping):
            raise _err(
                f"random {path!r} must be a table like "
                f'{{ dist = "uniform", low = 0, high = 1 }}, got {spec!r}.'
            )
        for k in spec:
            if k not in _DIST_KEYS:
                raise _err(
                    f"random {path!r}: unknown key {k!r}{suggest(k, _DIST_KEYS)}; "
                    f"valid: {', '.join(_DIST_KEYS)}."
                )
        dist = spec.get("dist")
        if dist not in DISTRIBUTIONS:
            raise _err(
                f"random {path!r}: unknown distribution {dist!r}"
                f"{suggest(str(dist), DISTRIBUTIONS)}; valid: "
                f"{', '.join(DISTRIBUTIONS)}."
            )
        bounds = []
        for k in ("low", "high"):
            if k not in spec:
                raise _err(f"random {path!r} needs {k} = <number>.")
            v = spec[k]
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise _err(f"random {path!r}: {k} must be a number, got {v!r}.")
            if not math.isfinite(v):
                raise _err(f"random {path!r}: {k} must be finite, got {v!r}.")
            bounds.append(checker.value(path, v, f"random ({k})"))
        low, high = bounds
        if not low < high:
            raise _err(f"random {path!r}: need low < high, got {low} and {high}.")
        if dist == "loguniform":
            if low <= 0:
                raise _err(
                    f"random {path!r}: a loguniform distribution needs low > 0, "
                    f"got {low}."
                )
            draw = np.exp(rng.uniform(np.log(low), np.log(high), n))
        else:
            draw = rng.uniform(low, high, n)
        columns[path] = np.clip(draw, low, high)
    return n, columns


def validate_sweep(cfg: RunConfig) -> SweepPlan:
    """Check the `[sweep]` section of `cfg` and lay out every network.

    Runs before anything is compiled or written. Raises `ConfigError` for an
    unknown key or parameter path (suggesting the nearest valid one), an empty
    grid or zip list, zip lists of different lengths, a non-positive count, an
    unknown distribution or bounds, or a value outside a parameter's domain.
    Without a `[sweep]` section the plan is `run.seeds` networks of the config.

    **Returns:** a `SweepPlan`.
    """
    if not isinstance(cfg, RunConfig):
        raise TypeError(
            f"validate_sweep needs a RunConfig (from sleepjax.config.load or "
            f"parse), got {type(cfg).__name__}."
        )
    raw = {} if cfg.sweep is None else dict(cfg.sweep)
    for k in raw:
        if k not in SWEEP_KEYS:
            raise _err(
                f"unknown key {k!r}{suggest(k, SWEEP_KEYS)}; valid: "
                f"{', '.join(SWEEP_KEYS)}."
            )
    seeds = _check_count("seeds", raw.get("seeds", cfg.run.seeds))
    paired = raw.get("paired", False)
    if not isinstance(paired, bool):
        raise _err(f"paired must be true or false, got {paired!r}.")
    batch = raw.get("batch")
    if batch is not None:
        batch = _check_count("batch", batch)
    valid, numeric = _valid_paths(cfg)
    checker = _Checker(cfg, numeric)

    # axes: (kind, paths, rows) with rows[level] = tuple of values per path
    axes: list[tuple[str, tuple[str, ...], list[tuple]]] = []
    used: dict[str, str] = {}

    def claim(path, kind):
        _check_path(path, kind, valid)
        if path in used:
            raise _err(
                f"{path!r} appears in both {used[path]} and {kind}; sweep each "
                "path in one place."
            )
        used[path] = kind

    grid = raw.get("grid")
    if grid is not None:
        if not isinstance(grid, Mapping):
            raise _err(f"grid must be a table of lists, got {grid!r}.")
        grid = _flatten(grid, "grid", leaf=lambda v: False)
        if not grid:
            raise _err('grid is empty: add e.g. "model.beta" = [0.05, 0.1].')
        for path, values in grid.items():
            claim(path, "grid")
            vals = _as_list("grid", path, values)
            vals = [checker.value(path, v, "grid") for v in vals]
            axes.append(("grid", (path,), [(v,) for v in vals]))

    zipped = raw.get("zip")
    if zipped is not None:
        if not isinstance(zipped, Mapping):
            raise _err(f"zip must be a table of lists, got {zipped!r}.")
        zipped = _flatten(zipped, "zip", leaf=lambda v: False)
        if not zipped:
            raise _err('zip is empty: add e.g. "model.eta" = [0.01, 0.02].')
        cols, lengths = {}, {}
        for path, values in zipped.items():
            claim(path, "zip")
            vals = _as_list("zip", path, values)
            cols[path] = [checker.value(path, v, "zip") for v in vals]
            lengths[path] = len(vals)
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{p}: {n}" for p, n in lengths.items())
            raise _err(f"zip lists must have the same length; got {detail}.")
        axes.append(("zip", tuple(cols), list(zip(*cols.values(), strict=True))))

    if raw.get("random") is not None:
        rtable = raw["random"]
        if isinstance(rtable, Mapping):
            for path in _flatten(
                {k: v for k, v in rtable.items() if k not in ("n", "seed")},
                "random",
                leaf=lambda v: "dist" in v,
            ):
                claim(path, "random")
        n, cols = _parse_random(
            rtable,
            valid,
            numeric,
            checker,
            cfg.run.seed,
            cfg.run.memory_budget_mb * 2**20,
        )
        rows = list(zip(*[c.tolist() for c in cols.values()], strict=True))
        axes.append(("random", tuple(cols), rows))

    # Structural axes outermost: each compiled group is then a contiguous range.
    axes.sort(key=lambda a: not any(p not in numeric for p in a[1]))
    sizes = [len(a[2]) for a in axes] + [seeds]
    n_networks = math.prod(sizes)
    if n_networks > _MAX_NETWORKS:
        raise _err(f"{n_networks} networks is more than {_MAX_NETWORKS}.")
    table = n_networks * 8 * (len(used) + 4)  # values, seed, group, cell, key
    budget = cfg.run.memory_budget_mb * 2**20
    if table > budget / 2:
        raise _err(
            f"seeds × grid × zip × random = {n_networks} networks: their parameter "
            f"tables alone need {table / 2**30:.3g} GiB of host memory, more than "
            f"half the memory budget ([run] memory_budget_mb = "
            f"{cfg.run.memory_budget_mb:g} MiB). Split the sweep into several runs "
            "(or raise the budget)."
        )

    idx = np.arange(n_networks, dtype=np.int64)
    levels = np.unravel_index(idx, sizes) if sizes else ()
    seed = np.asarray(levels[-1], dtype=np.int64)
    values: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    for ax, lev in zip(axes, levels[:-1], strict=True):
        kind, paths, rows = ax
        for j, path in enumerate(paths):
            col = [r[j] for r in rows]
            if path in numeric:
                arr = np.asarray(col, dtype=np.float64)
            elif all(isinstance(v, str) for v in col):
                arr = np.asarray(col, dtype=str)
            elif all(isinstance(v, bool) for v in col):
                arr = np.asarray(col, dtype=bool)
            elif all(isinstance(v, int) and not isinstance(v, bool) for v in col):
                arr = np.asarray(col, dtype=np.int64)
            elif all(isinstance(v, float | int) for v in col):
                arr = np.asarray(col, dtype=np.float64)
            else:
                arr = np.empty(len(col), dtype=object)
                arr[:] = [_hashable(v) for v in col]
            values[path] = arr[lev]
            kinds[path] = kind
    paths = tuple(values)
    static = tuple(p for p in paths if p not in numeric)

    # cells: the grid/zip combination of each network (rows of the summary)
    cell_axes = [
        (a, lev) for a, lev in zip(axes, levels[:-1], strict=True) if a[0] != "random"
    ]
    if cell_axes:
        cell = np.ravel_multi_index(
            [lev for _, lev in cell_axes], [len(a[2]) for a, _ in cell_axes]
        )
    else:
        cell = np.zeros(n_networks, dtype=np.int64)

    # groups: one per combination of structural values, in order of appearance
    groups: list[Group] = []
    group = np.zeros(n_networks, dtype=np.int64)
    if static:
        static_axes = [
            (a, lev)
            for a, lev in zip(axes, levels[:-1], strict=True)
            if any(p in static for p in a[1])
        ]
        combos = list(itertools.product(*[range(len(a[2])) for a, _ in static_axes]))
        flat = np.ravel_multi_index(
            [lev for _, lev in static_axes], [len(a[2]) for a, _ in static_axes]
        )
        ids: dict[tuple, int] = {}
        lookup = np.zeros(len(combos), dtype=np.int64)
        for ci, combo in enumerate(combos):
            st = {}
            for (ax, _), level in zip(static_axes, combo, strict=True):
                for j, p in enumerate(ax[1]):
                    if p in static:
                        st[p] = ax[2][level][j]
            key = tuple((p, _hashable(v)) for p, v in st.items())
            if key not in ids:
                ids[key] = len(groups)
                groups.append(Group(len(groups), st, checker.group(st)))
            lookup[ci] = ids[key]
        group = lookup[flat]
    else:
        groups.append(Group(0, {}, cfg))

    swept = [p.partition(".")[2] for p in paths if p.startswith("model.")]
    check_used(cfg, [g.config for g in groups], swept, where="swept")
    return SweepPlan(
        config=cfg,
        run=cfg.run,
        store_config=jsonable(cfg.raw, "config"),
        n_networks=n_networks,
        seeds=seeds,
        paired=paired,
        batch=batch,
        paths=paths,
        kinds=kinds,
        numeric=tuple(p for p in paths if p in numeric),
        static=static,
        values=values,
        seed=seed,
        group=group,
        groups=tuple(groups),
        cell=np.asarray(cell, dtype=np.int64),
    )


def unique_values(values: Sequence) -> list:
    """Distinct values in order of first appearance (lists compared by value)."""
    return _unique(np.asarray(values, dtype=object))
