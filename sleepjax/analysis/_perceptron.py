r"""Gardner theory of the perceptron with a free threshold and biased outputs.

A perceptron with $N$ inputs $x_j \in \{0, 1\}$ (coding level $f$) and a
free threshold must give output $+1$ to a fraction $f$ of $M = \alpha N$
random patterns and $-1$ to the rest, with Gardner stability $\kappa$ (the
margin $\min_\mu y^\mu(w\cdot x^\mu - \theta)$ in units of the field's
standard deviation $\sqrt{f(1-f)}\,\|w\|_2$). For $N \to \infty$ the largest
load is (Gardner 1988; for non-negative weights half of it, Amit, Campbell &
Wong 1989; Brunel et al. 2004)

$$\alpha_c(\kappa, f) = \frac{1}{c\,\min_x\big[f\,I(\kappa + x) +
(1-f)\,I(\kappa - x)\big]},\qquad I(u) = \int_{-u}^{\infty}(t + u)^2\,Dt
= (1 + u^2)\Phi(u) + u\,\phi(u),$$

with $c = 2$ for sign-constrained (non-negative) weights and $c = 1$ for
unconstrained ones; $x$ is the optimal threshold offset. At $f = 1/2$ and
$\kappa = 0$: $\alpha_c = 1$ (sign-constrained), 2 (unconstrained).

`gardner_capacity` gives $\alpha_c(\kappa, f)$, `gardner_margin` inverts it
(the max-margin κ at load α). Pure JAX (bisection, fixed iterations), exact
to float precision; broadcast over arrays.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.lax import fori_loop
from jax.scipy.special import ndtr
from jax.scipy.stats import norm


def _I(u):
    return (1.0 + u * u) * ndtr(u) + u * norm.pdf(u)


def _J(u):  # I'(u) / 2
    return u * ndtr(u) + norm.pdf(u)


def _bisect(fn, lo, hi, iters: int = 80):
    """Root of an increasing `fn` in [lo, hi] (elementwise)."""

    def body(_, ab):
        a, b = ab
        mid = 0.5 * (a + b)
        up = fn(mid) > 0
        return jnp.where(up, a, mid), jnp.where(up, mid, b)

    a, b = fori_loop(0, iters, body, (lo, hi))
    return 0.5 * (a + b)


def gardner_capacity(f, kappa=0.0, *, sign_constrained: bool = True):
    r"""$\alpha_c(\kappa, f)$ (module docs); κ in Gardner units (the L2 margin
    divided by $\sqrt{f(1-f)}$)."""
    f, kappa = jnp.broadcast_arrays(jnp.asarray(f, float), jnp.asarray(kappa, float))
    lo, hi = jnp.full_like(f, -40.0), jnp.full_like(f, 40.0)
    x = _bisect(lambda x: f * _J(kappa + x) - (1.0 - f) * _J(kappa - x), lo, hi)
    g = f * _I(kappa + x) + (1.0 - f) * _I(kappa - x)
    return 1.0 / ((2.0 if sign_constrained else 1.0) * g)


def gardner_margin(alpha, f, *, sign_constrained: bool = True):
    r"""The Gardner stability κ at which $\alpha_c(\kappa, f) = \alpha$: the
    largest margin at load α (0 at $\alpha_c(0, f)$; negative above). The L2
    margin of `sleepjax.analysis.l2_margin` is $\kappa\sqrt{f(1-f)}$."""
    alpha, f = jnp.broadcast_arrays(jnp.asarray(alpha, float), jnp.asarray(f, float))

    def excess(k):  # decreasing capacity in κ: find α_c(κ) = α
        return alpha - gardner_capacity(f, k, sign_constrained=sign_constrained)

    return _bisect(excess, jnp.full_like(alpha, -10.0), jnp.full_like(alpha, 10.0))
