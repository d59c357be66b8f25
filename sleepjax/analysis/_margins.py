r"""Margins, densities, norms and factor statistics of networks of perceptrons.

Every neuron i of a network with weights $W$ `(N, D)` and thresholds
$\theta$ `(N,)` classifies patterns $x^\mu$ (columns of `X` `(D, M)`, 0/1)
with targets $y_{i\mu} = \pm 1$ (`Y` `(N, M)`). Its stabilities are
$\gamma_{i\mu} = y_{i\mu}(\sum_j W_{ij}x^\mu_j - \theta_i)$, in units of one
weight; the margins below divide the least stable one by a norm of $w_i$:

- `l2_margin`: $\kappa_i = \min_\mu \gamma_{i\mu} / \|w_i\|_2$ (neural
  noise on the inputs enters the field through $\|w_i\|_2$);
  `gardner_stability`: $\kappa_i / \sqrt{f(1-f)}$, the margin in units of
  the field's standard deviation over random patterns (Gardner's κ).
- `rho_margin`: $\rho_i = \min_\mu\gamma_{i\mu} / (\bar w_i\sqrt{Nf(1-f)})$
  with $\bar w_i$ the mean weight (an L1 margin).
- `norm_margin`: $\min_\mu\gamma_{i\mu} / (\sum_j w_{ij}^q)^{1/q}$.
- `synaptic_margin`: $\min_\mu\gamma_{i\mu} / \sqrt{\sum_j w_{ij}^{2-2/z}}$:
  noise $\sigma$ on the factors of $z$-factor synapses perturbs the field
  with variance $\approx z\sigma^2 \sum_j x_j w_{ij}^{2-2/z}$.
- `synaptic_snr`: $\min_\mu\gamma_{i\mu} / (\langle u\rangle
  \sqrt{f\sum_j (\prod_{l\ne1}u^{(l)}_{ij})^2})$: the signal over the
  field's standard deviation under noise of size $\langle u\rangle$ (the mean
  live factor) on factor 1, from the factors themselves.
- `memory_margins`: per pattern, $\min_i \gamma_{i\mu}/\|w_i\|_2$ (the
  weakest neuron of each memory).
- `density`: the fraction of a neuron's synapses with $w > 10^{-10}$.
- `power_sums`: $\sum_j w_{ij}^q$ for a grid of exponents; `best_conserved`
  picks the exponent whose sum changes least along a run.
- `factor_correlations`: within-synapse (between the factors of one synapse)
  and across-synapse (between the same factor of different synapses)
  correlations over postsynaptic neurons.

Per-neuron results are `(N,)` arrays; `patterns` (a bool `(M,)` mask, optional)
restricts the minimum to some patterns (+inf if none). All functions are pure
JAX.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

PRUNE_BELOW = 1e-10


def stabilities(W, theta, X, Y) -> Float[Array, "N M"]:
    r"""$\gamma = Y \circ (WX - \theta)$."""
    return Y * (W @ X - theta[:, None])


def _least(W, theta, X, Y, patterns=None):
    g = stabilities(W, theta, X, Y)
    if patterns is not None:
        g = jnp.where(patterns[None, :], g, jnp.inf)
    return jnp.min(g, axis=1)


def l2_margin(W, theta, X, Y, patterns=None) -> Float[Array, " N"]:
    r"""$\kappa_i = \min_\mu \gamma_{i\mu}/\|w_i\|_2$."""
    return _least(W, theta, X, Y, patterns) / jnp.linalg.norm(W, axis=1)


def gardner_stability(W, theta, X, Y, f, patterns=None) -> Float[Array, " N"]:
    r"""$\kappa_i/\sqrt{f(1-f)}$: the margin in units of the field's standard
    deviation over random patterns of coding level $f$ (the neural SNR)."""
    return l2_margin(W, theta, X, Y, patterns) / jnp.sqrt(f * (1.0 - f))


def rho_margin(W, theta, X, Y, f, patterns=None) -> Float[Array, " N"]:
    r"""$\rho_i = \min_\mu\gamma_{i\mu}/(\bar w_i\sqrt{N f(1-f)})$, $\bar w_i$
    the mean of row i, N its length."""
    n = W.shape[1]
    scale = jnp.mean(W, axis=1) * jnp.sqrt(n * f * (1.0 - f))
    return _least(W, theta, X, Y, patterns) / scale


def norm_margin(W, theta, X, Y, q, patterns=None) -> Float[Array, " N"]:
    r"""$\min_\mu\gamma_{i\mu}/(\sum_j |w_{ij}|^q)^{1/q}$."""
    norm = jnp.sum(jnp.abs(W) ** q, axis=1) ** (1.0 / q)
    return _least(W, theta, X, Y, patterns) / norm


def synaptic_margin(W, theta, X, Y, z: int, patterns=None) -> Float[Array, " N"]:
    r"""$\min_\mu\gamma_{i\mu}/\sqrt{\sum_j w_{ij}^{2-2/z}}$ ($z = 1$:
    $\sqrt N$)."""
    p = 2.0 - 2.0 / z
    denom = W.shape[1] if p == 0 else jnp.sum(W**p, axis=1)
    return _least(W, theta, X, Y, patterns) / jnp.sqrt(denom)


def synaptic_snr(u, alive, theta, X, Y, f, patterns=None) -> Float[Array, " N"]:
    r"""$\min_\mu\gamma_{i\mu}/(\langle u\rangle\sqrt{f\sum_j
    (\prod_{l\ne 1}u^{(l)}_{ij})^2})$ with $\langle u\rangle$ the mean factor
    of neuron i's live synapses (module docs). `u` `(z, N, D)`."""
    W = jnp.prod(u, axis=0)
    m = alive.astype(u.dtype)
    other = jnp.prod(u[1:], axis=0) * m  # ∂w/∂u⁽¹⁾ (1 for z = 1)
    mean_u = jnp.sum(u * m[None], axis=(0, 2)) / (
        u.shape[0] * jnp.maximum(jnp.sum(m, axis=1), 1.0)
    )
    noise = mean_u * jnp.sqrt(f * jnp.sum(other**2, axis=1))
    return _least(W, theta, X, Y, patterns) / noise


