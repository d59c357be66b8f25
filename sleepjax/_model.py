"""A model: dynamics + plasticity + noise + stimuli, as one drift and one diffusion."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from jaxtyping import PRNGKeyArray

from ._errors import as_param, check_finite, check_shape
from ._noise import NeuronNoise, WeightNoise
from ._state import NetworkState, stimulus_states, tuple_or_none
from ._system import AbstractSystem, check_like
from ._types import Scalar, Weights
from .dynamics import AbstractDynamics
from .plasticity import AbstractRule
from .stimuli import AbstractStimulus


class Model(AbstractSystem):
    r"""Neural dynamics, plasticity, noise and stimuli composed into one SDE.

    $$dx = f_{\text{dyn}}(t, x, W, b(t))\,dt + \sigma_x\,dB^x$$
    $$dW = \eta\,\Delta(t, x, W, r)\,dt + \eta\,\sigma_W\,dB^W$$
    $$dr = g(t, x, W, r)\,dt,\qquad ds = h(t, s)\,dt + \sigma_s\,dB^s$$

    with neurons `x`, weights `W`, rule state `r` (traces), stimulus states `s`,
    drive $b(t) = \sum_k b_k(t, s_k)$ and rule drive $\Delta$ (see
    `sleepjax.plasticity`). Every number is a pytree leaf: vmap a `Model` for a
    parameter sweep, differentiate it to fit.

    **Arguments:**

    - `dynamics`: neural dynamics (e.g. `RateNetwork(n=128)`).
    - `plasticity`: a rule or `None` (frozen weights).
    - `eta`: learning rate η (per time unit). Default 0.01.
    - `weight_noise`: `WeightNoise` or `None`.
    - `neuron_noise`: `NeuronNoise` or `None`.
    - `stimuli`: a sequence of stimuli (summed drive). Default none.
    """

    dynamics: AbstractDynamics
    plasticity: AbstractRule | None
    eta: Scalar
    weight_noise: WeightNoise | None
    neuron_noise: NeuronNoise | None
    stimuli: tuple[AbstractStimulus, ...]

    def __init__(
        self,
        dynamics: AbstractDynamics,
        plasticity: AbstractRule | None = None,
        eta=0.01,
        weight_noise: WeightNoise | None = None,
        neuron_noise: NeuronNoise | None = None,
        stimuli=(),
    ):
        if not isinstance(dynamics, AbstractDynamics):
            raise TypeError(
                f"Model: `dynamics` must be an AbstractDynamics (e.g. RateNetwork), "
                f"got {type(dynamics).__name__}."
            )
        if plasticity is not None and not isinstance(plasticity, AbstractRule):
            raise TypeError(
                f"Model: `plasticity` must be a rule or None, got "
                f"{type(plasticity).__name__}."
            )
        if weight_noise is not None and not isinstance(weight_noise, WeightNoise):
            raise TypeError("Model: `weight_noise` must be a WeightNoise or None.")
        if neuron_noise is not None and not isinstance(neuron_noise, NeuronNoise):
            raise TypeError("Model: `neuron_noise` must be a NeuronNoise or None.")
        if isinstance(stimuli, AbstractStimulus):
            stimuli = (stimuli,)
        stimuli = tuple(stimuli)
        for i, s in enumerate(stimuli):
            if not isinstance(s, AbstractStimulus):
                raise TypeError(f"Model: stimuli[{i}] is not a stimulus: {s!r}.")
        self.dynamics = dynamics
        self.plasticity = plasticity
        self.eta = as_param(eta, "eta")
        check_finite("Model.eta", self.eta)
        self.weight_noise = weight_noise
        self.neuron_noise = neuron_noise
        self.stimuli = stimuli

    @property
    def n(self) -> int:
        return self.dynamics.n

    # ------------------------------------------------------------------ state
    def init(
        self,
        key: PRNGKeyArray | None = None,
        W: Weights | None = None,
        dtype=None,
    ) -> NetworkState:
        """Initial state: random neurons (if `key`), weights `W` (zeros if None),
        zero rule traces and stimulus states."""
        dtype = dtype or (W.dtype if W is not None else jnp.result_type(float))
        n = self.n
        if W is None:
            W = jnp.zeros((n, n), dtype)
        else:
            W = jnp.asarray(W, dtype)
            check_shape("initial weights W", W, (n, n))
        neurons = self.dynamics.init(key, dtype)
        rules = self.plasticity.init(n, dtype) if self.plasticity is not None else None
        stim = tuple_or_none(s.init(n, dtype) for s in self.stimuli)
        return NetworkState(neurons=neurons, W=W, rules=rules, stimulus=stim)

    def check_state(self, state: NetworkState) -> None:
        """Raise ValueError if `state` does not fit this model (shapes, structure)."""
        if not isinstance(state, NetworkState):
            raise TypeError(f"expected a NetworkState, got {type(state).__name__}.")
        n = self.n
        check_shape("state.W", state.W, (n, n))
        ref = jax.eval_shape(lambda: self.init(None, jnp.zeros((n, n), state.W.dtype)))
        check_like("the state (neurons, rule traces, stimulus states)", ref, state)

    def slow_mask(self, state: NetworkState) -> NetworkState:
        """The weights are the slow leaves (see `MultirateEuler`)."""
        return NetworkState(neurons=False, W=True, rules=False, stimulus=False)

    # ----------------------------------------------------------------- drift
    def drive(self, t, state: NetworkState):
        b = jnp.zeros((self.n,), state.W.dtype)
        for stim, s in zip(self.stimuli, stimulus_states(state), strict=True):
            b = b + stim.drive(t, s)
        return b

    def drift(self, t, state: NetworkState) -> NetworkState:
        """Deterministic part of the SDE: a NetworkState of time derivatives."""
        b = self.drive(t, state)
        dneur = self.dynamics.drift(t, state.neurons, state.W, b)
        if self.plasticity is not None:
            act = self.dynamics.activity(state.neurons)
            if act.x is state.neurons:  # the neuron state is x: pass on dx/dt
                act = dataclasses.replace(act, dxdt=dneur)
            delta, drules = self.plasticity.drift(t, act, state.W, state.rules)
            dW = self.eta * delta
        else:
            dW = jnp.zeros_like(state.W)
            drules = None
        dstim = tuple_or_none(
            stim.drift(t, s)
            for stim, s in zip(self.stimuli, stimulus_states(state), strict=True)
        )
        return NetworkState(neurons=dneur, W=dW, rules=drules, stimulus=dstim)

    # ----------------------------------------------------------------- noise
    @property
    def has_noise(self) -> bool:
        return (
            self.weight_noise is not None
            or self.neuron_noise is not None
            or any(s.noise_shape() is not None for s in self.stimuli)
        )

    def noise_shape(self, state: NetworkState) -> NetworkState | None:
        """ShapeDtypeStructs of the Wiener increments this model consumes, in
        the structure of the state (`None` for noiseless parts)."""
        if not self.has_noise:
            return None
        dt = state.W.dtype
        W = (
            jax.ShapeDtypeStruct(state.W.shape, dt)
            if self.weight_noise is not None
            else None
        )
        x = (
            jax.ShapeDtypeStruct(jnp.shape(state.neurons), dt)
            if self.neuron_noise is not None
            else None
        )
        stim = tuple_or_none(
            None
            if s.noise_shape() is None
            else jax.ShapeDtypeStruct(s.noise_shape(), dt)
            for s in self.stimuli
        )
        return NetworkState(neurons=x, W=W, rules=None, stimulus=stim)

    def diffusion(self, t, state: NetworkState, dt: float) -> NetworkState:
        """Multipliers of the Wiener increments, per component.

        `dt` is the fine step of the simulation; `form="code"` sources multiply
        by √dt so that an increment of one step becomes σ·dt·z.
        """

        def scale(form):
            return math.sqrt(dt) if form == "code" else 1.0

        W = None
        if self.weight_noise is not None:
            W = self.eta * self.weight_noise.sigma * scale(self.weight_noise.form)
        x = None
        if self.neuron_noise is not None:
            x = self.neuron_noise.sigma * scale(self.neuron_noise.form)
        stim = tuple_or_none(
            None
            if s.noise_shape() is None
            else s.diffusion(t, ss) * scale(s.noise_form())
            for s, ss in zip(self.stimuli, stimulus_states(state), strict=True)
        )
        return NetworkState(neurons=x, W=W, rules=None, stimulus=stim)
