r"""A discrete-time rate network with factored weights, as a map for `iterate`.

$$x(t+1) = W\,\tanh(x(t)),\qquad W = U D U^\top,$$

with $U$ of shape $(N, r)$ (stored patterns as columns) and $D$ of shape
$(r, r)$. The step is applied as $U\,(D\,(U^\top \tanh x))$, $O(N r)$, so a
low-rank $W$ is never formed. Time is counted in steps (`iterate` with
`dt = 1`); the map is deterministic (the step's key is unused).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .._errors import as_param
from .._system import AbstractMap


class FactoredRateMap(AbstractMap):
    r"""$x \mapsto U D U^\top \tanh(x)$ (module docs).

    E.g. imaginary-coded planes $(u_k, v_k)$ with rotation $\rho_k$: columns
    $U = [u_1, v_1, u_2, v_2, \dots]$ and $D$ block-diagonal with blocks
    $\rho_k \begin{pmatrix}0 & 1\\ -1 & 0\end{pmatrix}$ give
    $W = \sum_k \rho_k (u_k v_k^\top - v_k u_k^\top)$.

    **Fields:**

    - `U`: `(N, r)`, a leaf.
    - `D`: `(r, r)`, a leaf (dimensionless gains; W has units of 1/τ in the
      continuous model, here a pure number per step).

    The state is `x`, shape `(N,)`.
    """

    U: Float[Array, "N r"] = eqx.field(converter=lambda v: as_param(v, "U"))
    D: Float[Array, "r r"] = eqx.field(converter=lambda v: as_param(v, "D"))

    def __check_init__(self):
        if self.U.ndim != 2 or self.D.shape != (self.U.shape[1],) * 2:
            raise ValueError(
                f"FactoredRateMap: U must be (N, r) and D (r, r); got U "
                f"{self.U.shape}, D {self.D.shape}."
            )

    @property
    def n(self) -> int:
        return self.U.shape[0]

    @property
    def weights(self) -> Float[Array, "N N"]:
        """The dense $W = U D U^\\top$."""
        return self.U @ self.D @ self.U.T

    def step(self, t, y: Float[Array, " N"], key: PRNGKeyArray) -> Float[Array, " N"]:
        return self.U @ (self.D @ (self.U.T @ jnp.tanh(y)))

    def check_state(self, y) -> None:
        if jnp.shape(y) != (self.n,):
            raise ValueError(
                f"FactoredRateMap: the state must have shape ({self.n},), got "
                f"{jnp.shape(y)}."
            )
