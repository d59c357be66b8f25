"""Continuous-time rate network of nonnegative rates with global inhibition."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from .._errors import as_param, check_finite, check_positive
from .._state import Activity
from .._types import Scalar, Vector, Weights
from ._base import AbstractDynamics


def rectified_tanh(x: Array) -> Array:
    r"""$\max(0, \tanh x)$: a saturating rate in [0, 1)."""
    return jnp.maximum(jnp.tanh(x), 0.0)


class InhibitedRateNetwork(AbstractDynamics):
    r"""Rate network with nonnegative rates, global inhibition and a
    per-neuron bias (excitability):

    $$\tau \frac{dx}{dt} = -x + W r - w_I\,\bar r\,\mathbf 1 + b + I(t),
      \qquad r = \max(0, \tanh x),\quad \bar r = \frac1N\sum_j r_j .$$

    With nonnegative (excitatory) W the rest state x = b < 0 is silent;
    groups of co-active neurons (cell assemblies) excite each other through
    W and compete through the shared inhibition $w_I \bar r$. `x` is
    dimensionless; time is in units of τ.

    **Arguments:**

    - `n`: number of neurons (static).
    - `w_inh`: global inhibition $w_I$ (≥ 0). Default 3.
    - `bias`: b, a scalar or one value per neuron, shape `(n,)`. Default −0.3.
    - `tau`: neuronal time constant (> 0). Default 1.
    - `x0_scale`: std of a random initial state around b (`init(key)`).
      Default 0.
    """

    n: int = eqx.field(static=True)
    w_inh: Scalar = eqx.field(converter=lambda v: as_param(v, "w_inh"), default=3.0)
    bias: Float[Array, "*n"] = eqx.field(
        converter=lambda v: as_param(v, "bias"), default=-0.3
    )
    tau: Scalar = eqx.field(converter=lambda v: as_param(v, "tau"), default=1.0)
    x0_scale: float = eqx.field(static=True, default=0.0)

    def __check_init__(self):
        if not isinstance(self.n, int) or self.n < 1:
            raise ValueError(
                f"InhibitedRateNetwork: `n` must be a positive int, got {self.n!r}."
            )
        check_positive("InhibitedRateNetwork.tau", self.tau)
        check_positive("InhibitedRateNetwork.w_inh", self.w_inh, allow_zero=True)
        check_finite("InhibitedRateNetwork.bias", self.bias)
        if jnp.ndim(self.bias) not in (0, 1) or (
            jnp.ndim(self.bias) == 1 and jnp.shape(self.bias)[0] != self.n
        ):
            raise ValueError(
                "InhibitedRateNetwork: `bias` must be a scalar or shape "
                f"({self.n},), got {jnp.shape(self.bias)}."
            )

    def init(self, key: PRNGKeyArray | None = None, dtype=None) -> Vector:
        """The rest state x = b, plus N(0, x0_scale²) noise if a key is given."""
        dtype = dtype or jnp.result_type(float)
        x = jnp.broadcast_to(jnp.asarray(self.bias, dtype), (self.n,))
        if key is None or self.x0_scale == 0:
            return x
        return x + self.x0_scale * jr.normal(key, (self.n,), dtype)

    def activity(self, neurons: Vector) -> Activity:
        return Activity(x=neurons, phi=rectified_tanh(neurons))

    def drift(self, t, neurons: Vector, W: Weights, drive: Vector) -> Vector:
        r = rectified_tanh(neurons)
        h = W @ r - self.w_inh * jnp.mean(r) + self.bias + drive
        return (-neurons + h) / self.tau
