"""A sequence of patterns presented in order, repeatedly: training input for
sequence learning (and a cue for sequence replay)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import as_param, check_finite, check_positive
from ._stimulus import AbstractStimulus


class SequenceInput(AbstractStimulus):
    r"""Patterns $p_1, \dots, p_K$ presented one after another, each for
    `dwell`, the whole sequence `repeats` times with `gap` between repeats:

    $$b(t) = c\,p_{k(t)}\;\mathbb 1[\text{presenting}],\qquad
      k(t) = \lfloor ((t - t_{on}) \bmod P) / T_d \rfloor,\quad P = K T_d + T_g,$$

    on for $t_{on} \le t < t_{on} + R P$ and while $(t - t_{on}) \bmod P <
    K T_d$. E.g. training a sequence A → B → C with asymmetric STDP.

    **Arguments:**

    - `patterns`: shape `(K, n)`, the sequence's elements in order.
    - `amplitude`: c (input units).
    - `t_on`: onset of the first presentation (time units).
    - `dwell`: $T_d$ > 0, time on each element (time units).
    - `repeats`: R ≥ 1 (static).
    - `gap`: $T_g$ ≥ 0, silence between repeats (time units). Default 0.
    """

    patterns: Float[Array, "K n"] = eqx.field(
        converter=lambda v: as_param(v, "patterns")
    )
    amplitude: Float[Array, ""] = eqx.field(
        converter=lambda v: as_param(v, "amplitude")
    )
    t_on: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "t_on"))
    dwell: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "dwell"))
    gap: Float[Array, ""] = eqx.field(
        converter=lambda v: as_param(v, "gap"), default=0.0
    )
    repeats: int = eqx.field(static=True, default=1)

    def __check_init__(self):
        if self.patterns.ndim != 2 or self.patterns.shape[0] < 1:
            raise ValueError(
                f"SequenceInput: `patterns` must have shape (K, n) with K >= 1, "
                f"got {self.patterns.shape}."
            )
        if not isinstance(self.repeats, int) or self.repeats < 1:
            raise ValueError(
                f"SequenceInput: `repeats` must be an int >= 1, got {self.repeats!r}."
            )
        for nm in ("patterns", "amplitude", "t_on"):
            check_finite(f"SequenceInput.{nm}", getattr(self, nm))
        check_positive("SequenceInput.dwell", self.dwell)
        check_positive("SequenceInput.gap", self.gap, allow_zero=True)

    @property
    def period(self):
        """$P = K T_d + T_g$ (time units)."""
        return self.patterns.shape[0] * self.dwell + self.gap

    @property
    def t_off(self):
        """End of the last repeat, $t_{on} + R P$."""
        return self.t_on + self.repeats * self.period

    def element(self, t) -> Array:
        """The index of the element presented at t, or −1 when none is."""
        k_len = self.patterns.shape[0]
        s = t - self.t_on
        phase = jnp.mod(s, self.period)
        k = jnp.floor(phase / self.dwell).astype(jnp.int32)
        on = (s >= 0) & (t < self.t_off) & (k < k_len)
        return jnp.where(on, k, -1)

    def drive(self, t, state):
        k = self.element(t)
        p = self.patterns[jnp.clip(k, 0, self.patterns.shape[0] - 1)]
        return jnp.where(k >= 0, self.amplitude, 0.0) * p
