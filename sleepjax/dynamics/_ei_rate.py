r"""E–I rate units with adaptation and noise on a chain or a sheet: up/down
alternation and travelling up-state waves (continuous time).

Each site $i$ of a lattice holds an excitatory rate $r^E_i$, an inhibitory
rate $r^I_i$ (both dimensionless, in (0, 1) without noise) and an adaptation
variable $a_i$:

$$\tau_E\, dr^E_i = \bigl[-r^E_i + S\bigl(w_{EE} r^E_i - w_{EI} r^I_i - b\,a_i
   + I^E_i + c \textstyle\sum_{j\sim i}(r^E_j - r^E_i)\bigr)\bigr]dt
   + \tau_E\,\sigma\, dB_i ,$$
$$\tau_I\, \dot r^I_i = -r^I_i + S(w_{IE} r^E_i - w_{II} r^I_i + I^I),\qquad
  \tau_a\, \dot a_i = -a_i + r^E_i ,$$

with $S(x) = 1/(1 + e^{-x})$, nearest-neighbour coupling $c$ (a discrete
Laplacian with no-flux ends; $j \sim i$: the 2 neighbours on a chain, 4 on a
sheet) and white noise of amplitude σ (per √ms) on $r^E$. Times in ms.

Regimes of one site (defaults $w_{EE}$ = 12, $w_{EI}$ = 6, $w_{IE}$ = 8,
$w_{II}$ = 0, $I^I$ = −5): the E–I pair is bistable for effective drives
$I^E - b a$ between about −4.3 and −3.3. With $I^E$ above the upper fold
(−3.0) and adaptation $b$ = 3, τ_a = 250 ms, up states end when $a$ has
grown and start again when it has decayed: a relaxation oscillation at
≈ 0.8 Hz (slow oscillation). Without adaptation ($b$ = 0) the site stays up;
with $I^E$ below the lower fold it stays down. Diffusive coupling leaves the
uniform solution unchanged and makes the first site to turn up pull its
neighbours: up states travel as waves away from the most excitable side (a
drive gradient along the lattice).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._errors import as_param, check_positive
from .._system import AbstractSystem, check_like

Field = Float[Array, "..."]


def _leaf(name, default):
    return eqx.field(converter=lambda v: as_param(v, name), default=default)


class EIRateState(eqx.Module):
    """`rE`, `rI`, `a`: each of the lattice's shape `(N,)` or `(X, Y)`."""

    rE: Field
    rI: Field
    a: Field


def laplacian(x: Field) -> Field:
    r"""$\sum_{j\sim i}(x_j - x_i)$ over the nearest neighbours along every
    axis, with no-flux (reflecting) ends."""
    out = jnp.zeros_like(x)
    for ax in range(x.ndim):
        d = jnp.diff(x, axis=ax)  # x[k+1] - x[k]
        pad_hi = [(0, 0)] * x.ndim
        pad_lo = [(0, 0)] * x.ndim
        pad_hi[ax] = (0, 1)
        pad_lo[ax] = (1, 0)
        out = out + jnp.pad(d, pad_hi) - jnp.pad(d, pad_lo)
    return out


class EIRateLattice(AbstractSystem):
    r"""E–I rate units with adaptation and noise on a lattice (module docs).

    **Fields:**

    - `shape`: the lattice, `(N,)` chain or `(X, Y)` sheet (static).
    - `drive_e`: $I^E$, a scalar or an array of the lattice's shape (a
      gradient makes one side lead).
    - `tau_e`, `tau_i`, `tau_a` (ms); `w_ee`, `w_ei`, `w_ie`, `w_ii`, `drive_i`,
      `b` (adaptation strength), `coupling` $c$, `sigma` (per √ms).
    - `noisy`: whether $r^E$ receives noise (static).
    """

    shape: tuple[int, ...] = eqx.field(static=True)
    drive_e: Field = _leaf("drive_e", -3.0)
    tau_e: Float[Array, ""] = _leaf("tau_e", 10.0)
    tau_i: Float[Array, ""] = _leaf("tau_i", 5.0)
    tau_a: Float[Array, ""] = _leaf("tau_a", 250.0)
    w_ee: Float[Array, ""] = _leaf("w_ee", 12.0)
    w_ei: Float[Array, ""] = _leaf("w_ei", 6.0)
    w_ie: Float[Array, ""] = _leaf("w_ie", 8.0)
    w_ii: Float[Array, ""] = _leaf("w_ii", 0.0)
    drive_i: Float[Array, ""] = _leaf("drive_i", -5.0)
    b: Float[Array, ""] = _leaf("b", 3.0)
    coupling: Float[Array, ""] = _leaf("coupling", 3.0)
    sigma: Float[Array, ""] = _leaf("sigma", 0.0)
    noisy: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        if not (1 <= len(self.shape) <= 2) or min(self.shape) < 1:
            raise ValueError(
                f"EIRateLattice: `shape` must be (N,) or (X, Y), got {self.shape}."
            )
        for name in ("tau_e", "tau_i", "tau_a"):
            check_positive(f"EIRateLattice.{name}", getattr(self, name))
        check_positive("EIRateLattice.sigma", self.sigma, allow_zero=True)
        check_positive("EIRateLattice.coupling", self.coupling, allow_zero=True)

    def init(self, rE=0.0, rI=0.0, a=0.0, dtype=None) -> EIRateState:
        """A state with the given values (scalars or lattice-shaped arrays)."""
        dtype = dtype or jnp.result_type(float)

        def full(v):
            return jnp.broadcast_to(jnp.asarray(v, dtype), self.shape)

        return EIRateState(rE=full(rE), rI=full(rI), a=full(a))

    def drift(self, t, y: EIRateState) -> EIRateState:
        x_e = (
            self.w_ee * y.rE
            - self.w_ei * y.rI
            - self.b * y.a
            + self.drive_e
            + self.coupling * laplacian(y.rE)
        )
        x_i = self.w_ie * y.rE - self.w_ii * y.rI + self.drive_i
        return EIRateState(
            rE=(jax.nn.sigmoid(x_e) - y.rE) / self.tau_e,
            rI=(jax.nn.sigmoid(x_i) - y.rI) / self.tau_i,
            a=(y.rE - y.a) / self.tau_a,
        )

    def noise_shape(self, y: EIRateState):
        if not self.noisy:
            return None
        leaf = jax.ShapeDtypeStruct(jnp.shape(y.rE), jnp.result_type(y.rE))
        return EIRateState(rE=leaf, rI=None, a=None)

    def diffusion(self, t, y: EIRateState, dt: float):
        return EIRateState(rE=self.sigma, rI=None, a=None)

    def check_state(self, y) -> None:
        check_like("the state (rE, rI, a)", self.init(), y)
