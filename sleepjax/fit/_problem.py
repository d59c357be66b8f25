"""The fit problem: `_Problem`, its batched jitted value/gradient and update,
`_setup` (validation, starting points, noise) and `Objective`/`objective`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import PRNGKeyArray

from .._experiment import Experiment
from .._simulate import network_keys
from ._data import FitData, _prepare
from ._loss import AbstractLoss, Trajectory, as_loss
from ._observe import available_names, differentiable
from ._params import Param, as_params, check_leaf, set_values


class _Problem(eqx.Module):
    """Everything a fit step needs but the optimiser state. A pytree: its arrays
    (the fixed parameter values) are traced, the rest (build function, paths,
    loss, save times) is static, so a second fit of the same problem reuses the
    compiled step."""

    build: Callable = eqx.field(static=True)
    params_in: Any
    trainables: tuple[Param, ...] = eqx.field(static=True)
    loss: AbstractLoss = eqx.field(static=True)
    obs_names: tuple[str, ...] = eqx.field(static=True)
    ts: tuple[float, ...] = eqx.field(static=True)
    solver: Any
    adjoint: Any
    brownian: Any

    def values(self, raw):
        return {p.name: p.constraint.forward(raw[p.name]) for p in self.trainables}

    def simulate(self, raw, keys):
        vals = self.values(raw)
        p = set_values(
            self.trainables, self.params_in, [vals[t.name] for t in self.trainables]
        )
        exp = _prepare(self.build, p, self.obs_names)
        sims = jax.vmap(
            lambda k: exp.run(
                k, solver=self.solver, adjoint=self.adjoint, brownian=self.brownian
            )
        )(keys)
        return sims.ys, sims.status

    def objective(self, raw, keys, dys):
        ys, status = self.simulate(raw, keys)
        value = self.loss(np.asarray(self.ts), ys, dys)
        value = jnp.where(jnp.all(status == 0), value, jnp.nan)
        return value, ys


@eqx.filter_jit
def _value_grad_batch(problem, raw, keys, dys):
    """Loss, gradient and simulated observables of every restart (vmapped).

    This is the one expensive compilation of a fit (forward and reverse solve);
    the optimiser update is compiled separately, so a fit compiles the solve
    once (twice with a line search, which evaluates the loss inside)."""

    def vg(r, k):
        (value, ys), g = jax.value_and_grad(problem.objective, has_aux=True)(r, k, dys)
        return value, g, ys

    return jax.vmap(vg)(raw, keys)


@eqx.filter_jit
def _update_batch(problem, optimizer, raw, opt_state, value, grad, keys, dys):
    """The optimiser's update of every restart (vmapped). Line-search
    optimisers (optax.lbfgs) get the loss function as `value_fn`; the others
    ignore the extra arguments."""

    def upd(r, s, v, g, k):
        updates, s = optimizer.update(
            g,
            s,
            r,
            value=v,
            grad=g,
            value_fn=lambda rr: problem.objective(rr, k, dys)[0],
        )
        return optax.apply_updates(r, updates), s

    return jax.vmap(upd)(raw, opt_state, value, grad, keys)


@dataclasses.dataclass(frozen=True)
class _Request:
    """The arguments of a `fit` or an `objective` that `_setup` reads, as the
    caller gave them (`_setup` validates them)."""

    build: Callable[[Any], Experiment]
    params_in: Any
    data: Any
    params: Any
    loss: Any
    constraints: Mapping[str, Any] | None
    restarts: Any
    spread: Any
    init: Mapping[str, Any] | None
    key: Any
    solver: Any
    adjoint: Any
    brownian: Any


def _setup(req: _Request):
    """Validate everything (before compiling) and build the problem, the
    unconstrained starting points `(R, ...)` and the noise keys `(R, draws)`."""
    build, params_in, data, loss = req.build, req.params_in, req.data, req.loss
    restarts, spread, key = req.restarts, req.spread, req.key
    trainables = as_params(req.params, req.constraints)
    if not isinstance(restarts, int) or restarts < 1:
        raise ValueError(f"`restarts` must be an int >= 1, got {restarts!r}.")
    if not spread >= 0:
        raise ValueError(f"`spread` must be >= 0, got {spread!r}.")
    if not isinstance(data, FitData):
        raise TypeError(f"`data` must be a FitData, got {type(data).__name__}.")
    key = jr.key(key) if isinstance(key, int) else key
    names = tuple(p.name for p in trainables)
    leaves0 = [check_leaf(p, params_in) for p in trainables]

    # -- experiment, observables, data consistency (all before compiling)
    exp0 = build(params_in)
    if not isinstance(exp0, Experiment):
        raise TypeError(
            f"`build(params)` must return a sleepjax Experiment, got "
            f"{type(exp0).__name__}."
        )
    if loss is None:
        default = getattr(exp0.observe, "default_fit", ()) or available_names(
            exp0.observe
        )
        if not default:
            raise ValueError("give a `loss`: this experiment's observables name none.")
        loss = Trajectory(default)
    loss = as_loss(loss).resolve(exp0.observe)
    avail = available_names(exp0.observe)
    obs_names = loss.observables
    if obs_names is None:
        obs_names = avail if avail is not None else tuple(data.ys)
    missing = [n for n in obs_names if n not in data.ys]
    if missing:
        raise ValueError(
            f"the loss reads {missing}, which the data do not hold "
            f"(data: {sorted(data.ys)})."
        )
    differentiable(exp0.observe, obs_names)  # raises if not provided
    ts = np.asarray(exp0.save_ts)
    if ts.shape != data.ts.shape or not np.allclose(ts, data.ts):
        raise ValueError(
            f"the experiment saves at {ts.size} times [{ts.min():g}..{ts.max():g}] "
            f"but the data have {data.ts.size} [{data.ts.min():g}.."
            f"{data.ts.max():g}]; build both with the same protocol settings."
        )
    if loss.matched_noise:
        if data.keys is None:
            raise ValueError(
                "trajectory matching needs the noise keys that made the data; for "
                "recorded data use SummaryStats."
            )
        draws = data.draws if loss.draws is None else loss.draws
        if draws != data.draws:
            raise ValueError(
                f"matched-noise loss with {draws} draws, but the data have "
                f"{data.draws}."
            )
        noise = jnp.broadcast_to(data.keys[None], (restarts, draws))
    else:
        draws = loss.draws
        base = jr.fold_in(key, 0x5EED)
        noise = jax.vmap(lambda r: network_keys(jr.fold_in(base, r), draws))(
            jnp.arange(restarts)
        )

    # -- starting points (unconstrained)
    k_spread = jr.fold_in(key, 1)
    raw0 = {}
    init = dict(req.init or {})
    unknown = [n for n in init if n not in names]
    if unknown:
        raise ValueError(f"`init` given for {unknown}, not trainable ({names}).")
    for i, (p, leaf) in enumerate(zip(trainables, leaves0, strict=True)):
        if p.name in init:
            v = np.asarray(init[p.name], dtype=leaf.dtype)
            if v.shape != (restarts, *leaf.shape):
                raise ValueError(
                    f"`init[{p.name!r}]` must have shape {(restarts, *leaf.shape)}, "
                    f"got {v.shape}."
                )
            if not p.constraint.contains(v):
                raise ValueError(
                    f"`init[{p.name!r}]` is not inside its constraint "
                    f"({p.constraint.describe()})."
                )
            u = p.constraint.inverse(jnp.asarray(v))
        else:
            u0 = p.constraint.inverse(leaf)
            eps = jr.normal(
                jr.fold_in(k_spread, i), (restarts, *leaf.shape), leaf.dtype
            )
            eps = eps.at[0].set(0.0)
            u = u0[None] + spread * eps
        if not np.all(np.isfinite(np.asarray(u))):
            raise ValueError(
                f"the starting value of {p.name!r} maps to a non-finite "
                f"unconstrained value under {p.constraint.describe()}."
            )
        raw0[p.name] = jnp.asarray(u, leaf.dtype)

    data_ys = {n: jnp.asarray(data.ys[n]) for n in obs_names}
    problem = _Problem(
        build=build,
        params_in=params_in,
        trainables=trainables,
        loss=loss,
        obs_names=tuple(obs_names),
        ts=tuple(float(t) for t in ts),
        solver=req.solver,
        adjoint=req.adjoint,
        brownian=req.brownian,
    )
    return problem, raw0, noise, data_ys


class Objective(eqx.Module):
    """The loss that `fit` minimises, as a function of one restart's
    unconstrained values (see `objective`). Differentiate or jit it freely:
    `jax.value_and_grad(obj)(obj.raw0)`.

    **Fields:** `raw0` (dict name → unconstrained start value), `noise` (the
    noise keys, `(draws,)`), `data` (the data's observables).
    """

    problem: _Problem
    raw0: dict
    noise: Any
    data: dict

    def __call__(self, raw):
        return self.problem.objective(raw, self.noise, self.data)[0]

    def observables(self, raw) -> dict:
        """Simulated observables `(draws, T, ...)` at `raw`."""
        return self.problem.objective(raw, self.noise, self.data)[1]

    def values(self, raw) -> dict:
        """Constrained values of the trainable parameters."""
        return self.problem.values(raw)

    def params(self, raw):
        """The full parameter pytree at `raw`."""
        vals = self.values(raw)
        return set_values(
            self.problem.trainables,
            self.problem.params_in,
            [vals[p.name] for p in self.problem.trainables],
        )


def objective(
    build: Callable[[Any], Experiment],
    params_in,
    data: FitData,
    params,
    loss=None,
    *,
    constraints=None,
    key: PRNGKeyArray | int = 0,
    solver=None,
    adjoint=None,
    brownian=None,
) -> Objective:
    """The loss of `fit(...)` with the same arguments, for one restart starting
    at `params_in`: for your own optimisation loop, scipy, or to check
    gradients. Arguments as for `fit`.
    """
    key = jr.key(key) if isinstance(key, int) else key
    req = _Request(
        build=build,
        params_in=params_in,
        data=data,
        params=params,
        loss=loss,
        constraints=constraints,
        restarts=1,
        spread=0.0,
        init=None,
        key=key,
        solver=solver,
        adjoint=adjoint,
        brownian=brownian,
    )
    problem, raw0, noise, data_ys = _setup(req)
    raw0 = {k: v[0] for k, v in raw0.items()}
    return Objective(problem=problem, raw0=raw0, noise=noise[0], data=data_ys)
