r"""Krotov & Hopfield (2020): a two-layer network with an energy, from Lagrangians.

Feature neurons $v$ (N of them) and memory (hidden) neurons $h$ (M of them)
interact only through the memory matrix $\xi$:

$$\tau_f \frac{dv_i}{dt} = \sum_\mu \xi_{\mu i} f_\mu - v_i + I_i,\qquad
\tau_h \frac{dh_\mu}{dt} = \sum_i \xi_{\mu i} g_i - h_\mu,$$

with the layers' outputs the gradients of convex Lagrangians,
$g = \partial L_v / \partial v$ and $f = \partial L_h / \partial h$. The energy

$$E = \Big[\sum_i (v_i - I_i) g_i - L_v\Big] + \Big[\sum_\mu h_\mu f_\mu - L_h\Big]
      - \sum_{\mu, i} f_\mu \xi_{\mu i} g_i$$

obeys $dE/dt = -\tau_f\,\dot v^\top H_v \dot v - \tau_h\,\dot h^\top H_h \dot h
\le 0$ ($H$: the Lagrangians' Hessians, positive semi-definite).

**Orientation.** `xi` has shape `(M, N)`: row $\mu$ is memory $\mu$, so
$h = \xi\,g$ and the feature neurons receive $\xi^\top f$.

**Units.** Time in the units of $\tau_f$ and $\tau_h$; $v$, $h$, $I$ and $\xi$
are dimensionless; $E$ is dimensionless (the Lagrangians' units).

Model A: $L_v = \tfrac12\sum v^2$, $L_h = \sum_\mu F(h_\mu)$ (dense associative
memory; $F = x^2/2$ gives the classical energy with $W = \xi^\top\xi$). Model B:
$L_h = \beta^{-1}\log\sum_\mu e^{\beta h_\mu}$ (modern Hopfield network: one
Euler step with $dt = \tau_f$ from $h = \xi v$ gives
$v \leftarrow \xi^\top \mathrm{softmax}(\beta \xi v)$).
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import as_param, check_positive
from .._noise import NeuronNoise
from .._system import AbstractSystem, check_like

Layer = Float[Array, " n"]


# ---------------------------------------------------------------- Lagrangians
class AbstractLagrangian(eqx.Module):
    """A convex Lagrangian $L(x)$ of one layer; its gradient is the layer's
    output (activation). `__call__` gives $L$ (a scalar), `activation` its
    gradient (default: `jax.grad`; subclasses give the closed form)."""

    @abc.abstractmethod
    def __call__(self, x: Layer) -> Float[Array, ""]:
        """$L(x)$."""

    def activation(self, x: Layer) -> Layer:
        r"""$\partial L / \partial x$, the layer's output."""
        return jax.grad(self)(x)


class QuadraticLagrangian(AbstractLagrangian):
    r"""$L(x) = \tfrac12 \sum_i x_i^2$: linear neurons, $g = x$."""

    def __call__(self, x: Layer) -> Float[Array, ""]:
        return 0.5 * jnp.sum(x * x)

    def activation(self, x: Layer) -> Layer:
        return x


class PolynomialLagrangian(AbstractLagrangian):
    r"""$L(x) = \sum_\mu F(x_\mu)$ with a polynomial $F$ of degree `power` = n.

    - `rectified=True` (default): $F(x) = \max(x, 0)^n / n$,
      $f = \max(x, 0)^{n-1}$: convex and $C^1$ for every $n \ge 2$ (the
      rectified polynomial of dense associative memories).
    - `rectified=False`: $F(x) = x^n / n$, $f = x^{n-1}$: convex only for even
      $n$ (refused otherwise). $n = 2$ gives $F = x^2/2$, $f = x$: with
      $L_v = \tfrac12\sum v^2$ the reduced energy is the classical
      $\tfrac12|v|^2 - \tfrac12 v^\top W v$, $W = \xi^\top\xi$.

    Note: with linear feature neurons ($L_v = \tfrac12\sum v^2$) and $n > 2$ the
    reduced energy $\tfrac12|v|^2 - \sum_\mu F(\xi_\mu\cdot v)$ is unbounded
    below: along a unit-norm memory, $v = a\,\xi_\mu$, $\tau_f\,\dot a \approx
    a^{n-1} - a$, so the memory ($a = 1$) is a saddle.
    """

    power: int = eqx.field(static=True, default=3)
    rectified: bool = eqx.field(static=True, default=True)

    def __check_init__(self):
        if not isinstance(self.power, int) or self.power < 2:
            raise ValueError(
                f"PolynomialLagrangian: `power` must be an integer >= 2, got "
                f"{self.power!r}."
            )
        if not self.rectified and self.power % 2:
            raise ValueError(
                f"PolynomialLagrangian: x^{self.power}/{self.power} is not convex; "
                "use an even power or rectified=True."
            )

    def _base(self, x: Layer) -> Layer:
        return jnp.maximum(x, 0.0) if self.rectified else x

    def __call__(self, x: Layer) -> Float[Array, ""]:
        return jnp.sum(self._base(x) ** self.power) / self.power

    def activation(self, x: Layer) -> Layer:
        return self._base(x) ** (self.power - 1)


