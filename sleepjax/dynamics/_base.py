"""Abstract neural dynamics."""

from __future__ import annotations

import abc

import equinox as eqx
from jaxtyping import Array, PRNGKeyArray, PyTree

from .._state import Activity
from .._types import Vector, Weights


class AbstractDynamics(eqx.Module):
    """Neural dynamics: how the neurons evolve given weights and external drive.

    Subclasses define the neurons' state pytree (`init`), their time derivative
    (`drift`) and what plasticity rules see of them (`activity`). Continuous-time
    dynamics are integrated by diffrax inside `simulate`; discrete-time models
    (binary threshold units, stochastic spike-response units) implement `drift`
    as a map that `sleepjax.discrete` iterates instead (see the README's design
    section).
    """

    n: eqx.AbstractVar[int]

    @abc.abstractmethod
    def init(self, key: PRNGKeyArray | None = None) -> PyTree[Array]:
        """Initial neuron state (random if a key is given)."""

    @abc.abstractmethod
    def activity(self, neurons: PyTree[Array]) -> Activity:
        """Potential `x` and rate `phi` of the neurons."""

    @abc.abstractmethod
    def drift(
        self, t, neurons: PyTree[Array], W: Weights, drive: Vector
    ) -> PyTree[Array]:
        """Time derivative of the neuron state, with external drive `drive` (n,)."""
