"""simulate(): one diffrax solve of a Model, with summaries and a per-network status."""

from __future__ import annotations

from typing import Any

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from jaxtyping import Array, Int, PRNGKeyArray, PyTree

from ._brownian import FoldInBrownianPath
from ._errors import n_steps
from ._progress import ProgressReporter
from ._solvers import EventSolver, MultirateEuler
from ._system import AbstractSystem, noise_leaves
from ._terms import NoiseTerm, drift_vector_field
from .stimuli import AbstractConditionEvent, AbstractEvent

#: status codes of a simulated network
OK, SOLVER_FAILED, NONFINITE = 0, 1, 2
STATUS_MEANINGS = {
    OK: "ok",
    SOLVER_FAILED: "solver failed",
    NONFINITE: "non-finite state",
}


class Simulation(eqx.Module):
    """What `simulate` returns (under `jax.vmap`, every field gains a batch axis).

    **Fields:**

    - `ts`: the save times of the user's `SaveAt` (pytree matching its `subs`).
    - `ys`: the saved values: whatever the `SaveAt`'s `fn` returns at each save
      time (a summary), or whole states if no `fn` was given.
    - `final`: the final state (always kept, to chain protocol phases).
    - `status`: int8 per network: 0 ok, 1 solver failure, 2 non-finite state.
    - `snapshots`: what `Experiment.run(..., snapshots=(times, fn))` saved at
      its snapshot times (`None` otherwise).
    """

    ts: PyTree[Array]
    ys: PyTree[Array]
    final: PyTree[Array]
    status: Int[Array, ""]
    snapshots: PyTree[Array] | None = None


def check_events(events, t0, t1, dt, note=""):
    """Events must be events; a timed one must lie in (t0, t1] on the step
    grid (a condition event fires wherever its condition holds)."""
    for ev in events:
        if isinstance(ev, AbstractConditionEvent):
            continue
        if not isinstance(ev, AbstractEvent):
            raise TypeError(f"`events` must contain events, got {ev!r}.")
        if not (t0 < ev.time <= t1):
            raise ValueError(
                f"event at t={ev.time} lies outside the simulated interval "
                f"({t0}, {t1}]."
            )
        k = (ev.time - t0) / dt
        if abs(k - round(k)) > 1e-6 * max(1.0, k):
            raise ValueError(
                f"event at t={ev.time} is not on the solver's step grid t0 + k*dt "
                f"(t0={t0}, dt={dt}{note}); move it or change dt."
            )


def make_brownian(brownian, shape, key, t0, t1, dt):
    """Build the Brownian path named by `brownian` (or pass an instance through)."""
    if isinstance(brownian, diffrax.AbstractBrownianPath):
        return brownian
    if brownian in (None, "fold_in"):
        return FoldInBrownianPath(shape, key, t0, dt)
    if brownian == "fold_in_nested":
        return FoldInBrownianPath(shape, key, t0, dt, nested=True)
    if brownian == "virtual_tree":
        return diffrax.VirtualBrownianTree(t0, t1, tol=dt / 2, shape=shape, key=key)
    if brownian == "unsafe":
        return diffrax.UnsafeBrownianPath(shape=shape, key=key)
    raise ValueError(
        f"`brownian` must be 'fold_in' (default), 'fold_in_nested', "
        f"'virtual_tree', 'unsafe' or a "
        f"diffrax Brownian path; got {brownian!r}."
    )


