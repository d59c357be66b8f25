r"""A one-shot modern Hopfield memory (hippocampus) built on model B.

Patterns $x_\mu \in [-1, 1]^d$ are stored one-shot, each as the weights of
one memory (hidden) unit: the rows of $X \in \mathbb{R}^{M\times d}$.
Retrieval iterates

$$\xi \leftarrow X^\top \mathrm{softmax}\!\big(\beta\, X \xi / \sqrt d\big)$$

(Ramsauer et al. 2020; Spens & Burgess 2024, who use β = 20 and stop when no
more than 0.5 elements change, i.e. at an exact fixed point, or after 10
iterations). That update *is* one Euler step with $dt = \tau_f$ of Krotov &
Hopfield's model B reduced to its feature neurons (`ReducedHopfield` with
$L_v = \tfrac12\sum v^2$ and $L_h = \beta_\mathrm{eff}^{-1}\log\sum e^{\beta_
\mathrm{eff} h}$, $\beta_\mathrm{eff} = \beta/\sqrt d$):
$v + \tau_f\,\dot v = v + (X^\top f(Xv) - v) = X^\top \mathrm{softmax}(\beta_
\mathrm{eff} X v)$. `ModernHopfieldMemory.update` takes that step from the
model's own drift; `converge` iterates any such map with the stopping rule.

Batched: `retrieve` maps over any leading axes of the queries (one compiled
matrix product per iteration), and the memory itself is a pytree (vmap it
over networks: `jax.vmap(lambda m, q: m.retrieve(q))(memories, queries)`).

**Separation.** With $\Delta_\mu = x_\mu\cdot x_\mu - \max_{\nu\ne\mu}
x_\mu\cdot x_\nu$, a state at $x_\mu$ gives the other $M - 1$ memories a total
softmax weight $\le (M-1)\,e^{-\beta\Delta_\mu/\sqrt d}$, so pattern $\mu$ is
a fixed point (to that weight) when $\beta\Delta_\mu/\sqrt d \gg \log M$; well
below, the softmax is nearly uniform and retrieval ends near the patterns'
mean (a metastable mixture), cosine $\approx M^{-1/2}$ with each pattern when
they are nearly orthogonal.

**Equal-norm similarity** (`equal_norm=True`, a variant that is not in Spens
& Burgess). With the dot product a pattern of small norm can lose to a
larger pattern even at itself: $\Delta_\mu < 0$ when $x_\nu\cdot x_\mu >
x_\mu\cdot x_\mu$, and then $x_\mu$ is not a fixed point and never comes
back; retrieval from noise also favours large norms, because the spread of
$x_\mu\cdot\xi$ grows with $\lVert x_\mu\rVert$. Giving memory unit μ the
input gain $g_\mu = \bar r/\lVert x_\mu\rVert$ ($\bar r$ the mean pattern
norm) scores every unit by its pattern's direction at a common norm,

$$\xi \leftarrow X^\top \mathrm{softmax}\!\big(\beta\, g \odot X\xi/\sqrt d
\big),$$

while the output weights stay $X$, so a retrieval still ends at the stored
pattern itself (the similarity–projection split of Millidge et al. 2022's
universal Hopfield networks, with a scaled cosine similarity). Now
$\Delta_\mu = \bar r\,\lVert x_\mu\rVert\,(1 - \max_{\nu\ne\mu}\cos
(x_\mu, x_\nu)) > 0$ for every pattern not parallel to another. With
unequal gains the update is no longer a gradient step of model B's energy.

Units: patterns, queries and β dimensionless; an iteration is one step of
duration τ_f.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int

from .._errors import as_param, check_positive
from .._system import AbstractMap
from ._hopfield import LogSumExpLagrangian, QuadraticLagrangian, ReducedHopfield


def converge(
    step: Callable[[Array], Array],
    y0: Array,
    *,
    max_iter: int = 10,
    max_changed: float = 0.5,
) -> tuple[Array, Int[Array, ""]]:
    r"""Iterate $y \leftarrow F(y)$ from `y0` until at most `max_changed`
    elements of $y$ change in one iteration, or `max_iter` times.

    Returns `(y, n)`: the last iterate and the number of iterations made
    (≥ 1). With `max_changed` < 1 the loop stops at an exact fixed point, so
    iterating longer would change nothing. One state; `jax.vmap` it for many
    (each stops on its own)."""
    if max_iter < 1:
        raise ValueError(f"`max_iter` must be >= 1, got {max_iter}.")

    def cond(carry):
        k, _, done = carry
        return (k < max_iter) & ~done

    def body(carry):
        k, y, _ = carry
        new = step(y)
        changed = jnp.sum(new != y)
        return k + 1, new, changed <= max_changed

    k, y, _ = jax.lax.while_loop(cond, body, (jnp.int32(0), y0, jnp.array(False)))
    return y, k


class ModernHopfieldMemory(eqx.Module):
    r"""Patterns stored one-shot in a modern Hopfield network (model B).

    **Fields:**

    - `patterns`: $X$, `(M, d)`, row μ = memory unit μ's weights (values in
      [-1, 1] for images rescaled from [0, 1] by $2x - 1$).
    - `beta`: inverse temperature β of $\mathrm{softmax}(\beta X\xi/\sqrt d)$
      (a leaf; Spens & Burgess: 20).
    - `gain`: input gain $g_\mu$ of each memory unit `(M,)`, or None (all 1:
      the dot product of model B). `equal_norm=True` sets $g_\mu = \bar r/
      \lVert x_\mu\rVert$ (module docs; a zero pattern gets gain 0).
    """

    patterns: Float[Array, "M d"]
    beta: Float[Array, ""]
    gain: Float[Array, " M"] | None

    def __init__(self, patterns, beta=20.0, *, equal_norm: bool = False):
        self.patterns = jnp.asarray(patterns)
        if self.patterns.ndim != 2:
            raise ValueError(
                f"`patterns` must have shape (M, d), got {self.patterns.shape}."
            )
        self.beta = as_param(beta, "beta")
        check_positive("beta", self.beta)
        if not isinstance(equal_norm, bool):
            raise TypeError(f"`equal_norm` must be True or False, got {equal_norm!r}.")
        if equal_norm:
            norm = jnp.linalg.norm(self.patterns, axis=1)
            self.gain = jnp.where(
                norm > 0, jnp.mean(norm) / jnp.where(norm > 0, norm, 1.0), 0.0
            )
        else:
            self.gain = None

    @property
    def dim(self) -> int:
        """Pattern size d."""
        return self.patterns.shape[1]

    def network(self) -> ReducedHopfield:
        r"""Model B with $\tau_f = 1$, linear feature neurons and
        $\beta_\mathrm{eff} = \beta/\sqrt d$, whose memories are the patterns.
        Only for the dot product (no `gain`): unequal input and output weights
        are not model B."""
        if self.gain is not None:
            raise ValueError(
                "an equal-norm memory (input gains) is not model B; use `update`."
            )
        lag_h = LogSumExpLagrangian(self.beta / jnp.sqrt(float(self.dim)))
        return ReducedHopfield(self.patterns, 1.0, QuadraticLagrangian(), lag_h)

    def update(self, v: Float[Array, " d"]) -> Float[Array, " d"]:
        r"""One Euler step of model B with $dt = \tau_f$:
        $v + \tau_f\,\dot v = X^\top\mathrm{softmax}(\beta X v/\sqrt d)$
        (with gains: $X^\top\mathrm{softmax}(\beta\, g\odot X v/\sqrt d)$)."""
        if self.gain is None:
            net = self.network()
            return v + net.tau_f * net.drift(0.0, v)
        score = self.gain * (self.patterns @ v) * (self.beta / jnp.sqrt(self.dim))
        return self.patterns.T @ jax.nn.softmax(score)

    def retrieve(
        self,
        queries: Float[Array, "*batch d"],
        *,
        max_iter: int = 10,
        max_changed: float = 0.5,
    ) -> Float[Array, "*batch d"]:
        """Retrieval from each query (any leading axes): `update` iterated by
        `converge` (defaults: Spens & Burgess's rule)."""
        return self.retrieve_with_steps(
            queries, max_iter=max_iter, max_changed=max_changed
        )[0]

    def retrieve_with_steps(self, queries, *, max_iter=10, max_changed=0.5):
        """`(retrieved, iterations)` for each query."""
        queries = jnp.asarray(queries, self.patterns.dtype)
        if queries.shape[-1] != self.dim:
            raise ValueError(
                f"queries have {queries.shape[-1]} elements; the patterns have "
                f"{self.dim}."
            )
        lead = queries.shape[:-1]
        flat = queries.reshape(-1, self.dim)

        def one(q):
            return converge(self.update, q, max_iter=max_iter, max_changed=max_changed)

        out, steps = jax.vmap(one)(flat)
        return out.reshape(*lead, self.dim), steps.reshape(lead)

    def nearest(self, states: Float[Array, "*batch d"]):
        """`(index, cosine)`: the stored pattern with the largest cosine
        similarity to each state, and that cosine."""
        x = self.patterns / jnp.linalg.norm(self.patterns, axis=1, keepdims=True)
        s = states / jnp.maximum(jnp.linalg.norm(states, axis=-1, keepdims=True), 1e-30)
        cos = s @ x.T
        return jnp.argmax(cos, axis=-1), jnp.max(cos, axis=-1)

    def separation(self) -> Float[Array, " M"]:
        r"""$\Delta_\mu = g_\mu x_\mu\cdot x_\mu - \max_{\nu\ne\mu} g_\nu
        x_\nu\cdot x_\mu$: the margin of unit μ's score over every other unit's
        at the state $x_\mu$ ($g = 1$ without gains). Negative: $x_\mu$ is not
        a fixed point."""
        g = self.patterns @ self.patterns.T  # g[nu, mu] = x_nu . x_mu
        if self.gain is not None:
            g = self.gain[:, None] * g
        m = g.shape[0]
        off = jnp.where(jnp.eye(m, dtype=bool), -jnp.inf, g)
        return jnp.diag(g) - jnp.max(off, axis=0)


def coverage(
    index: Int[Array, " n"], cosine: Float[Array, " n"], m: int, threshold=0.99
) -> Int[Array, ""]:
    """Number of distinct stored patterns (of `m`) reached: those that are the
    nearest pattern of some state with cosine ≥ `threshold`."""
    hit = jnp.zeros((m,), bool).at[index].max(cosine >= threshold)
    return jnp.sum(hit)


class RetrievalMap(AbstractMap):
    r"""Retrieval as a discrete-time map: step $k$ applies the memory's update
    (one Euler step of model B, $dt = \tau_f$) to every state of a batch
    `(Q, d)`. Because the stopping rule of `converge` stops only at exact
    fixed points, $k$ steps of this map give `retrieve(..., max_iter=k)`.

    **Field:** `memory` (a `ModernHopfieldMemory`)."""

    memory: ModernHopfieldMemory

    def step(self, t, y: Float[Array, "Q d"], key) -> Float[Array, "Q d"]:
        return jax.vmap(self.memory.update)(y)

    def check_state(self, y) -> None:
        if jnp.ndim(y) != 2 or jnp.shape(y)[1] != self.memory.dim:
            raise ValueError(
                f"the state must have shape (Q, {self.memory.dim}), got {jnp.shape(y)}."
            )
