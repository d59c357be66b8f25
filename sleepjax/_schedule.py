"""Time-dependent scalar schedules (protocol phases, sleep-stage gains)."""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from ._errors import as_param, check_finite, is_concrete


class AbstractSchedule(eqx.Module):
    """A scalar function of time, g(t). Its numbers are pytree leaves."""

    @abc.abstractmethod
    def __call__(self, t) -> Float[Array, ""]:
        """Value at time t."""


class Constant(AbstractSchedule):
    """g(t) = value for all t."""

    value: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "value"))

    def __check_init__(self):
        check_finite("Constant.value", self.value)

    def __call__(self, t):
        return self.value


class PiecewiseConstant(AbstractSchedule):
    r"""Piecewise-constant schedule with breakpoints.

    $$g(t) = v_k \quad\text{for}\quad \tau_{k-1} \le t < \tau_k,$$

    with $\tau_{-1} = -\infty$, $\tau_K = +\infty$. So `values` has one more entry
    than `times`. Example: a rule switched on at t = 3000 is
    `PiecewiseConstant(times=[3000.0], values=[0.0, 1.0])`.

    **Arguments:**

    - `times`: increasing breakpoints, shape `(K,)` (time units).
    - `values`: values on each interval, shape `(K + 1,)`.
    """

    times: Float[Array, " k"] = eqx.field(converter=lambda v: as_param(v, "times"))
    values: Float[Array, " k1"] = eqx.field(converter=lambda v: as_param(v, "values"))

    def __check_init__(self):
        if self.times.ndim != 1 or self.values.ndim != 1:
            raise ValueError("PiecewiseConstant: `times` and `values` must be 1-D.")
        if self.values.shape[0] != self.times.shape[0] + 1:
            raise ValueError(
                "PiecewiseConstant: `values` needs exactly one more entry than "
                f"`times` (got {self.values.shape[0]} values, "
                f"{self.times.shape[0]} times)."
            )
        check_finite("PiecewiseConstant.times", self.times)
        check_finite("PiecewiseConstant.values", self.values)
        if is_concrete(self.times) and np.any(np.diff(np.asarray(self.times)) < 0):
            raise ValueError("PiecewiseConstant: `times` must be increasing.")

    def __call__(self, t):
        k = jnp.searchsorted(self.times, t, side="right")
        return self.values[k]


def window(t_on: float, t_off: float, inside: float = 1.0, outside: float = 0.0):
    """Schedule equal to `inside` on [t_on, t_off) and `outside` elsewhere."""
    return PiecewiseConstant(times=[t_on, t_off], values=[outside, inside, outside])


def as_schedule(g) -> AbstractSchedule:
    """Accept a schedule or a number (constant schedule)."""
    if isinstance(g, AbstractSchedule):
        return g
    return Constant(g)
