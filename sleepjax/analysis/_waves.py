r"""Travelling up-state waves: speed and direction from up-onset times.

Sites on a chain (or the rows/columns of a sheet) have up-onset trains
$o_{t,i}$ (True at the step a site turns up, e.g. from `onsets` of
`classify_updown`). For every onset of site $i$ at step $t$ the **delay** to
its neighbour $i+1$ is the signed lag to the nearest onset of site $i+1$
(positive: the neighbour turns up later), kept when it is at most `max_lag`
steps. With $\bar\delta$ the mean delay (ms) and $\overline{|\delta|}$ the
mean absolute one, along a chain with spacing $d$:

- speed $= d / \overline{|\delta|}$ (units of $d$ per ms),
- direction $= $ mean of $\mathrm{sign}(\delta)$ in [−1, 1]: +1 when every
  wave runs towards increasing index, −1 towards decreasing index,
- coherence $=$ fraction of onsets with a neighbour onset within `max_lag`.

On a sheet the same along each axis gives the slowness vector $p =
(\bar\delta_x, \bar\delta_y)/d$ of a plane wave: speed $1/|p|$, direction
angle $\arctan2(p_y, p_x)$.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool

_BIG = 2**28


def _nearest(on: Bool[Array, "T S"]):
    """Steps to the next onset at or after t, and since the last at or before
    t, per site (`_BIG` when none)."""
    T = on.shape[0]
    idx = jnp.arange(T)[:, None]
    last = jax.lax.cummax(jnp.where(on, idx, -_BIG), axis=0)
    nxt = jax.lax.cummin(jnp.where(on, idx, 2 * _BIG), axis=0, reverse=True)
    return nxt - idx, idx - last


def neighbour_delays(on: Bool[Array, "T S"], max_lag: int):
    """Signed delay (steps) from each onset of site i to the nearest onset of
    site i + 1, and whether it counts (an onset at i with a neighbour onset
    within `max_lag`); both `(T, S - 1)`."""
    fwd, bwd = _nearest(on[:, 1:])
    delay = jnp.where(fwd <= bwd, fwd, -bwd)
    valid = on[:, :-1] & (jnp.abs(delay) <= max_lag)
    return delay, valid


def chain_wave(on: Bool[Array, "T S"], dt: float, spacing: float, max_lag: int):
    """Wave statistics along a chain (module docs): a dict of `delay` (mean
    signed delay per site, ms), `speed` (spacing per ms), `direction` (mean
    sign, [−1, 1]), `coherence` (fraction of onsets matched) and `waves`
    (number of matched onset pairs). NaN when no pair matched."""
    delay, valid = neighbour_delays(on, max_lag)
    n = jnp.sum(valid)
    nn = jnp.maximum(n, 1)
    d = jnp.where(valid, delay, 0).astype(jnp.result_type(float)) * dt
    mean = jnp.sum(d) / nn
    mean_abs = jnp.sum(jnp.abs(d)) / nn
    sign = jnp.sum(jnp.sign(d)) / nn
    total = jnp.maximum(jnp.sum(on[:, :-1]), 1)
    nan = jnp.asarray(jnp.nan, d.dtype)
    return {
        "delay": jnp.where(n > 0, mean, nan),
        "speed": jnp.where((n > 0) & (mean_abs > 0), spacing / mean_abs, nan),
        "direction": jnp.where(n > 0, sign, nan),
        "coherence": n / total,
        "waves": n.astype(d.dtype),
    }


def sheet_wave(on: Bool[Array, "T X Y"], dt: float, spacing: float, max_lag: int):
    """Plane-wave statistics on a sheet: mean delays along x and y (ms),
    `speed` (spacing per ms) and `angle` (radians, 0 = towards increasing x)."""
    along_x = chain_wave(_stack_lines(on), dt, spacing, max_lag)
    along_y = chain_wave(_stack_lines(on.transpose(0, 2, 1)), dt, spacing, max_lag)
    px, py = along_x["delay"] / spacing, along_y["delay"] / spacing
    return {
        "delay_x": along_x["delay"],
        "delay_y": along_y["delay"],
        "speed": 1.0 / jnp.sqrt(px**2 + py**2),
        "angle": jnp.arctan2(py, px),
        "coherence": 0.5 * (along_x["coherence"] + along_y["coherence"]),
    }


def _stack_lines(on: Bool[Array, "T X Y"]) -> Bool[Array, "T2 X"]:
    """The lines along x of every y, laid end to end in time with a gap of
    `False` rows between them longer than any lag, as one chain `(T', X)`."""
    T, X, Y = on.shape
    lines = jnp.transpose(on, (2, 0, 1))  # (Y, T, X)
    gap = jnp.zeros((Y, T, X), bool)
    return jnp.concatenate([lines, gap], axis=1).reshape(2 * Y * T, X)
