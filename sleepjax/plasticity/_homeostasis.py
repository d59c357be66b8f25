"""Homeostatic rules of Susman et al. 2019 (Eq. Δ_F, without the noise ξ).

The synaptic noise ξ of the paper is not part of these rules: it is a separate
noise model (`sleepjax.WeightNoise`) so that it enters as a true SDE term.
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp

from .._errors import as_param, check_choice, check_finite, check_positive
from .._state import Activity
from .._types import Scalar, Vector, Weights
from ._base import AbstractRule


class Dissipation(AbstractRule):
    r"""Dissipative homeostasis: $\Delta_F = -\beta W$.

    Alone (with weight noise) each $W_{ij}$ is an Ornstein–Uhlenbeck process that
    relaxes at rate $\eta\beta$ (per time unit).

    **Arguments:**

    - `beta`: dissipation rate (per unit of the learning-rate-scaled time).
      Default 0.1.
    """

    beta: Scalar = eqx.field(converter=lambda v: as_param(v, "beta"), default=0.1)

    def __check_init__(self):
        check_positive("Dissipation.beta", self.beta, allow_zero=True)

    def drift(self, t, act: Activity, W: Weights, state):
        return -self.beta * W, None


class RateControl(AbstractRule):
    r"""Rate-control homeostasis: pushes each neuron's rate towards a target.

    - `variant="matmul"` (the authors' code, reproduces the figures):
      $\Delta_F = \big[(\phi_0 - \phi)\,\phi^\top\big]\,W$ (matrix product);
    - `variant="hadamard"` (the paper's text):
      $\Delta_F = (\phi_0 - \phi)\,\phi^\top \circ W$.

    **Arguments:**

    - `phi0`: target rates, shape `(n,)`, in (-1, 1) (the paper draws
      `U[-1, 1]`; see `RateControl.random`).
    - `variant`: `"matmul"` (default) or `"hadamard"`.
    """

    phi0: Vector = eqx.field(converter=lambda v: as_param(v, "phi0"))
    variant: Literal["matmul", "hadamard"] = eqx.field(static=True, default="matmul")

    def __check_init__(self):
        check_choice("RateControl.variant", self.variant, ("matmul", "hadamard"))
        check_finite("RateControl.phi0", self.phi0)
        if self.phi0.ndim != 1:
            raise ValueError(
                f"RateControl: `phi0` must be a vector of target rates, shape (n,), "
                f"got shape {self.phi0.shape}."
            )

    @staticmethod
    def random(key, n: int, variant: str = "matmul", dtype=None) -> RateControl:
        """Targets drawn `phi0 ~ U[-1, 1]^n`, as in the paper."""
        import jax.random as jr

        dtype = dtype or jnp.result_type(float)
        return RateControl(jr.uniform(key, (n,), dtype, -1.0, 1.0), variant=variant)

    def drift(self, t, act: Activity, W: Weights, state):
        dphi = self.phi0 - act.phi
        if self.variant == "matmul":
            # (dphi phiᵀ) W = dphi (phiᵀ W): O(N²), not the O(N³) matrix product
            return jnp.outer(dphi, act.phi @ W), None
        return jnp.outer(dphi, act.phi) * W, None


class Decorrelation(AbstractRule):
    r"""Decorrelation homeostasis.

    $$\Delta_F = B\,I - \tanh(x - \bar x)\,\tanh(x)^\top$$

    - `xbar="lowpass"` (paper): $\tau_x \dot{\bar x} = x - \bar x$, a true
      low-pass (state of this rule);
    - `xbar="code"`: $\bar x = c\,x$ with `code_factor` $c$, the fixed point
      of the authors' per-step update for constant x (≈ 0.0995 for the
      erosion/rate-control scripts, ≈ 0.4975 for decorrelation learning);
    - `xbar="exact"`: the authors' per-step update itself. With Euler steps
      of size $h$ = `dt`, $a = h/\tau_x$ and $g$ = `xbar_gain`, each step
      first overwrites $\bar x \leftarrow a\,(g\,x - \bar x)$ from the
      current x, then uses the *next* Euler value of the neurons,
      $x^+ = x + h\,\dot x$:
      $$\Delta_F = B\,I - \tanh(x^+ - \bar x)\,\tanh(x^+)^\top .$$
      The argument is $(1 - a g)\,x + h\,\dot x + a\,\bar x_{\rm old}$
      (0.9x + 0.1ẋ at the erosion script's h = 0.1, τ_x = 20, g = 20): the
      $h\dot x$ part is what the `"code"` form drops. It depends on `dt`, as
      the code does, and is meant for Euler steps of that size (Euler and the
      multirate Euler's fine steps): the rule state advances by
      $(\bar x_{\rm new} - \bar x)/h$ per unit time, so one Euler step of
      size h lands exactly on the overwritten value. It needs the neurons'
      derivative (`Activity.dxdt`, which `Model.drift` supplies for rate
      networks).

    **Arguments:**

    - `b`: the constant B (dimensionless). Default 0.5 (code); the paper has 1.
    - `xbar`: `"lowpass"` (default), `"code"` or `"exact"`.
    - `tau_x`: low-pass time constant (time units). Default 20.
    - `code_factor`: c for `xbar="code"`. Default 0.0995.
    - `xbar_gain`: g for `xbar="exact"`: the code's 1/5e-2 = 20 (erosion, rate
      control) or 1/1e-2 = 100 (decorrelation learning). Default 20.
    - `dt`: the Euler step h for `xbar="exact"` (time units; required there).

    **State:** `xbar`, shape `(n,)`, for `"lowpass"` and `"exact"`; `None`
    for `"code"`.
    """

    b: Scalar = eqx.field(converter=lambda v: as_param(v, "b"), default=0.5)
    xbar: Literal["lowpass", "code", "exact"] = eqx.field(
        static=True, default="lowpass"
    )
    tau_x: Scalar = eqx.field(converter=lambda v: as_param(v, "tau_x"), default=20.0)
    code_factor: Scalar = eqx.field(
        converter=lambda v: as_param(v, "code_factor"), default=0.0995
    )
    xbar_gain: Scalar = eqx.field(
        converter=lambda v: as_param(v, "xbar_gain"), default=20.0
    )
    dt: float | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        check_choice("Decorrelation.xbar", self.xbar, ("lowpass", "code", "exact"))
        check_finite("Decorrelation.b", self.b)
        check_positive("Decorrelation.tau_x", self.tau_x)
        check_finite("Decorrelation.code_factor", self.code_factor)
        check_finite("Decorrelation.xbar_gain", self.xbar_gain)
        if self.xbar == "exact":
            if self.dt is None:
                raise ValueError(
                    "Decorrelation(xbar='exact') needs `dt`, the Euler step its "
                    "per-step update is defined for."
                )
            check_positive("Decorrelation.dt", self.dt)

    def init(self, n: int, dtype):
        if self.xbar in ("lowpass", "exact"):
            return jnp.zeros((n,), dtype)
        return None

    def drift(self, t, act: Activity, W: Weights, state):
        x = act.x
        post = pre = x
        if self.xbar == "lowpass":
            xbar = state
            dstate = (x - xbar) / self.tau_x
        elif self.xbar == "exact":
            if act.dxdt is None:
                raise ValueError(
                    "Decorrelation(xbar='exact') needs the neurons' derivative "
                    "(Activity.dxdt); Model.drift supplies it for rate networks."
                )
            xbar = (self.dt / self.tau_x) * (self.xbar_gain * x - state)
            dstate = (xbar - state) / self.dt
            post = pre = x + self.dt * act.dxdt
        else:
            xbar = self.code_factor * x
            dstate = None
        n = x.shape[0]
        delta = self.b * jnp.eye(n, dtype=W.dtype) - jnp.outer(
            jnp.tanh(post - xbar), jnp.tanh(pre)
        )
        return delta, dstate
