r"""Recall robustness of binary threshold networks under neural and synaptic noise.

A memory $x^\mu$ (0/1, coding level $f$) is **recalled** from a noisy cue if,
after `steps` synchronous steps $s \leftarrow \Theta(Ws - \theta)$ without
inhibition (the last one counted as the network's response), at most
$0.2\,Nf$ units are wrong: $\sum_i (1 - y_i\,\mathrm{sign}(h_i))/2 \le 0.2Nf$
with $y = 2x^\mu - 1$ and $h$ the last fields. Cues and weights:

- **Neural noise** at level $\nu = f_\text{noise}/f$: balanced bit flips,
  each active unit switched off with probability $\nu/2$ and each inactive
  one switched on with probability $\nu f / (2(1-f))$ (on average
  $\nu N f/2$ flips each way).
- **Synaptic noise** at level $\sigma/\langle u\rangle$: the factors are
  first rescaled per neuron so that the mean live factor is
  $\langle u\rangle = 0.1$ (thresholds scaled with the weights, which leaves
  every decision unchanged), then $u^{(1)} \mathrel{+}= \mathcal N(0,
  \sigma^2)$ on live synapses only, clipped at $10^{-20}$; recall starts from
  the memory itself.

The **tolerance** is the noise level at which the recalled fraction falls
through 1/2 (`crossing`, linear interpolation). All functions but
`crossing` are pure JAX; `tests` independent draws are averaged.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from ..dynamics._threshold import count_errors, fields, run_synchronous
from ..plasticity._factorised import FLOOR, factor_product

MEAN_FACTOR = 0.1


def recalled(W, theta, S0, X, f, steps: int) -> Float[Array, " M"]:
    r"""1 where column μ of the cue `S0` `(N, M)` is recalled as memory
    $x^\mu$ (module docs) after `steps` steps (the last is the response)."""
    S = run_synchronous(W, theta, S0, steps - 1)
    wrong = count_errors(fields(W, theta, S), 2.0 * X - 1.0)
    return (wrong <= 0.2 * X.shape[0] * f).astype(W.dtype)


def flip_balanced(key: PRNGKeyArray, X, f, level) -> Array:
    r"""Balanced bit flips at level $\nu$ = `level` (module docs)."""
    p = jnp.where(X > 0, level / 2.0, level * f / (2.0 * (1.0 - f)))
    flip = jr.uniform(key, X.shape, X.dtype) < p
    return jnp.where(flip, 1.0 - X, X)


def scale_to_mean_factor(u, alive, theta, target: float = MEAN_FACTOR):
    r"""Rescale each neuron's factors so that its mean live factor is
    `target`, and its threshold with its weights ($\theta_i / c_i^z$)."""
    z = u.shape[0]
    m = alive.astype(u.dtype)
    c = jnp.sum(u, axis=(0, 2)) / (z * jnp.maximum(jnp.sum(m, axis=1), 1.0)) / target
    return u / c[None, :, None], theta / c**z


def neural_noise_recall(
    key: PRNGKeyArray, W, theta, X, f, levels, *, steps: int = 50, tests: int = 8
) -> Float[Array, "L M"]:
    """Per level and memory: the fraction of `tests` balanced-flip cues from
    which the memory is recalled."""

    def one(level):
        def draw(k):
            return recalled(W, theta, flip_balanced(k, X, f, level), X, f, steps)

        return jnp.mean(jax.lax.map(draw, jr.split(jr.fold_in(key, 0), tests)), 0)

    return jax.lax.map(one, jnp.asarray(levels, W.dtype))


def synaptic_noise_recall(
    key: PRNGKeyArray, u, alive, theta, X, f, levels, *, steps: int = 50, tests: int = 8
) -> Float[Array, "L M"]:
    r"""Per level and memory: the fraction of `tests` draws of Gaussian noise
    of size `level`·⟨u⟩ on factor 1 of live synapses (after rescaling to
    ⟨u⟩ = 0.1, module docs) with which the memory is recalled from itself."""
    u, theta = scale_to_mean_factor(u, alive, theta)
    m = alive.astype(u.dtype)

    def one(level):
        sigma = level * MEAN_FACTOR

        def draw(k):
            xi = jr.normal(k, alive.shape, u.dtype)
            un = u.at[0].set(jnp.maximum(u[0] + sigma * xi * m, FLOOR))
            return recalled(factor_product(un), theta, X, X, f, steps)

        return jnp.mean(jax.lax.map(draw, jr.split(jr.fold_in(key, 1), tests)), 0)

    return jax.lax.map(one, jnp.asarray(levels, u.dtype))


def crossing(levels, fraction, at: float = 0.5) -> float:
    """The level at which `fraction` first falls through `at` (linear
    interpolation; NaN if it never does; the first level if it starts
    below)."""
    x, y = np.asarray(levels, float), np.asarray(fraction, float)
    if y[0] < at:
        return float(x[0])
    below = np.nonzero(y < at)[0]
    if below.size == 0:
        return float("nan")
    k = below[0]
    x0, x1, y0, y1 = x[k - 1], x[k], y[k - 1], y[k]
    return float(x0 + (y0 - at) * (x1 - x0) / (y0 - y1))
