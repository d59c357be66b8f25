"""Instantaneous events: jumps applied to the state at a given time (memory
insertion), or whenever a traced condition holds (a stage entry that differs
per network)."""

from __future__ import annotations

import abc

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Bool

from .._errors import as_param, check_finite
from .._state import NetworkState
from .._types import Vector, Weights


class AbstractEvent(eqx.Module):
    """A jump applied to the state at time `time`.

    With fixed steps the event is applied at the end of the step that reaches
    `time` (so `time` should lie on the step grid; `simulate` checks this).
    """

    time: float = eqx.field(static=True)

    @abc.abstractmethod
    def apply(self, state: NetworkState) -> NetworkState:
        """The state just after the event."""

    def fires(self, t0, t1) -> Bool[Array, ""]:
        """Whether the event fires at the end of the step from `t0` to `t1`:
        the step whose end is nearest to `time`."""
        half = 0.5 * (t1 - t0)
        return (t0 + half < self.time) & (self.time <= t1 + half)


class AbstractConditionEvent(eqx.Module):
    r"""A jump applied at the end of every solver step for which the traced
    condition `fires(t0, t1)` holds.

    Unlike `AbstractEvent` it has no static time: the condition may depend
    on the event's own arrays, so under `jax.vmap` each network can jump at
    its own times (for example on entering N2 of its own hypnogram, see
    `sleepjax.sleep.StageEntryEvent`). The jump lands on the solver's step
    grid: the end of the first step whose end satisfies the condition
    (`MultirateEuler(k)`: the end of the k-step block). As for timed
    events, a value saved at the jump's time is the state just before it.
    Both `simulate` and `iterate` accept it in `events`.
    """

    @abc.abstractmethod
    def fires(self, t0, t1) -> Bool[Array, ""]:
        """Whether to jump at the end of the step from `t0` to `t1` (traced)."""

    @abc.abstractmethod
    def apply(self, state: NetworkState) -> NetworkState:
        """The state just after the event."""


class AddWeights(AbstractEvent):
    r"""Add a matrix to the weights: $W \leftarrow W + \Delta W$ (memory insertion).

    **Arguments:**

    - `time`: when (time units).
    - `delta`: shape `(n_post, n_pre)`.
    """

    delta: Weights = eqx.field(converter=lambda v: as_param(v, "delta"))

    def __check_init__(self):
        check_finite("AddWeights.delta", self.delta)

    def apply(self, state: NetworkState) -> NetworkState:
        return eqx.tree_at(lambda s: s.W, state, state.W + self.delta)


def memory_matrix(
    u: Vector, v: Vector | None, strength: float, code: str = "imaginary"
) -> Weights:
    r"""The weight change that stores a memory (Susman et al.).

    - `code="imaginary"`: $s\,(u v^\top - v u^\top)$: an antisymmetric pair with
      eigenvalues $\pm i\,s\,|u||v|$ (for u ⟂ v).
    - `code="real"`: $s\,u u^\top$: a real outlier $s|u|^2$.
    """
    u = jnp.asarray(u)
    if code == "imaginary":
        if v is None:
            raise ValueError("memory_matrix: an imaginary code needs both u and v.")
        v = jnp.asarray(v)
        return strength * (jnp.outer(u, v) - jnp.outer(v, u))
    if code == "real":
        return strength * jnp.outer(u, u)
    raise ValueError(
        f"memory_matrix: `code` must be 'imaginary' or 'real', got {code!r}."
    )
