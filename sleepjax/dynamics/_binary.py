r"""The classical binary Hopfield network (Hopfield 1982) as a discrete-time map.

States $s \in \{-1, +1\}^N$, Hebbian weights from $M$ memories $\xi^\mu \in
\{-1, +1\}^N$:

$$W = \frac1N \sum_\mu \xi^\mu \xi^{\mu\top},\qquad W_{ii} = 0,$$

energy $E(s) = -\tfrac12 s^\top W s$ (dimensionless), and the update
$s_i \leftarrow \mathrm{sign}(\sum_j W_{ij} s_j)$, a zero field keeping the
current value. One step of the map is one update of every neuron (one sweep):

- `"synchronous"`: all neurons at once from the same state;
- `"asynchronous"`: one neuron after the other in a random order (a fresh
  permutation per step, drawn from the step's key), each seeing the updates
  made before it. With symmetric $W$ and zero diagonal every such update
  lowers $E$ or leaves it unchanged, so $E$ is non-increasing along the
  asynchronous dynamics (the synchronous one may end in 2-cycles).

Time is counted in sweeps (`iterate` with `dt = 1`).
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from .._system import AbstractMap, check_like

Update = Literal["synchronous", "asynchronous"]
Spins = Float[Array, " N"]


def hebbian(patterns: Float[Array, "M N"]) -> Float[Array, "N N"]:
    r"""$W = \frac1N \sum_\mu \xi^\mu \xi^{\mu\top}$ with zero diagonal, from
    memories `patterns` of shape `(M, N)` (entries ±1)."""
    patterns = jnp.asarray(patterns)
    return _counts(patterns) / patterns.shape[1]


def _counts(patterns):
    r"""$\sum_\mu \xi^\mu \xi^{\mu\top}$ with zero diagonal (integers as floats)."""
    n = patterns.shape[1]
    C = patterns.T @ patterns
    return C * (1.0 - jnp.eye(n, dtype=C.dtype))


def _sign_keep(field, current):
    """sign(field), keeping `current` where the field is exactly zero."""
    return jnp.where(field > 0, 1.0, jnp.where(field < 0, -1.0, current)).astype(
        current.dtype
    )


class BinaryHopfield(AbstractMap):
    r"""The classical binary Hopfield network (module docs).

    The weights are `scale * W`. `from_patterns` stores the Hebbian counts
    $W = \sum_\mu \xi^\mu\xi^{\mu\top}$ (zero diagonal, integers) with
    `scale` = 1/N: the fields $W s$ are then sums of integers, exact in
    floating point (below 2**24 in float32), so a field that is zero is
    exactly zero and the neuron keeps its value, whatever N. (With
    $W/N$ itself, 0.03 + 0.01 − 0.04 need not round to 0.)

    **Fields:**

    - `W`: `(N, N)`, `W[i, j]` from neuron j onto neuron i (a leaf).
    - `update`: `"asynchronous"` (default) or `"synchronous"` (static).
    - `scale`: a positive number multiplying `W` (static; default 1).

    The state is `s`, a float array `(N,)` of ±1.
    """

    W: Float[Array, "N N"]
    update: Update = eqx.field(static=True, default="asynchronous")
    scale: float = eqx.field(static=True, default=1.0)

    def __check_init__(self):
        if self.update not in ("synchronous", "asynchronous"):
            raise ValueError(
                "BinaryHopfield: `update` must be 'synchronous' or 'asynchronous', "
                f"got {self.update!r}."
            )
        if jnp.ndim(self.W) != 2 or self.W.shape[0] != self.W.shape[1]:
            raise ValueError(f"BinaryHopfield: `W` must be square, got {self.W.shape}.")
        if not self.scale > 0:
            raise ValueError(f"BinaryHopfield: `scale` must be > 0, got {self.scale}.")

    @classmethod
    def from_patterns(
        cls, patterns: Float[Array, "M N"], update: Update = "asynchronous"
    ) -> BinaryHopfield:
        r"""The network storing `patterns` `(M, N)` (entries ±1) with Hebbian
        weights $\frac1N\sum_\mu \xi^\mu\xi^{\mu\top}$, zero diagonal."""
        patterns = jnp.asarray(patterns)
        return cls(_counts(patterns), update, 1.0 / patterns.shape[1])

    @property
    def n(self) -> int:
        return self.W.shape[0]

    @property
    def weights(self) -> Float[Array, "N N"]:
        """The weights `scale * W`."""
        return self.scale * self.W

    def features(self, s: Spins) -> Spins:
        """The neurons' output: the spins themselves."""
        return s

    def energy(self, s: Spins) -> Float[Array, ""]:
        r"""$E = -\tfrac12 s^\top (\text{scale}\,W) s$."""
        return -0.5 * self.scale * (s @ (self.W @ s))

    def step(self, t, s: Spins, key: PRNGKeyArray) -> Spins:
        """One sweep: every neuron updated once (module docs)."""
        if self.update == "synchronous":
            return _sign_keep(self.W @ s, s)  # the sign of scale·W s
        order = jr.permutation(key, self.n)

        def one(k, s):
            i = order[k]
            return s.at[i].set(_sign_keep(self.W[i] @ s, s[i]))

        return jax.lax.fori_loop(0, self.n, one, s)

    def check_state(self, s) -> None:
        check_like("the state s", jnp.zeros(self.n), s)