class LogSumExpLagrangian(AbstractLagrangian):
    r"""$L(x) = \beta^{-1} \log \sum_\mu e^{\beta x_\mu}$, $f = \mathrm{softmax}(\beta
    x)$: the modern Hopfield network (model B). `beta` (inverse temperature,
    in units of 1/x) is a pytree leaf."""

    beta: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "beta"))

    def __check_init__(self):
        check_positive("LogSumExpLagrangian.beta", self.beta)

    def __call__(self, x: Layer) -> Float[Array, ""]:
        return jax.nn.logsumexp(self.beta * x) / self.beta

    def activation(self, x: Layer) -> Layer:
        return jax.nn.softmax(self.beta * x)


# ------------------------------------------------------------------- systems
class HopfieldState(eqx.Module):
    """State of a two-layer network: feature neurons `v` `(N,)` and memory
    neurons `h` `(M,)`."""

    v: Float[Array, " N"]
    h: Float[Array, " M"]


def _input(value, n: int, dtype):
    if value is None:
        return jnp.zeros((n,), dtype)
    return jnp.broadcast_to(jnp.asarray(value, dtype), (n,))


def _default(lag, cls) -> AbstractLagrangian:
    if lag is None:
        return cls()
    if not isinstance(lag, AbstractLagrangian):
        raise TypeError(f"a Lagrangian must be an AbstractLagrangian, got {lag!r}.")
    return lag


class ReducedHopfield(AbstractSystem):
    r"""The one-layer dynamics of a `TwoLayerHopfield` with $\tau_h \to 0$, so that
    $h = \xi\,g(v)$ at all times:

    $$\tau_f \frac{dv}{dt} = \xi^\top f(\xi\,g(v)) - v + I,\qquad
    E(v) = \sum_i (v_i - I_i) g_i - L_v(v) - L_h(\xi\,g(v)).$$

    Its state is `v` `(N,)`. Fields as in `TwoLayerHopfield` (no `tau_h`).
    """

    xi: Float[Array, "M N"]
    tau_f: Float[Array, ""]
    lagrangian_v: AbstractLagrangian
    lagrangian_h: AbstractLagrangian
    input: Float[Array, " N"]
    noise: NeuronNoise | None

    def __init__(
        self,
        xi,
        tau_f=1.0,
        lagrangian_v=None,
        lagrangian_h=None,
        input=None,
        noise=None,
    ):
        self.xi = jnp.asarray(xi)
        if self.xi.ndim != 2:
            raise ValueError(f"`xi` must have shape (M, N), got {self.xi.shape}.")
        self.tau_f = as_param(tau_f, "tau_f")
        check_positive("tau_f", self.tau_f)
        self.lagrangian_v = _default(lagrangian_v, QuadraticLagrangian)
        self.lagrangian_h = _default(lagrangian_h, PolynomialLagrangian)
        if noise is not None and not isinstance(noise, NeuronNoise):
            raise TypeError("`noise` must be a NeuronNoise or None.")
        self.input = _input(input, self.xi.shape[1], self.xi.dtype)
        self.noise = noise

    def init(self, v0: Layer) -> Layer:
        return jnp.asarray(v0, self.xi.dtype)

    def features(self, v: Layer) -> Layer:
        """The feature neurons' output $g(v)$."""
        return self.lagrangian_v.activation(v)

    def drift(self, t, v: Layer) -> Layer:
        g = self.lagrangian_v.activation(v)
        f = self.lagrangian_h.activation(self.xi @ g)
        return (self.xi.T @ f - v + self.input) / self.tau_f

    def energy(self, v: Layer) -> Float[Array, ""]:
        g = self.lagrangian_v.activation(v)
        return (
            jnp.sum((v - self.input) * g)
            - self.lagrangian_v(v)
            - self.lagrangian_h(self.xi @ g)
        )

    def noise_shape(self, v: Layer):
        if self.noise is None:
            return None
        return jax.ShapeDtypeStruct(jnp.shape(v), jnp.result_type(v))

    def diffusion(self, t, v: Layer, dt: float):
        return self.noise.sigma * (dt**0.5 if self.noise.form == "code" else 1.0)

    def check_state(self, v) -> None:
        check_like("the state v", jnp.zeros(self.xi.shape[1]), v)


