"""Stage effects as combinators: per-stage gains on any rule, per-stage noise
and input for any network, and events at stage boundaries."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, PRNGKeyArray, PyTree

from .._errors import as_param, check_positive
from .._schedule import AbstractSchedule
from .._system import AbstractMap
from ..plasticity import AbstractRule, Gain, StepGain
from ..stimuli import AbstractConditionEvent, AbstractEvent, AbstractStimulus
from ._hypnogram import Hypnogram, per_stage, stage_code


class StageSchedule(AbstractSchedule):
    r"""A schedule with one value per sleep stage: $g(t) = v_{s(t)}$.

    **Arguments:**

    - `hypnogram`: the night (`Hypnogram`).
    - `values`: a mapping `{stage: value}` (missing stages: `default`) or
      one value per stage (WAKE, N1, N2, N3, REM).
    - `default`: the value of stages a mapping leaves out. Default 1.
    """

    hypnogram: Hypnogram
    values: Float[Array, " 5"]

    def __init__(self, hypnogram: Hypnogram, values, default: float = 1.0):
        if not isinstance(hypnogram, Hypnogram):
            raise TypeError(
                f"StageSchedule: `hypnogram` must be a Hypnogram, got "
                f"{type(hypnogram).__name__}."
            )
        self.hypnogram = hypnogram
        self.values = per_stage(values, default, "StageSchedule.values")

    def __call__(self, t):
        return self.values[self.hypnogram.stage_at(t)]


def stage_gain(rule, hypnogram: Hypnogram, gains, default=1.0) -> Gain | StepGain:
    r"""`rule` scaled per stage: $\Delta = g_{s(t)}\,\Delta_{\text{rule}}$.

    E.g. `stage_gain(stdp, night, {"N3": 0.75})` (González et al. 2020: STDP
    at 0.75 in N3, 1 elsewhere); a gain of 0 switches the rule off there and
    leaves the weights it drives unchanged (its traces keep evolving).

    A drift rule (`AbstractRule`) becomes a `Gain`; a rule that updates the
    weights inside a model's step (e.g. the spiking `Infomax`) a `StepGain`,
    to put where the model holds the rule."""
    schedule = StageSchedule(hypnogram, gains, default)
    if isinstance(rule, AbstractRule):
        return Gain(rule, schedule)
    return StepGain(rule, schedule)


class StageInput(AbstractStimulus):
    r"""Any stimulus scaled per stage: $b(t) = g_{s(t)}\,b_{\text{inner}}(t)$.

    The inner stimulus keeps its own state and noise; only its drive is
    scaled (0: no external input in that stage).

    **Arguments:**

    - `stimulus`: the wrapped stimulus.
    - `gains`: a `StageSchedule` or its values (mapping or 5 values).
    - `hypnogram`: needed when `gains` are values.
    """

    stimulus: AbstractStimulus
    gain: StageSchedule

    def __init__(self, stimulus: AbstractStimulus, gains, hypnogram=None):
        if not isinstance(stimulus, AbstractStimulus):
            raise TypeError(f"StageInput: not a stimulus: {stimulus!r}.")
        if not isinstance(gains, StageSchedule):
            if hypnogram is None:
                raise ValueError("StageInput: per-stage values need a `hypnogram`.")
            gains = StageSchedule(hypnogram, gains, 0.0)
        self.stimulus = stimulus
        self.gain = gains

    def init(self, n, dtype):
        return self.stimulus.init(n, dtype)

    def drive(self, t, state):
        return self.gain(t) * self.stimulus.drive(t, state)

    def drift(self, t, state):
        return self.stimulus.drift(t, state)

    def noise_shape(self):
        return self.stimulus.noise_shape()

    def noise_form(self):
        return self.stimulus.noise_form()

    def diffusion(self, t, state):
        return self.stimulus.diffusion(t, state)


class StageNoise(AbstractStimulus):
    r"""Input noise with a per-stage level (precision): an OU current

    $$\tau_s\,ds = -s\,dt + \sigma_{s(t)}\sqrt{2\tau_s}\,dB,\qquad b(t) = s(t),$$

    whose stationary standard deviation in a stage of level σ is σ (input
    units). High σ in REM: low precision, generative sampling.

    **Arguments:**

    - `n`: number of neurons.
    - `levels`: a `StageSchedule` of σ, or its values with `hypnogram`.
    - `tau`: correlation time τ_s (time units, > 0). Default 1.
    """

    levels: StageSchedule
    tau: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "tau"))
    n: int = eqx.field(static=True)

    def __init__(self, n: int, levels, hypnogram=None, tau=1.0):
        if not isinstance(levels, StageSchedule):
            if hypnogram is None:
                raise ValueError("StageNoise: per-stage values need a `hypnogram`.")
            levels = StageSchedule(hypnogram, levels, 0.0)
        self.levels = levels
        self.tau = tau
        self.n = int(n)

    def __check_init__(self):
        check_positive("StageNoise.tau", self.tau)
        check_positive("StageNoise.levels", self.levels.values, allow_zero=True)

    def init(self, n, dtype):
        return jnp.zeros((self.n,), dtype)

    def drive(self, t, state):
        return state

    def drift(self, t, state):
        return -state / self.tau

    def noise_shape(self):
        return (self.n,)

    def diffusion(self, t, state):
        return self.levels(t) * jnp.sqrt(2.0 / self.tau)


# ------------------------------------------------------------------ events
def boundary_events(
    hypnogram: Hypnogram, into: Sequence, make: Callable[[float], AbstractEvent]
) -> tuple[AbstractEvent, ...]:
    """Timed events at the times a concrete night enters one of the stages
    `into`: `make(time)` builds each event. For nights that differ per
    network under vmap (or are traced), use `StageEntryEvent`."""
    return tuple(make(float(t)) for t in hypnogram.boundaries(into))


class StageEntryEvent(AbstractConditionEvent):
    r"""A jump on entering chosen stages, for continuous (`simulate`) and
    discrete (`iterate`) models: it fires at the end of every solver step
    $(t_0, t_1]$ with $s(t_1) \in$ `into` and $s(t_0) \notin$ `into`.

    The hypnogram is an array leaf, so a batch of networks vmapped over their
    own generated nights jumps at each night's own boundaries, in one
    compiled solve. A boundary inside a step is applied at the step's end.

    **Arguments:**

    - `hypnogram`: the night.
    - `into`: stage names or codes.
    - `jump`: the jump, `state -> state` keeping the state's structure; an
      equinox Module so that its numbers are leaves (e.g. `Downscale`).
    """

    hypnogram: Hypnogram
    jump: Callable
    into: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, hypnogram: Hypnogram, into: Sequence, jump: Callable):
        if not isinstance(hypnogram, Hypnogram):
            raise TypeError(
                f"StageEntryEvent: `hypnogram` must be a Hypnogram, got "
                f"{type(hypnogram).__name__}."
            )
        if not callable(jump):
            raise TypeError(
                "StageEntryEvent: `jump` must be callable (state -> state)."
            )
        self.hypnogram = hypnogram
        self.into = tuple(stage_code(s) for s in into)
        if not self.into:
            raise ValueError("StageEntryEvent: `into` names no stage.")
        self.jump = jump

    def fires(self, t0, t1) -> Bool[Array, ""]:
        return self.hypnogram.entered(t0, t1, self.into)

    def apply(self, state):
        return self.jump(state)


class OnStageEntry(AbstractMap):
    r"""A discrete map with a jump on entering chosen stages:
    $y_{k+1} = J(F(t_k, y_k))$ if the stage at $t_{k+1}$ is in `into` and the
    stage at $t_k$ is not, else $F(t_k, y_k)$.

    Works with per-network hypnograms inside vmap (the test is evaluated in
    the scan). `jump(y) -> y` must keep the state's structure.

    **Arguments:**

    - `inner`: the discrete map.
    - `hypnogram`: the night.
    - `into`: stage names or codes.
    - `jump`: the event, an equinox Module so that its numbers are leaves
      (e.g. `Downscale`).
    - `dt`: the map's step (time units).
    """

    inner: AbstractMap
    hypnogram: Hypnogram
    jump: Callable
    into: tuple[int, ...] = eqx.field(static=True)
    dt: float = eqx.field(static=True)

    def __init__(self, inner, hypnogram, into, jump, dt):
        self.inner = inner
        self.hypnogram = hypnogram
        self.into = tuple(stage_code(s) for s in into)
        self.jump = jump
        self.dt = float(dt)

    def step(self, t, y: PyTree[Array], key: PRNGKeyArray) -> PyTree[Array]:
        y1 = self.inner.step(t, y, key)
        enter = self.hypnogram.entered(t, t + self.dt, self.into)
        jumped = self.jump(y1)
        return jax.tree_util.tree_map(lambda a, b: jnp.where(enter, a, b), jumped, y1)

    def check_state(self, y):
        self.inner.check_state(y)


class InStages(AbstractMap):
    r"""A discrete map that acts only in chosen stages:
    $y_{k+1} = F(t_k, y_k)$ if the stage at $t_k$ is in `stages`, else
    $y_{k+1} = y_k$ (bitwise).

    Puts any discrete model's plasticity epochs into a night, e.g. the
    two-factor model's consolidation epochs in N2 and N3 only. The inner map
    sees the model time $t_k$; works with per-network hypnograms under vmap.

    **Arguments:**

    - `inner`: the discrete map.
    - `hypnogram`: the night.
    - `stages`: stage names or codes in which `inner` steps.
    """

    inner: AbstractMap
    hypnogram: Hypnogram
    stages: tuple[int, ...] = eqx.field(static=True)

    def __init__(self, inner: AbstractMap, hypnogram: Hypnogram, stages: Sequence):
        if not isinstance(inner, AbstractMap):
            raise TypeError(
                f"InStages: `inner` must be a discrete map (AbstractMap), got "
                f"{type(inner).__name__}."
            )
        if not isinstance(hypnogram, Hypnogram):
            raise TypeError(
                f"InStages: `hypnogram` must be a Hypnogram, got "
                f"{type(hypnogram).__name__}."
            )
        self.inner = inner
        self.hypnogram = hypnogram
        self.stages = tuple(stage_code(s) for s in stages)
        if not self.stages:
            raise ValueError("InStages: `stages` names no stage.")

    def step(self, t, y: PyTree[Array], key: PRNGKeyArray) -> PyTree[Array]:
        on = self.hypnogram.in_stages(t, self.stages)
        return jax.lax.cond(on, lambda s: self.inner.step(t, s, key), lambda s: s, y)

    def check_state(self, y):
        self.inner.check_state(y)
