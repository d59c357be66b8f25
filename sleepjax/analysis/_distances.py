r"""Geometry of representations: how far apart items of the same class lie,
against items of different classes (Deperrois et al. 2022, Fig. 6e-f).

For latents $z_i \in \mathbb R^K$ with class labels $y_i$, distances are
mean squared differences per unit, $d(a, b) = \|a - b\|^2 / K$, averaged
over all pairs:

- within class $c$: over ordered pairs $i \ne j$ with $y_i = y_j = c$,
  $\frac{2}{n_c (n_c - 1)}\bigl(n_c \sum_i \|z_i\|^2 - \|\sum_i z_i\|^2\bigr)/K$;
- between class $c$ and the rest: over pairs $y_i = c$, $y_j \ne c$,
  $\bigl(\langle\|z_i\|^2\rangle_c + \langle\|z_j\|^2\rangle_{\bar c} - 2
  \bar z_c \cdot \bar z_{\bar c}\bigr)/K$;

each then averaged over the classes. All pairs are counted exactly (no
random pairing, as PAD's scripts draw), so the numbers are deterministic.
Pure JAX, safe under `jax.jit` and `jax.vmap`.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float, Int


def class_distances(
    z: Float[Array, "n K"], labels: Int[Array, " n"], n_classes: int
) -> tuple[Float[Array, ""], Float[Array, ""]]:
    """`(within, between)`: mean squared distance per unit between items of
    the same class and between items of a class and the rest, averaged over
    the classes (module docs). A class needs at least two items."""
    k = z.shape[-1]
    onehot = (labels[:, None] == jnp.arange(n_classes)).astype(z.dtype)  # (n, C)
    sq = jnp.sum(z * z, axis=-1)  # (n,)
    n_c = jnp.sum(onehot, axis=0)
    sum_c = onehot.T @ z  # (C, K)
    sq_c = onehot.T @ sq  # (C,)
    within = 2.0 * (n_c * sq_c - jnp.sum(sum_c * sum_c, -1)) / (n_c * (n_c - 1.0))
    n_o = z.shape[0] - n_c
    sum_o = jnp.sum(z, axis=0) - sum_c
    sq_o = jnp.sum(sq) - sq_c
    cross = jnp.sum(sum_c * sum_o, -1) / (n_c * n_o)  # mean_c · mean_rest
    between = sq_c / n_c + sq_o / n_o - 2.0 * cross
    return jnp.mean(within) / k, jnp.mean(between) / k


def paired_distance(a: Float[Array, "n K"], b: Float[Array, "n K"]) -> Float[Array, ""]:
    """Mean squared distance per unit between paired items, $\\langle\\|a_i -
    b_i\\|^2\\rangle_i / K$ (for example an image's latent and its occluded
    version's)."""
    return jnp.mean((a - b) ** 2)