class TwoLayerHopfield(AbstractSystem):
    r"""The two-layer network of Krotov & Hopfield (2020) (see the module docs for
    the equations and the energy). Its state is a `HopfieldState(v, h)`.

    **Arguments:**

    - `xi`: memories, shape `(M, N)` (row μ = memory μ).
    - `tau_f`, `tau_h`: time constants of the feature and memory neurons
      (time units; pytree leaves). Defaults 1 and 0.5.
    - `lagrangian_v`, `lagrangian_h`: `AbstractLagrangian`s. Defaults
      `QuadraticLagrangian()` and `PolynomialLagrangian(3)` (model A).
    - `input`: constant input $I$ to the feature neurons, `(N,)` or a scalar
      (default 0).
    - `noise`: `NeuronNoise` on the feature neurons, $dv \mathrel{+}= \sigma\,
      dB_t$ (the memory neurons are noiseless), or `None`.
    """

    xi: Float[Array, "M N"]
    tau_f: Float[Array, ""]
    tau_h: Float[Array, ""]
    lagrangian_v: AbstractLagrangian
    lagrangian_h: AbstractLagrangian
    input: Float[Array, " N"]
    noise: NeuronNoise | None

    def __init__(
        self,
        xi,
        tau_f=1.0,
        tau_h=0.5,
        lagrangian_v: AbstractLagrangian | None = None,
        lagrangian_h: AbstractLagrangian | None = None,
        input=None,
        noise: NeuronNoise | None = None,
    ):
        self.xi = jnp.asarray(xi)
        if self.xi.ndim != 2:
            raise ValueError(f"`xi` must have shape (M, N), got {self.xi.shape}.")
        self.tau_f = as_param(tau_f, "tau_f")
        self.tau_h = as_param(tau_h, "tau_h")
        check_positive("tau_f", self.tau_f)
        check_positive("tau_h", self.tau_h)
        self.lagrangian_v = _default(lagrangian_v, QuadraticLagrangian)
        self.lagrangian_h = _default(lagrangian_h, PolynomialLagrangian)
        if noise is not None and not isinstance(noise, NeuronNoise):
            raise TypeError("`noise` must be a NeuronNoise or None.")
        self.input = _input(input, self.xi.shape[1], self.xi.dtype)
        self.noise = noise

    @property
    def n(self) -> int:
        """Number of feature neurons N."""
        return self.xi.shape[1]

    def init(self, v0: Layer) -> HopfieldState:
        """The state with feature neurons `v0` and memory neurons at their
        instantaneous equilibrium $h = \\xi\\,g(v_0)$."""
        v0 = jnp.asarray(v0, self.xi.dtype)
        return HopfieldState(v=v0, h=self.xi @ self.lagrangian_v.activation(v0))

    def reduced(self) -> ReducedHopfield:
        """The one-layer dynamics with $\\tau_h \\to 0$ (same parts)."""
        return ReducedHopfield(
            self.xi,
            self.tau_f,
            self.lagrangian_v,
            self.lagrangian_h,
            self.input,
            self.noise,
        )

    def features(self, y: HopfieldState) -> Layer:
        """The feature neurons' output $g(v)$."""
        return self.lagrangian_v.activation(y.v)

    def drift(self, t, y: HopfieldState) -> HopfieldState:
        g = self.lagrangian_v.activation(y.v)
        f = self.lagrangian_h.activation(y.h)
        dv = (self.xi.T @ f - y.v + self.input) / self.tau_f
        dh = (self.xi @ g - y.h) / self.tau_h
        return HopfieldState(v=dv, h=dh)

    def energy(self, y: HopfieldState) -> Float[Array, ""]:
        """The Lyapunov function $E(v, h)$ (module docs), dimensionless."""
        g = self.lagrangian_v.activation(y.v)
        f = self.lagrangian_h.activation(y.h)
        e_v = jnp.sum((y.v - self.input) * g) - self.lagrangian_v(y.v)
        e_h = jnp.sum(y.h * f) - self.lagrangian_h(y.h)
        return e_v + e_h - f @ (self.xi @ g)

    def noise_shape(self, y: HopfieldState) -> HopfieldState | None:
        """Wiener increments on `v` only (`None` at `h`)."""
        if self.noise is None:
            return None
        return HopfieldState(
            v=jax.ShapeDtypeStruct(jnp.shape(y.v), jnp.result_type(y.v)), h=None
        )

    def diffusion(self, t, y: HopfieldState, dt: float) -> HopfieldState:
        scale = dt**0.5 if self.noise.form == "code" else 1.0
        return HopfieldState(v=self.noise.sigma * scale, h=None)

    def check_state(self, y) -> None:
        m, n = self.xi.shape
        ref = HopfieldState(v=jnp.zeros(n), h=jnp.zeros(m))
        check_like("the state (v, h)", ref, y)
