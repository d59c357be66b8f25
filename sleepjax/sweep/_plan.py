"""The `[sweep]` section: parse and validate it eagerly into a `SweepPlan`.

Nothing here compiles or writes anything: `validate_sweep` only reads the
config, checks every swept value against the config layer's own rules
(`sleepjax.config.check_param_value`, `parse_protocol`, `parse`) and lays the
networks out in a deterministic flat order: per-axis tables only, per-network
values on demand (`sleepjax.sweep._index`), so any size up to 2³¹ − 1
networks validates in the memory of its axes.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._errors import ConfigError, suggest
from ..config import RunConfig, check_used, parse
from ._index import Axis, Group, SweepPlan, _hashable, _unique, column
from ._store import _jsonable as jsonable

__all__ = ["Group", "SweepPlan", "unique_values", "validate_sweep"]

SWEEP_KEYS = ("seeds", "grid", "zip", "random", "paired", "batch")
DISTRIBUTIONS = ("uniform", "loguniform")
_DIST_KEYS = ("dist", "low", "high")
_MAX_NETWORKS = 2**31 - 1
_RANDOM_SALT = 0x5EED5  # separates the draws' stream from any other use of seed


def _err(msg: str) -> ConfigError:
    return ConfigError(f"[sweep] {msg}")


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
        raise _err(
            f"seeds × grid × zip × random = {n_networks} networks is more than "
            f"{_MAX_NETWORKS} (network indices are folded into 32-bit keys); "
            "split the sweep into several runs with different [run] seed."
        )
    # only the per-axis tables: per-network values are computed on demand
    table = []
    kinds: dict[str, str] = {}
    for kind, paths, rows in axes:
        cols = {}
        for j, path in enumerate(paths):
            cols[path] = column([r[j] for r in rows], path in numeric)
            kinds[path] = kind
        table.append(Axis(kind, cols))
    paths = tuple(kinds)
    static = tuple(p for p in paths if p not in numeric)

    # groups: one per combination of structural values, in order of appearance
    groups: list[Group] = []
    static_axes = [a for a in axes if any(p in static for p in a[1])]
    combos = list(itertools.product(*[range(len(a[2])) for a in static_axes]))
    ids: dict[tuple, int] = {}
    lookup = np.zeros(len(combos), dtype=np.int64)
    for ci, combo in enumerate(combos):
        st = {}
        for ax, level in zip(static_axes, combo, strict=True):
            for j, p in enumerate(ax[1]):
                if p in static:
                    st[p] = ax[2][level][j]
        key = tuple((p, _hashable(v)) for p, v in st.items())
        if key not in ids:
            ids[key] = len(groups)
            groups.append(Group(len(groups), st, checker.group(st) if st else cfg))
        lookup[ci] = ids[key]

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
        axes=tuple(table),
        groups=tuple(groups),
        group_lookup=lookup,
    )


def unique_values(values: Sequence) -> list:
    """Distinct values in order of first appearance (lists compared by value)."""
    return _unique(np.asarray(values, dtype=object))