def memory_margins(W, theta, X, Y) -> Float[Array, " M"]:
    r"""Per pattern: $\min_i \gamma_{i\mu}/\|w_i\|_2$."""
    g = stabilities(W, theta, X, Y) / jnp.linalg.norm(W, axis=1)[:, None]
    return jnp.min(g, axis=0)


def density(W, threshold: float = PRUNE_BELOW) -> Float[Array, " N"]:
    """Fraction of each row's entries above `threshold` (live synapses)."""
    return jnp.mean((W > threshold).astype(W.dtype), axis=1)


def power_sums(W, qs) -> Float[Array, "Q N"]:
    r"""$\sum_j w_{ij}^q$ for each exponent in `qs` (one row per exponent;
    computed one exponent at a time)."""
    W = jnp.maximum(W, 0.0)
    return jax.lax.map(lambda q: jnp.sum(W**q, axis=1), jnp.asarray(qs, W.dtype))


def conservation_error(sums: Float[Array, "T Q"]) -> Float[Array, " Q"]:
    r"""$\max_t |S_q(t)/S_q(t_0) - 1|$ for a time series of sums `(T, Q)`."""
    return jnp.max(jnp.abs(sums / sums[:1] - 1.0), axis=0)


def best_conserved(qs, sums: Float[Array, "T Q"]):
    """The exponent of `qs` whose power sum changes least (relative to its
    first value) along the time series `sums` `(T, Q)`."""
    return jnp.asarray(qs)[jnp.argmin(conservation_error(sums))]


def _unit_columns(u):
    """Each (factor, presynaptic) column over postsynaptic neurons, centred and
    scaled to unit norm (zero for constant columns)."""
    c = u - jnp.mean(u, axis=1, keepdims=True)
    n = jnp.linalg.norm(c, axis=1, keepdims=True)
    return jnp.where(n > 0, c / jnp.where(n > 0, n, 1.0), 0.0), (n > 0)


def factor_correlations(u: Float[Array, "z N D"]) -> tuple[Array, Array]:
    r"""(within, across): the mean correlation over postsynaptic neurons i of
    (within) two different factors $u^{(k)}_{ij}, u^{(l)}_{ij}$ of the same
    synapse, averaged over $k \ne l$ and $j$; (across) the same factor of two
    different presynaptic columns $j \ne j'$, averaged over pairs and factors.
    Constant columns count as uncorrelated. Within is NaN for $z = 1$."""
    z, _, d = u.shape
    c, ok = _unit_columns(u)
    okf = ok.astype(u.dtype)  # (z, 1, D)
    s = jnp.sum(c, axis=0)  # (N, D): Σ_k ũ_k
    if z > 1:
        pair = jnp.sum(s**2, axis=0) - jnp.sum(okf, axis=(0, 1))
        within = jnp.mean(pair) / (z * (z - 1))
    else:
        within = jnp.asarray(jnp.nan, u.dtype)
    col = jnp.sum(c, axis=2)  # (z, N): Σ_j ũ_j
    across = (jnp.sum(col**2, axis=1) - jnp.sum(okf, axis=(1, 2))) / (d * (d - 1))
    return within, jnp.mean(across)
