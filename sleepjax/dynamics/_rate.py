"""Continuous-time rate network (Susman et al. 2019)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import PRNGKeyArray

from .._errors import as_param, check_positive
from .._state import Activity
from .._types import Scalar, Vector, Weights
from ._base import AbstractDynamics


class RateNetwork(AbstractDynamics):
    r"""Rate network with a tanh transfer function.

    $$\tau \frac{dx}{dt} = -x + W\,\tanh(x) + b(t),\qquad \phi = \tanh(x)$$

    `x` is dimensionless (input variable); time is in units of the neuronal
    time constant by default (`tau = 1`).

    **Arguments:**

    - `n`: number of neurons (static).
    - `tau`: neuronal time constant (time units). Default 1.
    - `x0_scale`: std of the random initial state `x0 ~ N(0, x0_scale^2)` used by
      `init(key)`. Default 1.
    """

    n: int = eqx.field(static=True)
    tau: Scalar = eqx.field(converter=lambda v: as_param(v, "tau"), default=1.0)
    x0_scale: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        if not isinstance(self.n, int) or self.n < 1:
            raise ValueError(
                f"RateNetwork: `n` must be a positive int, got {self.n!r}."
            )
        check_positive("RateNetwork.tau", self.tau)

    def init(self, key: PRNGKeyArray | None = None, dtype=None) -> Vector:
        dtype = dtype or jnp.result_type(float)
        if key is None:
            return jnp.zeros((self.n,), dtype)
        return self.x0_scale * jr.normal(key, (self.n,), dtype)

    def activity(self, neurons: Vector) -> Activity:
        return Activity(x=neurons, phi=jnp.tanh(neurons))

    def drift(self, t, neurons: Vector, W: Weights, drive: Vector) -> Vector:
        return (-neurons + W @ jnp.tanh(neurons) + drive) / self.tau
