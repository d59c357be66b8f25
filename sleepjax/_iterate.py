"""iterate(): run a discrete-time model (an `AbstractMap`) by `lax.scan`."""

from __future__ import annotations

import diffrax
import jax
import jax.numpy as jnp
import jax.random as jr
import jax.tree_util as jtu
import numpy as np
from jaxtyping import Array, PRNGKeyArray, PyTree

from ._errors import n_steps
from ._progress import report_progress
from ._simulate import Simulation, check_events, run_status
from ._system import AbstractMap
from .stimuli import AbstractConditionEvent


def _from_saveat(saveat):
    """`[(times, fn), ...]` (one per `SubSaveAt`) and whether `saveat.subs`
    was a sequence, from a `diffrax.SaveAt` made outside `jit` (its times
    must be concrete)."""
    if not isinstance(saveat, diffrax.SaveAt):
        raise TypeError(f"`saveat` must be a diffrax.SaveAt, got {saveat!r}.")
    if saveat.dense:
        raise ValueError("iterate saves at given times only: no dense output.")
    many = not isinstance(saveat.subs, diffrax.SubSaveAt)
    subs = jtu.tree_leaves(
        saveat.subs, is_leaf=lambda x: isinstance(x, diffrax.SubSaveAt)
    )
    if not subs or not all(isinstance(s, diffrax.SubSaveAt) for s in subs):
        raise ValueError("iterate: `saveat.subs` must hold SubSaveAt(ts=...)s.")
    if many and not isinstance(saveat.subs, list | tuple):
        raise ValueError("iterate: `saveat.subs` must be a SubSaveAt or a tuple.")
    out = []
    for sub in subs:
        if sub.steps or sub.t0 or sub.t1:
            raise ValueError(
                "iterate saves at given times only: use save_ts=... (or "
                "SubSaveAt(ts=...))."
            )
        try:
            ts = None if sub.ts is None else np.asarray(sub.ts)
        except jax.errors.TracerArrayConversionError:
            raise ValueError(
                "iterate needs concrete save times: pass save_ts=numpy array (a "
                "SaveAt made inside jit holds traced times)."
            ) from None
        out.append((ts, sub.fn))
    return out, many


def _save_plan(save_ts, t0: float, t1: float, dt: float, steps: int):
    """Step indices to save at, and their times."""
    ts = np.asarray([t1] if save_ts is None else save_ts, dtype=np.float64).ravel()
    if ts.size == 0:
        raise ValueError("iterate: `save_ts` is empty.")
    k = (ts - t0) / dt
    idx = np.round(k).astype(np.int64)
    off = np.abs(k - idx) > 1e-6 * np.maximum(1.0, np.abs(k))
    if np.any(off) or np.any(idx < 0) or np.any(idx > steps):
        bad = ts[off | (idx < 0) | (idx > steps)][0]
        raise ValueError(
            f"save time {bad:g} is not on the step grid t0 + k*dt inside "
            f"[{t0:g}, {t1:g}] (dt = {dt:g}); a discrete-time model has states at "
            "grid times only."
        )
    if np.any(np.diff(idx) < 0):
        raise ValueError("iterate: save times must be increasing.")
    return idx, ts


