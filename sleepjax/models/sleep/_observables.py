"""What a sleep run saves: each memory's strength, the stage, the total weight."""

from __future__ import annotations

from typing import ClassVar

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..._spec import AbstractObservables
from ...analysis import plane_block
from ...sleep import Hypnogram

_UNITS = {
    "strength": (
        "memory strength",
        "1/τ",
        "per memory: the rotation ρ = (uᵀWv − vᵀWu)/2 stored in its plane "
        "(night), or the Hebbian overlap ξᵀWξ/|ξ|² (shy)",
    ),
    "sleep_stage": (
        "sleep stage",
        "code",
        "the hypnogram's stage: 0 WAKE, 1 N1, 2 N2, 3 N3, 4 REM",
    ),
    "w_total": (
        "total synaptic weight",
        "1/τ",
        "Σ|W_ij| / N: the mean absolute input weight per neuron",
    ),
    "w_norm": ("weight norm", "1/τ", "Frobenius norm of W"),
}


class SleepObservables(AbstractObservables):
    r"""Summaries saved along a night.

    - `strength` `(m,)`: each memory's strength. With `planes` (shape
      `(m, 2, n)`, unit u ⟂ v): ρ_k = (u_kᵀWv_k − v_kᵀWu_k)/2. With
      `patterns` (shape `(m, n)`): ξ_kᵀWξ_k/|ξ_k|².
    - `sleep_stage`: the stage code at that time (the night's hypnogram).
    - `w_total`: Σ_ij |W_ij| / N. `w_norm`: ‖W‖_F.
    """

    hypnogram: Hypnogram
    vectors: Float[Array, "m ..."]

    families: ClassVar = {"memory": ("strength",), "weights": ("w_total", "w_norm")}
    default_fit: ClassVar = ("strength",)
    headline: ClassVar = ("strength", "w_total")
    time_units: ClassVar = "τ (the neuronal time constant)"
    units: ClassVar = _UNITS

    @property
    def names(self) -> tuple[str, ...]:
        return ("strength", "sleep_stage", "w_total", "w_norm")

    def dims(self, name: str, ndim: int) -> tuple[str, ...]:
        return ("memory",) if name == "strength" else super().dims(name, ndim)

    def __call__(self, t, y, model) -> dict[str, Array]:
        W = y.W
        if self.vectors.ndim == 3:
            rho = jax.vmap(lambda q: plane_block(W, q[0], q[1])[0])(self.vectors)
        else:
            xi = self.vectors
            rho = jnp.einsum("ki,ij,kj->k", xi, W, xi) / jnp.sum(xi * xi, axis=1)
        return {
            "strength": rho,
            "sleep_stage": self.hypnogram.stage_at(t).astype(W.dtype),
            "w_total": jnp.sum(jnp.abs(W)) / W.shape[0],
            "w_norm": jnp.sqrt(jnp.sum(W * W)),
        }
