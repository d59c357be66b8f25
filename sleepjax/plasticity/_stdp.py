"""Rate-based spike-timing-dependent plasticity (Susman et al. 2019, Eq. Δ_L)."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

from .._errors import as_param, check_finite, check_positive
from .._state import Activity
from .._types import Scalar, Vector, Weights
from ._base import AbstractRule


class AntisymmetricSTDP(AbstractRule):
    r"""Antisymmetric rate STDP.

    $$\Delta_L = \phi\,y^\top - y\,\phi^\top,\qquad
      \tau_y \frac{dy}{dt} = \phi - y$$

    `y` is a low-pass of the rate (unit DC gain); `[Δ_L]_ij = φ_i y_j − y_i φ_j`:
    presynaptic activity followed by postsynaptic activity potentiates `W_ij`,
    the reverse order depresses it, by the same amount. The drive is
    antisymmetric, so it writes only to the skew-symmetric part of W
    ("imaginary coding").

    **Arguments:**

    - `tau_y`: trace time constant (time units). Default 50 (paper; the authors'
      `rate_control_learning.m` uses 100).

    **State:** `y`, shape `(n,)`.
    """

    tau_y: Scalar = eqx.field(converter=lambda v: as_param(v, "tau_y"), default=50.0)

    def __check_init__(self):
        check_positive("AntisymmetricSTDP.tau_y", self.tau_y)

    def init(self, n: int, dtype) -> Vector:
        return jnp.zeros((n,), dtype)

    def drift(self, t, act: Activity, W: Weights, state: Vector):
        y = state
        phi = act.phi
        delta = jnp.outer(phi, y) - jnp.outer(y, phi)
        return delta, (phi - y) / self.tau_y


class RateSTDP(AbstractRule):
    r"""General (asymmetric) rate STDP.

    The pair kernel is $K(\Delta t) = a_P e^{-\Delta t/\tau_P}$ for pre-before-post
    ($\Delta t > 0$) and $K(\Delta t) = a_D e^{\Delta t/\tau_D}$ for
    post-before-pre ($\Delta t < 0$). With rates and normalised low-pass traces

    $$\tau_P \dot y^P = \phi - y^P,\quad \tau_D \dot y^D = \phi - y^D,$$
    $$[\Delta_L]_{ij} = a_P\,\phi_i\,y^P_j + a_D\,y^D_i\,\phi_j .$$

    Sign convention: `a_D < 0` means depression. With `a_P = 1, a_D = -1` and
    `tau_P = tau_D` this is exactly `AntisymmetricSTDP`. (SPEC.md writes the
    second term as `- a_D φ_j y^D_i` and the reduction as `a_D = -a_P`; those two
    statements disagree in sign. We keep the kernel convention, in which the
    reduction holds.)

    **Arguments:**

    - `a_P`: potentiation amplitude (dimensionless). Default 1.
    - `a_D`: depression amplitude (dimensionless, negative for depression).
      Default -1.
    - `tau_P`, `tau_D`: trace time constants (time units). Default 50.

    **State:** `(y_P, y_D)`, each shape `(n,)`.
    """

    a_P: Scalar = eqx.field(converter=lambda v: as_param(v, "a_P"), default=1.0)
    a_D: Scalar = eqx.field(converter=lambda v: as_param(v, "a_D"), default=-1.0)
    tau_P: Scalar = eqx.field(converter=lambda v: as_param(v, "tau_P"), default=50.0)
    tau_D: Scalar = eqx.field(converter=lambda v: as_param(v, "tau_D"), default=50.0)

    def __check_init__(self):
        check_finite("RateSTDP.a_P", self.a_P)
        check_finite("RateSTDP.a_D", self.a_D)
        check_positive("RateSTDP.tau_P", self.tau_P)
        check_positive("RateSTDP.tau_D", self.tau_D)

    def init(self, n: int, dtype):
        return (jnp.zeros((n,), dtype), jnp.zeros((n,), dtype))

    def drift(self, t, act: Activity, W: Weights, state):
        y_p, y_d = state
        phi = act.phi
        delta = self.a_P * jnp.outer(phi, y_p) + self.a_D * jnp.outer(y_d, phi)
        return delta, ((phi - y_p) / self.tau_P, (phi - y_d) / self.tau_D)
