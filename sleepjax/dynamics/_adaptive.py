"""Rate network with slow spike-frequency adaptation."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from .._errors import as_param, check_positive
from .._schedule import AbstractSchedule, as_schedule
from .._state import Activity
from .._types import Scalar, Weights
from ._base import AbstractDynamics


class AdaptationState(eqx.Module):
    """State of an `AdaptiveRateNetwork`: input variable `x` and adaptation
    current `a`, each shape `(n,)`."""

    x: Float[Array, " n"]
    a: Float[Array, " n"]


class AdaptiveRateNetwork(AbstractDynamics):
    r"""Tanh rate network with slow spike-frequency adaptation.

    $$\tau\,\dot x = -x + W\tanh(x) - a + b(t),\qquad
    \tau_a\,\dot a = -a + g(t)\tanh(x),\qquad \phi = \tanh(x).$$

    Each unit's adaptation current follows its own rate with time constant
    τ_a and strength g(t) and is subtracted from its input, so a unit that
    stays active is pushed back. With g = 0 (and a = 0) this is exactly
    `RateNetwork`. A schedule for g (e.g. a `StageSchedule`) gives adaptation
    per stage: weak in wake (high acetylcholine), strong in NREM sleep. Strong
    slow adaptation makes fixed points unstable: in a network with
    asymmetric (sequence) weights the activity then moves on from one
    stored element to the next instead of staying in one.

    **Arguments:**

    - `n`: number of neurons (static).
    - `strength`: adaptation strength g, a number or a schedule g(t)
      (dimensionless). Default 0.
    - `tau_a`: adaptation time constant τ_a (time units, > 0). Default 20.
    - `tau`: neuronal time constant τ (time units). Default 1.
    - `x0_scale`: std of the random initial `x` (`init(key)`); `a` starts
      at 0. Default 1.
    """

    n: int = eqx.field(static=True)
    strength: AbstractSchedule
    tau_a: Scalar = eqx.field(converter=lambda v: as_param(v, "tau_a"))
    tau: Scalar = eqx.field(converter=lambda v: as_param(v, "tau"))
    x0_scale: float = eqx.field(static=True)

    def __init__(self, n: int, strength=0.0, tau_a=20.0, tau=1.0, x0_scale=1.0):
        if not isinstance(n, int) or n < 1:
            raise ValueError(
                f"AdaptiveRateNetwork: `n` must be a positive int, got {n!r}."
            )
        self.n = n
        self.strength = as_schedule(strength)
        self.tau_a = tau_a
        self.tau = tau
        self.x0_scale = float(x0_scale)

    def __check_init__(self):
        check_positive("AdaptiveRateNetwork.tau", self.tau)
        check_positive("AdaptiveRateNetwork.tau_a", self.tau_a)

    def init(self, key: PRNGKeyArray | None = None, dtype=None) -> AdaptationState:
        dtype = dtype or jnp.result_type(float)
        zeros = jnp.zeros((self.n,), dtype)
        if key is None:
            return AdaptationState(x=zeros, a=zeros)
        return AdaptationState(
            x=self.x0_scale * jr.normal(key, (self.n,), dtype), a=zeros
        )

    def activity(self, neurons: AdaptationState) -> Activity:
        return Activity(x=neurons.x, phi=jnp.tanh(neurons.x))

    def drift(self, t, neurons: AdaptationState, W: Weights, drive) -> AdaptationState:
        phi = jnp.tanh(neurons.x)
        dx = (-neurons.x + W @ phi - neurons.a + drive) / self.tau
        da = (-neurons.a + self.strength(t) * phi) / self.tau_a
        return AdaptationState(x=dx, a=da)
