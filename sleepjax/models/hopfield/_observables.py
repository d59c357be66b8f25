"""What a Hopfield run saves: overlaps with the memories, bits wrong, energy."""

from __future__ import annotations

from typing import ClassVar

import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._spec import AbstractObservables

NAMES = ("overlap", "max_other", "wrong", "retrieved", "norm", "energy")

_UNITS = {
    "overlap": (
        "overlap with the cued memory",
        "1",
        "m = ξ⁰·g / ξ⁰·ξ⁰ (binary: ξ⁰·s/N); 1 at the memory, 0 if orthogonal",
    ),
    "max_other": (
        "largest |overlap| with another memory",
        "1",
        "max over μ ≠ 0 of |ξ^μ·g / ξ^μ·ξ^μ|: a spurious or wrong retrieval",
    ),
    "wrong": (
        "fraction of bits wrong",
        "1",
        "fraction of neurons i with sign(g_i) ≠ ξ⁰_i",
    ),
    "retrieved": (
        "retrieved",
        "1",
        "1 when |m − 1| ≤ 1 − threshold (binary: m ≥ threshold), else 0",
    ),
    "norm": (
        "|g| / |ξ⁰|",
        "1",
        "length of the feature output relative to a memory's (binary: 1)",
    ),
    "energy": (
        "energy",
        "1",
        "E: −½sᵀWs (binary) or the two-layer Lyapunov function E(v, h)",
    ),
}


class HopfieldObservables(AbstractObservables):
    r"""Saved along a run, from the feature neurons' output $g$ (binary: $s$).

    With memories $\xi^\mu$ (rows of `patterns`) and memory 0 the cued one:

    - `overlap`: $m = \xi^0\cdot g / \xi^0\cdot\xi^0$ (binary: $\xi^0\cdot s/N$).
    - `max_other`: $\max_{\mu\ne0} |\xi^\mu\cdot g / \xi^\mu\cdot\xi^\mu|$.
    - `wrong`: fraction of $i$ with $\mathrm{sign}(g_i) \ne \mathrm{sign}(\xi^0_i)$.
    - `retrieved`: 1 if $|m - 1| \le 1 - $ `threshold` else 0 (binary, where
      $m \le 1$: $m \ge$ `threshold`; the two-layer models must also not run
      away, $m \le 2 -$ `threshold`).
    - `norm`: $|g| / |\xi^0|$ (1 at a memory, 0 at the origin).
    - `energy`: the network's energy (`model.energy(y)`).

    All scalars, so networks of different sizes share one results store.

    **Fields:** `patterns` `(M, N)`, `threshold` (a leaf in (0, 1)).
    """

    patterns: Float[Array, "M N"]
    threshold: Float[Array, ""]

    families: ClassVar = {
        "retrieval": ("overlap", "max_other", "wrong"),
        "energy": ("energy",),
    }
    default_fit: ClassVar = ("overlap",)
    headline: ClassVar = ("overlap", "retrieved", "energy")
    units: ClassVar = _UNITS
    # saved states ([run] snapshot_times): binary spins, or the two layers
    state_dims: ClassVar = {
        "state": ("neuron",),
        "v": ("neuron",),
        "h": ("memory_neuron",),
    }
    state_units: ClassVar = {
        "state": ("spins s", "1", "binary neuron states s_i = ±1"),
        "v": ("feature neurons v", "1", "feature-layer state v_i"),
        "h": ("memory neurons h", "1", "memory-layer state h_μ"),
    }

    def __init__(self, patterns, threshold=0.95):
        self.patterns = jnp.asarray(patterns)
        self.threshold = jnp.asarray(threshold, self.patterns.dtype)

    @property
    def names(self) -> tuple[str, ...]:
        return NAMES

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        return ()

    def __call__(self, t, y, model) -> dict[str, Array]:
        g = model.features(y)
        xi = self.patterns
        m = xi @ g / jnp.sum(xi * xi, axis=1)
        target = xi[0]
        return {
            "overlap": m[0],
            "max_other": jnp.max(jnp.abs(m[1:])),
            "wrong": jnp.mean(jnp.sign(g) != jnp.sign(target)).astype(g.dtype),
            "retrieved": (jnp.abs(m[0] - 1.0) <= 1.0 - self.threshold).astype(g.dtype),
            "norm": jnp.sqrt(jnp.sum(g * g) / jnp.sum(target * target)),
            "energy": model.energy(y),
        }
