"""Abstract plasticity rule."""

from __future__ import annotations

import abc

import equinox as eqx
from jaxtyping import Array, PyTree

from .._state import Activity
from .._types import Weights


class AbstractRule(eqx.Module):
    r"""A plasticity rule: a weight drive and the time derivative of its own state.

    A rule is an `equinox.Module` whose numeric parameters are pytree leaves, so
    `jax.vmap` over a batch of rules is a parameter sweep and `eqx.filter_grad`
    over a rule is fitting. The model scales the summed drive by the learning
    rate: $dW/dt = \eta \sum_r \Delta_r$.

    Subclasses implement:

    - `init(n, dtype)`: the rule's own state (traces, low-passes), or `None`.
    - `drift(t, act, W, state)`: returns `(Delta, dstate)`: the (unscaled) weight
      drive, shape `(n_post, n_pre)`, and the derivative of the rule's state
      (same structure as `state`).
    """

    def init(self, n: int, dtype) -> PyTree[Array]:
        """The rule's initial state; `None` for stateless rules.

        (Never an empty tuple: equinox's checkpointed loops refuse empty
        containers in the solver state.)"""
        return None

    @abc.abstractmethod
    def drift(
        self, t, act: Activity, W: Weights, state: PyTree[Array]
    ) -> tuple[Weights, PyTree[Array]]:
        """Weight drive and derivative of the rule state."""
