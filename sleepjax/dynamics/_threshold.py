r"""Binary threshold units with learned thresholds, and k-winners-take-all.

States $s \in \{0, 1\}^N$, weights $W$ (`W[i, j]` from unit j onto unit i,
no autapses: $W_{ii} = 0$) and thresholds $\theta$, all in the same
(arbitrary) field units. One synchronous step is

$$s_i(t+1) = \Theta\Big(\sum_j W_{ij} s_j(t) - \theta_i\Big),
\qquad \Theta(h) = 1 \text{ if } h > 0 \text{ else } 0 .$$

**k-WTA inhibition.** A global inhibitory shift $d\theta$ of every field keeps
exactly $k$ units active: when $\Theta(h)$ does not already have $k$ ones,
$d\theta$ is the $(N-k)$-th smallest field, so that $\Theta(h - d\theta)$ has
exactly $k$ ones (for distinct fields); otherwise $d\theta = 0$.

**Gaussian threshold.** For inputs with coding level $f$ (a fraction $f$ of
ones, independently), the field $\sum_j W_{ij}x_j$ has mean $f\sum_j W_{ij}$ and
variance $f(1-f)\sum_j W_{ij}^2$; the threshold at which a fraction $f$ of
Gaussian fields lies above it is

$$\theta_i = f\sum_j W_{ij} + \sqrt{2f(1-f)\textstyle\sum_j W_{ij}^2}\;
\mathrm{erf}^{-1}(1 - 2f).$$

Functions work on one state `(N,)` or on columns `(N, M)` (one pattern per
column, fields in the same layout), under `jit` and `vmap`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.scipy.special import erfinv
from jaxtyping import Array, Float, Int, PRNGKeyArray

from .._system import AbstractMap, check_like


def heaviside(h: Array) -> Array:
    r"""$\Theta(h)$: 1 where $h > 0$, 0 elsewhere (also at $h = 0$)."""
    return (h > 0).astype(h.dtype)


def kwta_shift(h: Float[Array, " N *M"], k: int) -> Float[Array, "*M"]:
    r"""The k-WTA shift $d\theta$ of the fields `h` (per column).

    0 where $\Theta(h)$ has exactly `k` ones; elsewhere the $(N-k)$-th
    smallest field (0-based index $N-k-1$ of the ascending sort), so that
    $\Theta(h - d\theta)$ has exactly `k` ones when the fields are distinct.
    `k` (static) must be in $[1, N-1]$."""
    n = h.shape[0]
    if not 1 <= k <= n - 1:
        raise ValueError(f"kwta_shift: k must be in [1, {n - 1}], got {k}.")
    kth = jnp.sort(h, axis=0)[n - k - 1]
    exact = jnp.sum(h > 0, axis=0) == k
    return jnp.where(exact, jnp.zeros_like(kth), kth)


def kwta(h: Float[Array, " N *M"], k: int) -> tuple[Array, Array]:
    r"""$(\Theta(h - d\theta), d\theta)$ with $d\theta$ = `kwta_shift(h, k)`."""
    dtheta = kwta_shift(h, k)
    return heaviside(h - dtheta), dtheta


def gaussian_threshold(W: Float[Array, "N N"], f) -> Float[Array, " N"]:
    r"""$\theta_i = f\sum_j W_{ij} + \sqrt{2f(1-f)\sum_j W_{ij}^2}\,
    \mathrm{erf}^{-1}(1-2f)$ (module docs): the threshold that a fraction $f$
    of fields exceed for random inputs of coding level $f$."""
    f = jnp.asarray(f, W.dtype)
    mean = f * jnp.sum(W, axis=1)
    var = f * (1.0 - f) * jnp.sum(W * W, axis=1)
    return mean + jnp.sqrt(2.0 * var) * erfinv(1.0 - 2.0 * f)


def fields(W: Float[Array, "N N"], theta: Float[Array, " N"], S: Array) -> Array:
    r"""$h = W S - \theta$ for a state `(N,)` or columns `(N, M)`."""
    h = W @ S
    return h - (theta if S.ndim == 1 else theta[:, None])


def run_synchronous(
    W: Float[Array, "N N"], theta: Float[Array, " N"], S: Array, steps: int
) -> Array:
    r"""`steps` synchronous steps $S \leftarrow \Theta(WS - \theta)$ from `S`
    (`(N,)` or `(N, M)`), without inhibition."""

    def one(_, s):
        return heaviside(fields(W, theta, s))

    return jax.lax.fori_loop(0, steps, one, S)


class ThresholdNetwork(AbstractMap):
    r"""Binary threshold units (module docs) as a discrete-time map.

    One step is one synchronous update of every unit; with `k` set, k-WTA
    inhibition keeps exactly `k` units active (a shift $d\theta$ is applied
    only when $\Theta(Ws - \theta)$ does not already have `k` ones).

    **Fields:**

    - `W`: `(N, N)` weights, `W[i, j]` from j onto i (a leaf; the diagonal
      should be 0: no autapses).
    - `theta`: `(N,)` thresholds (a leaf).
    - `k`: number of active units under k-WTA (static), or `None` (none).

    The state is `s`, a float array `(N,)` of 0/1.
    """

    W: Float[Array, "N N"]
    theta: Float[Array, " N"]
    k: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        if jnp.ndim(self.W) != 2 or self.W.shape[0] != self.W.shape[1]:
            raise ValueError(
                f"ThresholdNetwork: `W` must be square, got {jnp.shape(self.W)}."
            )
        if jnp.shape(self.theta) != (self.W.shape[0],):
            raise ValueError(
                f"ThresholdNetwork: `theta` must have shape ({self.W.shape[0]},), "
                f"got {jnp.shape(self.theta)}."
            )
        if self.k is not None and not 1 <= self.k <= self.W.shape[0] - 1:
            raise ValueError(
                f"ThresholdNetwork: `k` must be in [1, N - 1], got {self.k}."
            )

    @property
    def n(self) -> int:
        return self.W.shape[0]

    def step(self, t, s: Float[Array, " N"], key: PRNGKeyArray) -> Float[Array, " N"]:
        """One synchronous update (with k-WTA when `k` is set)."""
        h = fields(self.W, self.theta, s)
        if self.k is None:
            return heaviside(h)
        return kwta(h, self.k)[0]

    def check_state(self, s) -> None:
        check_like("the state s", jnp.zeros(self.n), s)


def active_count(f: float, n: int) -> int:
    """The number of active units round(f·N) of a coding level (at least 1,
    at most N - 1)."""
    return int(min(max(round(f * n), 1), n - 1))


def count_errors(
    h: Float[Array, "N M"], targets: Float[Array, "N M"]
) -> Int[Array, " M"] | Float[Array, " M"]:
    r"""Wrong units per column: $\sum_i (1 - y_i\,\mathrm{sign}(h_i))/2$ with
    targets $y = \pm 1$ (a zero field counts one half)."""
    return jnp.sum((1.0 - targets * jnp.sign(h)) / 2.0, axis=0)
