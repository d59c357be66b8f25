r"""Factorised synapses $w = \prod_k u^{(k)}$: state, gradient, pruning, scaling.

Each synapse $j \to i$ has $z$ non-negative factors $u^{(1)}_{ij}, \dots,
u^{(z)}_{ij}$ and weight $w_{ij} = \prod_k u^{(k)}_{ij}$ ($z = 1$: the weight
itself; $z = 2$: two-factor synapses). Factors and weights are dimensionless
(fields $\sum_j w_{ij} x_j$ are in units of one weight).

- **Gradient on factors.** A weight update $G_{ij}$ (the gradient of an
  objective with respect to $w_{ij}$) moves every factor along its own
  gradient, $\Delta u^{(k)} = \eta\, G \circ \prod_{l \ne k} u^{(l)} \circ m$,
  with the live-synapse mask $m$. Under gradient flow this conserves
  $(u^{(k)})^2 - (u^{(l)})^2$ per synapse (balanced factors stay balanced).
- **Permanent pruning.** A synapse is alive while $w > 10^{-10}$; once
  pruned its mask stays 0 (`refresh`: $m \leftarrow m \wedge (w > 10^{-10})$),
  so no update or noise re-grows it.
- **Clipping.** $u \leftarrow \max(u \circ m, 10^{-20})$, and
  $u_{ii} = 0$ without autapses: a factor that an update drives below zero
  sits at the floor, its weight falls below the pruning threshold and the
  synapse is pruned at the next `refresh`.
- **Homeostatic scaling** (`HomeostaticScaling`): each neuron's incoming
  factors are rescaled by one number so that $\sum_{j,k} (u^{(k)}_{ij})^2 =
  zL$. With balanced factors $u = w^{1/z}$ this fixes the quasi-norm
  $\sum_j w_{ij}^{2/z} = L$.
- **Noise per factor** (`add_noise`): independent $\mathcal N(0, \sigma^2)$ on
  chosen factors of live synapses; then $\mathrm{Var}(\delta w) \approx z
  \sigma^2 w^{2-2/z}$ when all $z$ factors are noisy and balanced.

Layout: `u[k, i, j]` is factor k of the synapse from j onto i, `(z, N, D)`.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, PRNGKeyArray

PRUNE_BELOW = 1e-10
FLOOR = 1e-20


def factor_product(u: Float[Array, "z N D"]) -> Float[Array, "N D"]:
    r"""$w = \prod_k u^{(k)}$."""
    w = u[0]
    for k in range(1, u.shape[0]):
        w = w * u[k]
    return w


def _gradients(u) -> list:
    """[∏_{l≠k} u_l for k] (prefix and suffix products; for z = 1: [1])."""
    z = u.shape[0]
    if z == 1:
        return [jnp.ones_like(u[0])]
    prefix = [None, u[0]]
    for k in range(2, z):
        prefix.append(prefix[-1] * u[k - 1])
    out = [None] * z
    suffix = None
    for k in range(z - 1, -1, -1):
        out[k] = (
            suffix
            if prefix[k] is None
            else (prefix[k] if suffix is None else prefix[k] * suffix)
        )
        suffix = u[k] if suffix is None else suffix * u[k]
    return out


def factor_gradient(u: Float[Array, "z N D"]) -> Float[Array, "z N D"]:
    r"""$\partial w / \partial u^{(k)} = \prod_{l \ne k} u^{(l)}$ for every k
    (prefix and suffix products: no division, exact at zero factors)."""
    return jnp.stack(_gradients(u))


class FactorisedSynapses(eqx.Module):
    r"""The state of $z$-factor synapses (module docs): factors and the
    permanent pruning mask.

    **Fields:**

    - `u`: `(z, N, D)` factors, `u[k, i, j]` (dimensionless, $\ge 0$).
    - `alive`: `(N, D)` bool, False once a synapse is pruned.
    """

    u: Float[Array, "z N D"]
    alive: Bool[Array, "N D"]

    @classmethod
    def constant(cls, z: int, n: int, u0, dtype=None) -> FactorisedSynapses:
        """Every factor of an `(n, n)` network equal to `u0`, all alive."""
        u = jnp.full((z, n, n), u0, dtype=dtype or jnp.result_type(float))
        return cls(u, jnp.ones((n, n), bool))

    @classmethod
    def uniform(
        cls, key: PRNGKeyArray, z: int, n: int, u0, spread, dtype=None
    ) -> FactorisedSynapses:
        r"""Factors drawn independently from $\mathcal U[u_0(1 - s), u_0(1 + s)]$
        (`spread` s), all alive."""
        dtype = dtype or jnp.result_type(float)
        r = jr.uniform(key, (z, n, n), dtype, minval=-1.0, maxval=1.0)
        return cls(u0 * (1.0 + spread * r), jnp.ones((n, n), bool))

    @property
    def z(self) -> int:
        return self.u.shape[0]

    @property
    def weights(self) -> Float[Array, "N D"]:
        r"""$w = \prod_k u^{(k)}$."""
        return factor_product(self.u)

    def refresh(self, threshold: float = PRUNE_BELOW) -> FactorisedSynapses:
        r"""Prune (permanently) every synapse with $w \le$ `threshold`:
        $m \leftarrow m \wedge (w > \text{threshold})$."""
        return FactorisedSynapses(self.u, self.alive & (self.weights > threshold))

    def descend(self, G: Float[Array, "N D"], eta) -> FactorisedSynapses:
        r"""$u^{(k)} \mathrel{+}= \eta\, G \circ \prod_{l\ne k} u^{(l)} \circ m$
        for every factor (a step along $G = \partial\mathcal L/\partial w$;
        `eta` may be traced)."""
        step = eta * G * self.alive.astype(self.u.dtype)
        grads = _gradients(self.u)  # per factor, stacked once with the update
        u = jnp.stack([self.u[k] + step * g for k, g in enumerate(grads)])
        return FactorisedSynapses(u, self.alive)

    def add_to_factor(self, k: int, delta: Float[Array, "N D"]) -> FactorisedSynapses:
        r"""$u^{(k)} \mathrel{+}= \delta$ (one factor, as it is: clip afterwards)."""
        return FactorisedSynapses(self.u.at[k].add(delta), self.alive)

    def clip(self, floor: float = FLOOR, autapses: bool = False) -> FactorisedSynapses:
        r"""$u \leftarrow \max(u \circ m, \text{floor})$, then (without
        autapses, square only) $u_{ii} = 0$."""
        m = self.alive.astype(self.u.dtype)
        u = jnp.maximum(self.u * m[None], floor)
        if not autapses:
            n, d = self.alive.shape
            if n != d:
                raise ValueError("clip: no autapses needs square (N, N) factors.")
            u = u * (1.0 - jnp.eye(n, dtype=u.dtype))[None]
        return FactorisedSynapses(u, self.alive)

    def add_noise(
        self, key: PRNGKeyArray, sigma, factors: tuple[int, ...] | None = None
    ) -> FactorisedSynapses:
        r"""$u^{(k)} \mathrel{+}= \sigma\,\xi \circ m$, $\xi \sim \mathcal N(0, 1)$
        independent per synapse and factor, for the factors listed (default:
        all); pruned synapses get none. Clip afterwards."""
        ks = tuple(range(self.z)) if factors is None else tuple(factors)
        m = self.alive.astype(self.u.dtype)
        xi = jr.normal(key, (len(ks), *self.alive.shape), self.u.dtype)
        u = self.u.at[jnp.asarray(ks)].add(sigma * xi * m[None])
        return FactorisedSynapses(u, self.alive)


class HomeostaticScaling(eqx.Module):
    r"""Per-neuron multiplicative scaling to $\sum_{j,k} (u^{(k)}_{ij})^2 = zL$.

    `__call__` returns the scaled synapses and the factor $c_i =
    \sqrt{\sum_{j,k} u_{ij}^2 / (zL)}$ each neuron's factors were divided by
    (weights are divided by $c_i^z$); $c_i = 1$ for a neuron whose factors
    are all zero.

    **Fields:** `length` $L$ (a leaf, dimensionless): the per-neuron budget,
    $\sum_j w_{ij}^{2/z} = L$ for balanced factors.
    """

    length: Float[Array, ""]

    def __call__(
        self, syn: FactorisedSynapses
    ) -> tuple[FactorisedSynapses, Float[Array, " N"]]:
        c = jnp.sqrt(jnp.sum(syn.u**2, axis=(0, 2)) / (self.length * syn.z))
        c = jnp.where(c > 0, c, 1.0)  # a neuron whose factors all vanished (or
        # underflowed, 1e-20² in float32) has nothing to scale: left as it is
        return FactorisedSynapses(syn.u / c[None, :, None], syn.alive), c
