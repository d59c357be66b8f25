"""Eager validation helpers: clear errors before anything is compiled.

Checks run only on concrete values. Inside `jax.vmap`/`jax.jit` a parameter may be
a tracer; then the check is skipped here and the caller relies on runtime guards
(`eqx.error_if`) or on the eager validation of the sweep/config layer.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
    """True when `x` holds concrete values (not a tracer)."""
    return not isinstance(x, jax.core.Tracer)


def as_param(x, name: str):
    """Convert a parameter to a JAX array leaf, refusing non-numeric input."""
    if isinstance(x, jax.core.Tracer):
        return x
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(f"parameter `{name}` must be a number or an array, got {x!r}")
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    return arr


def check_finite(name: str, x) -> None:
    """Raise ValueError if a concrete parameter contains NaN or Inf."""
    if x is None or not is_concrete(x):
        return
    a = np.asarray(x)
    if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        raise ValueError(
            f"parameter `{name}` contains NaN or Inf ({a!r}); give a finite value."
        )


def check_positive(name: str, x, *, allow_zero: bool = False) -> None:
    """Raise ValueError if a concrete parameter is not (strictly) positive."""
    if x is None or not is_concrete(x):
        return
    check_finite(name, x)
    a = np.asarray(x)
    bad = np.any(a < 0) if allow_zero else np.any(a <= 0)
    if bad:
        rel = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"parameter `{name}` must be {rel}, got {a!r}.")


def check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    """Raise ValueError naming the valid options for a categorical setting."""
    if value not in choices:
        raise ValueError(
            f"`{name}` must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )


def check_shape(name: str, x, shape: tuple[int, ...]) -> None:
    """Raise ValueError if `x` does not have exactly `shape`."""
    got = tuple(jnp.shape(x))
    if got != tuple(shape):
        raise ValueError(f"`{name}` must have shape {tuple(shape)}, got {got}.")


def n_steps(t0: float, t1: float, dt: float, *, what: str = "horizon") -> int:
    """Number of fixed steps of size dt in [t0, t1]; errors if not a whole number."""
    for nm, v in (("t0", t0), ("t1", t1), ("dt", dt)):
        if not math.isfinite(float(v)):
            raise ValueError(f"`{nm}` must be finite, got {v!r}.")
    if dt <= 0:
        raise ValueError(f"`dt` must be > 0, got {dt!r}.")
    if t1 <= t0:
        raise ValueError(
            f"the {what} must be positive: need t1 > t0, got t0={t0}, t1={t1}."
        )
    k = (t1 - t0) / dt
    n = round(k)
    if abs(k - n) > 1e-6 * max(1.0, k):
        raise ValueError(
            f"(t1 - t0) / dt = {k:.6g} is not a whole number of steps; choose dt "
            f"dividing the {what} {t1 - t0:g}."
        )
    return int(n)
