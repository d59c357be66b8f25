"""Saving the state itself: leaves of the state at chosen times, and the
final state, next to the observables (`sleepjax run` / `sleepjax.sweep`).

In a configuration:

    [run]
    snapshot_times = [0.0, 500.0, 3000.0]             # or a regular grid:
    snapshot_times = { start = 0, stop = 3000, every = 500 }
    snapshot_leaves = ["W"]         # default: every numeric leaf of the state
    save_final = true               # the final state of those leaves

Leaves are named as for `[run] initial_state` (`W`, `neurons`, `rules[1]`;
a state that is one array is `state`). Snapshot times must lie on the
run's step grid (steps of dt, or dt·substeps with `solver = "multirate"`),
inside `[t0, t1]`; a snapshot at an event's time sees the
state before the event (as the observables do). The results store gets one
variable per leaf: `snapshot_<leaf>` with dimensions
`(network, snapshot_time, ...)` and `final_<leaf>` with `(network, ...)`,
saved as they were, also for networks that failed (their `status` says so).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._errors import ConfigError, suggest

TIMES = "[run] snapshot_times"
LEAVES = "[run] snapshot_leaves"
FINAL = "[run] save_final"
#: the dimension of the snapshot times in a results store
SNAPSHOT_TIME = "snapshot_time"
#: the most snapshot times one run may have
MAX_SNAPSHOTS = 100_000


def check_settings(times: Any, leaves: Any, final: Any) -> None:
    """Types and values of the three `[run]` keys (no run needed)."""
    if not isinstance(final, bool):
        raise ConfigError(f"{FINAL} must be true or false, got {final!r}.")
    if not isinstance(leaves, list | tuple) or not all(
        isinstance(v, str) and v for v in leaves
    ):
        raise ConfigError(
            f'{LEAVES} must be a list of state leaf names (e.g. ["W"]), got {leaves!r}.'
        )
    if times is None:
        return
    if isinstance(times, Mapping):
        extra = set(times) - {"start", "stop", "every"}
        if extra or "every" not in times:
            raise ConfigError(
                f"{TIMES} as a table takes start, stop and every (e.g. "
                f"{{ start = 0, stop = 3000, every = 500 }}), got {dict(times)!r}."
            )
        for k, v in times.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise ConfigError(f"{TIMES}.{k} must be a number, got {v!r}.")
            if not np.isfinite(v):
                raise ConfigError(f"{TIMES}.{k} must be finite, got {v!r}.")
        if not times["every"] > 0:
            raise ConfigError(f"{TIMES}.every must be > 0, got {times['every']!r}.")
        return
    if not isinstance(times, list | tuple) or not times:
        raise ConfigError(
            f"{TIMES} must be a non-empty list of times or a table "
            f"{{ start, stop, every }}, got {times!r}."
        )
    for v in times:
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise ConfigError(f"{TIMES} must hold finite numbers, got {v!r}.")
    if np.any(np.diff(np.asarray(times, dtype=float)) <= 0):
        raise ConfigError(f"{TIMES} must be increasing, got {list(times)!r}.")


def snapshot_grid(times: Any, t0: float, t1: float, dt: float) -> np.ndarray:
    """The snapshot times of a run from `t0` to `t1` with step `dt`: checked
    to lie inside the run and on its step grid (`ConfigError` naming the key
    otherwise)."""
    if isinstance(times, Mapping):
        start = float(times.get("start", t0))
        stop = float(times.get("stop", t1))
        every = float(times["every"])
        n = (stop - start) / every
        if n + 1 > MAX_SNAPSHOTS:
            raise ConfigError(
                f"{TIMES} makes {n + 1:.3g} snapshots, more than {MAX_SNAPSHOTS:,}; "
                "take them less often."
            )
        if stop < start:
            raise ConfigError(f"{TIMES}: stop = {stop:g} is before start = {start:g}.")
        ts = start + every * np.arange(int(np.floor(n + 1e-9)) + 1)
    else:
        ts = np.asarray(times, dtype=np.float64)
        if ts.size > MAX_SNAPSHOTS:
            raise ConfigError(f"{TIMES} holds more than {MAX_SNAPSHOTS:,} times.")
    eps = 1e-9 * max(1.0, abs(t0), abs(t1))
    out = ts[(ts < t0 - eps) | (ts > t1 + eps)]
    if out.size:
        raise ConfigError(f"{TIMES}: {out[0]:g} lies outside the run [{t0:g}, {t1:g}].")
    k = (ts - t0) / dt
    off = np.abs(k - np.round(k)) > 1e-6 * np.maximum(1.0, np.abs(k))
    if np.any(off):
        raise ConfigError(
            f"{TIMES}: {ts[off][0]:g} is not on the run's step grid t0 + k·dt "
            f"(t0 = {t0:g}, dt = {dt:g})."
        )
    return t0 + dt * np.round(k)


def variable_name(prefix: str, leaf: str) -> str:
    """`snapshot_W`, `final_rules_1` (store variable names of a leaf)."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]+', '_', leaf).strip('_')}"


