"""The network state pytree and the activity seen by plasticity rules."""

from __future__ import annotations

import equinox as eqx
from jaxtyping import Array, Float, PyTree

from ._types import Weights


class NetworkState(eqx.Module):
    """State of one network: a pytree that diffrax integrates.

    The drift of a model returns a `NetworkState` of derivatives with the same
    structure, so neurons, weights, the rules' own traces and the stimuli's
    states are all integrated together.

    **Fields:**

    - `neurons`: the dynamics' state (e.g. the input variable `x`, shape `(n,)`).
    - `W`: synaptic weights, shape `(n_post, n_pre)`; `W[i, j]` is the synapse
      from neuron `j` onto neuron `i`.
    - `rules`: the plasticity rules' state (traces, low-passes); a pytree whose
      structure is given by the rule (`None` when stateless).
    - `stimulus`: the stimuli's states (e.g. an OU process), a tuple, one entry
      per stimulus (`None` for stateless stimuli), or `None` without stimuli.
    """

    neurons: PyTree[Array]
    W: Weights
    rules: PyTree[Array]
    stimulus: PyTree[Array]


class Activity(eqx.Module):
    """What a plasticity rule sees of the neurons at one instant.

    **Fields:**

    - `x`: input variable / membrane potential, shape `(n,)`.
    - `phi`: firing rate (activation), shape `(n,)`; for the rate network
      `phi = tanh(x)`.
    - `dxdt`: the neurons' time derivative dx/dt at this instant (with the
      drive), shape `(n,)`, or `None`. `Model.drift` supplies it when the
      neuron state is `x` itself (e.g. `RateNetwork`), for rules that need
      the next Euler value x + dt·dx/dt.
    """

    x: Float[Array, " n"]
    phi: Float[Array, " n"]
    dxdt: Float[Array, " n"] | None = None


def stimulus_states(state: NetworkState) -> tuple:
    """The per-stimulus states as a tuple (empty without stimuli)."""
    return () if state.stimulus is None else state.stimulus


def tuple_or_none(items) -> tuple | None:
    """A tuple, or `None` when empty (empty containers break equinox loops)."""
    items = tuple(items)
    return items if items else None
