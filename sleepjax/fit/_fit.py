"""fit(): gradient-based fitting of model parameters through noisy solves."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
from jaxtyping import PRNGKeyArray

from .._experiment import Experiment
from .._simulate import STATUS_MEANINGS, network_keys
from ._loss import AbstractLoss, Trajectory, as_loss
from ._observe import available_names, differentiable, expand
from ._params import Param, as_params, check_leaf, set_values


class FitNaNError(FloatingPointError):
    """A fit met a non-finite loss or gradient; nothing was saved.

    Attributes: `step`, `param` (name, or `None` when only the loss was
    non-finite), `restart`.
    """

    def __init__(self, message: str, step: int, param: str | None, restart: int):
        super().__init__(message)
        self.step, self.param, self.restart = step, param, restart


# --------------------------------------------------------------------- data
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


# ------------------------------------------------------------------- result
@dataclasses.dataclass
class FitResult:
    """What `fit` returns. Arrays have a restart axis `R`.

    **Fields:**

    - `names`, `constraints`: the trainable parameters and their constraints.
    - `values`: dict name → fitted value `(R, ...)` (after the last step).
    - `init_values`: dict name → starting value `(R, ...)`.
    - `true_values`: dict name → value in `data.params` (or `None`).
    - `trace`: dict name → value at every step `(steps + 1, R, ...)`.
    - `loss`: `(steps + 1, R)`, the loss before each step and after the last
      (fewer rows if `tol` stopped the fit early).
    - `grad_norm`: `(steps, R)`, global gradient norm (unconstrained space).
    - `best`: index of the restart with the lowest final loss.
    - `ts`: save times; `target`: the data's observables `(D, T, ...)`;
      `fitted`, `initial`: simulated observables at the fitted / starting
      values `(R, draws, T, ...)`.
    - `seconds`: wall time of the optimisation loop after the first step;
      `compile_seconds`: time of the first step (compilations included).
    """

    names: tuple[str, ...]
    constraints: tuple[str, ...]
    values: dict[str, np.ndarray]
    init_values: dict[str, np.ndarray]
    true_values: dict[str, np.ndarray] | None
    trace: dict[str, np.ndarray]
    loss: np.ndarray
    grad_norm: np.ndarray
    best: int
    ts: np.ndarray
    target: dict[str, np.ndarray]
    fitted: dict[str, np.ndarray]
    initial: dict[str, np.ndarray]
    seconds: float
    compile_seconds: float
    params_in: Any = dataclasses.field(default=None, repr=False)
    trainables: tuple[Param, ...] = dataclasses.field(default=(), repr=False)

    @property
    def final_loss(self) -> np.ndarray:
        return self.loss[-1]

    def params(self, restart: int | None = None):
        """The full parameter pytree with the fitted values of `restart`
        (default: the best)."""
        r = self.best if restart is None else restart
        return set_values(
            self.trainables, self.params_in, [self.values[n][r] for n in self.names]
        )

    def relative_error(self, restart: int | None = None) -> dict[str, float]:
        """|fitted − true| / |true| per parameter (needs `true_values`)."""
        if self.true_values is None:
            raise ValueError("the data have no known parameters.")
        r = self.best if restart is None else restart
        return {
            n: float(
                np.max(np.abs(self.values[n][r] - self.true_values[n]))
                / np.max(np.abs(self.true_values[n]))
            )
            for n in self.names
        }

    def summary(self) -> str:
        """A table of start, fitted (best restart) and true values."""
        r = self.best
        lines = [
            f"best restart {r}: loss {self.loss[0, r]:.4g} -> {self.loss[-1, r]:.4g}"
        ]
        lines.append(
            f"{'param':>12} {'start':>11} {'fitted':>11} {'true':>11} {'rel.err':>8}"
        )
        for n in self.names:
            s, f = self.init_values[n][r], self.values[n][r]
            t = None if self.true_values is None else self.true_values[n]
            err = "" if t is None else f"{self.relative_error()[n]:8.2%}"
            lines.append(
                f"{n:>12} {_fmt(s):>11} {_fmt(f):>11} "
                f"{'' if t is None else _fmt(t):>11} {err}"
            )
        return "\n".join(lines)


def _fmt(a) -> str:
    a = np.asarray(a)
    return f"{float(a):.5g}" if a.size == 1 else f"[{a.size} values]"


# ---------------------------------------------------------------------- fit
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


def _stored_value_grad(opt_state):
    """(value, grad) that a line-search optimiser (optax.lbfgs) stored in its
    state at the current parameters, or None for other optimisers."""
    value = optax.tree_utils.tree_get(opt_state, "value", default=None)
    grad = optax.tree_utils.tree_get(opt_state, "grad", default=None)
    return None if value is None or grad is None else (value, grad)


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


def _check_finite(step, names, value, g, restarts, trace):
    """Raise FitNaNError if a loss or gradient is not finite (before any update)."""
    ok = np.isfinite(value)
    for n in names:
        ok &= np.all(np.isfinite(g[n].reshape(restarts, -1)), axis=1)
    if not np.all(ok):
        r = int(np.argmin(ok))
        vals = {n: trace[n][-1] for n in names}
        msg, param = _message_nan(step, names, g, value, r, vals)
        raise FitNaNError(msg, step, param, r)


def _message_nan(step, names, g, loss, restart, values):
    bad = [n for n in names if not np.all(np.isfinite(g[n][restart]))]
    vals = ", ".join(f"{n}={_fmt(values[n][restart])}" for n in names)
    if bad:
        head = (
            f"fit stopped at step {step}: non-finite gradient for parameter "
            f"{bad[0]!r}"
            + (f" (also {', '.join(map(repr, bad[1:]))})" if len(bad) > 1 else "")
            + f" in restart {restart}"
        )
        param = bad[0]
    else:
        head = f"fit stopped at step {step}: non-finite loss in restart {restart}"
        param = None
    return (
        f"{head}; loss {loss[restart]:.4g}, values {vals}. Nothing was saved. "
        "Lower the learning rate, constrain the parameter, clip gradients "
        "(optax.clip_by_global_norm) or shorten the horizon (chaotic dynamics "
        "make gradients explode).",
        param,
    )


def _setup(
    build,
    params_in,
    data,
    params,
    loss,
    constraints,
    restarts,
    spread,
    init,
    key,
    solver,
    adjoint,
    brownian,
):
    """Validate everything (before compiling) and build the problem, the
    unconstrained starting points `(R, ...)` and the noise keys `(R, draws)`."""
    trainables = as_params(params, constraints)
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
    init = dict(init or {})
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
        solver=solver,
        adjoint=adjoint,
        brownian=brownian,
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
    problem, raw0, noise, data_ys = _setup(
        build,
        params_in,
        data,
        params,
        loss,
        constraints,
        1,
        0.0,
        None,
        key,
        solver,
        adjoint,
        brownian,
    )
    raw0 = {k: v[0] for k, v in raw0.items()}
    return Objective(problem=problem, raw0=raw0, noise=noise[0], data=data_ys)


def fit(
    build: Callable[[Any], Experiment],
    params_in,
    data: FitData,
    params: Sequence[str | Param] | Mapping[str, Any] | str | Param,
    loss: AbstractLoss | Callable = None,
    *,
    constraints: Mapping[str, Any] | None = None,
    optimizer: optax.GradientTransformation | None = None,
    steps: int = 100,
    restarts: int = 1,
    spread: float = 0.0,
    init: Mapping[str, Any] | None = None,
    key: PRNGKeyArray | int = 0,
    solver=None,
    adjoint=None,
    brownian=None,
    tol: float | None = None,
    xtol: float | None = None,
    progress: bool = True,
    callback: Callable[[int, np.ndarray, dict], None] | None = None,
) -> FitResult:
    r"""Fit parameters of a simulated experiment to data by gradient descent.

    Each restart optimises its own copy of the trainable parameters with
    `optimizer`; the restarts are `jax.vmap`ped (one compiled step runs them
    all). Gradients are taken through the noisy solve with the noise held fixed
    per restart (default: `FoldInBrownianPath` + `RecursiveCheckpointAdjoint`
    with O(√steps) checkpoints, so memory grows sublinearly with the horizon).
    The optimiser works on unconstrained values `u`; the model sees
    `constraint.forward(u)`.

    **Arguments:**

    - `build`: `params -> Experiment`, e.g. a protocol of a model with its
      options, key and settings fixed. It must fix
      everything but the parameters (the structure key in particular).
    - `params_in`: the parameter pytree (e.g. a model's params) holding the
      starting values of the trainable parameters and the fixed values of the
      others.
    - `data`: a `FitData` (see `simulate_data`).
    - `params`: trainable parameters: paths (`"a_P"`,
      `"model.plasticity.beta"`), `Param`s, or a dict path → constraint.
    - `loss`: `Trajectory(...)` (default: a `Trajectory` of the observables'
      `default_fit` names),
      `SummaryStats(...)`, `CustomLoss(...)` or a callable
      `(ts, sim, data) -> scalar`.
    - `constraints`: dict path → constraint for parameters given as paths:
      `"positive"`, `"softplus"`, `"negative"`, `(lo, hi)`.
    - `optimizer`: an optax transformation (with its schedule). Default
      `optax.adam(0.05)`.
    - `steps`: optimisation steps. `restarts`: independent restarts.
    - `spread`: restarts other than 0 start at `u0 + spread·N(0, 1)` in the
      unconstrained space (for `"positive"`, ±`spread` is a relative change).
      Restart 0 starts exactly at `params_in`.
    - `init`: dict name → starting values `(restarts, ...)` (constrained space;
      overrides `spread`).
    - `key`: seed/key for the spread and for the noise of `SummaryStats` draws.
    - `solver`, `adjoint`, `brownian`: passed to `simulate`.
    - `tol`: stop early once every restart's gradient norm (unconstrained
      space) is below `tol`. Default: run all `steps`.
    - `xtol`: stop early once no restart's step changed any unconstrained
      value by more than `xtol` (a line search that no longer makes progress;
      for `"positive"` parameters this is a relative change).
    - `progress`: show a tqdm bar with step, loss and gradient norm.
    - `callback`: `callback(step, loss (R,), values)` after each step.

    **Returns:** a `FitResult`.

    **Raises:** `FitNaNError` naming the step, parameter and restart when a loss
    or gradient is not finite (the fit stops; nothing is returned or saved).
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"`steps` must be an int >= 1, got {steps!r}.")
    for nm, v in (("tol", tol), ("xtol", xtol)):
        if v is not None and not v > 0:
            raise ValueError(f"`{nm}` must be > 0 or None, got {v!r}.")
    optimizer = optax.adam(0.05) if optimizer is None else optimizer
    # Accept (and ignore) the line-search extra arguments in any optimiser.
    optimizer = optax.with_extra_args_support(optimizer)
    problem, raw0, noise, data_ys = _setup(
        build,
        params_in,
        data,
        params,
        loss,
        constraints,
        restarts,
        spread,
        init,
        key,
        solver,
        adjoint,
        brownian,
    )
    trainables = problem.trainables
    names = tuple(p.name for p in trainables)
    obs_names = problem.obs_names
    ts = np.asarray(problem.ts)
    # Strongly typed state: optimisers (e.g. optax.lbfgs) may return weakly
    # typed leaves from `init` and strongly typed ones from `update`, which would
    # compile the update twice.
    opt_state = jax.tree.map(
        lambda a: jnp.asarray(a, a.dtype) if eqx.is_array(a) else a,
        jax.vmap(optimizer.init)(raw0),
    )
    # Line-search optimisers keep the loss and gradient at the accepted point
    # in their state: reuse them instead of solving again.
    reuse = _stored_value_grad(opt_state) is not None

    raw = raw0
    losses, gnorms = [], []
    trace = {n: [np.asarray(problem.values(raw0)[n])] for n in names}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="fit", unit="step", dynamic_ncols=True)
    t_start = time.perf_counter()
    value, g, ys = _value_grad_batch(problem, raw, noise, data_ys)
    ys_init = ys
    if reuse:
        opt_state = optax.tree_utils.tree_set(opt_state, value=value, grad=g)
    t_compile = 0.0
    try:
        for i in range(steps):
            value_np = np.asarray(value)
            g_np = {n: np.asarray(g[n]) for n in names}
            _check_finite(i, names, value_np, g_np, restarts, trace)
            gnorm = np.sqrt(
                sum(np.sum(g_np[n].reshape(restarts, -1) ** 2, axis=1) for n in names)
            )
            losses.append(value_np)
            gnorms.append(gnorm)
            if tol is not None and np.all(gnorm < tol):
                break
            new, opt_state = _update_batch(
                problem, optimizer, raw, opt_state, value, g, noise, data_ys
            )
            if reuse:
                value, g = _stored_value_grad(opt_state)
            else:
                value, g, ys = _value_grad_batch(problem, new, noise, data_ys)
            moved = max(
                float(np.max(np.abs(np.asarray(new[n]) - np.asarray(raw[n]))))
                for n in names
            )
            raw = new
            vals = problem.values(raw)
            for n in names:
                trace[n].append(np.asarray(vals[n]))
            if bar is not None:
                b = int(np.argmin(value_np))
                bar.set_postfix(
                    loss=f"{value_np[b]:.4g}", gnorm=f"{gnorm[b]:.3g}", refresh=False
                )
                bar.update(1)
            if callback is not None:
                callback(i, value_np, {n: trace[n][-1] for n in names})
            if i == 0:  # the first step includes the compilations
                jax.block_until_ready(value)
                t_compile = time.perf_counter() - t_start
                t_start = time.perf_counter()
            if xtol is not None and moved < xtol:
                break
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t_start

    if reuse:  # the observables at the final point (loss and gradient are known)
        value, g, ys = _value_grad_batch(problem, raw, noise, data_ys)
    final = np.asarray(value)
    if not np.all(np.isfinite(final)):
        r = int(np.argmin(np.isfinite(final)))
        raise FitNaNError(
            f"fit stopped: the loss at the fitted values is not finite in "
            f"restart {r}. Nothing was saved.",
            len(gnorms),
            None,
            r,
        )
    if len(losses) == len(trace[names[0]]):  # stopped by `tol` before an update
        losses.pop()
        gnorms.pop()
    losses.append(final)
    loss_arr = np.stack(losses)
    best = int(np.argmin(final))
    ys_fit = ys
    true_values = None
    if data.params is not None:
        try:
            true_values = {p.name: np.asarray(p.get(data.params)) for p in trainables}
        except (ValueError, AttributeError, TypeError):
            true_values = None
    return FitResult(
        names=names,
        constraints=tuple(p.constraint.describe() for p in trainables),
        values={n: trace[n][-1] for n in names},
        init_values={n: trace[n][0] for n in names},
        true_values=true_values,
        trace={n: np.stack(trace[n]) for n in names},
        loss=loss_arr,
        grad_norm=np.stack(gnorms),
        best=best,
        ts=ts,
        target={n: np.asarray(data.ys[n]) for n in obs_names},
        fitted={n: np.asarray(v) for n, v in ys_fit.items()},
        initial={n: np.asarray(v) for n, v in ys_init.items()},
        seconds=seconds,
        compile_seconds=t_compile,
        params_in=params_in,
        trainables=trainables,
    )