def iterate(
    model: AbstractMap,
    state0: PyTree[Array],
    *,
    t0: float,
    t1: float,
    dt: float,
    key: PRNGKeyArray | None = None,
    save_ts=None,
    fn=None,
    saveat: diffrax.SaveAt | None = None,
    events=(),
    checkpoint: bool = False,
    progress: bool = False,
) -> Simulation:
    r"""Iterate a discrete-time model from `t0` to `t1`, one step per `dt`.

    Step $k$ (from time $t_k = t_0 + k\,\Delta t$) computes
    `state = model.step(t_k, state, fold_in(key, k))`. Works under `jax.jit`,
    `jax.vmap` and `jax.grad`, like `simulate`, and returns the same
    `Simulation`: saved values, final state and a per-network status (0 ok,
    2 non-finite state).

    **Arguments:**

    - `model`: an `AbstractMap`.
    - `state0`: initial state.
    - `t0`, `t1`, `dt`: time interval and step (time units); `(t1 - t0) / dt`
      must be a whole number.
    - `key`: PRNG key of the run (any implementation). Default: a fixed key,
      for maps that draw no random numbers.
    - `save_ts`: save times (on the step grid, increasing; concrete values,
      e.g. a NumPy array). Default: `t1` only. A save at $t_k$ sees the
      state after $k$ steps, before any event at $t_k$.
    - `fn`: `fn(t, state, model)` gives what is saved (a summary); default:
      the whole state.
    - `saveat`: instead of `save_ts` and `fn`, a `diffrax.SaveAt(ts=..., fn=...)`
      made outside `jit`, or a `SaveAt(subs=(SubSaveAt(...), ...))` with
      several save grids.
    - Several save grids can also be given as `save_ts=(ts_a, ts_b, ...)`
      with `fn=(fn_a, fn_b, ...)` (a `None` saves the whole state); `ts` and
      `ys` are then tuples, one per grid, as diffrax returns them.
    - `events`: jumps applied at given grid times, or at the steps where a
      traced condition holds (`AbstractConditionEvent`; `sleepjax.stimuli`).
    - `checkpoint`: recompute each step in the backward pass instead of
      storing its intermediates (less memory for gradients through long runs).
    - `progress`: report the fraction of the run done to
      `sleepjax.listen_progress`'s listeners at the first save time after each
      twentieth of the run, and at the end (a host callback; the numbers are
      unchanged).

    **Returns:** a `Simulation`.
    """
    t0, t1, dt = float(t0), float(t1), float(dt)
    steps = n_steps(t0, t1, dt)
    if not isinstance(model, AbstractMap):
        raise TypeError(
            f"`model` must be a discrete-time sleepjax model (an AbstractMap), got "
            f"{type(model).__name__}; run continuous-time models with simulate."
        )
    model.check_state(state0)
    events = tuple(events)
    check_events(events, t0, t1, dt)
    if saveat is not None:
        if save_ts is not None or fn is not None:
            raise ValueError("iterate: give `saveat` or `save_ts`/`fn`, not both.")
        grids, many = _from_saveat(saveat)
        if not many:
            (save_ts, fn), grids = grids[0], None
    elif isinstance(fn, tuple):
        if not isinstance(save_ts, tuple) or len(save_ts) != len(fn):
            raise ValueError(
                "iterate: with a tuple of `fn`s, `save_ts` must be a tuple of "
                "as many time grids."
            )
        grids = list(zip(save_ts, fn, strict=True))
    else:
        grids = None
    if grids is not None:
        return _iterate_grids(
            model, state0, t0, t1, dt, steps, key, grids, events, checkpoint, progress
        )
    idx, save_times = _save_plan(save_ts, t0, t1, dt, steps)
    key = jr.key(0) if key is None else key
    one_step, finish = _stepper(model, t0, dt, steps, key, events, checkpoint)

    def advance(y, k0, n: int):
        """`n` steps (static) from global step index `k0`."""
        if n == 0:
            return y
        ks = k0 + jnp.arange(n, dtype=jnp.int32)
        y, _ = jax.lax.scan(lambda c, k: (one_step(c, k), None), y, ks)
        return y

    def advance_masked(y, k0, n, n_max: int):
        return _advance_masked(one_step, y, k0, n, n_max)

    def save(k, y):
        t = t0 + dt * jnp.asarray(k).astype(jnp.result_type(float))
        return y if fn is None else fn(t, y, model)

    # before the first save
    y = advance(state0, jnp.int32(0), int(idx[0]))
    first = save(int(idx[0]), y)
    lengths = np.diff(idx)
    if lengths.size:
        starts = idx[:-1].astype(np.int32)
        uniform = np.all(lengths == lengths[0])

        def seg(y, inp):
            k0, n = inp
            if uniform:
                y = advance(y, k0, int(lengths[0]))
            else:
                y = advance_masked(y, k0, n, int(lengths.max()))
            if progress:
                _tell_some(k0, n, steps, y)
            return y, save(k0 + n, y)

        y, rest = jax.lax.scan(
            seg, y, (jnp.asarray(starts), jnp.asarray(lengths, dtype=jnp.int32))
        )
        ys = jtu.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, rest)
    else:
        ys = jtu.tree_map(lambda a: a[None], first)
    # after the last save, then the events at t1
    y = finish(advance(y, jnp.int32(idx[-1]), steps - int(idx[-1])))
    if progress:
        _tell(jnp.int32(steps), steps, y)
    ts = jnp.asarray(save_times, dtype=jnp.result_type(float))
    return Simulation(ts=ts, ys=ys, final=y, status=run_status(y))


#: progress reports per run at most (each one a host callback, ~0.1-0.5 ms)
PROGRESS_REPORTS = 20


def _tell_some(k0, n, steps: int, y) -> None:
    """Report after a save segment `[k0, k0 + n]` that crosses one of
    `PROGRESS_REPORTS` equal parts of the run (`k0`, `n` unbatched, so under
    `vmap` this stays a branch, not a select)."""
    r = PROGRESS_REPORTS
    due = (k0 + n) * r // max(steps, 1) > k0 * r // max(steps, 1)
    jax.lax.cond(due, lambda y: _tell(k0 + n, steps, y), lambda y: None, y)


def _tell(k, steps: int, y) -> None:
    """Report `k` of `steps` steps done (`k` an unbatched scan index), after
    the state `y`."""
    report_progress(k.astype(jnp.result_type(float)) / max(steps, 1), y)


def _advance_masked(one_step, y, k0, n, n_max: int):
    """`n` (traced) <= `n_max` (static) steps from global step `k0`; the
    others leave y as is."""
    ks = k0 + jnp.arange(n_max, dtype=jnp.int32)

    def body(c, jk):
        j, k = jk
        new = one_step(c, k)
        return jtu.tree_map(lambda a, b: jnp.where(j < n, a, b), new, c), None

    y, _ = jax.lax.scan(body, y, (jnp.arange(n_max), ks))
    return y


