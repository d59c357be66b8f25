r"""The infomax rule of Yoshida & Toyoizumi 2023 (PNAS Nexus), for stochastic
spike-response neurons in discrete time, and its expectation for rate units.

For a postsynaptic neuron $i$ with potential $u_i$, gain $g$, refractory
factor $R_i$, spike probability $\rho_i = g(u_i)R_i\Delta t$ and spike $y_i$,
and presynaptic spikes $x_j$ with EPSP traces $h_j$ (step $\Delta t$ in ms):

$$h_j \leftarrow h_j e^{-\Delta t/\tau_h} + x_j,\qquad
  c_{ij} = \frac{g'(u_i)}{g(u_i)}\,(y_i - \rho_i)\,h_j,\qquad
  C_{ij} \leftarrow C_{ij} e^{-\Delta t/\tau_c} + c_{ij},$$
$$B_i = y_i \ln\frac{\rho_i}{\bar\rho_i} - (\rho_i - \bar\rho_i),\qquad
  \bar\rho_i = \bar g_i R_i \Delta t ,$$
$$\Delta w_{ij} = \alpha\,[t \ge t_{on}]\,\text{gate}\,
  \bigl(C_{ij} B_i - \lambda\, w_{ij}\, x_j\bigr).$$

$\bar g$ (1/ms) is the baseline firing intensity: a fixed number, a
`RunningMean` of the neuron's own intensity, or any online estimate the
caller computes (the slow-wave network uses the instantaneous mean $g$ of its
population). A higher $\bar g$ biases the rule towards depression. The weight
cost $\lambda w x$ acts at presynaptic spikes. Paper: α = 0.01 mV², λ = 0.32
mV⁻², τ_c = 100 ms, τ_h = τ_m (25 ms), t_on = 10 s.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import as_param, check_positive
from .._state import Activity
from .._types import Weights
from ..dynamics._srm import SoftplusGain
from ._base import AbstractRule

Post = Float[Array, " n_post"]
Pre = Float[Array, " n_pre"]


def _leaf(name):
    return eqx.field(converter=lambda v: as_param(v, name))


class InfomaxState(eqx.Module):
    """The rule's traces: `h` `(n_pre,)` presynaptic EPSP traces (spikes) and
    `C` `(n_post, n_pre)` eligibility traces (1/mV)."""

    h: Pre
    C: Float[Array, "n_post n_pre"]


class Infomax(eqx.Module):
    r"""The spiking infomax rule (module docs).

    **Fields:** `gain` (the postsynaptic `SoftplusGain`, for $g'/g$);
    `alpha` (mV²), `lam` (1/mV²), `tau_c` (ms), `tau_h` (ms), `t_on` (ms).

    Use: `state = rule.trace(state, x, dt)` before the postsynaptic potential
    is computed (it needs $\sum_j w_{ij} h_j$ with the new traces), then
    `W, state = rule.update(t, W, state, x, u, y, R, g_bar, dt)`.
    """

    gain: SoftplusGain
    alpha: Float[Array, ""] = _leaf("alpha")
    lam: Float[Array, ""] = _leaf("lam")
    tau_c: Float[Array, ""] = _leaf("tau_c")
    tau_h: Float[Array, ""] = _leaf("tau_h")
    t_on: Float[Array, ""] = _leaf("t_on")

    def __check_init__(self):
        check_positive("Infomax.tau_c", self.tau_c)
        check_positive("Infomax.tau_h", self.tau_h)

    def init(self, n_post: int, n_pre: int, dtype=None) -> InfomaxState:
        dtype = dtype or jnp.result_type(float)
        return InfomaxState(
            h=jnp.zeros((n_pre,), dtype), C=jnp.zeros((n_post, n_pre), dtype)
        )

    def trace(self, state: InfomaxState, x: Pre, dt: float) -> InfomaxState:
        r"""$h \leftarrow h e^{-\Delta t/\tau_h} + x$."""
        h = state.h * jnp.exp(-dt / self.tau_h) + x
        return InfomaxState(h=h, C=state.C)

    def b_post(self, y: Post, g: Post, g_bar, R: Post, dt: float) -> Post:
        r"""$B = y\ln(\rho/\bar\rho) - (\rho - \bar\rho)$ with $\rho/\bar\rho =
        g/\bar g$ and $\rho - \bar\rho = R\Delta t (g - \bar g)$."""
        return y * jnp.log(g / g_bar) - R * dt * (g - g_bar)

    def update(
        self,
        t,
        W: Weights,
        state: InfomaxState,
        x: Pre,
        u: Post,
        y: Post,
        R: Post,
        g_bar,
        dt: float,
        gate=1.0,
    ) -> tuple[Weights, InfomaxState]:
        """One step of the rule with the traces already advanced (`trace`):
        returns the new weights and state. `gate` (0..1, may be traced)
        multiplies the learning rate (state-dependent plasticity)."""
        g = self.gain(u)
        rho = g * R * dt
        c = (self.gain.log_derivative(u) * (y - rho))[:, None] * state.h[None, :]
        C = state.C * jnp.exp(-dt / self.tau_c) + c
        B = self.b_post(y, g, g_bar, R, dt)
        on = jnp.where(t >= self.t_on, self.alpha, 0.0) * gate
        W = W + on * (C * B[:, None] - self.lam * W * x[None, :])
        return W, InfomaxState(h=state.h, C=C)


class RunningMean(eqx.Module):
    r"""An online baseline: $\bar g \leftarrow \bar g + (g - \bar g)(1 -
    e^{-\Delta t/\tau})$, the exponentially weighted mean of $g$ over the last
    ~τ ms (`tau`, ms)."""

    tau: Float[Array, ""] = _leaf("tau")

    def __check_init__(self):
        check_positive("RunningMean.tau", self.tau)

    def __call__(self, mean, g, dt: float):
        return mean + (g - mean) * (1.0 - jnp.exp(-dt / self.tau))


class InfomaxRate(AbstractRule):
    r"""The infomax rule's expected drift for rate units (Poisson spiking).

    For units whose spikes in a step $\Delta t$ are Bernoulli with $\rho =
    g(u)\Delta t$ (no refractoriness), at fixed potential $u_i$ and
    presynaptic rates $\phi_j$ (1/ms) with stationary EPSP traces $H_j =
    \phi_j \Delta t / (1 - e^{-\Delta t/\tau_h})$, the mean change of one step
    of the spiking rule, per unit time, is

    $$\frac{dW_{ij}}{dt} = \alpha\Bigl[g'(u_i)\,(1 - \rho_i)\,
      \ln\frac{g(u_i)}{\bar g}\,H_j - \lambda\, W_{ij}\,\phi_j\Bigr]$$

    (only the current step's $c$ correlates with $y$, and $E[(y-\rho)B] =
    \rho(1-\rho)\ln(g/\bar g)$). It applies to networks whose activity is
    `Activity(x=u, phi=g(u))` with this gain, pre- and postsynaptic units the
    same; it is not the rule for tanh rate units.

    **Fields:** `gain`; `g_bar` (1/ms); `alpha`, `lam`, `tau_h` as for
    `Infomax`; `dt` (ms, static) the step of the spiking rule it averages.
    """

    gain: SoftplusGain
    g_bar: Float[Array, ""] = _leaf("g_bar")
    alpha: Float[Array, ""] = _leaf("alpha")
    lam: Float[Array, ""] = _leaf("lam")
    tau_h: Float[Array, ""] = _leaf("tau_h")
    dt: float = eqx.field(static=True, default=1.0)

    def drift(self, t, act: Activity, W: Weights, state):
        u, phi = act.x, act.phi
        g = self.gain(u)
        dg = g * self.gain.log_derivative(u)
        H = phi * self.dt / (1.0 - jnp.exp(-self.dt / self.tau_h))
        post = dg * (1.0 - g * self.dt) * jnp.log(g / self.g_bar)
        dW = post[:, None] * H[None, :] - self.lam * W * phi[None, :]
        return self.alpha * dW, None
