"""fit(): gradient-based fitting of model parameters through noisy solves."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import PRNGKeyArray

from .._experiment import Experiment
from ._data import FitData, FitNaNError
from ._loss import AbstractLoss
from ._params import Param
from ._problem import _Request, _setup, _update_batch, _value_grad_batch
from ._result import FitResult, _fmt


def _stored_value_grad(opt_state):
    """(value, grad) that a line-search optimiser (optax.lbfgs) stored in its
    state at the current parameters, or None for other optimisers."""
    value = optax.tree_utils.tree_get(opt_state, "value", default=None)
    grad = optax.tree_utils.tree_get(opt_state, "grad", default=None)
    return None if value is None or grad is None else (value, grad)


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
    req = _Request(
        build=build,
        params_in=params_in,
        data=data,
        params=params,
        loss=loss,
        constraints=constraints,
        restarts=restarts,
        spread=spread,
        init=init,
        key=key,
        solver=solver,
        adjoint=adjoint,
        brownian=brownian,
    )
    problem, raw0, noise, data_ys = _setup(req)
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
        print(
            "fit: compiling the loss and its gradient (the first step; the "
            "following ones reuse it)…",
            file=sys.stderr,
            flush=True,
        )
    t_start = time.perf_counter()
    value, g, ys = _value_grad_batch(problem, raw, noise, data_ys)
    jax.block_until_ready(value)
    if progress:
        from tqdm.auto import tqdm

        print(
            f"fit: compiled in {time.perf_counter() - t_start:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        bar = tqdm(total=steps, desc="fit", unit="step", dynamic_ncols=True)
    ys_init = ys
    stop = f"the {steps} steps were taken"
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
                stop = f"every gradient norm fell below tol = {tol:g} (step {i})"
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
                stop = f"no value moved by more than xtol = {xtol:g} (step {i + 1})"
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
        stop_reason=stop,
        **_labels(problem.build(params_in).observe, obs_names),
        params_in=params_in,
        trainables=trainables,
    )


def _labels(observe, names) -> dict:
    """Long names with units of the fitted observables, and the time unit."""
    if not hasattr(observe, "attrs"):
        return {}
    labels = {}
    for n in names:
        a = observe.attrs(n)
        unit = a.get("units", "")
        labels[n] = a.get("long_name", n) + (
            f" ({unit})" if unit not in ("", "1") else ""
        )
    return {"labels": labels, "time_units": str(getattr(observe, "time_units", ""))}