@dataclasses.dataclass(frozen=True)
class StateOutputs:
    """What a run saves of its state: the leaves, the snapshot times (or
    None) and whether the final state is kept. Built from the run settings
    and an experiment (or its shapes)."""

    leaves: tuple[str, ...]
    times: tuple[float, ...] | None
    final: bool
    shapes: Mapping[str, Any]

    @classmethod
    def of(cls, run, exp) -> StateOutputs | None:
        """From `run` (RunSettings) and an `Experiment` (concrete or its
        `jax.eval_shape`); None when nothing of the state is to be saved."""
        times = getattr(run, "snapshot_times", None)
        final = bool(getattr(run, "save_final", False))
        if times is None and not final:
            return None
        import jax.numpy as jnp

        from ._initial import leaf_names

        names = leaf_names(exp.state0)
        numeric = {
            k: v
            for k, v in names.items()
            if hasattr(v, "dtype")
            and (jnp.issubdtype(v.dtype, jnp.number) or v.dtype == jnp.bool_)
        }
        asked = tuple(getattr(run, "snapshot_leaves", ()) or ())
        for k in asked:
            if k not in names:
                raise ConfigError(
                    f"{LEAVES}: {k!r} is not a leaf of this protocol's state"
                    f"{suggest(k, names)}; its leaves are {', '.join(names)}."
                )
            if k not in numeric:
                raise ConfigError(f"{LEAVES}: {k!r} is not a numeric array.")
        leaves = asked or tuple(numeric)
        grid = None
        if times is not None:
            # the steps the solver takes: dt, or dt·substeps for multirate
            dt = exp.dt
            if getattr(run, "solver", "euler") == "multirate":
                dt = exp.dt * run.substeps
            grid = tuple(snapshot_grid(times, exp.t0, exp.t1, dt).tolist())
        shapes = {k: (tuple(np.shape(numeric[k])), numeric[k].dtype) for k in leaves}
        return cls(leaves, grid, final, shapes)

    def leaf_of(self, name: str) -> str:
        """The leaf a store variable (`snapshot_W`, `final_W`) holds."""
        for k in self.leaves:
            if name in (variable_name("snapshot", k), variable_name("final", k)):
                return k
        raise KeyError(name)

    def nbytes(self) -> int:
        """Bytes of one network's saved state."""
        per = sum(
            int(np.prod(s)) * np.dtype(d).itemsize for s, d in self.shapes.values()
        )
        return per * (len(self.times or ()) + int(self.final))

    def select(self, t, state, model) -> dict:
        """The saved leaves of `state` (a snapshot's `fn`)."""
        from ._initial import leaf_names

        names = leaf_names(state)
        return {k: names[k] for k in self.leaves}

    @property
    def snapshots(self) -> tuple | None:
        """`(times, fn)` for `Experiment.run(snapshots=...)`, or None."""
        return None if self.times is None else (np.asarray(self.times), self.select)

    def values(self, sim) -> dict:
        """The store variables of a run (a `Simulation`)."""
        out = {}
        if self.times is not None:
            for k, v in sim.snapshots.items():
                out[variable_name("snapshot", k)] = v
        if self.final:
            final = self.select(None, sim.final, None)
            for k, v in final.items():
                out[variable_name("final", k)] = v
        return out

    def variables(self, observe) -> dict[str, tuple[tuple[str, ...], dict]]:
        """`{name: (dims after network, attrs)}` of the store variables, with
        dimension names and CF attributes from the observables' `state_dims`
        and `state_units` where they declare them."""
        dims_of = dict(getattr(observe, "state_dims", {}) or {})
        units_of = dict(getattr(observe, "state_units", {}) or {})
        out = {}
        for k in self.leaves:
            shape = self.shapes[k][0]
            dims = tuple(dims_of.get(k, ()))
            if len(dims) != len(shape):
                dims = tuple(
                    f"{variable_name('', k)[1:]}_dim{i}" for i in range(len(shape))
                )
            long, units, desc = units_of.get(k, (f"state leaf {k}", "", ""))
            what = desc or f"the leaf {k} of the network's state"
            if self.times is not None:
                out[variable_name("snapshot", k)] = (
                    (SNAPSHOT_TIME, *dims),
                    {
                        "long_name": f"{long} (snapshots)",
                        "units": units,
                        "description": f"{what}, at each snapshot time",
                    },
                )
            if self.final:
                out[variable_name("final", k)] = (
                    dims,
                    {
                        "long_name": f"{long} (final)",
                        "units": units,
                        "description": f"{what}, at the end of the run",
                    },
                )
        return out
