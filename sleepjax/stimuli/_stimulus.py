"""External drive b(t): stimuli with and without their own state."""

from __future__ import annotations

import abc
import math

import equinox as eqx
import jax.numpy as jnp

from .._errors import as_param, check_choice, check_finite, check_positive
from .._noise import NoiseForm
from .._types import Scalar, Vector


class AbstractStimulus(eqx.Module):
    """An external input to the neurons.

    A stimulus may have its own state (integrated with the network) and its own
    Wiener noise. Subclasses implement `drive`, and optionally `init`, `drift`,
    `noise_shape` and `diffusion`.
    """

    def init(self, n: int, dtype):
        """Initial stimulus state (`None` if stateless)."""
        return None

    @abc.abstractmethod
    def drive(self, t, state) -> Vector:
        """Input current b(t), shape (n,)."""

    def drift(self, t, state):
        """Time derivative of the stimulus state."""
        return None

    def noise_shape(self) -> tuple[int, ...] | None:
        """Shape of the Wiener increment this stimulus consumes (None: no noise)."""
        return None

    def noise_form(self) -> NoiseForm:
        return "sde"

    def diffusion(self, t, state):
        """Multiplier of the Wiener increment (broadcast against `noise_shape`)."""
        return None


class OUPlaneStimulus(AbstractStimulus):
    r"""Ornstein–Uhlenbeck input confined to the plane span(u, v) (Susman et al.).

    $$ds = -\zeta s\,dt + \sigma\,(u\,dB_u + v\,dB_v),\qquad
      b(t) = A\,s(t)\,\mathbb 1[t_{on} < t \le t_{off}]$$

    Since `s` stays in span(u, v), the state is the two coefficients
    $(a, c)$ with $s = a u + c v$. The authors' code draws $n_u, n_v \sim N(0,1)$
    each step and adds $dt\,(n_u u + n_v v)$ (`form="code"`, σ = 1). The default
    `form="sde"` with $\sigma = \sqrt{0.1}$ has identical statistics at the
    authors' dt = 0.1 and does not depend on dt.

    With `tail=False` (default, as SPEC §1 writes it) the noise runs at all
    times and the drive is on only inside the window. With `tail=True` (the
    authors' `rate_control_learning.m` / `decorrelation_learning.m`), $s$
    starts at 0, the noise $dB_u, dB_v$ is on only inside the window, and
    the drive $A\,s(t)$ stays on afterwards while $s$ decays at rate ζ:
    after the window the network keeps receiving a fixed direction in the
    plane, of amplitude ∝ $e^{-\zeta (t - t_{off})}$ (a time constant of 100
    at ζ = 0.01).

    **Arguments:**

    - `u`, `v`: the memory plane's vectors, shape `(n,)`.
    - `amplitude`: A (dimensionless). 10 (rate-control) / 25 (decorrelation).
    - `t_on`, `t_off`: the input window (time units).
    - `zeta`: OU decay rate (per time unit). Default 0.01.
    - `sigma`, `form`: noise amplitude and form (see above).
    - `tail`: keep the decaying drive after the window (authors' code).
    """

    u: Vector = eqx.field(converter=lambda v: as_param(v, "u"))
    v: Vector = eqx.field(converter=lambda v: as_param(v, "v"))
    amplitude: Scalar = eqx.field(converter=lambda v: as_param(v, "amplitude"))
    t_on: Scalar = eqx.field(converter=lambda v: as_param(v, "t_on"))
    t_off: Scalar = eqx.field(converter=lambda v: as_param(v, "t_off"))
    zeta: Scalar = eqx.field(converter=lambda v: as_param(v, "zeta"), default=0.01)
    sigma: Scalar = eqx.field(
        converter=lambda v: as_param(v, "sigma"), default=math.sqrt(0.1)
    )
    form: NoiseForm = eqx.field(static=True, default="sde")
    tail: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        if self.u.shape != self.v.shape or self.u.ndim != 1:
            raise ValueError(
                f"OUPlaneStimulus: `u` and `v` must be vectors of the same shape "
                f"(n,), got {self.u.shape} and {self.v.shape}."
            )
        for nm in ("amplitude", "t_on", "t_off", "u", "v"):
            check_finite(f"OUPlaneStimulus.{nm}", getattr(self, nm))
        check_positive("OUPlaneStimulus.zeta", self.zeta, allow_zero=True)
        check_positive("OUPlaneStimulus.sigma", self.sigma, allow_zero=True)
        check_choice("OUPlaneStimulus.form", self.form, ("sde", "code"))

    def init(self, n: int, dtype):
        return jnp.zeros((2,), dtype)

    def _on(self, t):
        return (t > self.t_on) & (t <= self.t_off)

    def drive(self, t, state):
        s = state[0] * self.u + state[1] * self.v
        if self.tail:
            return self.amplitude * s
        return jnp.where(self._on(t), self.amplitude, 0.0) * s

    def drift(self, t, state):
        return -self.zeta * state

    def noise_shape(self):
        return (2,)

    def noise_form(self):
        return self.form

    def diffusion(self, t, state):
        if self.tail:
            return jnp.where(self._on(t), self.sigma, 0.0)
        return self.sigma


class Pulse(AbstractStimulus):
    r"""A rectangular pulse along a direction: a retrieval cue.

    $$b(t) = c\,d\;\mathbb 1[t_{on} \le t < t_{on} + T]$$

    For retrieval, `direction = u` (a pulse $c_u = 10$ for 2 time units in
    Susman et al.); a partial cue uses part of a pattern.

    **Arguments:**

    - `direction`: shape `(n,)`.
    - `amplitude`: c (dimensionless).
    - `t_on`: onset (time units).
    - `duration`: T (time units).
    """

    direction: Vector = eqx.field(converter=lambda v: as_param(v, "direction"))
    amplitude: Scalar = eqx.field(converter=lambda v: as_param(v, "amplitude"))
    t_on: Scalar = eqx.field(converter=lambda v: as_param(v, "t_on"))
    duration: Scalar = eqx.field(converter=lambda v: as_param(v, "duration"))

    def __check_init__(self):
        if self.direction.ndim != 1:
            raise ValueError(
                f"Pulse: `direction` must have shape (n,), got {self.direction.shape}."
            )
        for nm in ("direction", "amplitude", "t_on"):
            check_finite(f"Pulse.{nm}", getattr(self, nm))
        check_positive("Pulse.duration", self.duration)

    def drive(self, t, state):
        on = (t >= self.t_on) & (t < self.t_on + self.duration)
        return jnp.where(on, self.amplitude, 0.0) * self.direction