def simulate(
    model: AbstractSystem,
    state0: PyTree[Array],
    *,
    t0: float,
    t1: float,
    dt: float,
    key: PRNGKeyArray | None = None,
    saveat: diffrax.SaveAt | None = None,
    solver: diffrax.AbstractSolver | None = None,
    adjoint: diffrax.AbstractAdjoint | None = None,
    events: tuple[AbstractEvent, ...] = (),
    brownian: Any = None,
    max_steps: int | None = None,
    progress: bool = False,
    **diffeqsolve_kwargs,
) -> Simulation:
    r"""Integrate a continuous-time model from `t0` to `t1` with fixed steps `dt`.

    Builds the drift `ODETerm` and (if the model has noise) a `NoiseTerm` driven
    by a Brownian path, and calls `diffrax.diffeqsolve`. Works under `jax.jit`,
    `jax.vmap` (over models, states and keys) and `jax.grad`. Discrete-time
    models (`AbstractMap`) run with `iterate` instead, which returns the same
    `Simulation`.

    **Arguments:**

    - `model`: an `AbstractSystem`, e.g. a `Model`.
    - `state0`: initial state (e.g. from `model.init(...)`).
    - `t0`, `t1`, `dt`: time interval and step (time units); `(t1 - t0) / dt` must
      be a whole number.
    - `key`: PRNG key for the noise (required if the model has noise). Its
      implementation (threefry2x32, rbg, unsafe_rbg) is the PRNG used.
    - `saveat`: a `diffrax.SaveAt`; use `SaveAt(ts=..., fn=summary)` to save
      summaries rather than whole states. Default: nothing but the final state.
    - `solver`: default `diffrax.Euler()` (Euler–Maruyama, Itô). Pass
      `MultirateEuler(k)` for multirate stepping.
    - `adjoint`: default `diffrax.RecursiveCheckpointAdjoint()` (reverse mode with
      O(log n) checkpointing memory).
    - `events`: jumps applied at given times (e.g. `AddWeights` to insert a
      memory), or whenever a traced condition holds (`AbstractConditionEvent`,
      e.g. `sleepjax.sleep.StageEntryEvent`), at the end of a solver step.
    - `brownian`: `'fold_in'` (default: fast, deterministic, differentiable),
      `'fold_in_nested'` (the same single-step increments; a multi-step
      query, e.g. from `MultirateEuler(k)`, gets their sum, so that solvers
      with different steps see one Brownian path; slower),
      `'virtual_tree'`, `'unsafe'` or a `diffrax.AbstractBrownianPath` with
      shape `model.noise_shape(state0)`.
    - `max_steps`: default: exactly the number of steps.
    - `progress`: report the fraction of the run done (each 2 % of the slowest
      network, and at the end) to `sleepjax.listen_progress`'s listeners,
      through diffrax's progress-meter hook (the numbers are unchanged).
    - other keyword arguments go to `diffrax.diffeqsolve` (e.g. `progress_meter`).

    **Returns:** a `Simulation` (saved values, final state, status).
    """
    t0, t1, dt = float(t0), float(t1), float(dt)
    steps = n_steps(t0, t1, dt)
    if not isinstance(model, AbstractSystem):
        raise TypeError(
            f"`model` must be a continuous-time sleepjax model (an AbstractSystem "
            f"such as Model), got {type(model).__name__}"
            + (
                "; run discrete-time maps with sleepjax.iterate."
                if hasattr(model, "step")
                else "."
            )
        )
    model.check_state(state0)
    events = tuple(events)
    solver = diffrax.Euler() if solver is None else solver
    dt0 = dt
    note = ""
    if isinstance(solver, MultirateEuler):
        if steps % solver.substeps:
            raise ValueError(
                f"MultirateEuler(substeps={solver.substeps}) needs the number of "
                f"steps ({steps}) to be a multiple of substeps."
            )
        dt0 = dt * solver.substeps
        steps //= solver.substeps
        note = f": MultirateEuler({solver.substeps}) steps by {dt0}"
    check_events(events, t0, t1, dt0, note)
    if events:
        solver = EventSolver(solver, events)

    drift = diffrax.ODETerm(drift_vector_field)
    shape = model.noise_shape(state0)
    if noise_leaves(shape):
        if key is None:
            raise ValueError("this model has noise: pass `key=` to simulate().")
        path = make_brownian(brownian, shape, key, t0, t1, dt)
        terms = diffrax.MultiTerm(drift, NoiseTerm(path, dt))
    else:
        terms = drift

    user = diffrax.SaveAt(t1=True) if saveat is None else saveat
    save = diffrax.SaveAt(
        subs=(user.subs, diffrax.SubSaveAt(t1=True)),
        dense=user.dense,
        solver_state=user.solver_state,
        controller_state=user.controller_state,
        made_jump=user.made_jump,
    )
    adjoint = diffrax.RecursiveCheckpointAdjoint() if adjoint is None else adjoint
    if progress:
        if "progress_meter" in diffeqsolve_kwargs:
            raise ValueError("give `progress=True` or a `progress_meter`, not both.")
        diffeqsolve_kwargs["progress_meter"] = ProgressReporter()
    sol = diffrax.diffeqsolve(
        terms,
        solver,
        t0,
        t1,
        None,  # dt0: the StepTo grid below
        state0,
        args=model,
        saveat=save,
        adjoint=adjoint,
        # Step ends on the exact grid t0 + i·dt0 (computed in float64), not
        # accumulated t += dt0: a save or an event at a grid time then falls on
        # a step end whatever rounding the accumulation would have made, so a
        # save at an event's time always sees the state before the event.
        stepsize_controller=diffrax.StepTo(
            ts=np.asarray(t0 + dt0 * np.arange(steps + 1, dtype=np.float64))
        ),
        max_steps=steps if max_steps is None else max_steps,
        throw=False,
        **diffeqsolve_kwargs,
    )
    ts, ts_final = sol.ts
    ys, ys_final = sol.ys
    final = jtu.tree_map(lambda a: a[-1], ys_final)
    failed = sol.result != diffrax.RESULTS.successful
    return Simulation(ts=ts, ys=ys, final=final, status=run_status(final, failed))


def run_status(final, failed=False) -> Int[Array, ""]:
    """int8 status of one run: 1 if `failed`, else 2 if a floating leaf of
    `final` is not finite, else 0."""
    finite = jnp.array(True)
    for leaf in jtu.tree_leaves(final):
        if jnp.issubdtype(leaf.dtype, jnp.inexact):
            finite = finite & jnp.all(jnp.isfinite(leaf))
    status = jnp.where(failed, SOLVER_FAILED, jnp.where(finite, OK, NONFINITE))
    return status.astype(jnp.int8)


def network_keys(seed_or_key, n: int, offset: int = 0) -> PRNGKeyArray:
    """Keys for networks `offset, ..., offset + n - 1`: `fold_in(root, index)`.

    Deriving each network's key from its global index (never from its position
    in a chunk) makes results independent of chunking and device count.
    """
    root = jr.key(seed_or_key) if isinstance(seed_or_key, int) else seed_or_key
    return jax.vmap(lambda i: jr.fold_in(root, i))(jnp.arange(offset, offset + n))
