r"""Fixed synaptic projections between spiking populations (membrane form).

A projection turns the 0/1 spikes $y^{pre}$ of one population into a voltage
jump (mV) of every neuron of another, added to its membrane potential in the
step the spikes arrive:

$$\Delta v_i = \sum_j W_{ij}\, y^{pre}_j .$$

Three storage forms, chosen by structure (they give the same numbers as a
dense matrix; the compact ones make vmapped batches of large networks cheap):

- `DenseProjection`: any matrix $W$ `(n_post, n_pre)`.
- `BlockProjection`: one weight per pair of equal-sized groups (an all-to-all
  block matrix, optionally without self-connections): $O(n)$ per step.
- `BitProjection`: a random 0/1 connectivity mask with one common weight,
  stored as packed 32-bit words: $\Delta v_i = w\cdot\mathrm{popcount}(M_i
  \wedge y)$, exact (integer counts times $w$), 32× less memory than a float
  matrix.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
from jaxtyping import Array, Bool, Float, PRNGKeyArray, UInt32

from .._errors import as_param

Spikes = Float[Array, " n_pre"]


class DenseProjection(eqx.Module):
    r"""$\Delta v = W y^{pre}$ with a dense weight matrix.

    **Fields:** `pre`, `post` (population names, static); `W` `(n_post, n_pre)`
    in mV per presynaptic spike (a leaf).
    """

    pre: str = eqx.field(static=True)
    post: str = eqx.field(static=True)
    W: Float[Array, "n_post n_pre"] = eqx.field(converter=lambda v: as_param(v, "W"))

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.W.shape)

    def __call__(self, y: Spikes) -> Float[Array, " n_post"]:
        return self.W @ y.astype(self.W.dtype)

    def dense(self) -> Float[Array, "n_post n_pre"]:
        """The weight matrix."""
        return self.W


class BlockProjection(eqx.Module):
    r"""All-to-all between equal-sized groups, one weight per pair of groups.

    The presynaptic population is split into `P_pre` consecutive groups of
    equal size, the postsynaptic one into `P_post`; neuron $i$ of group $b(i)$
    receives

    $$\Delta v_i = \sum_B w_{b(i)B}\,\sum_{j\in B} y_j
      \;-\; [\text{no\_self}]\; w_{b(i)b(i)}\,y_i ,$$

    the last term removing self-connections (only for `pre == post`).

    **Fields:** `pre`, `post` (static); `weights` `(P_post, P_pre)` mV per
    spike (a leaf); `n_pre`, `n_post` (static sizes); `no_self` (static).
    """

    pre: str = eqx.field(static=True)
    post: str = eqx.field(static=True)
    weights: Float[Array, "P_post P_pre"] = eqx.field(
        converter=lambda v: as_param(v, "weights")
    )
    n_pre: int = eqx.field(static=True)
    n_post: int = eqx.field(static=True)
    no_self: bool = eqx.field(static=True, default=False)

    def __check_init__(self):
        p_post, p_pre = self.weights.shape
        if self.n_pre % p_pre or self.n_post % p_post:
            raise ValueError(
                f"BlockProjection: {self.n_pre} presynaptic / {self.n_post} "
                f"postsynaptic neurons do not split into {p_pre} / {p_post} equal "
                "groups."
            )
        if self.no_self and (self.pre != self.post or p_pre != p_post):
            raise ValueError(
                "BlockProjection: no_self needs pre == post with the same groups."
            )

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_post, self.n_pre)

    def __call__(self, y: Spikes) -> Float[Array, " n_post"]:
        p_post, p_pre = self.weights.shape
        y = y.astype(self.weights.dtype)
        counts = y.reshape(p_pre, -1).sum(axis=1)
        per_group = self.weights @ counts
        out = jnp.repeat(per_group, self.n_post // p_post)
        if self.no_self:
            out = out - jnp.repeat(jnp.diag(self.weights), self.n_post // p_post) * y
        return out

    def dense(self) -> Float[Array, "n_post n_pre"]:
        """The equivalent dense matrix."""
        p_post, p_pre = self.weights.shape
        W = jnp.kron(
            self.weights,
            jnp.ones((self.n_post // p_post, self.n_pre // p_pre), self.weights.dtype),
        )
        if self.no_self:
            W = W * (1.0 - jnp.eye(self.n_post, dtype=W.dtype))
        return W


def pack_bits(mask: Bool[Array, "... n"]) -> UInt32[Array, "... w"]:
    """Pack a boolean array along its last axis into 32-bit words (bit k of
    word m is entry 32m + k; the last word is zero-padded)."""
    mask = jnp.asarray(mask, bool)
    n = mask.shape[-1]
    n_words = -(-n // 32)
    pad = n_words * 32 - n
    m = jnp.pad(mask, [(0, 0)] * (mask.ndim - 1) + [(0, pad)])
    m = m.reshape(*mask.shape[:-1], n_words, 32).astype(jnp.uint32)
    return jnp.sum(m << jnp.arange(32, dtype=jnp.uint32), axis=-1, dtype=jnp.uint32)


def unpack_bits(words: UInt32[Array, "... w"], n: int) -> Bool[Array, "... n"]:
    """Inverse of `pack_bits`: the first `n` bits as booleans."""
    bits = (words[..., None] >> jnp.arange(32, dtype=jnp.uint32)) & jnp.uint32(1)
    return bits.reshape(*words.shape[:-1], -1)[..., :n].astype(bool)


class BitProjection(eqx.Module):
    r"""A 0/1 connectivity mask $M$ with one weight $w$, stored bit-packed.

    $$\Delta v_i = w \sum_j M_{ij}\,y_j = w\cdot\mathrm{popcount}(M_i\wedge y).$$

    `random` draws $M_{ij} \sim$ Bernoulli($p$) independently where `allowed`
    (e.g. only between different groups).

    **Fields:** `pre`, `post` (static); `bits` `(n_post, ⌈n_pre/32⌉)` uint32
    (a leaf, not differentiable); `weight` mV per spike (a leaf); `n_pre`
    (static).
    """

    pre: str = eqx.field(static=True)
    post: str = eqx.field(static=True)
    bits: UInt32[Array, "n_post words"]
    weight: Float[Array, ""] = eqx.field(converter=lambda v: as_param(v, "weight"))
    n_pre: int = eqx.field(static=True)

    @classmethod
    def random(
        cls,
        key: PRNGKeyArray,
        pre: str,
        post: str,
        n_post: int,
        n_pre: int,
        p,
        weight,
        allowed: Bool[Array, "n_post n_pre"] | None = None,
    ) -> BitProjection:
        """Independent Bernoulli(`p`) connections where `allowed` (default:
        everywhere), weight `weight` (mV)."""
        mask = jr.uniform(key, (n_post, n_pre)) < p
        if allowed is not None:
            mask = mask & jnp.asarray(allowed, bool)
        return cls(pre, post, pack_bits(mask), weight, n_pre)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.bits.shape[0], self.n_pre)

    def __call__(self, y: Spikes) -> Float[Array, " n_post"]:
        yw = pack_bits(y > 0)
        counts = jnp.sum(
            jax.lax.population_count(self.bits & yw[None, :]), axis=1, dtype=jnp.int32
        )
        return self.weight * counts.astype(self.weight.dtype)

    def mask(self) -> Bool[Array, "n_post n_pre"]:
        """The connectivity mask M."""
        return unpack_bits(self.bits, self.n_pre)

    def dense(self) -> Float[Array, "n_post n_pre"]:
        """The equivalent dense matrix w·M."""
        return self.weight * self.mask().astype(self.weight.dtype)


def block_mask(n_post: int, n_pre: int, groups: int, same: bool) -> np.ndarray:
    """`(n_post, n_pre)` bool: True where the post- and presynaptic neurons are
    in the same group (`same=True`) or in different groups (`same=False`), for
    `groups` consecutive equal groups of each population."""
    gp = np.repeat(np.arange(groups), n_post // groups)
    gq = np.repeat(np.arange(groups), n_pre // groups)
    eq = gp[:, None] == gq[None, :]
    return eq if same else ~eq
