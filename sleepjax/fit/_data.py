"""Data to fit: `FitData`, `simulate_data`, and the fit's `FitNaNError`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import numpy as np
from jaxtyping import PRNGKeyArray

from .._experiment import Experiment
from .._simulate import STATUS_MEANINGS, network_keys
from ._observe import differentiable, expand


class FitNaNError(FloatingPointError):
    """A fit met a non-finite loss or gradient; nothing was saved.

    Attributes: `step`, `param` (name, or `None` when only the loss was
    non-finite), `restart`.
    """

    def __init__(self, message: str, step: int, param: str | None, restart: int):
        super().__init__(message)
        self.step, self.param, self.restart = step, param, restart


@dataclasses.dataclass(frozen=True)
class FitData:
    """Observed data to fit: observables at save times, and how they were made.

    **Fields:**

    - `ts`: save times, shape `(T,)`.
    - `ys`: dict `name -> array (draws, T, ...)`.
    - `keys`: the noise keys of the draws, shape `(draws,)` (needed for
      trajectory matching), or `None` for recorded data.
    - `params`: the parameters that generated the data (`None` if unknown).
    """

    ts: np.ndarray
    ys: dict[str, np.ndarray]
    keys: Any = None
    params: Any = None

    def __post_init__(self):
        ts = np.asarray(self.ts, dtype=float)
        if ts.ndim != 1:
            raise ValueError(f"FitData: `ts` must be 1-D, got shape {ts.shape}.")
        object.__setattr__(self, "ts", ts)
        ys = {k: np.asarray(v) for k, v in dict(self.ys).items()}
        draws = None
        for k, v in ys.items():
            if v.ndim < 2 or v.shape[1] != ts.size:
                raise ValueError(
                    f"FitData: ys[{k!r}] must have shape (draws, T={ts.size}, ...), "
                    f"got {v.shape}."
                )
            if draws is None:
                draws = v.shape[0]
            elif v.shape[0] != draws:
                raise ValueError("FitData: all observables need the same draws.")
        object.__setattr__(self, "ys", ys)
        if self.keys is not None and len(self.keys) != draws:
            raise ValueError(
                f"FitData: {len(self.keys)} keys for {draws} draws of the data."
            )

    @property
    def draws(self) -> int:
        return next(iter(self.ys.values())).shape[0]


def _prepare(build, params, names):
    exp = build(params)
    if not isinstance(exp, Experiment):
        raise TypeError(
            f"`build(params)` must return a sleepjax Experiment (a model "
            f"protocol's result), got {type(exp).__name__}."
        )
    return eqx.tree_at(lambda e: e.observe, exp, differentiable(exp.observe, names))


def simulate_data(
    build: Callable[[Any], Experiment],
    params,
    key: PRNGKeyArray | int,
    *,
    draws: int = 1,
    observables=None,
    solver=None,
    brownian=None,
) -> FitData:
    """Simulate synthetic data with known parameters (for recovery studies).

    **Arguments:**

    - `build`: `params -> Experiment` (fixes everything else: structure key,
      protocol, horizon, save times).
    - `params`: the true parameters.
    - `key`: noise seed or key; draw `d` uses `network_keys(key, draws)[d]`.
    - `draws`: number of noise draws.
    - `observables`: names or families to save (default: all the experiment's).
    - `solver`, `brownian`: as for `simulate`.

    **Returns:** a `FitData` with `keys` and `params` set.
    """
    if not isinstance(draws, int) or draws < 1:
        raise ValueError(f"`draws` must be an int >= 1, got {draws!r}.")
    exp0 = build(params)
    names = None
    if observables is not None and isinstance(exp0, Experiment):
        names = expand(exp0.observe, observables)
    exp = _prepare(build, params, names)
    keys = network_keys(key, draws)
    sims = jax.jit(
        jax.vmap(lambda e, k: e.run(k, solver=solver, brownian=brownian), (None, 0))
    )(exp, keys)
    status = np.asarray(sims.status)
    if np.any(status != 0):
        d = int(np.argmax(status != 0))
        raise RuntimeError(
            f"simulating the data failed for draw {d}: "
            f"{STATUS_MEANINGS.get(int(status[d]), status[d])}."
        )
    ys = {k: np.asarray(v) for k, v in sims.ys.items()}
    return FitData(ts=np.asarray(exp.save_ts), ys=ys, keys=keys, params=params)