def _stepper(model, t0, dt, steps, key, events, checkpoint):
    """`one_step(y, k)` (the events at step k, then the map) and `finish(y)`
    (the events at t1, after the last step). A timed event fires at its grid
    step; a condition event at step k >= 1 when `fires(t_{k-1}, t_k)`."""
    timed = [ev for ev in events if not isinstance(ev, AbstractConditionEvent)]
    traced = [ev for ev in events if isinstance(ev, AbstractConditionEvent)]
    ev_steps = [int(round((ev.time - t0) / dt)) for ev in timed]
    ftype = jnp.result_type(float)

    def conditional(y, t):
        for ev in traced:
            y = jax.lax.cond(
                ev.fires(t - dt, t), lambda s, ev=ev: ev.apply(s), lambda s: s, y
            )
        return y

    def one_step(y, k):
        for ev, ke in zip(timed, ev_steps, strict=True):
            y = jax.lax.cond(k == ke, lambda s, ev=ev: ev.apply(s), lambda s: s, y)
        t = t0 + dt * k.astype(ftype)
        if traced:
            y = jax.lax.cond(k >= 1, conditional, lambda s, _: s, y, t)
        return model.step(t, y, jr.fold_in(key, k))

    def finish(y):
        for ev, ke in zip(timed, ev_steps, strict=True):
            if ke == steps:
                y = ev.apply(y)
        return conditional(y, jnp.asarray(t0 + dt * steps, ftype))

    return (jax.checkpoint(one_step) if checkpoint else one_step), finish


def _iterate_grids(
    model, state0, t0, t1, dt, steps, key, grids, events, checkpoint, progress
):
    """`iterate` with several save grids (a `SaveAt` whose `subs` is a
    tuple): each grid's values go into a buffer carried through the scan and
    written at its own save steps; `ts` and `ys` are tuples, one per grid,
    as `diffrax.diffeqsolve` returns them."""
    key = jr.key(0) if key is None else key
    one_step, finish = _stepper(model, t0, dt, steps, key, events, checkpoint)
    plans = [_save_plan(ts, t0, t1, dt, steps) for ts, _ in grids]
    fns = [(lambda t, y, m: y) if fn is None else fn for _, fn in grids]
    union = np.unique(np.concatenate([idx for idx, _ in plans]))
    # per union point and grid: whether the grid saves there, and where
    flags = np.stack([np.isin(union, idx) for idx, _ in plans], axis=1)
    pos = np.stack(
        [np.searchsorted(idx, union).clip(0, len(idx) - 1) for idx, _ in plans],
        axis=1,
    ).astype(np.int32)
    ftype = jnp.result_type(float)

    def values(k, y, fn):
        return fn(t0 + dt * jnp.asarray(k).astype(ftype), y, model)

    def buffer(n, fn):
        shapes = jax.eval_shape(lambda y: values(0, y, fn), state0)
        return jtu.tree_map(lambda s: jnp.zeros((n, *s.shape), s.dtype), shapes)

    bufs = tuple(buffer(len(idx), fn) for (idx, _), fn in zip(plans, fns, strict=True))

    def write(bufs, y, k, flag, where):
        out = []
        for j, (buf, fn) in enumerate(zip(bufs, fns, strict=True)):

            def put(b, j=j, fn=fn):
                new = values(k, y, fn)
                return jtu.tree_map(
                    lambda a, v: jax.lax.dynamic_update_index_in_dim(
                        a, v.astype(a.dtype), where[j], 0
                    ),
                    b,
                    new,
                )

            out.append(jax.lax.cond(flag[j], put, lambda b: b, buf))
        return tuple(out)

    def advance(y, k0, n):
        return _advance_masked(one_step, y, k0, n, n_max)

    lengths = np.diff(np.concatenate([[0], union])).astype(np.int32)
    n_max = int(max(lengths.max(), 1))
    starts = np.concatenate([[0], union[:-1]]).astype(np.int32)

    def seg(carry, inp):
        y, bufs = carry
        k0, n, flag, where = inp
        y = advance(y, k0, n)
        if progress:
            _tell_some(k0, n, steps, y)
        return (y, write(bufs, y, k0 + n, flag, where)), None

    (y, bufs), _ = jax.lax.scan(
        seg,
        (state0, bufs),
        (
            jnp.asarray(starts),
            jnp.asarray(lengths),
            jnp.asarray(flags),
            jnp.asarray(pos),
        ),
    )
    tail = int(steps - union[-1])
    if tail:
        ks = jnp.int32(union[-1]) + jnp.arange(tail, dtype=jnp.int32)
        y, _ = jax.lax.scan(lambda c, k: (one_step(c, k), None), y, ks)
    y = finish(y)
    if progress:
        _tell(jnp.int32(steps), steps, y)
    ts = tuple(jnp.asarray(t, dtype=ftype) for _, t in plans)
    return Simulation(ts=ts, ys=bufs, final=y, status=run_status(y))
