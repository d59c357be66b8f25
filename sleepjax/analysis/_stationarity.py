"""Stationarity of saved statistics: two consecutive windows agree."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Bool, Float


def window_drift(
    y: Float[ArrayLike, " time *stats"], m: int
) -> Float[Array, " time *stats"]:
    r"""Change of a windowed mean between two consecutive windows of `m` saves.

    For saves $y_0, y_1, \dots$ (time first; any trailing statistics axes),

    $$d_k = \frac1m\sum_{j=k-m+1}^{k} y_j - \frac1m\sum_{j=k-2m+1}^{k-m} y_j ,$$

    NaN for $k < 2m - 1$ (not enough saves yet).

    **Arguments:**

    - `y`: saved values, shape `(time, ...)`, on a uniform save grid.
    - `m`: saves per window (≥ 1).

    **Returns:**

    $d_k$, the shape of `y`.
    """
    if m < 1:
        raise ValueError(f"`m` must be >= 1 save per window, got {m}.")
    y = jnp.asarray(y, dtype=jnp.result_type(float))
    zero = jnp.zeros((1, *y.shape[1:]), y.dtype)
    c = jnp.concatenate([zero, jnp.cumsum(y, axis=0)])  # c[k] = sum of y[:k]
    k = jnp.arange(y.shape[0])
    hi = jnp.clip(k + 1, 0, y.shape[0])
    mid = jnp.clip(k + 1 - m, 0, y.shape[0])
    lo = jnp.clip(k + 1 - 2 * m, 0, y.shape[0])
    d = (c[hi] - 2 * c[mid] + c[lo]) / m
    ok = (k >= 2 * m - 1).reshape((-1,) + (1,) * (y.ndim - 1))
    return jnp.where(ok, d, jnp.nan)


def stationary(
    y: Float[ArrayLike, " time stats"],
    scale: Float[ArrayLike, " time"],
    m: int,
    tol: float,
) -> Bool[Array, " time"]:
    r"""Whether every statistic is stationary at each save.

    Save $k$ is stationary when, for every statistic $s$, the means over the
    last two windows of `m` saves differ by less than `tol` times `scale`
    (e.g. the spectral radius, for statistics that are eigenvalue
    positions): $|d_{k,s}| < \text{tol}\cdot\text{scale}_k$ with $d$ from
    [`sleepjax.analysis.window_drift`][]. False before $2m$ saves exist.

    **Arguments:**

    - `y`: saved statistics, shape `(time, stats)`.
    - `scale`: the scale each save's differences are measured in, `(time,)`.
    - `m`: saves per window.
    - `tol`: relative tolerance (> 0).

    **Returns:**

    A boolean per save.
    """
    if not tol > 0:
        raise ValueError(f"`tol` must be > 0, got {tol!r}.")
    d = window_drift(y, m)
    lim = tol * jnp.abs(jnp.asarray(scale))[:, None]
    return jnp.all(jnp.abs(d) < lim, axis=1)  # NaN compares False
