"""An Experiment: a model, its initial state and a protocol, ready to run."""

from __future__ import annotations

from typing import Any

import diffrax
import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ._errors import n_steps
from ._iterate import iterate
from ._simulate import Simulation, check_events, simulate
from ._solvers import MultirateEuler
from ._system import AbstractMap, AbstractSystem

#: the most steps one run can take (step indices and keys use int32)
MAX_STEPS = 2**31 - 1


class Experiment(eqx.Module):
    """One network's complete run: model, initial state, protocol, observables.

    Every number is a pytree leaf, so a batch of experiments built with
    `jax.vmap` (over parameters and keys) is a sweep; the time grid and the
    structure are static. The model is continuous (an `AbstractSystem`, run by
    `simulate`) or discrete (an `AbstractMap`, run by `iterate`); either way
    `run` returns a `Simulation`.

    **Fields:**

    - `model`: an `AbstractSystem` (e.g. a `Model`) or an `AbstractMap`.
    - `state0`: the initial state.
    - `t0`, `t1`, `dt`: time interval and step (static).
    - `save_ts`: save times (static tuple of floats).
    - `observe`: callable `(t, state, model) -> dict[str, Array]` giving the
      summaries saved at `save_ts`: an `AbstractObservables` (so its arrays
      are leaves and sweeps, stores and fits know its outputs).
    - `events`: jumps (memory insertion) at given times.
    """

    model: AbstractSystem | AbstractMap
    state0: Any
    observe: Any
    events: tuple
    t0: float = eqx.field(static=True)
    t1: float = eqx.field(static=True)
    dt: float = eqx.field(static=True)
    save_ts: tuple[float, ...] = eqx.field(static=True)

    def __init__(self, model, state0, *, t0, t1, dt, save_ts, observe, events=()):
        if not isinstance(model, AbstractSystem | AbstractMap):
            raise TypeError(
                "Experiment: `model` must be an AbstractSystem (e.g. Model) or an "
                f"AbstractMap, got {type(model).__name__}."
            )
        self.model = model
        self.state0 = state0
        self.t0, self.t1, self.dt = float(t0), float(t1), float(dt)
        steps = n_steps(self.t0, self.t1, self.dt)
        if steps > MAX_STEPS:
            raise ValueError(
                f"(t1 - t0) / dt = {steps:.3g} steps is more than one run can take "
                f"({MAX_STEPS} = 2**31 - 1: step indices are int32); use a larger "
                "step dt or a shorter run."
            )
        ts = np.asarray(save_ts, dtype=float)
        if ts.ndim != 1 or ts.size == 0:
            raise ValueError("`save_ts` must be a non-empty 1-D array of times.")
        if ts.min() < self.t0 or ts.max() > self.t1 or np.any(np.diff(ts) < 0):
            raise ValueError(
                f"`save_ts` must be increasing and inside [{self.t0}, {self.t1}]."
            )
        self.save_ts = tuple(float(t) for t in ts)
        self.observe = observe
        self.events = tuple(events)
        check_events(self.events, self.t0, self.t1, self.dt)

    @property
    def discrete(self) -> bool:
        """True for a discrete-time model (run by `iterate`)."""
        return isinstance(self.model, AbstractMap)

    def run(
        self,
        key: PRNGKeyArray | None,
        *,
        solver: diffrax.AbstractSolver | None = None,
        adjoint: diffrax.AbstractAdjoint | None = None,
        brownian=None,
        snapshots: tuple | None = None,
        progress: bool = False,
    ) -> Simulation:
        """Simulate; `ys` is the dict of observables at `save_ts`.

        `solver`, `adjoint` and `brownian` apply to continuous models; a
        discrete model takes none of them (the default Euler solver is
        accepted and ignored). `snapshots=(times, fn)` also saves
        `fn(t, state, model)` (e.g. a selection of state leaves) at `times`,
        a second save grid inside `[t0, t1]` (on the step grid for a discrete
        model), into the result's `snapshots`. `progress`: report the fraction
        of the run done to `sleepjax.listen_progress`'s listeners (see
        `iterate` and `simulate`)."""
        if snapshots is not None:
            snap_ts, snap_fn = snapshots
            snap_ts = np.asarray(snap_ts, dtype=float).ravel()
            if snap_ts.size == 0 or np.any(np.diff(snap_ts) < 0):
                raise ValueError("snapshot times must be a non-empty increasing list.")
            if snap_ts[0] < self.t0 or snap_ts[-1] > self.t1:
                raise ValueError(
                    f"snapshot times must lie inside the run [{self.t0:g}, "
                    f"{self.t1:g}], got {snap_ts[0]:g} .. {snap_ts[-1]:g}."
                )
        if self.discrete:
            if isinstance(solver, MultirateEuler) or brownian is not None:
                raise ValueError(
                    "this experiment's model is discrete-time: it takes no "
                    "MultirateEuler solver or Brownian path."
                )
            save_ts, fn = np.asarray(self.save_ts), self.observe
            if snapshots is not None:
                save_ts, fn = (save_ts, snap_ts), (fn, snap_fn)
            sim = iterate(
                self.model,
                self.state0,
                t0=self.t0,
                t1=self.t1,
                dt=self.dt,
                key=key,
                save_ts=save_ts,
                fn=fn,
                events=self.events,
                progress=progress,
            )
            return _split_snapshots(sim, snapshots is not None)
        saveat = diffrax.SaveAt(ts=jnp.asarray(self.save_ts), fn=self.observe)
        if snapshots is not None:
            saveat = diffrax.SaveAt(
                subs=(
                    diffrax.SubSaveAt(ts=jnp.asarray(self.save_ts), fn=self.observe),
                    diffrax.SubSaveAt(ts=jnp.asarray(snap_ts), fn=snap_fn),
                )
            )
        sim = simulate(
            self.model,
            self.state0,
            t0=self.t0,
            t1=self.t1,
            dt=self.dt,
            key=key,
            saveat=saveat,
            solver=solver,
            adjoint=adjoint,
            events=self.events,
            brownian=brownian,
            progress=progress,
        )
        return _split_snapshots(sim, snapshots is not None)


def _split_snapshots(sim: Simulation, has: bool) -> Simulation:
    """A run with two save grids: the observables into `ys`, the second grid's
    values into `snapshots`."""
    if not has:
        return sim
    (ts, _), (ys, snaps) = sim.ts, sim.ys
    return Simulation(ts=ts, ys=ys, final=sim.final, status=sim.status, snapshots=snaps)


#: the most save times one run may have (a grid this long is 80 MB per network
#: and observable; longer ones are a mistake in the horizon or the interval)
MAX_SAVES = 10_000_000


def save_grid(t0: float, t1: float, every: float) -> Float[Array, " k"]:
    """Save times t0, t0 + every, ... up to t1; t1 is always included.

    Raises `ValueError` (before allocating anything) if the grid would hold
    more than `MAX_SAVES` times."""
    if not every > 0:
        raise ValueError(f"`save_every` must be > 0, got {every!r}.")
    n = (t1 - t0) / every
    if not n < MAX_SAVES:
        raise ValueError(
            f"saving every {every:g} from {t0:g} to {t1:g} makes {n:.3g} save "
            f"times, more than one run can save ({MAX_SAVES:,}); save less often "
            "or shorten the run."
        )
    k = int(np.floor(n + 1e-9))
    ts = t0 + every * np.arange(k + 1)
    if t1 - ts[-1] > 1e-9 * max(1.0, abs(t1)):
        ts = np.append(ts, t1)
    return ts
