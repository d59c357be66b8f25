"""diffrax terms built from a Model."""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax.numpy as jnp
import jax.tree_util as jtu

from ._model import NoiseParts
from ._state import NetworkState, stimulus_states, tuple_or_none


def drift_vector_field(t, y: NetworkState, model) -> NetworkState:
    """`ODETerm` vector field: the model (passed as diffrax `args`) gives the drift."""
    return model.drift(t, y)


def noise_product(scales: NoiseParts, dB: NoiseParts, y: NetworkState) -> NetworkState:
    """Stochastic increment: multipliers × Wiener increments, zeros elsewhere."""
    zeros = lambda tree: jtu.tree_map(jnp.zeros_like, tree)
    W = zeros(y.W) if dB.W is None else scales.W * dB.W
    x = zeros(y.neurons) if dB.neurons is None else scales.neurons * dB.neurons
    n = len(stimulus_states(y))
    stim = tuple_or_none(
        zeros(s) if d is None else sc * d
        for s, sc, d in zip(
            stimulus_states(y),
            scales.stimulus or (None,) * n,
            dB.stimulus or (None,) * n,
            strict=True,
        )
    )
    return NetworkState(neurons=x, W=W, rules=zeros(y.rules), stimulus=stim)


class NoiseTerm(diffrax.AbstractTerm):
    r"""The model's diffusion, driven by a Brownian path.

    The control is a `NoiseParts` pytree of Wiener increments for the noisy
    components only (weights, neurons, stimulus states); the product adds each
    increment, times its multiplier, to its own component. It touches no other
    part of the state, which is much cheaper than a `ControlTerm` with a diagonal
    operator over the whole state.

    **Arguments:**

    - `path`: a Brownian path whose shape is `model.noise_shape(y0)`.
    - `dt`: the simulation's fine step (for `form="code"` noise).
    """

    path: diffrax.AbstractBrownianPath
    dt: float = eqx.field(static=True)

    def vf(self, t, y, args):
        return args.diffusion(t, y, self.dt), y

    def contr(self, t0, t1, **kwargs):
        return self.path.evaluate(t0, t1)

    def prod(self, vf, control):
        scales, y = vf
        return noise_product(scales, control, y)
