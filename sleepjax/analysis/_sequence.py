"""How well a weight matrix recalls stored sequences: one-step transitions
from a cue of each element."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float


def sequence_recall(
    W: Float[Array, "n n"], sequences: Float[Array, "S K n"], gain: float = 1.0
) -> tuple[Float[Array, " S"], Float[Array, " S"]]:
    r"""Transition recall of S sequences of K elements each.

    Cue element $p_{s,k}$: the network's input is $h = W \tanh(g\,p_{s,k})$.
    Among all $S K$ elements except the cued one and its copies (candidates
    $c_j$; an element that two sequences share counts once), the
    recalled element is the one whose direction is closest,
    $\arg\max_j \cos(h, c_j)$. A transition $k \to k+1$ is correct when
    that is $p_{s,k+1}$ (or a copy of it); its margin is
    $\cos(h, p_{s,k+1}) - \max_j \cos(h, c_j)$ over the candidates that
    are not copies of the target (> 0 exactly when correct, ties aside).

    **Arguments:**

    - `W`: `(n, n)`; `sequences`: `(S, K, n)` with K ≥ 2 (elements in order).
    - `gain`: g, the cue's strength (dimensionless). Default 1.

    **Returns:** `(fraction, margin)`, each `(S,)`: the fraction of the K − 1
    transitions of each sequence recalled correctly (1: the whole sequence
    in order; chance ≈ 1/(S K − 1)), and their mean margin.
    """
    s_n, k_n, n = sequences.shape
    if k_n < 2:
        raise ValueError(f"sequence_recall: need K >= 2 elements, got {k_n}.")
    cand = sequences.reshape(s_n * k_n, n)
    unit = cand / jnp.linalg.norm(cand, axis=1, keepdims=True)
    cue = cand.reshape(s_n, k_n, n)[:, :-1]  # (S, K-1, n)
    h = jnp.einsum("ij,skj->ski", W, jnp.tanh(gain * cue))
    h = h / jnp.maximum(jnp.linalg.norm(h, axis=-1, keepdims=True), 1e-30)
    cos = jnp.einsum("skn,jn->skj", h, unit)  # (S, K-1, S K)
    idx = jnp.arange(s_n)[:, None] * k_n + jnp.arange(k_n - 1)[None, :]
    same = (unit @ unit.T) > 1.0 - 1e-6  # identical elements (shared by both)
    cued = same[idx]  # (S, K-1, S K): the cue and any copy of it
    target = same[idx + 1]
    c_target = jnp.sum(
        jnp.where(jnp.arange(s_n * k_n) == (idx + 1)[..., None], cos, 0.0), axis=-1
    )
    c_other = jnp.max(jnp.where(cued | target, -jnp.inf, cos), axis=-1)
    margin = c_target - c_other
    return jnp.mean((margin > 0).astype(margin.dtype), axis=-1), jnp.mean(
        margin, axis=-1
    )
